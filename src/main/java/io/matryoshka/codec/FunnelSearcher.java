package io.matryoshka.codec;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.search.AcceptDocs;
import org.apache.lucene.search.KnnCollector;
import org.apache.lucene.search.knn.KnnSearchStrategy;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.RandomAccessInput;
import org.apache.lucene.util.Bits;

/**
 * Runs a funnel over one segment's field. Stage 1 scans every accepted document's code (or
 * floats) in one sequential pass ({@link StageOneScan}); each further stage re-scores only the
 * survivors with more bits or more floats; the last stage scores the survivors exactly on the
 * query's length and hands them to the collector, which keeps the k best.
 */
final class FunnelSearcher {
  /** Documents whose codes one sequential read brings in: large enough to amortise the call. */
  static final int SCAN_CHUNK = 512;

  private final FieldCodes codes;
  private final IndexInput data;
  private final FloatVectorValues vectors;
  private final CodeLayout layout;

  FunnelSearcher(FieldCodes codes, IndexInput data, FloatVectorValues vectors) {
    this.codes = codes;
    this.data = data;
    this.vectors = vectors;
    this.layout = codes.layout();
  }

  /** The funnel strategy a collector carries, looking through Lucene's seeded wrapper. */
  static FunnelSearchStrategy funnelStrategy(KnnSearchStrategy strategy) {
    while (strategy instanceof KnnSearchStrategy.Seeded seeded) {
      strategy = seeded.originalStrategy();
    }
    return strategy instanceof FunnelSearchStrategy funnel ? funnel : null;
  }

  void search(float[] target, KnnCollector collector, AcceptDocs acceptDocs) throws IOException {
    FunnelSearchStrategy strategy = funnelStrategy(collector.getSearchStrategy());
    int queryDims = strategy == null ? layout.dims() : strategy.queryDims();
    if (queryDims != layout.dims() && layout.levelEndingAt(queryDims) < 0) {
      throw new IllegalArgumentException(
          "a query vector of "
              + queryDims
              + " dims matches neither the field's "
              + layout.dims()
              + " dims nor one of its nested dims "
              + Arrays.toString(layout.nestedDims()));
    }
    if (queryDims != layout.dims() && codes.rotation() != Rotation.NONE) {
      throw new IllegalArgumentException(
          "a query vector of "
              + queryDims
              + " dims is a prefix, but with rotation ["
              + codes.rotation()
              + "] nested dims are levels of the rotated space, not prefixes of the model's vectors: query with all "
              + layout.dims()
              + " dims");
    }
    Bits acceptOrds = vectors.getAcceptOrds(acceptDocs.bits());
    FloatPrefixScorer floats = new FloatPrefixScorer(vectors, target, codes.similarity());
    if (strategy != null && strategy.exact()) {
      scoreAllExactly(floats, queryDims, acceptOrds, collector);
      return;
    }
    Funnel funnel =
        strategy != null
            ? strategy.resolve(layout.nestedDims(), collector.k(), layout.bits())
            : Funnel.defaultFor(layout.nestedDims(), queryDims, collector.k(), Funnel.DEFAULT_OVERSAMPLE, layout.bits());
    funnel.validate(queryDims, layout.nestedDims(), layout.bits());
    List<FunnelStage> stages = funnel.stages();
    if (stages.size() == 1) {
      // Nothing to narrow before the last stage: every document gets its exact score.
      scoreAllExactly(floats, queryDims, acceptOrds, collector);
      return;
    }
    FunnelStage first = stages.get(0);
    int[] candidates =
        first.metric().usesCodes()
            ? scanCodes(target, first, acceptOrds, collector)
            : scanFloats(floats, first, acceptOrds, collector);
    for (int i = 1; i < stages.size() - 1 && collector.earlyTerminated() == false; i++) {
      FunnelStage stage = stages.get(i);
      candidates =
          stage.metric().usesCodes()
              ? rescoreCodes(target, stage, candidates)
              : rescoreFloats(floats, stage, candidates);
    }
    for (int ord : candidates) {
      collector.collect(vectors.ordToDoc(ord), floats.score(ord, queryDims));
    }
  }

  private void scoreAllExactly(
      FloatPrefixScorer floats, int queryDims, Bits acceptOrds, KnnCollector collector)
      throws IOException {
    forEachAcceptedOrd(
        acceptOrds,
        collector,
        ord -> collector.collect(vectors.ordToDoc(ord), floats.score(ord, queryDims)));
  }

  @FunctionalInterface
  private interface OrdConsumer {
    void accept(int ord) throws IOException;
  }

