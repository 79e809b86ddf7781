package io.matryoshka.codec;

/**
 * The popcount loops of the code stages. Scalar {@link Long#bitCount} compiles to the POPCNT
 * instruction; see the JMH benchmarks under src/test/java/.../bench for the measured throughput.
 */
public final class BitKernels {
  private BitKernels() {}

  /** Hamming distance between the query's plane and a document's plane of {@code words} longs. */
  public static int hamming(long[] query, long[] doc, int docOffset, int words) {
    int distance = 0;
    for (int w = 0; w < words; w++) {
      distance += Long.bitCount(query[w] ^ doc[docOffset + w]);
    }
    return distance;
  }

  /**
   * The plane popcounts {@link QueryCode#estimate} needs for one level of one document, packed as
   * {@code sum(q d) << 32 | sum(d)}.
   *
   * @param query the query's planes for the level ({@code queryPlanes * wordsPerPlane})
   * @param doc array holding the document's planes at {@code docOffset} ({@code docPlanes *
   *     wordsPerPlane})
   */
  public static long planeSums(
      long[] query, int queryPlanes, long[] doc, int docOffset, int docPlanes, int wordsPerPlane) {
    long sumD = 0;
    long sumQD = 0;
    for (int b = 0; b < docPlanes; b++) {
      int docPlane = docOffset + b * wordsPerPlane;
      for (int w = 0; w < wordsPerPlane; w++) {
        long d = doc[docPlane + w];
        sumD += (long) Long.bitCount(d) << b;
        for (int a = 0; a < queryPlanes; a++) {
          sumQD += (long) Long.bitCount(query[a * wordsPerPlane + w] & d) << (a + b);
        }
      }
    }
    return sumQD << 32 | sumD;
  }
}
