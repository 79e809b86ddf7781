package io.matryoshka.engine;

import io.matryoshka.quantization.QueryCode;
import io.matryoshka.quantization.QueryCoordinates;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.search.FloatPrefixScorer;
import io.matryoshka.search.FunnelTrace;
import io.matryoshka.search.FunnelStage;
import io.matryoshka.search.SegmentPlan;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.search.KnnCollector;
import org.apache.lucene.search.TaskExecutor;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.IntroSelector;

/**
 * Runs one segment's funnel. Stage 1 scans every accepted document's code (or floats) in one
 * sequential pass ({@link StageOneScan}); each further stage re-scores only the survivors with more
 * bits ({@link SurvivorCodeScorer}) or more floats; the last stage scores the survivors exactly on
 * the query's length and hands them all to the collector, which keeps the k best (or, for nested
 * fields, the best per parent). The plan is resolved and validated before it gets here.
 */
public final class SegmentFunnel {
  private final StoredCodes codes;
  private final FloatVectorValues vectors;

  private final ParallelRanges parallel;

  public SegmentFunnel(StoredCodes codes, FloatVectorValues vectors) {
    this(codes, vectors, ParallelRanges.DEFAULT);
  }

  SegmentFunnel(StoredCodes codes, FloatVectorValues vectors, ParallelRanges parallel) {
    this.codes = codes;
    this.vectors = vectors;
    this.parallel = parallel;
  }

  /**
   * @param target the query, zero-padded to the field's length if {@code plan.queryDims()} is a
   *     shorter nested prefix
   * @param acceptOrds accepted ords (live and matching the filter), or null for all
   */
  public void run(SegmentPlan plan, float[] target, Bits acceptOrds, KnnCollector collector)
      throws IOException {
    int queryDims = plan.queryDims();
    FunnelTrace trace = plan.trace();
    if (trace != null) {
      trace.segmentDocs(codes.count());
    }
    FloatPrefixScorer floats = new FloatPrefixScorer(vectors, target, codes.similarity());
    long started = System.nanoTime();
    if (plan.exact()) {
      long visitsBefore = collector.visitedCount();
      ChunkVisits.forEachAccepted(
          codes.count(),
          acceptOrds,
          collector,
          ord -> collector.collect(vectors.ordToDoc(ord), floats.score(ord, queryDims)));
      if (trace != null) {
        long scored = collector.visitedCount() - visitsBefore;
        trace.exact(scored, scored * queryDims * Float.BYTES, System.nanoTime() - started);
      }
      return;
    }
    List<FunnelStage> stages = plan.funnel().stages();
    FunnelStage first = stages.get(0);
    QueryCoordinates coordinates = codes.binarizer().queryCoordinates(target); // shared by the code stages
    long visitsBefore = collector.visitedCount();
    int[] candidates =
        first.metric().usesCodes()
            ? scanCodes(coordinates, first, acceptOrds, collector, plan)
            : scanFloats(floats, first, acceptOrds, collector);
    long scored = collector.visitedCount() - visitsBefore;
    started = record(trace, first, scored, candidates.length, firstStageBytes(first, scored), started);
    for (int i = 1; i < stages.size() - 1 && collector.earlyTerminated() == false; i++) {
      FunnelStage stage = stages.get(i);
      int input = candidates.length;
      candidates =
          stage.metric().usesCodes()
              ? rescoreCodes(coordinates, stage, candidates, collector, plan.executor())
              : rescoreFloats(target, stage.dims(), stage.candidates(), candidates, collector, plan.executor());
      started = record(trace, stage, input, candidates.length, survivorBytes(stage, input), started);
    }
    float[] exact = scoreFloats(target, queryDims, candidates, collector, plan.executor());
    int collected = 0;
    for (int i = 0; i < candidates.length; i++) {
      if (Float.isNaN(exact[i]) == false) { // NaN: not scored, the stage stopped early
        collector.collect(vectors.ordToDoc(candidates[i]), exact[i]);
        collected++;
      }
    }
    FunnelStage last = stages.get(stages.size() - 1);
    record(trace, last, collected, Math.min(collector.k(), collected), (long) collected * queryDims * Float.BYTES, started);
  }

