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
 * floats) in one sequential pass, keeping a bounded heap; each further stage re-scores only the
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
    int count = codes.count();
    for (int start = 0; start < count && collector.earlyTerminated() == false; start += SCAN_CHUNK) {
      int end = Math.min(count, start + SCAN_CHUNK);
      long allowed = remainingVisits(collector);
      int visited = 0;
      for (int ord = start; ord < end && visited < allowed; ord++) {
        if (acceptOrds == null || acceptOrds.get(ord)) {
          visited++;
          collector.collect(vectors.ordToDoc(ord), floats.score(ord, queryDims));
        }
      }
      collector.incVisitedCount(visited);
    }
  }

  /**
   * Documents the collector still lets this search visit: Lucene caps visits to decide when to fall
   * back to exact search, and counts every document the first stage scores as visited.
   */
  private static long remainingVisits(KnnCollector collector) {
    return Math.max(0, collector.visitLimit() - collector.visitedCount());
  }

  /** Stage 1 on codes: one sequential pass over the bit planes the stage reads. */
  private int[] scanCodes(
      float[] target, FunnelStage stage, Bits acceptOrds, KnnCollector collector)
      throws IOException {
    int lastLevel = layout.levelEndingAt(stage.dims());
    int planes = stage.planesOf(layout.bits());
    QueryCode query = codes.binarizer(data).encodeQuery(target, stage.metric(), planes);
    boolean plainHamming = query.isPlainHamming();
    boolean oneBitAsymmetric = planes == 1 && query.planes() == Binarizer.ASYMMETRIC_QUERY_BITS;
    IndexInput[][] planeInputs = new IndexInput[lastLevel + 1][planes];
    long[][][] chunk = new long[lastLevel + 1][planes][];
    int[] wordsPerPlane = new int[lastLevel + 1];
    for (int level = 0; level <= lastLevel; level++) {
      wordsPerPlane[level] = layout.wordsPerPlane(level);
      for (int plane = 0; plane < planes; plane++) {
        planeInputs[level][plane] = codes.planeInput(data, level, plane);
        chunk[level][plane] = new long[SCAN_CHUNK * wordsPerPlane[level]];
      }
    }
    boolean useCorrectives = planes > 1;
    IndexInput correctivesInput =
        useCorrectives ? data.slice("correctives", codes.correctivesOffset(), codes.correctivesBytes()) : null;
    float[] correctives = useCorrectives ? new float[2 * SCAN_CHUNK] : null;

    TopCandidates top = new TopCandidates(stage.candidates());
    int[] distances = new int[SCAN_CHUNK];
    long[] sums = new long[SCAN_CHUNK];
    float[] scores = new float[SCAN_CHUNK];
    int count = codes.count();
    for (int start = 0; start < count; start += SCAN_CHUNK) {
      int n = Math.min(SCAN_CHUNK, count - start);
      for (int level = 0; level <= lastLevel; level++) {
        for (int plane = 0; plane < planes; plane++) {
          planeInputs[level][plane].readLongs(chunk[level][plane], 0, n * wordsPerPlane[level]);
        }
      }
      if (correctivesInput != null) {
        correctivesInput.readFloats(correctives, 0, 2 * n);
      }
      if (plainHamming) {
        Arrays.fill(distances, 0, n, 0);
        for (int level = 0; level <= lastLevel; level++) {
          BitKernels.hammingChunk(query.levelCode(level), chunk[level][0], n, wordsPerPlane[level], distances);
        }
        for (int i = 0; i < n; i++) {
          scores[i] = query.hammingScore(lastLevel, distances[i]);
        }
      } else {
        Arrays.fill(sums, 0, n, 0L);
        for (int level = 0; level <= lastLevel; level++) {
          if (oneBitAsymmetric) {
            BitKernels.fourBitQueryOneBitDocChunk(query.levelCode(level), chunk[level][0], n, wordsPerPlane[level], sums);
          } else {
            for (int i = 0; i < n; i++) {
              sums[i] +=
                  BitKernels.planeSums(
                      query.levelCode(level), query.planes(), chunk[level], i * wordsPerPlane[level], planes, wordsPerPlane[level]);
            }
          }
        }
        for (int i = 0; i < n; i++) {
          float lower = useCorrectives ? correctives[2 * i] : -1f;
          float step = useCorrectives ? correctives[2 * i + 1] : 2f;
          scores[i] = query.estimate(lastLevel, sums[i], lower, step);
        }
      }
      long allowed = remainingVisits(collector);
      int visited = 0;
      float threshold = top.minCompetitiveScore();
      for (int i = 0; i < n && visited < allowed; i++) {
        int ord = start + i;
        if (acceptOrds != null && acceptOrds.get(ord) == false) {
          continue;
        }
        visited++;
        if (scores[i] > threshold) {
          top.offer(ord, scores[i]);
          threshold = top.minCompetitiveScore();
        }
      }
      collector.incVisitedCount(visited);
      if (collector.earlyTerminated()) {
        break;
      }
    }
    return top.ordsAscending();
  }

  /** Stage 1 on floats: every accepted document's prefix similarity. */
  private int[] scanFloats(
      FloatPrefixScorer floats, FunnelStage stage, Bits acceptOrds, KnnCollector collector)
      throws IOException {
    TopCandidates top = new TopCandidates(stage.candidates());
    int count = codes.count();
    for (int start = 0; start < count && collector.earlyTerminated() == false; start += SCAN_CHUNK) {
      int end = Math.min(count, start + SCAN_CHUNK);
      long allowed = remainingVisits(collector);
      int visited = 0;
      for (int ord = start; ord < end && visited < allowed; ord++) {
        if (acceptOrds == null || acceptOrds.get(ord)) {
          visited++;
          top.offer(ord, floats.score(ord, stage.dims()));
        }
      }
      collector.incVisitedCount(visited);
    }
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
