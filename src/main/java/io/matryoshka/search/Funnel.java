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
   * The funnel used when a query gives none. With one nested level (or a query no longer than the
   * first): an asymmetric code stage on the longest level the query covers, reading all the field's
   * bits, keeps {@code rerank} documents for the exact float stage. With a shorter
   * nested level, a first asymmetric stage reads only its sign plane ({@code nested[0] / 8} bytes
   * per document) and keeps {@link #FIRST_STAGE_FACTOR} times that many; then, on unrotated one-bit
   * fields, the asymmetric stage on the longest level keeps {@code rerank} for the
   * float stage, and on rotated or multi-bit fields all the first stage's survivors go to the exact
   * float stage.
   *
   * <p>Chosen by measurement on 60,594 real bge-small-en-v1.5 vectors (384 dims, 1,000 queries,
   * recall@10 against exact float search; see {@code src/bench/funnel-defaults.md}): without rotation,
   * asymmetric on all 384 sign bits keeping 300 reaches 0.995 (keeping 100: 0.967; symmetric
   * hamming needs 1,000 for 0.994); with pca, the 64-dim sign plane keeping 4,800 then exact floats
   * reach 0.992 with 1 or 4 bits, where an asymmetric stage over all 384 dims in between loses
   * recall with 1 bit (0.960) and time with 4 bits (its 16 code blocks per survivor: 2.1 vs 1.4 ms
   * per query in-process).
   *
   * @param nestedDims the field's stored nested levels, ascending
   * @param queryDims the query's length: the field's dims or one of its nested dims
   * @param rerank candidates the exact float stage scores ({@link #rerankCandidates})
   * @param fieldBits bits per dimension the field stores
   * @param rotated whether the segment's codes are in a learned rotation ({@code pca})
   */
  public static Funnel defaultFor(
      int[] nestedDims, int queryDims, int k, int rerank, int fieldBits, boolean rotated) {
    int longestLevel = -1;
    for (int level : nestedDims) {
      if (level <= queryDims) {
        longestLevel = level;
      }
    }
    List<FunnelStage> stages = new ArrayList<>();
    if (longestLevel > 0) {
      if (nestedDims[0] < longestLevel) {
        long firstKeep = Math.min(Integer.MAX_VALUE, (long) rerank * FIRST_STAGE_FACTOR);
        int signPlaneOnly = fieldBits > 1 ? 1 : 0;
        stages.add(new FunnelStage(nestedDims[0], FunnelMetric.ASYMMETRIC, (int) firstKeep, signPlaneOnly));
      }
      // After a rotation the long level's tail sign bits are noise, and more bit planes lie in
      // separate blocks per survivor: exact floats, contiguous per document, rank better and read
      // faster then. Unrotated one-bit codes still rank the survivors cheaply.
      boolean floatsAfterFirstStage = nestedDims[0] < longestLevel && (rotated || fieldBits > 1);
      if (floatsAfterFirstStage == false) {
        stages.add(new FunnelStage(longestLevel, FunnelMetric.ASYMMETRIC, rerank));
      }
    }
    stages.add(new FunnelStage(queryDims, FunnelMetric.FLOAT, k));
    return new Funnel(stages);
  }

  /**
   * Candidates entering the exact float stage: {@code ceil(k * oversample)}, at least {@code k},
   * at most {@link #MAX_DEFAULT_RERANK}.
   */
  public static int rerankCandidates(int k, float oversample) {
    checkOversample(oversample);
    return Math.max(k, (int) Math.min(MAX_DEFAULT_RERANK, Math.ceil(k * (double) oversample)));
  }

  /** The one check of {@code oversample}: at least 1 and finite. */
  public static void checkOversample(float oversample) {
    if ((oversample >= 1f && Float.isFinite(oversample)) == false) {
      throw new IllegalArgumentException("[oversample] must be >= 1 and finite, got " + oversample);
    }
  }

  /**
   * Candidates entering the exact float stage for a query that is not {@code matryoshka_knn}
   * (Elasticsearch's {@code knn}): its {@code num_candidates} arrives as the collector's k, and the
   * exact stage scores {@code max(num_candidates, 300)}, 300 being what {@code matryoshka_knn}'s
   * defaults (k 10, oversample 30) score. So {@code knn} with k 10 and up to 300 candidates
   * ranks exactly as {@code matryoshka_knn} with its defaults.
   */
  public static final int FOREIGN_QUERY_MIN_RERANK = 300;

  /** Survivors of a first, shorter code stage per candidate of the full-length code stage. */
  static final int FIRST_STAGE_FACTOR = 16;

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
