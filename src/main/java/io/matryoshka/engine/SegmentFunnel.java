package io.matryoshka.engine;

import io.matryoshka.quantization.QueryCode;
import io.matryoshka.quantization.QueryCoordinates;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.search.FloatPrefixScorer;
import io.matryoshka.search.FunnelTrace;
import io.matryoshka.search.FunnelStage;
import io.matryoshka.search.SegmentPlan;
import java.io.IOException;
import java.util.List;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.search.KnnCollector;
import org.apache.lucene.util.Bits;

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
              ? rescoreCodes(coordinates, stage, candidates, collector)
              : rescoreFloats(floats, stage, candidates, collector);
      started = record(trace, stage, input, candidates.length, survivorBytes(stage, input), started);
    }
    int collected = 0;
    for (int i = 0; i < candidates.length; i++) {
      if ((i & CHECK_EVERY) == 0 && collector.earlyTerminated()) {
        break;
      }
      collector.collect(vectors.ordToDoc(candidates[i]), floats.score(candidates[i], queryDims));
      collected++;
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
    return input * (stage.metric().usesCodes() ? codeBytesPerDoc(stage) : (long) stage.dims() * Float.BYTES);
  }

  /** A code stage's bytes per document: its levels' planes, and the correctives beyond one plane. */
  private long codeBytesPerDoc(FunnelStage stage) {
    CodeLayout layout = codes.layout();
    int planes = stage.planesOf(layout.bits());
    long perDoc = planes > 1 ? layout.correctiveBytesPerDoc() : 0;
    for (int level = 0; level <= layout.levelIndexOf(stage.dims()); level++) {
      perDoc += (long) layout.bytesPerPlane(level) * planes;
    }
    return perDoc;
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
  private int[] rescoreCodes(QueryCoordinates target, FunnelStage stage, int[] candidates, KnnCollector collector)
      throws IOException {
    int planes = stage.planesOf(codes.layout().bits());
    QueryCode query = QueryCodes.encode(codes.binarizer(), target, stage.metric(), planes);
    SurvivorCodeScorer scorer =
        new SurvivorCodeScorer(codes, query, codes.layout().levelIndexOf(stage.dims()), planes);
    TopCandidates top = new TopCandidates(stage.candidates());
    float[] scores = new float[SurvivorCodeScorer.BATCH];
    for (int from = 0; from < candidates.length; from += SurvivorCodeScorer.BATCH) {
      if ((from & CHECK_EVERY) < SurvivorCodeScorer.BATCH && collector.earlyTerminated()) {
        break;
      }
      int to = Math.min(candidates.length, from + SurvivorCodeScorer.BATCH);
      scorer.score(candidates, from, to, scores);
      for (int i = from; i < to; i++) {
        top.offer(candidates[i], scores[i - from]);
      }
    }
    return top.ordsAscending();
  }

  private int[] rescoreFloats(
      FloatPrefixScorer floats, FunnelStage stage, int[] candidates, KnnCollector collector)
      throws IOException {
    TopCandidates top = new TopCandidates(stage.candidates());
    for (int i = 0; i < candidates.length; i++) {
      if ((i & CHECK_EVERY) == 0 && collector.earlyTerminated()) {
        break;
      }
      top.offer(candidates[i], floats.score(candidates[i], stage.dims()));
    }
    return top.ordsAscending();
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
