package io.matryoshka.codec;

/**
 * The popcount loops of the code stages. Scalar {@link Long#bitCount} compiles to the POPCNT
 * instruction (this machine class has no vector popcount); see the JMH benchmarks under
 * src/test/java for measured throughput. Bit planes are most significant first: plane {@code i}
 * of {@code n} weighs {@code 2^(n - 1 - i)}.
 */
public final class BitKernels {
  private BitKernels() {}

  /** Hamming distance between a query plane and a document plane of {@code words} longs. */
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
   * @param query the query's planes for the level ({@code queryPlanes * wordsPerPlane}, plane-major)
   * @param docPlanes per plane, an array holding the document's words at {@code docOffset}
   */
  public static long planeSums(
      long[] query, int queryPlanes, long[][] docPlanes, int docOffset, int planes, int wordsPerPlane) {
    if (planes == 1 && queryPlanes == 4) {
      return fourBitQueryOneBitDoc(query, docPlanes[0], docOffset, wordsPerPlane);
    }
    long sumD = 0;
    long sumQD = 0;
    for (int b = 0; b < planes; b++) {
      long[] plane = docPlanes[b];
      int docShift = planes - 1 - b;
      for (int w = 0; w < wordsPerPlane; w++) {
        long d = plane[docOffset + w];
        sumD += (long) Long.bitCount(d) << docShift;
        for (int a = 0; a < queryPlanes; a++) {
          sumQD += (long) Long.bitCount(query[a * wordsPerPlane + w] & d) << (queryPlanes - 1 - a + docShift);
        }
      }
    }
    return sumQD << 32 | sumD;
  }

  /** {@link #planeSums} for 4-bit query planes against one-bit documents, loops unrolled. */
  static long fourBitQueryOneBitDoc(long[] query, long[] doc, int docOffset, int words) {
    long sumD = 0;
    long plane0 = 0;
    long plane1 = 0;
    long plane2 = 0;
    long plane3 = 0;
    for (int w = 0; w < words; w++) {
      long d = doc[docOffset + w];
      sumD += Long.bitCount(d);
      plane0 += Long.bitCount(query[w] & d);
      plane1 += Long.bitCount(query[words + w] & d);
      plane2 += Long.bitCount(query[2 * words + w] & d);
      plane3 += Long.bitCount(query[3 * words + w] & d);
    }
    long sumQD = (plane0 << 3) + (plane1 << 2) + (plane2 << 1) + plane3;
    return sumQD << 32 | sumD;
  }

  /**
   * Adds each document's hamming distance to {@code distances}: {@code docs} consecutive codes of
   * {@code words} longs each. Scoring a whole chunk in one tight loop, and only then comparing with
   * the heap, keeps the scan close to memory speed.
   */
  public static void hammingChunk(long[] query, long[] column, int docs, int words, int[] distances) {
    if (words == 1) {
      long q = query[0];
      for (int doc = 0; doc < docs; doc++) {
        distances[doc] += Long.bitCount(q ^ column[doc]);
      }
      return;
    }
    for (int doc = 0, offset = 0; doc < docs; doc++, offset += words) {
      int distance = 0;
      for (int w = 0; w < words; w++) {
        distance += Long.bitCount(query[w] ^ column[offset + w]);
      }
      distances[doc] += distance;
    }
  }

  /**
   * Adds each document's {@link #planeSums} to {@code sums}, for 4-bit query planes against
   * one-bit documents: the asymmetric first stage.
   */
  public static void fourBitQueryOneBitDocChunk(
      long[] query, long[] column, int docs, int words, long[] sums) {
    if (words == 1) {
      long q0 = query[0];
      long q1 = query[1];
      long q2 = query[2];
      long q3 = query[3];
      for (int doc = 0; doc < docs; doc++) {
        long d = column[doc];
        long sumQD =
            ((long) Long.bitCount(q0 & d) << 3)
                + ((long) Long.bitCount(q1 & d) << 2)
                + ((long) Long.bitCount(q2 & d) << 1)
                + Long.bitCount(q3 & d);
        sums[doc] += sumQD << 32 | Long.bitCount(d);
      }
      return;
    }
    for (int doc = 0, offset = 0; doc < docs; doc++, offset += words) {
      sums[doc] += fourBitQueryOneBitDoc(query, column, offset, words);
    }
  }
}