  /** Records a finished stage on the trace, if any, and returns the time the next stage starts. */
  private static long record(FunnelTrace trace, FunnelStage stage, long scored, long kept, long bytes, long started) {
    long now = System.nanoTime();
    if (trace != null) {
      trace.stage(stage, scored, kept, bytes, now - started);
    }
    return now;
  }

  /**
   * Bytes a first stage reads: a code stage its levels' planes of every document in the segment
   * (the scan is sequential; a filter only skips scoring), a float stage its prefix of each
   * document it scores.
   */
  private long firstStageBytes(FunnelStage stage, long scored) {
    return stage.metric().usesCodes() ? codeBytesPerDoc(stage) * codes.count() : scored * stage.dims() * Float.BYTES;
  }

  /** Bytes a later stage reads for {@code input} survivors, as {@link SurvivorCodeScorer} reads them. */
  private long survivorBytes(FunnelStage stage, long input) {
    return input * (stage.metric().usesCodes() ? survivorCodeBytes(stage) : (long) stage.dims() * Float.BYTES);
  }

  private long survivorCodeBytes(FunnelStage stage) {
    CodeLayout layout = codes.layout();
    return SurvivorCodeScorer.bytesPerSurvivor(codes, layout.levelIndexOf(stage.dims()), stage.planesOf(layout.bits()));
  }

  /** A code stage's bytes per document: its levels' planes, and the correctives beyond one plane. */
  private long codeBytesPerDoc(FunnelStage stage) {
    CodeLayout layout = codes.layout();
    int planes = stage.planesOf(layout.bits());
    return layout.stageBytesPerDoc(layout.levelIndexOf(stage.dims()), planes);
  }

  /** Stage 1 on codes: one sequential pass over the bit planes the stage reads. */
  private int[] scanCodes(
      QueryCoordinates target, FunnelStage stage, Bits acceptOrds, KnnCollector collector, SegmentPlan plan)
      throws IOException {
    int planes = stage.planesOf(codes.layout().bits());
    QueryCode query = QueryCodes.encode(codes.binarizer(), target, stage.metric(), planes);
    return new StageOneScan(codes, parallel)
        .scan(
            query,
            codes.layout().levelIndexOf(stage.dims()),
            planes,
            acceptOrds,
            collector,
            stage.candidates(),
            plan.executor());
  }

  /** Stage 1 on floats: every accepted document's prefix similarity. */
  private int[] scanFloats(
      FloatPrefixScorer floats, FunnelStage stage, Bits acceptOrds, KnnCollector collector)
      throws IOException {
    TopCandidates top = new TopCandidates(stage.candidates());
    ChunkVisits.forEachAccepted(
        codes.count(), acceptOrds, collector, ord -> top.offer(ord, floats.score(ord, stage.dims())));
    return top.ordsAscending();
  }

  /** A later code stage: random reads of the survivors' codes only. */
  private int[] rescoreCodes(
      QueryCoordinates target, FunnelStage stage, int[] candidates, KnnCollector collector, TaskExecutor executor)
      throws IOException {
    int planes = stage.planesOf(codes.layout().bits());
    QueryCode query = QueryCodes.encode(codes.binarizer(), target, stage.metric(), planes);
    int lastLevel = codes.layout().levelIndexOf(stage.dims());
    float[] scores =
        scoreSurvivors(
            candidates,
            SurvivorCodeScorer.bytesPerSurvivor(codes, lastLevel, planes),
            collector,
            executor,
            () -> new SurvivorCodeScorer(codes, query, lastLevel, planes)::score);
    return best(candidates, scores, stage.candidates());
  }

  /** A later float stage: the survivors' exact similarity on a prefix. */
  private int[] rescoreFloats(
      float[] target, int dims, int keep, int[] candidates, KnnCollector collector, TaskExecutor executor)
      throws IOException {
    return best(candidates, scoreFloats(target, dims, candidates, collector, executor), keep);
  }

  /** Every candidate's similarity on the first {@code dims} floats (NaN where the stage stopped). */
  private float[] scoreFloats(float[] target, int dims, int[] candidates, KnnCollector collector, TaskExecutor executor)
      throws IOException {
    return scoreSurvivors(
        candidates,
        (long) dims * Float.BYTES,
        collector,
        executor,
        () -> {
          // each range its own reader: FloatVectorValues reuses its buffer
          FloatPrefixScorer floats = new FloatPrefixScorer(vectors.copy(), target, codes.similarity());
          return (ords, from, to, scores) -> {
            for (int i = from; i < to; i++) {
              scores[i] = floats.score(ords[i], dims);
            }
          };
        });
  }

