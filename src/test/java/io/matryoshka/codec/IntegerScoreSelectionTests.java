package io.matryoshka.codec;

import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.tests.util.LuceneTestCase;

/**
 * The streaming integer selection keeps exactly what sorting by (score desc, ord asc) keeps; the
 * integer scores of the first-stage kernels (scalar and Vector API alike) rank exactly like the
 * float estimate they stand for.
 */
public class IntegerScoreSelectionTests extends LuceneTestCase {

  public void testSameAsFullSort() {
    for (int iteration = 0; iteration < 100; iteration++) {
      int n = 1 + random().nextInt(20_000);
      int min = -random().nextInt(2000);
      int max = min + random().nextInt(random().nextBoolean() ? 4 : 3000);
      int[] scores = new int[n];
      for (int ord = 0; ord < n; ord++) {
        // sometimes ascending, the order that keeps raising the threshold
        scores[ord] = random().nextInt(10) == 0
            ? min + (int) ((long) (max - min) * ord / n)
            : min + random().nextInt(max - min + 1);
      }
      int keep = 1 + random().nextInt(random().nextBoolean() ? 50 : n + 10);
      IntegerScoreSelection selection = new IntegerScoreSelection(keep, min, max);
      boolean filtered = random().nextBoolean();
      boolean[] accepted = new boolean[n];
      for (int start = 0; start < n; start += FunnelSearcher.SCAN_CHUNK) {
        int chunk = Math.min(FunnelSearcher.SCAN_CHUNK, n - start);
        if (filtered) {
          for (int ord = start; ord < start + chunk; ord++) {
            if (random().nextInt(3) > 0) {
              accepted[ord] = true;
              selection.add(ord, scores[ord]);
            }
          }
        } else {
          int[] chunkScores = new int[chunk];
          System.arraycopy(scores, start, chunkScores, 0, chunk);
          java.util.Arrays.fill(accepted, start, start + chunk, true);
          selection.addChunk(start, chunkScores, chunk);
        }
      }
      int[] expected =
          IntStream.range(0, n)
              .filter(ord -> accepted[ord])
              .boxed()
              .sorted(Comparator.comparingInt((Integer o) -> -scores[o]).thenComparing(o -> o))
              .limit(keep)
              .mapToInt(Integer::intValue)
              .sorted()
              .toArray();
      assertArrayEquals("n=" + n + " keep=" + keep + " range=" + min + ".." + max, expected, selection.topOrdsAscending());
    }
  }

  public void testBufferStaysNearKeepOnRandomOrder() {
    int n = 100_000;
    IntegerScoreSelection selection = new IntegerScoreSelection(300, -5760, 5760);
    int[] chunk = new int[FunnelSearcher.SCAN_CHUNK];
    for (int start = 0; start < n; start += chunk.length) {
      for (int i = 0; i < chunk.length; i++) {
        chunk[i] = (int) (random().nextGaussian() * 500);
      }
      selection.addChunk(start, chunk, Math.min(chunk.length, n - start));
    }
    assertEquals(300, selection.topOrdsAscending().length);
    // A heap would hold 300; the streaming threshold buffers what reached it when it came.
    assertTrue("buffered " + selection.buffered(), selection.buffered() < 20 * 300);
  }

  public void testIntegerScoresRankLikeTheEstimate() {
    Random random = random();
    for (int dims : new int[] {64, 384, 200}) {
      CodeLayout layout = new CodeLayout(dims, new int[] {dims}, 1);
      Binarizer binarizer = new Binarizer(layout, VectorSimilarityFunction.DOT_PRODUCT, new float[dims], null);
      int words = layout.wordsPerPlane(0);
      int docs = FunnelSearcher.SCAN_CHUNK - 3; // a partial last vector
      long[] column = new long[FunnelSearcher.SCAN_CHUNK * words];
      for (int doc = 0; doc < docs; doc++) {
        long[][] code = binarizer.newCodes(1);
        binarizer.quantize(gaussian(random, dims), 1, code);
        System.arraycopy(code[0], 0, column, doc * words, words);
      }
      for (FunnelMetric metric : new FunnelMetric[] {FunnelMetric.ASYMMETRIC, FunnelMetric.HAMMING}) {
        QueryCode query = binarizer.encodeQuery(gaussian(random, dims), metric, 1);
        assertTrue(query.hasIntegerScores());
        int[] scalar = new int[docs];
        int[] fast = new int[docs];
        int[] scratch = BitKernels.scratchFor(FunnelSearcher.SCAN_CHUNK, words);
        if (metric == FunnelMetric.HAMMING) {
          BitKernels.scalarHammingScoresChunk(query.levelCode(0), column, 0, docs, words, scalar, 0);
          BitKernels.hammingScoresChunk(query.levelCode(0), column, docs, words, fast, 0, scratch);
        } else {
          BitKernels.scalarAsymmetricScoresChunk(query.levelCode(0), column, 0, docs, words, scalar, 0);
          BitKernels.asymmetricScoresChunk(query.levelCode(0), column, docs, words, fast, 0, scratch);
        }
        assertArrayEquals("vector kernels " + BitKernels.VECTOR_KERNELS + " vs scalar, " + metric + ", " + dims, scalar, fast);
        int[] range = query.integerScoreRange(0);
        float[] estimates = new float[docs];
        for (int doc = 0; doc < docs; doc++) {
          assertTrue(scalar[doc] >= range[0] && scalar[doc] <= range[1]);
          if (metric == FunnelMetric.HAMMING) {
            estimates[doc] = query.hammingScore(0, BitKernels.hamming(query.levelCode(0), column, doc * words, words));
          } else {
            long sums = BitKernels.planeSums(query.levelCode(0), query.planes(), new long[][] {column}, doc * words, 1, words);
            estimates[doc] = query.estimate(0, sums, -1f, 2f);
          }
        }
        for (int a = 0; a < docs; a++) {
          for (int b = 0; b < docs; b++) {
            if (scalar[a] > scalar[b]) {
              assertTrue(metric + " " + dims + ": integer order " + scalar[a] + " > " + scalar[b] + " but estimates "
                  + estimates[a] + " < " + estimates[b], estimates[a] > estimates[b] - 1e-4f * Math.abs(estimates[b]) - 1e-5f);
            }
          }
        }
      }
    }
  }

  private static float[] gaussian(Random random, int dims) {
    float[] v = new float[dims];
    for (int i = 0; i < dims; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }
}
