package io.matryoshka.search;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The stages a per-segment search runs, each narrowing the candidates of the one before. The last
 * stage is always a {@link FunnelMetric#FLOAT} stage on the query's own length; its candidates are
 * the hits handed to the collector.
 */
public final class Funnel {
  /**
   * Candidates entering the final float stage per requested hit when no funnel is given. Reading a
   * few hundred float vectors in place is cheap; a window of 3 x k, as Elasticsearch's BBQ uses,
   * limits recall to about 0.9 on real embeddings (see {@link #defaultFor}).
   */
  public static final float DEFAULT_OVERSAMPLE = 30.0f;

  /**
   * Most stages a funnel may have. A useful funnel reads more per document at each stage: a code
   * stage per nested level and metric ({@code hamming}, {@code asymmetric}, each on the sign plane or
   * all bits) and float stages. Real Matryoshka models have at most 5 or 6 nested levels, and the
   * longest default ({@code rotation: pca} on 4,096 dims halved down to 32) has 8, so 32 stages are
   * more than any useful funnel needs, while bounding a query's work to 32 passes over at most the
   * first stage's survivors (40,000 stages took 42 s on 20,000 documents).
   */
  public static final int MAX_STAGES = 32;

  private final List<FunnelStage> stages;

  public Funnel(List<FunnelStage> stages) {
    if (stages == null || stages.isEmpty()) {
      throw new IllegalArgumentException("a funnel needs at least one stage");
    }
    checkStageCount(stages.size());
    this.stages = List.copyOf(stages);
  }

  /** The one check of a funnel's length: 1 to {@link #MAX_STAGES} stages. */
  public static void checkStageCount(int stages) {
    if (stages > MAX_STAGES) {
      throw new IllegalArgumentException(
          "[funnel] has " + stages + " stages, more than the limit of " + MAX_STAGES);
    }
  }

  public List<FunnelStage> stages() {
    return stages;
  }

  public FunnelStage lastStage() {
    return stages.get(stages.size() - 1);
  }

  /**
   * Checks the funnel's shape against a query: stages narrow (each keeps fewer candidates than the
   * one before; only the last, exact stage may keep as many, to re-rank them), dims never
   * exceed the query's, code stages use stored nested levels, the last stage is a float stage on
   * the query's full length, code stages read 1 bit or all of the field's bits.
   *
   * @throws IllegalArgumentException naming the stage and what is wrong with it
   */
  public void validate(int queryDims, int[] nestedDims, int fieldBits) {
    for (int i = 0; i < stages.size(); i++) {
      FunnelStage stage = stages.get(i);
      String where = "funnel stage [" + i + "] (" + stage + ")";
      if (stage.dims() > queryDims) {
        throw new IllegalArgumentException(
            where + ": [dims] " + stage.dims() + " exceeds the query vector's length " + queryDims);
      }
      if (stage.metric().usesCodes() && Arrays.binarySearch(nestedDims, stage.dims()) < 0) {
        throw new IllegalArgumentException(
            where
                + ": binary codes are stored only for the nested dims "
                + Arrays.toString(nestedDims)
                + ", not for "
                + stage.dims());
      }
      if (stage.bits() > 1 && stage.bits() != fieldBits) {
        throw new IllegalArgumentException(
            where + ": [bits] must be 1 (the sign plane) or the field's " + fieldBits + " bits");
      }
      if (stage.bits() > fieldBits) {
        throw new IllegalArgumentException(
            where + ": [bits] " + stage.bits() + " exceeds the field's " + fieldBits + " bits");
      }
      if (i > 0) {
        int previous = stages.get(i - 1).candidates();
        boolean last = i == stages.size() - 1;
        if (stage.candidates() > previous || (last == false && stage.candidates() == previous)) {
          throw new IllegalArgumentException(
              where
                  + ": stages must narrow, but [candidates] "
                  + stage.candidates()
                  + " is "
                  + (stage.candidates() > previous ? "more than" : "as many as")
                  + " the previous stage's "
                  + previous
                  + (last ? "" : " (only the last stage may keep as many, to re-rank them exactly)"));
        }
      }
    }
    FunnelStage last = lastStage();
    if (last.metric() != FunnelMetric.FLOAT || last.dims() != queryDims) {
      throw new IllegalArgumentException(
          "the last funnel stage must be [float] on the query's "
              + queryDims
              + " dims, got "
              + last);
    }
  }

  /** Checks that the last stage keeps exactly the {@code k} hits a query asks for. */
  public void validateKeeps(int k) {
    FunnelStage last = lastStage();
    if (last.candidates() != k) {
      throw new IllegalArgumentException(
          "the last funnel stage keeps the k hits: [candidates] must be " + k + ", got " + last);
    }
  }

  /**
   * The funnel used when a query gives none.
   *
   * <p>With one nested level (or a query no longer than the first): an asymmetric code stage on
   * the longest level the query covers, reading all the field's bits, keeps {@code rerank}
   * documents for the exact float stage.
   *
   * <p>With shorter nested levels, a first asymmetric stage scans the sign plane of the longest
   * level of at most {@value #FIRST_STAGE_MAX_DIMS} dims (at most 16 bytes per document) and keeps
   * {@link #FIRST_STAGE_FACTOR} times {@code rerank}. Then an asymmetric stage on the longest
   * level keeps {@code rerank} for the exact stage: on unrotated one-bit fields (one sign plane per
   * level per survivor) and on multi-bit fields whose segment has the survivor block (each
   * survivor's whole code in one read; on 4-bit fields the window does not grow with the segment,
   * see the overload with {@code rerankAfterFourBits}). On rotated one-bit fields (after a rotation
   * the tail's sign bits are noise) and multi-bit segments without the block (their planes lie in
   * separate blocks per survivor), all the first stage's survivors go to the exact float stage.
   *
   * <p>Chosen by measurement on 60,594 real bge-small-en-v1.5 vectors (384 dims, 1,000 queries,
   * recall@10 against exact float search) and on 1M mixes of them (see {@code
   * src/bench/funnel-defaults.md}): without rotation, asymmetric on all 384 sign bits keeping 300
   * reaches 0.995 on 60k (keeping 100: 0.967; symmetric hamming needs 1,000 for 0.994); with pca and
   * 4 bits, the 64-dim sign plane keeping 4,800 then exact floats reach 0.992 on 60k but 0.931 on
   * 1M (20,000: 0.983), the 128-dim sign plane 0.998 on 60k and keeping 10,000 0.994 on 1M; its
   * default window ({@link #FIRST_STAGE_FACTOR}) then the survivor block: 0.996 on 60k, 0.995 on 1M.
   *
   * @param nestedDims the field's stored nested levels, ascending
   * @param queryDims the query's length: the field's dims or one of its nested dims
   * @param rerank candidates the exact float stage scores ({@link #rerankCandidates})
   * @param fieldBits bits per dimension the field stores
   * @param rotated whether the segment's codes are in a learned rotation ({@code pca})
   * @param survivorBlock whether the segment stores each document's whole code in one place
   */
  public static Funnel defaultFor(
      int[] nestedDims, int queryDims, int k, int rerank, int fieldBits, boolean rotated, boolean survivorBlock) {
    return defaultFor(nestedDims, queryDims, k, rerank, rerank, fieldBits, rotated, survivorBlock);
  }

  /**
   * {@link #defaultFor(int[], int, int, int, int, boolean, boolean)}, where on 4-bit fields the
   * exact stage after a shorter first stage and then all four planes scores at most {@code
   * rerankAfterFourBits} candidates, while the first stage still keeps {@link #FIRST_STAGE_FACTOR}
   * times {@code rerank}. A 4-bit code ranks so much closer to the floats than sign bits do that
   * its window need not grow with the segment: on 1M mixed bge-small vectors (pca, the 128-dim sign
   * plane keeping 11,720) the exact stage scoring 300, 600 or 1,172 of them gave the same recall@10,
   * 0.9952, and 300 took 0.86 x the time. 2-bit codes do not: 0.949, 0.975 and 0.988
   * (src/bench/funnel-defaults.md), so 2-bit fields keep the grown window.
   *
   * @param rerankAfterFourBits candidates the exact stage scores after a 4-bit survivor stage
   *     ({@code k x oversample}, not grown with the segment)
   */
  public static Funnel defaultFor(
      int[] nestedDims,
      int queryDims,
      int k,
      int rerank,
      int rerankAfterFourBits,
      int fieldBits,
      boolean rotated,
      boolean survivorBlock) {
    int longestLevel = -1;
    int firstLevel = -1;
    for (int level : nestedDims) {
      if (level <= queryDims) {
        longestLevel = level;
      }
    }
    for (int level : nestedDims) {
      if (level < longestLevel && (firstLevel < 0 || level <= FIRST_STAGE_MAX_DIMS)) {
        firstLevel = level;
      }
    }
    List<FunnelStage> stages = new ArrayList<>();
    if (longestLevel > 0) {
      if (firstLevel > 0) {
        long firstKeep = Math.min(Integer.MAX_VALUE, (long) rerank * FIRST_STAGE_FACTOR);
        int signPlaneOnly = fieldBits > 1 ? 1 : 0;
        stages.add(new FunnelStage(firstLevel, FunnelMetric.ASYMMETRIC, (int) firstKeep, signPlaneOnly));
      }
      boolean codesRankSurvivors = fieldBits > 1 ? survivorBlock : rotated == false;
      if (firstLevel < 0 || codesRankSurvivors) {
        boolean afterFourBits = firstLevel > 0 && fieldBits == 4;
        stages.add(new FunnelStage(longestLevel, FunnelMetric.ASYMMETRIC, afterFourBits ? Math.min(rerank, rerankAfterFourBits) : rerank));
      }
    }
    stages.add(new FunnelStage(queryDims, FunnelMetric.FLOAT, k));
    return new Funnel(stages);
  }

  /** The longest first stage the default funnel scans: 128 sign bits, 16 bytes per document. */
  static final int FIRST_STAGE_MAX_DIMS = 128;

  /**
   * Candidates entering the exact float stage of a segment of {@code segmentDocs} documents:
   * {@code ceil(k * oversample)} up to {@link #REFERENCE_SEGMENT_DOCS} documents, growing with the
   * square root of the segment's size beyond (at least {@code k}, at most {@link
   * #MAX_DEFAULT_RERANK}).
   *
   * <p>Why it must grow: the code ranking's errors are a fraction of the documents, so the more
   * documents, the more of them outrank a true neighbour by their codes and the deeper the window
   * the true top k lie in ("the curse of dense low-dimensional retrieval"). Measured on 1M mixed
   * bge-small vectors in one segment (src/bench/funnel-defaults.md), asymmetric@384 keeping 300
   * reaches recall@10 0.979 where it reached 0.995 on 60k; keeping 600: 0.993, 1,000: 0.996. The
   * square-root rule keeps 1,172 there and 300 (unchanged) up to 65,536 documents. After a
   * survivor stage on all of a 4-bit field's bits the exact stage needs no such growth (those codes
   * rank close to the floats); its first stage's window grows instead.
   */
  public static int rerankCandidates(int k, float oversample, int segmentDocs) {
    checkOversample(oversample);
    double growth = Math.max(1.0, Math.sqrt(segmentDocs / (double) REFERENCE_SEGMENT_DOCS));
    return Math.max(k, (int) Math.min(MAX_DEFAULT_RERANK, Math.ceil(k * (double) oversample * growth)));
  }

  /** Segments up to this size keep {@code k x oversample} candidates for the exact stage. */
  public static final int REFERENCE_SEGMENT_DOCS = 65_536;

  /** The one check of {@code oversample}: at least 1 and finite. */
  public static void checkOversample(float oversample) {
    if ((oversample >= 1f && Float.isFinite(oversample)) == false) {
      throw new IllegalArgumentException("[oversample] must be >= 1 and finite, got " + oversample);
    }
  }

  /**
   * Candidates entering the exact float stage for a query that is not {@code matryoshka_knn}
   * (Elasticsearch's {@code knn}): its {@code num_candidates} arrives as the collector's k, and the
   * exact stage scores at least what {@code matryoshka_knn}'s defaults (k 10, oversample 30) score
   * on the same segment. So {@code knn} with k 10 and up to that many candidates ranks exactly as
   * {@code matryoshka_knn} with its defaults.
   */
  public static int foreignQueryRerank(int numCandidates, int segmentDocs) {
    return Math.max(numCandidates, rerankCandidates(DEFAULT_K, DEFAULT_OVERSAMPLE, segmentDocs));
  }

  /** The {@code k} that {@code matryoshka_knn} and Elasticsearch's {@code knn} default to. */
  public static final int DEFAULT_K = 10;

  /**
   * Survivors of a first, shorter code stage per candidate of the full-length code stage. Each
   * survivor costs a random read (about 200 ns for a 200-byte survivor entry in a 1M segment,
   * measured), so the window trades recall for time: with pca and 4 bits, 10 x keeps recall@10
   * 0.9958 on 60k real vectors and 0.9952 on 1M (16 x: 0.9979 and 0.9967, at 1.3 x the time).
   */
  static final int FIRST_STAGE_FACTOR = 10;

  /** Same cap as Elasticsearch's rescoring window. */
  static final int MAX_DEFAULT_RERANK = 10_000;

  @Override
  public boolean equals(Object o) {
    return o instanceof Funnel other && stages.equals(other.stages);
  }

  @Override
  public int hashCode() {
    return stages.hashCode();
  }

  @Override
  public String toString() {
    return stages.toString();
  }
}