  /**
   * Visits every accepted ord in order, chunk by chunk, counting visits on the collector and
   * stopping where it says so (visit limit, timeout).
   */
  private void forEachAcceptedOrd(Bits acceptOrds, KnnCollector collector, OrdConsumer consumer)
      throws IOException {
    int count = codes.count();
    for (int start = 0; start < count && collector.earlyTerminated() == false; start += SCAN_CHUNK) {
      int end = Math.min(count, start + SCAN_CHUNK);
      long allowed = remainingVisits(collector);
      int visited = 0;
      for (int ord = start; ord < end && visited < allowed; ord++) {
        if (acceptOrds == null || acceptOrds.get(ord)) {
          visited++;
          consumer.accept(ord);
        }
      }
      collector.incVisitedCount(visited);
    }
  }

  /**
   * Documents the collector still lets this search visit: Lucene caps visits to decide when to fall
   * back to exact search, and counts every document the first stage scores as visited.
   */
  static long remainingVisits(KnnCollector collector) {
    return Math.max(0, collector.visitLimit() - collector.visitedCount());
  }

  /** Stage 1 on codes: one sequential pass over the bit planes the stage reads. */
  private int[] scanCodes(
      float[] target, FunnelStage stage, Bits acceptOrds, KnnCollector collector)
      throws IOException {
    int planes = stage.planesOf(layout.bits());
    QueryCode query = codes.binarizer(data).encodeQuery(target, stage.metric(), planes);
    return new StageOneScan(codes, data)
        .scan(query, layout.levelEndingAt(stage.dims()), planes, acceptOrds, collector, stage.candidates());
  }

  /** Stage 1 on floats: every accepted document's prefix similarity. */
  private int[] scanFloats(
      FloatPrefixScorer floats, FunnelStage stage, Bits acceptOrds, KnnCollector collector)
      throws IOException {
    TopCandidates top = new TopCandidates(stage.candidates());
    forEachAcceptedOrd(acceptOrds, collector, ord -> top.offer(ord, floats.score(ord, stage.dims())));
    return top.ordsAscending();
  }

  /**
   * A later code stage: reads of the survivors' codes only. One pass per level and bit plane, each
   * reading its block in ascending ord order (a stream the hardware prefetches), rather than every
   * block of one document at a time, which hops between up to {@code levels x planes} blocks
   * (measured: those reads were the whole second stage's cost on 4-bit fields).
   */
  private int[] rescoreCodes(float[] target, FunnelStage stage, int[] candidates)
      throws IOException {
    int lastLevel = layout.levelEndingAt(stage.dims());
    int planes = stage.planesOf(layout.bits());
    QueryCode query = codes.binarizer(data).encodeQuery(target, stage.metric(), planes);
    boolean hamming = query.isPlainHamming();
    // Per candidate: the hamming distance, or the packed sum(q d) << 32 | sum(d) of QueryCode.estimate.
    long[] sums = new long[candidates.length];
    for (int level = 0; level <= lastLevel; level++) {
      int wordsPerPlane = layout.wordsPerPlane(level);
      long bytesPerPlane = layout.bytesPerPlane(level);
      long[] queryCode = query.levelCode(level);
      long[] words = new long[wordsPerPlane];
      for (int plane = 0; plane < planes; plane++) {
        RandomAccessInput slice = codes.planeSlice(data, level, plane);
        for (int i = 0; i < candidates.length; i++) {
          long base = candidates[i] * bytesPerPlane;
          for (int w = 0; w < wordsPerPlane; w++) {
            words[w] = slice.readLong(base + (long) w * Long.BYTES);
          }
          sums[i] +=
              hamming
                  ? BitKernels.hamming(queryCode, words, 0, wordsPerPlane)
                  : BitKernels.planeSum(queryCode, query.planes(), words, 0, plane, planes, wordsPerPlane);
        }
      }
    }
    RandomAccessInput correctives = planes > 1 ? codes.correctivesSlice(data) : null;
    TopCandidates top = new TopCandidates(stage.candidates());
    for (int i = 0; i < candidates.length; i++) {
      int ord = candidates[i];
      float score;
      if (hamming) {
        score = query.hammingScore(lastLevel, (int) sums[i]);
      } else {
        float lower = correctives == null ? -1f : Float.intBitsToFloat(correctives.readInt(ord * 8L));
        float step = correctives == null ? 2f : Float.intBitsToFloat(correctives.readInt(ord * 8L + 4));
        score = query.estimate(lastLevel, sums[i], lower, step);
      }
      top.offer(ord, score);
    }
    return top.ordsAscending();
  }

  private int[] rescoreFloats(FloatPrefixScorer floats, FunnelStage stage, int[] candidates)
      throws IOException {
    TopCandidates top = new TopCandidates(stage.candidates());
    for (int ord : candidates) {
      top.offer(ord, floats.score(ord, stage.dims()));
    }
    return top.ordsAscending();
  }
}
