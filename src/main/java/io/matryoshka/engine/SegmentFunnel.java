package io.matryoshka.engine;

import io.matryoshka.quantization.QueryCode;
import io.matryoshka.search.FloatPrefixScorer;
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
    FloatPrefixScorer floats = new FloatPrefixScorer(vectors, target, codes.similarity());
    if (plan.exact()) {
      ChunkVisits.forEachAccepted(
          codes.count(),
          acceptOrds,
          collector,
          ord -> collector.collect(vectors.ordToDoc(ord), floats.score(ord, queryDims)));
      return;
    }
    List<FunnelStage> stages = plan.funnel().stages();
    FunnelStage first = stages.get(0);
    int[] candidates =
        first.metric().usesCodes()
            ? scanCodes(target, first, acceptOrds, collector, plan)
            : scanFloats(floats, first, acceptOrds, collector);
    for (int i = 1; i < stages.size() - 1 && collector.earlyTerminated() == false; i++) {
      FunnelStage stage = stages.get(i);
      candidates =
          stage.metric().usesCodes()
              ? rescoreCodes(target, stage, candidates, collector)
              : rescoreFloats(floats, stage, candidates, collector);
    }
    for (int i = 0; i < candidates.length; i++) {
      if ((i & CHECK_EVERY) == 0 && collector.earlyTerminated()) {
        break;
      }
      collector.collect(vectors.ordToDoc(candidates[i]), floats.score(candidates[i], queryDims));
    }
  }

  /** Stage 1 on codes: one sequential pass over the bit planes the stage reads. */
  private int[] scanCodes(
      float[] target, FunnelStage stage, Bits acceptOrds, KnnCollector collector, SegmentPlan plan)
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
  private int[] rescoreCodes(float[] target, FunnelStage stage, int[] candidates, KnnCollector collector)
      throws IOException {
    int planes = stage.planesOf(codes.layout().bits());
    QueryCode query = QueryCodes.encode(codes.binarizer(), target, stage.metric(), planes);
    SurvivorCodeScorer scorer =
        new SurvivorCodeScorer(codes, query, codes.layout().levelIndexOf(stage.dims()), planes);
    TopCandidates top = new TopCandidates(stage.candidates());
    for (int i = 0; i < candidates.length; i++) {
      if ((i & CHECK_EVERY) == 0 && collector.earlyTerminated()) {
        break;
      }
      top.offer(candidates[i], scorer.score(candidates[i]));
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
