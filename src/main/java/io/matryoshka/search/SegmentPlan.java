package io.matryoshka.search;

import org.apache.lucene.search.TaskExecutor;
import org.apache.lucene.search.knn.KnnSearchStrategy;

/**
 * What one segment runs for a kNN search: the query's length and the funnel's stages, or exact
 * scoring of every accepted document. Resolved per segment from the collector's strategy because
 * the segment's reader only sees Lucene's {@code KnnCollector}: a {@link FunnelSearchStrategy}
 * (from {@code matryoshka_knn}) names its funnel or its oversample; any other strategy (Lucene's
 * or Elasticsearch's {@code knn}) gets the default funnel.
 *
 * @param queryDims the query's own length (the target handed to the reader is zero-padded to the
 *     field's length when this is a shorter nested prefix)
 * @param funnel the stages to run, or {@code null} to score every accepted document exactly
 * @param executor where the first stage of a large segment may run in parallel, or null
 * @param trace where the engine records what each stage did (for {@code profile}), or null
 */
public record SegmentPlan(int queryDims, Funnel funnel, TaskExecutor executor, FunnelTrace trace) {

  /** Whether every accepted document is scored exactly (no code stage narrows them first). */
  public boolean exact() {
    return funnel == null || funnel.stages().size() == 1;
  }

  /**
   * @param strategy the collector's search strategy
   * @param k the hits the collector keeps: {@code matryoshka_knn}'s {@code k}, or {@code knn}'s
   *     {@code num_candidates} (Elasticsearch asks Lucene for that many per shard)
   * @param segmentDocs documents with a vector in the segment: candidate counts grow with it
   * @param nestedDims the segment's nested levels, ascending, the last the field's dims
   * @param fieldBits bits per dimension the segment's codes hold
   * @param rotated whether the codes are in a learned rotation
   * @param survivorBlock whether the segment stores each document's whole code in one place
   */
  public static SegmentPlan resolve(
      KnnSearchStrategy strategy,
      int k,
      int segmentDocs,
      int[] nestedDims,
      int fieldBits,
      boolean rotated,
      boolean survivorBlock) {
    int fieldDims = nestedDims[nestedDims.length - 1];
    FunnelSearchStrategy funnel = funnelStrategy(strategy);
    if (funnel == null) {
      int rerank = Funnel.foreignQueryRerank(k, segmentDocs);
      int afterFourBits = Funnel.foreignQueryRerank(k, Funnel.REFERENCE_SEGMENT_DOCS);
      return new SegmentPlan(
          fieldDims,
          Funnel.defaultFor(nestedDims, fieldDims, k, rerank, afterFourBits, fieldBits, rotated, survivorBlock),
          null,
          null);
    }
    if (funnel.needsValidation(nestedDims, fieldBits)) {
      FunnelSearchStrategy.validate(funnel.queryDims(), funnel.funnel(), nestedDims, fieldBits, rotated);
    }
    if (funnel.exact()) {
      return new SegmentPlan(funnel.queryDims(), null, funnel.executor(), funnel.trace());
    }
    if (funnel.funnel() != null) {
      return new SegmentPlan(funnel.queryDims(), funnel.funnel(), funnel.executor(), funnel.trace());
    }
    int rerank = Funnel.rerankCandidates(k, funnel.oversample(), segmentDocs);
    int afterFourBits = Funnel.rerankCandidates(k, funnel.oversample(), Funnel.REFERENCE_SEGMENT_DOCS);
    return new SegmentPlan(
        funnel.queryDims(),
        Funnel.defaultFor(nestedDims, funnel.queryDims(), k, rerank, afterFourBits, fieldBits, rotated, survivorBlock),
        funnel.executor(),
        funnel.trace());
  }

  /** The funnel strategy a collector carries, looking through Lucene's seeded wrapper. */
  static FunnelSearchStrategy funnelStrategy(KnnSearchStrategy strategy) {
    while (strategy instanceof KnnSearchStrategy.Seeded seeded) {
      strategy = seeded.originalStrategy();
    }
    return strategy instanceof FunnelSearchStrategy funnel ? funnel : null;
  }
}
