package io.matryoshka.quantization;

/**
 * A query quantized for one funnel metric: per nested level its bit planes, and the terms that
 * turn popcounts into an estimate of the query's inner product with a document's coordinates.
 *
 * <p>With document coordinates {@code y_i ~ lowerD + stepD * d_i} and query coordinates
 * {@code u_i ~ lowerQ + stepQ * q_i} (integers {@code d_i, q_i} spread over bit planes), the inner
 * product over a prefix of {@code p} dimensions is
 *
 * <pre>
 * p lowerQ lowerD + lowerQ stepD sum(d) + lowerD stepQ sum(q) + stepQ stepD sum(q d)
 * </pre>
 *
 * where {@code sum(d) = sum_b w_b popcount(D_b)} and {@code sum(q d) = sum_a sum_b w_a w_b
 * popcount(Q_a & D_b)}, {@code w} the weight {@code 2^(planes - 1 - index)} of a plane (planes
 * are stored most significant first): popcounts over bit planes only.
 */
public final class QueryCode {
  private final CodeLayout layout;
  private final int planes;
  private final int docPlanes;
  private final long[][] codes;
  private final float lower;
  private final float step;
  private final long[] sumQThroughLevel;

  QueryCode(CodeLayout layout, int planes, int docPlanes, long[][] codes, float lower, float step) {
    this.layout = layout;
    this.planes = planes;
    this.docPlanes = docPlanes;
    this.codes = codes;
    this.lower = lower;
    this.step = step;
    this.sumQThroughLevel = new long[layout.levels()];
    long sum = 0;
    for (int level = 0; level < layout.levels(); level++) {
      int wordsPerPlane = layout.wordsPerPlane(level);
      for (int plane = 0; plane < planes; plane++) {
        for (int w = 0; w < wordsPerPlane; w++) {
          sum += (long) Long.bitCount(codes[level][plane * wordsPerPlane + w]) << (planes - 1 - plane);
        }
      }
      sumQThroughLevel[level] = sum;
    }
  }

  public int planes() {
    return planes;
  }

  /** The query's planes for {@code level}: {@code planes * wordsPerPlane(level)} longs. */
  public long[] levelCode(int level) {
    return codes[level];
  }

  /** Whether the cheap XOR-popcount path applies (one bit on both sides). */
  public boolean isPlainHamming() {
    return planes == 1 && docPlanes == 1;
  }

  /**
   * The estimated inner product over the prefix ending with {@code level}.
   *
   * @param packedSums {@link BitKernels} output summed over levels 0..level: {@code sum(q d) << 32 |
   *     sum(d)}
   * @param docLower the document's corrective lower bound ({@code -1} with one bit)
   * @param docStep the document's corrective step ({@code 2} with one bit)
   */
  public float estimate(int level, long packedSums, float docLower, float docStep) {
    long sumD = packedSums & 0xFFFFFFFFL;
    long sumQD = packedSums >>> 32;
    int prefix = layout.levelEnd(level);
    return prefix * lower * docLower
        + lower * docStep * sumD
        + docLower * step * sumQThroughLevel[level]
        + step * docStep * sumQD;
  }

  /**
   * Whether a first stage can rank by an integer instead of {@link #estimate}: one-bit documents
   * against a one-bit query (hamming) or a 4-bit query on the symmetric interval {@code [-a, a]}.
   * With documents' {@code lowerD = -1, stepD = 2} and the query's {@code lowerQ = -a, stepQ = 2a /
   * 15}, the estimate is {@code const + (2a / 15) (2 sum(q d) - 15 sum(d))}: it ranks exactly like
   * the integer {@code 2 sum(q d) - 15 sum(d)} (see {@link BitKernels#asymmetricScoresChunk}).
   */
  public boolean hasIntegerScores() {
    return docPlanes == 1 && (planes == 1 || planes == Binarizer.ASYMMETRIC_QUERY_BITS);
  }

  /**
   * The range {@code {min, max}} of the integer scores of {@link #hasIntegerScores} over the prefix
   * ending with {@code level}: minus the hamming distance, or {@code 2 sum(q d) - 15 sum(d)}.
   */
  public int[] integerScoreRange(int level) {
    int prefix = layout.levelEnd(level);
    return isPlainHamming()
        ? new int[] {-prefix, 0}
        : new int[] {-Binarizer.ASYMMETRIC_QUERY_MAX * prefix, Binarizer.ASYMMETRIC_QUERY_MAX * prefix};
  }

  /** For plain hamming: larger is closer, consistent with {@link #estimate}. */
  public float hammingScore(int level, int hammingDistance) {
    return layout.levelEnd(level) - 2f * hammingDistance;
  }
}
