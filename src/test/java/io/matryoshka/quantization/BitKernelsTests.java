package io.matryoshka.quantization;

import java.util.Random;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.tests.util.LuceneTestCase;

/**
 * The integer scores of the first-stage kernels (scalar and Vector API alike) rank exactly like the
 * float estimate they stand for.
 */
public class BitKernelsTests extends LuceneTestCase {
  /** Documents per chunk, as the engine's scan hands them to the kernels. */
  private static final int CHUNK = 512;

  /**
   * A survivor entry scored in one pass (the Vector API kernel where it runs, the scalar loop, and
   * the general loop for other query plane counts) gives the sums of a word-by-word reference.
   */
  public void testEntrySumsEqualTheWordByWordSums() {
    Random random = random();
    for (int words : new int[] {1, 7, 8, 24, 25, 41}) {
      for (int queryPlanes : new int[] {4, 2, 1}) {
        long[][] query = new long[queryPlanes][words];
        long[] shifts = new long[words];
        int offset = random.nextInt(5);
        long[] entry = new long[offset + words + 3];
        for (int j = 0; j < words; j++) {
          for (int a = 0; a < queryPlanes; a++) {
            query[a][j] = random.nextLong();
          }
          shifts[j] = random.nextInt(4);
          entry[offset + j] = random.nextLong();
        }
        long sumD = 0;
        long sumQD = 0;
        for (int j = 0; j < words; j++) {
          long d = entry[offset + j];
          sumD += (long) Long.bitCount(d) << shifts[j];
          for (int a = 0; a < queryPlanes; a++) {
            sumQD += (long) Long.bitCount(query[a][j] & d) << (queryPlanes - 1 - a + shifts[j]);
          }
        }
        long expected = sumQD << 32 | sumD;
        String what = words + " words, " + queryPlanes + " query planes, vector kernels " + BitKernels.VECTOR_KERNELS;
        assertEquals(what, expected, BitKernels.entrySums(query, shifts, entry, offset, words));
        if (queryPlanes == 4) {
          assertEquals(what + " (scalar)", expected, BitKernels.fourPlaneEntrySums(query, shifts, entry, offset, 0, words, 0, 0));
        }
      }
    }
  }

  public void testIntegerScoresRankLikeTheEstimate() {
    Random random = random();
    for (int dims : new int[] {64, 384, 200}) {
      CodeLayout layout = new CodeLayout(dims, new int[] {dims}, 1);
      Binarizer binarizer = new Binarizer(layout, VectorSimilarityFunction.DOT_PRODUCT, new float[dims], null);
      int words = layout.wordsPerPlane(0);
      int docs = CHUNK - 3; // a partial last vector
      long[] column = new long[CHUNK * words];
      for (int doc = 0; doc < docs; doc++) {
        long[][] code = binarizer.newCodes(1);
        binarizer.quantize(gaussian(random, dims), 1, code);
        System.arraycopy(code[0], 0, column, doc * words, words);
      }
      for (boolean hamming : new boolean[] {false, true}) {
        String metric = hamming ? "hamming" : "asymmetric";
        float[] q = gaussian(random, dims);
        QueryCode query = hamming ? binarizer.encodeSymmetricQuery(q, 1) : binarizer.encodeAsymmetricQuery(q, 1);
        assertTrue(query.hasIntegerScores());
        int[] scalar = new int[docs];
        int[] fast = new int[docs];
        int[] scratch = BitKernels.scratchFor(CHUNK, words);
        if (hamming) {
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
          if (hamming) {
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
  /**
   * Document quantization on the Vector API (where it runs) sets exactly the bits of the scalar
   * loop: levels from rounding, clamping (2-bit intervals clip), the sign kept on plane 0, quotients
   * that fall exactly on a rounding midpoint, zeros.
   */
  public void testQuantizeActiveEqualsTheScalarLoop() {
    Random random = random();
    for (int iteration = 0; iteration < 200; iteration++) {
      int planes = new int[] {1, 2, 4}[random.nextInt(3)];
      int levelStart = 64 * random.nextInt(3);
      int width = 1 + random.nextInt(200);
      int wordsPerPlane = (width + 63) / 64;
      float[] y = new float[levelStart + width];
      float amplitude = 0.5f + random.nextFloat();
      int top = (1 << planes) - 1;
      float step = 2f * amplitude / top;
      for (int d = 0; d < y.length; d++) {
        switch (random.nextInt(5)) {
          case 0 -> y[d] = 0f;
          case 1 -> y[d] = -amplitude + step * (random.nextInt(top + 1) + 0.5f); // a rounding midpoint
          case 2 -> y[d] = (random.nextFloat() * 4 - 2) * amplitude; // beyond the interval: clamped
          default -> y[d] = (float) random.nextGaussian() * amplitude / 2;
        }
      }
      int from = levelStart + (random.nextBoolean() ? 16 * random.nextInt(1 + width / 16) : random.nextInt(width));
      from = Math.min(from, levelStart + width);
      long[] expected = new long[planes * wordsPerPlane];
      long[] actual = new long[planes * wordsPerPlane];
      BitKernels.scalarQuantizeActive(y, from, y.length, levelStart, -amplitude, step, planes, expected, wordsPerPlane);
      BitKernels.quantizeActive(y, from, y.length, levelStart, -amplitude, step, planes, actual, wordsPerPlane);
      assertArrayEquals(
          planes + " planes, level at " + levelStart + ", from " + from + ", width " + width + ", vector kernels " + BitKernels.VECTOR_KERNELS,
          expected,
          actual);
    }
  }
  /**
   * A batch of documents transformed together (the rotation applied to blocks of eight on the
   * Vector API) gets the coordinates each gets alone, up to the rounding of the sums' order.
   */
  public void testTransformAllEqualsOneByOne() throws java.io.IOException {
    Random random = random();
    for (int iteration = 0; iteration < 20; iteration++) {
      int dims = 1 + random.nextInt(400);
      int rows = 1 + random.nextInt(dims);
      float[][] rotation = new float[rows][dims];
      float[] centroid = new float[dims];
      for (int d = 0; d < dims; d++) {
        centroid[d] = (float) random.nextGaussian() * 0.1f;
        for (int r = 0; r < rows; r++) {
          rotation[r][d] = (float) random.nextGaussian() / (float) Math.sqrt(dims);
        }
      }
      CodeLayout layout = new CodeLayout(dims, new int[] {dims}, 4);
      Binarizer binarizer = new Binarizer(layout, VectorSimilarityFunction.COSINE, centroid, rotation);
      int n = random.nextInt(3 * BitKernels.ROTATE_BLOCK + 2);
      float[][] vectors = new float[n][dims];
      float[][] scratch = new float[n][dims];
      float[][] out = new float[n][dims];
      for (int v = 0; v < n; v++) {
        for (int d = 0; d < dims; d++) {
          vectors[v][d] = (float) random.nextGaussian();
          out[v][d] = Float.NaN; // every coordinate is overwritten
        }
      }
      binarizer.transformAll(vectors, n, scratch, out);
      for (int v = 0; v < n; v++) {
        float[] alone = binarizer.transform(vectors[v], true);
        for (int d = 0; d < dims; d++) {
          assertEquals(dims + " dims, " + rows + " rows, vector " + v + " of " + n + ", coordinate " + d, alone[d], out[v][d], 1e-5f);
        }
      }
    }
  }
}
