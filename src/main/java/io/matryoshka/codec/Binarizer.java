package io.matryoshka.codec;

import org.apache.lucene.index.VectorSimilarityFunction;

/**
 * Turns a float vector into nested bit-plane codes: normalise (cosine), subtract the segment's
 * centroid, rotate (if the segment learned a rotation), then quantize each coordinate to
 * {@code bits} bits. Queries go through the same transform so that they meet documents in the same
 * space. See {@link MatryoshkaVectorsFormat} for the byte layout this fills.
 */
public final class Binarizer {
  /** Bits per dimension of an asymmetric query. */
  public static final int ASYMMETRIC_QUERY_BITS = 4;

  private final CodeLayout layout;
  private final VectorSimilarityFunction similarity;
  private final float[] centroid;
  private final float[][] rotation; // rows of the rotation, or null for the identity

  public Binarizer(
      CodeLayout layout, VectorSimilarityFunction similarity, float[] centroid, float[][] rotation) {
    this.layout = layout;
    this.similarity = similarity;
    this.centroid = centroid;
    this.rotation = rotation;
  }

  public CodeLayout layout() {
    return layout;
  }

  /**
   * The coordinates codes are computed from: {@code R (x - centroid)}, {@code x} normalised under
   * cosine. With {@code center} false the centroid is not subtracted (asymmetric queries, whose
   * inner product with centred documents then ranks like the true one).
   */
  public float[] transform(float[] vector, boolean center) {
    int dims = layout.dims();
    float[] x = new float[dims];
    float norm = 1f;
    if (similarity == VectorSimilarityFunction.COSINE) {
      double sum = 0;
      for (int i = 0; i < dims; i++) {
        sum += (double) vector[i] * vector[i];
      }
      norm = sum > 0 ? (float) Math.sqrt(sum) : 1f;
    }
    for (int i = 0; i < dims; i++) {
      x[i] = vector[i] / norm - (center ? centroid[i] : 0f);
    }
    return rotation == null ? x : rotate(rotation, x);
  }

  static float[] rotate(float[][] rows, float[] x) {
    float[] out = new float[rows.length];
    for (int row = 0; row < rows.length; row++) {
      out[row] = org.apache.lucene.util.VectorUtil.dotProduct(rows[row], x);
    }
    return out;
  }

  /**
   * Quantizes transformed coordinates {@code y} to {@code planes} bit planes per level.
   *
   * @param codes per level, {@code planes * wordsPerPlane(level)} longs, overwritten
   * @param planes 1 means sign bits; more means uniform levels on {@code [min(y), max(y)]}
   * @return the corrective terms {@code {lower, step}} such that {@code y ~ lower + step * q}
   */
  public float[] quantize(float[] y, int planes, long[][] codes) {
    float lower;
    float step;
    if (planes == 1) {
      lower = -1f;
      step = 2f;
    } else {
      float min = Float.POSITIVE_INFINITY;
      float max = Float.NEGATIVE_INFINITY;
      for (float v : y) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      int top = (1 << planes) - 1;
      lower = min;
      step = max > min ? (max - min) / top : 1f;
    }
    int top = (1 << planes) - 1;
    for (int level = 0; level < layout.levels(); level++) {
      long[] words = codes[level];
      java.util.Arrays.fill(words, 0L);
      int wordsPerPlane = layout.wordsPerPlane(level);
      int start = layout.levelStart(level);
      int end = layout.levelEnd(level);
      for (int d = start; d < end; d++) {
        int q;
        if (planes == 1) {
          q = y[d] > 0 ? 1 : 0;
        } else {
          q = Math.round((y[d] - lower) / step);
          q = Math.max(0, Math.min(top, q));
        }
        int offset = d - start;
        int word = offset >>> 6;
        long bit = 1L << (offset & 63);
        for (int plane = 0; plane < planes; plane++) {
          if (((q >>> plane) & 1) != 0) {
            words[plane * wordsPerPlane + word] |= bit;
          }
        }
      }
    }
    return new float[] {lower, step};
  }

  /** Fresh per-level code buffers for {@code planes} planes. */
  public long[][] newCodes(int planes) {
    long[][] codes = new long[layout.levels()][];
    for (int level = 0; level < layout.levels(); level++) {
      codes[level] = new long[planes * layout.wordsPerPlane(level)];
    }
    return codes;
  }

  /** The query's code for a stage metric: same bits as documents, or 4-bit planes. */
  public QueryCode encodeQuery(float[] query, FunnelMetric metric) {
    boolean asymmetric = metric == FunnelMetric.ASYMMETRIC;
    int planes = asymmetric ? ASYMMETRIC_QUERY_BITS : layout.bits();
    // Documents' codes estimate y = R(x - c). With more than one bit they estimate it well, and
    // <q, y> ranks exactly like <q, x>, so the query stays uncentred; <q - c, y> would add a
    // per-document error <c, y>. One-bit codes keep only signs, and there the centred query ranks
    // better (measured on real embeddings: recall@10 0.995 vs 0.977 keeping 300 of 60k).
    float[] y = transform(query, layout.bits() == 1);
    long[][] codes = newCodes(planes);
    float[] correctives = quantize(y, planes, codes);
    return new QueryCode(layout, planes, codes, correctives[0], correctives[1]);
  }
}