  /** Scores positions {@code [from, to)} of {@code ords} into the same positions of {@code scores}. */
  @FunctionalInterface
  private interface RangeScorer {
    void score(int[] ords, int from, int to, float[] scores) throws IOException;
  }

  /** A scorer with readers of its own, for one range of survivors (possibly on another thread). */
  @FunctionalInterface
  private interface RangeScorers {
    RangeScorer newScorer() throws IOException;
  }

  /**
   * Every candidate's score, {@link SurvivorCodeScorer#BATCH} at a time, in consecutive ranges on
   * the executor where the survivors' random reads ({@code bytesEach} each) are enough to pay for
   * it ({@link ParallelRanges#scoreSurvivors}). Positions a range did not reach because the
   * collector terminated early stay NaN (no stage scores NaN: code estimates are finite and float
   * scores are clamped finite).
   */
  private float[] scoreSurvivors(
      int[] candidates, long bytesEach, KnnCollector collector, TaskExecutor executor, RangeScorers scorers)
      throws IOException {
    float[] scores = new float[candidates.length];
    Arrays.fill(scores, Float.NaN);
    parallel.scoreSurvivors(
        candidates.length,
        bytesEach,
        executor,
        (from, to) -> {
          RangeScorer scorer = scorers.newScorer();
          for (int start = from; start < to; start += SurvivorCodeScorer.BATCH) {
            if (((start - from) & CHECK_EVERY) < SurvivorCodeScorer.BATCH && collector.earlyTerminated()) {
              return;
            }
            scorer.score(candidates, start, Math.min(to, start + SurvivorCodeScorer.BATCH), scores);
          }
        });
    return scores;
  }

  /**
   * The {@code keep} best scored candidates (NaN: not scored), ascending; of candidates tied at
   * the cut, the lower ords. {@code candidates} are ascending (every stage returns its survivors
   * so), and so is the result: one selection of the cut score ({@link IntroSelector}, linear)
   * and one pass, instead of a heap of {@code keep} offered every candidate.
   */
  static int[] best(int[] candidates, float[] scores, int keep) {
    float[] scored = new float[candidates.length];
    int n = 0;
    for (float score : scores) {
      if (Float.isNaN(score) == false) {
        scored[n++] = score;
      }
    }
    float cut = Float.NEGATIVE_INFINITY;
    int tiesKept = Integer.MAX_VALUE;
    if (n > keep) {
      cut = kthLargest(scored, n, keep);
      int above = 0;
      for (int i = 0; i < n; i++) {
        if (scored[i] > cut) {
          above++;
        }
      }
      tiesKept = keep - above;
    }
    int[] best = new int[Math.min(n, keep)];
    int size = 0;
    for (int i = 0; i < candidates.length && size < best.length; i++) {
      float score = scores[i];
      if (score > cut || (score == cut && tiesKept-- > 0)) {
        best[size++] = candidates[i];
      }
    }
    assert size == best.length;
    return best;
  }

  /** The {@code k}-th largest of {@code values[0 .. n)} (reordering them), {@code 1 <= k < n}. */
  private static float kthLargest(float[] values, int n, int k) {
    new IntroSelector() {
      float pivot;

      @Override
      protected void swap(int i, int j) {
        float t = values[i];
        values[i] = values[j];
        values[j] = t;
      }

      @Override
      protected void setPivot(int i) {
        pivot = values[i];
      }

      @Override
      protected int comparePivot(int j) {
        return Float.compare(pivot, values[j]);
      }
    }.select(0, n, n - k);
    return values[n - k];
  }

  /**
   * Survivor stages ask the collector whether to stop (timeout, cancellation) once per this many
   * candidates plus one, and once between stages: often enough to stop within a millisecond,
   * rarely enough to cost nothing. The first stage asks once per chunk ({@link ChunkVisits}).
   * {@code MatryoshkaKnnQuery}'s collector answers from the searcher's timeout and cancellation
   * (Elasticsearch's included), so a stage never runs on past them.
   */
  private static final int CHECK_EVERY = 255;
}
