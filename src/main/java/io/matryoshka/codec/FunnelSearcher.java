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
    boolean rotated = codes.rotation() != Rotation.NONE;
    Funnel funnel =
        strategy != null
            ? strategy.resolve(layout.nestedDims(), collector.k(), layout.bits(), rotated)
            : foreignQueryFunnel(layout.nestedDims(), queryDims, collector.k(), layout.bits(), rotated);
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

  /**
   * The funnel for a kNN query that is not this plugin's: Elasticsearch's {@code knn} (Lucene's
   * {@code KnnFloatVectorQuery} with an HNSW strategy). Its collector's k is Elasticsearch's {@code
   * num_candidates} (or Lucene's share of it for this segment), not the hits the user wants. The
   * exact float stage scores {@code max(k, 10 x DEFAULT_OVERSAMPLE)} = {@code max(num_candidates,
   * 300)} candidates, and the collector keeps its k of them; so {@code knn} with k 10 and any
   * {@code num_candidates} up to 300 scores exactly what {@code matryoshka_knn}'s default funnel
   * for k 10 scores, and larger {@code num_candidates} widen the window.
   */
  static Funnel foreignQueryFunnel(int[] nestedDims, int queryDims, int k, int fieldBits, boolean rotated) {
    int defaultWindow = (int) Math.ceil(FOREIGN_QUERY_HITS * (double) Funnel.DEFAULT_OVERSAMPLE);
    return k <= defaultWindow
        ? Funnel.defaultFor(nestedDims, queryDims, FOREIGN_QUERY_HITS, Funnel.DEFAULT_OVERSAMPLE, fieldBits, rotated)
        : Funnel.defaultFor(nestedDims, queryDims, k, 1f, fieldBits, rotated);
  }

  /** Hits a foreign kNN query is assumed to want: Elasticsearch's (and matryoshka_knn's) default k. */
  static final int FOREIGN_QUERY_HITS = 10;

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

  /** A later code stage: random reads of the survivors' codes only. */
  private int[] rescoreCodes(float[] target, FunnelStage stage, int[] candidates)
      throws IOException {
    int lastLevel = layout.levelEndingAt(stage.dims());
    int planes = stage.planesOf(layout.bits());
    QueryCode query = codes.binarizer(data).encodeQuery(target, stage.metric(), planes);
    RandomAccessInput[][] planeSlices = new RandomAccessInput[lastLevel + 1][planes];
    long[][][] docWords = new long[lastLevel + 1][planes][];
    for (int level = 0; level <= lastLevel; level++) {
      for (int plane = 0; plane < planes; plane++) {
        planeSlices[level][plane] = codes.planeSlice(data, level, plane);
        docWords[level][plane] = new long[layout.wordsPerPlane(level)];
      }
    }
    RandomAccessInput correctives = planes > 1 ? codes.correctivesSlice(data) : null;
    TopCandidates top = new TopCandidates(stage.candidates());
    for (int ord : candidates) {
      long sums = 0;
      int distance = 0;
      for (int level = 0; level <= lastLevel; level++) {
        int wordsPerPlane = layout.wordsPerPlane(level);
        long base = (long) ord * layout.bytesPerPlane(level);
        for (int plane = 0; plane < planes; plane++) {
          long[] words = docWords[level][plane];
          for (int w = 0; w < wordsPerPlane; w++) {
            words[w] = planeSlices[level][plane].readLong(base + (long) w * Long.BYTES);
          }
        }
        if (query.isPlainHamming()) {
          distance += BitKernels.hamming(query.levelCode(level), docWords[level][0], 0, wordsPerPlane);
        } else {
          sums += BitKernels.planeSums(query.levelCode(level), query.planes(), docWords[level], 0, planes, wordsPerPlane);
        }
      }
      float score;
      if (query.isPlainHamming()) {
        score = query.hammingScore(lastLevel, distance);
      } else {
        float lower = correctives == null ? -1f : Float.intBitsToFloat(correctives.readInt(ord * 8L));
        float step = correctives == null ? 2f : Float.intBitsToFloat(correctives.readInt(ord * 8L + 4));
        score = query.estimate(lastLevel, sums, lower, step);
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
