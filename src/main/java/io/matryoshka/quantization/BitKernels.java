package io.matryoshka.quantization;

/**
 * The popcount loops of the code stages, and the two loops that code a segment's documents
 * (quantizing coordinates to bit planes, rotating blocks of documents). Scalar {@link
 * Long#bitCount} compiles to the POPCNT instruction; the first stage's integer-score loops, the
 * survivor entries' sums, the quantization and the rotation blocks have Vector API twins ({@link
 * PanamaBitKernels}) used where they run natively wide. Measured throughput: {@code
 * StageOneScanBenchmark} (src/bench/jmh.md). Bit planes are most significant first: plane {@code
 * i} of {@code n} weighs {@code 2^(n - 1 - i)}.
 */
public final class BitKernels {
  /**
   * The asymmetric kernels below are unrolled for a query of exactly 4 bit planes (weights 8, 4, 2,
   * 1 and the factor 15 = 2^4 - 1): fail on load, not with wrong scores, if the constant changes.
   */
  static {
    if (Binarizer.ASYMMETRIC_QUERY_BITS != 4) {
      throw new AssertionError(
          "kernels are unrolled for 4 query planes, Binarizer.ASYMMETRIC_QUERY_BITS is " + Binarizer.ASYMMETRIC_QUERY_BITS);
    }
  }

  /**
   * Whether these kernels run on the Vector API ({@link PanamaBitKernels}): the module
   * {@code jdk.incubator.vector} is present (Elasticsearch adds it), the platform's vectors are
   * 512 bits wide, and {@code -Dmatryoshka.vector_kernels=false} does not turn them off.
   */
  public static final boolean VECTOR_KERNELS = vectorKernels();

  private BitKernels() {}

  private static boolean vectorKernels() {
    if (Boolean.parseBoolean(System.getProperty("matryoshka.vector_kernels", "true")) == false
        || ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      return false;
    }
    try {
      return PanamaBitKernels.usable();
    } catch (LinkageError | RuntimeException e) {
      return false;
    }
  }

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
    return planeSums(query, queryPlanes, docPlanes, docOffset, 0, planes, wordsPerPlane);
  }

  /**
   * {@link #planeSums} with plane {@code b} of the document at {@code docPlanes[b][docOffset + b *
   * planeStride ..]}: a stride of {@code wordsPerPlane} and the same array for every plane reads a
   * document's planes stored one after the other (as a survivor entry holds them).
   */
  public static long planeSums(
      long[] query, int queryPlanes, long[][] docPlanes, int docOffset, int planeStride, int planes, int wordsPerPlane) {
    long sumD = 0;
    long sumQD = 0;
    for (int b = 0; b < planes; b++) {
      long[] plane = docPlanes[b];
      int start = docOffset + b * planeStride;
      int docShift = planes - 1 - b;
      for (int w = 0; w < wordsPerPlane; w++) {
        long d = plane[start + w];
        sumD += (long) Long.bitCount(d) << docShift;
        for (int a = 0; a < queryPlanes; a++) {
          sumQD += (long) Long.bitCount(query[a * wordsPerPlane + w] & d) << (queryPlanes - 1 - a + docShift);
        }
      }
    }
    return sumQD << 32 | sumD;
  }

  /**
   * {@link #planeSums} over a whole survivor entry in one pass: {@code words} code words of a
   * document at {@code entry[offset ..]}, word {@code j} belonging to a document plane of weight
   * {@code 2^docShifts[j]} and meeting the query words {@code queryByWord[a][j]} (query plane
   * {@code a}, most significant first). Packed as {@code planeSums} packs them.
   */
  public static long entrySums(long[][] queryByWord, long[] docShifts, long[] entry, int offset, int words) {
    if (queryByWord.length == 4) {
      return VECTOR_KERNELS
          ? PanamaBitKernels.fourPlaneEntrySums(queryByWord, docShifts, entry, offset, words)
          : fourPlaneEntrySums(queryByWord, docShifts, entry, offset, 0, words, 0, 0);
    }
    long sumD = 0;
    long sumQD = 0;
    int queryPlanes = queryByWord.length;
    for (int j = 0; j < words; j++) {
      long d = entry[offset + j];
      long products = 0;
      for (int a = 0; a < queryPlanes; a++) {
        products += (long) Long.bitCount(queryByWord[a][j] & d) << (queryPlanes - 1 - a);
      }
      sumD += (long) Long.bitCount(d) << docShifts[j];
      sumQD += products << docShifts[j];
    }
    return sumQD << 32 | sumD;
  }

  /**
   * {@link #entrySums} for the asymmetric query's 4 planes, unrolled, over words {@code [from,
   * words)}, adding to sums already taken over the words before.
   */
  static long fourPlaneEntrySums(
      long[][] queryByWord, long[] docShifts, long[] entry, int offset, int from, int words, long sumQD, long sumD) {
    long[] q0 = queryByWord[0];
    long[] q1 = queryByWord[1];
    long[] q2 = queryByWord[2];
    long[] q3 = queryByWord[3];
    for (int j = from; j < words; j++) {
      long d = entry[offset + j];
      long shift = docShifts[j];
      long products =
          ((long) Long.bitCount(q0[j] & d) << 3)
              + (Long.bitCount(q1[j] & d) << 2)
              + (Long.bitCount(q2[j] & d) << 1)
              + Long.bitCount(q3[j] & d);
      sumD += (long) Long.bitCount(d) << shift;
      sumQD += products << shift;
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
   * Subtracts each document's hamming distance from {@code scores[offset + doc]}: {@code docs}
   * consecutive codes of {@code words} longs each. The integer score of {@link
   * QueryCode#hasIntegerScores} for a one-bit query.
   */
  public static void hammingScoresChunk(
      long[] query, long[] column, int docs, int words, int[] scores, int offset, int[] scratch) {
    if (VECTOR_KERNELS && fitsVectors(column, scratch, docs, words)) {
      PanamaBitKernels.hammingScoresChunk(query, column, docs, words, scores, offset, scratch);
    } else {
      scalarHammingScoresChunk(query, column, 0, docs, words, scores, offset);
    }
  }

  /**
   * Adds each document's {@code 2 sum(q d) - 15 sum(d)} to {@code scores[offset + doc]}, for 4-bit
   * query planes against one-bit documents: the integer score of {@link
   * QueryCode#hasIntegerScores} for the asymmetric first stage.
   */
  public static void asymmetricScoresChunk(
      long[] query, long[] column, int docs, int words, int[] scores, int offset, int[] scratch) {
    if (VECTOR_KERNELS && fitsVectors(column, scratch, docs, words)) {
      PanamaBitKernels.asymmetricScoresChunk(query, column, docs, words, scores, offset, scratch);
    } else {
      scalarAsymmetricScoresChunk(query, column, 0, docs, words, scores, offset);
    }
  }

  /** Vectors a rotation block multiplies per pass over the rotation's rows. */
  public static final int ROTATE_BLOCK = 8;

  /**
   * {@code outs[v][r] = <rows[r], xs[v]>} for whole blocks of {@link #ROTATE_BLOCK} vectors of
   * {@code xs[0 .. n)} on the Vector API; returns how many vectors it rotated (0 without the
   * Vector API): the caller rotates the rest one by one.
   */
  static int rotateBlocks(float[][] rows, float[][] xs, int n, float[][] outs) {
    if (VECTOR_KERNELS == false) {
      return 0;
    }
    int v = 0;
    for (; v + ROTATE_BLOCK <= n; v += ROTATE_BLOCK) {
      PanamaBitKernels.rotateBlockOfEight(rows, xs, v, outs);
    }
    return v;
  }

  /**
   * Sets the bits of coordinates {@code y[from .. to)} of a level starting at {@code levelStart}
   * in {@code words} (zero before, {@code planes} planes of {@code wordsPerPlane} longs, plane 0
   * the most significant bit): each coordinate's level {@code q = round((y - lower) / step)},
   * clamped to {@code 0 .. 2^planes - 1} and kept on the side of the midpoint its sign is on (so
   * that plane 0 is the sign bit {@code y > 0}); with one plane just that sign bit. Every
   * coordinate in the range is one the segment codes ({@code < activeDims}).
   */
  public static void quantizeActive(
      float[] y, int from, int to, int levelStart, float lower, float step, int planes, long[] words, int wordsPerPlane) {
    int done = from;
    if (VECTOR_KERNELS && (from - levelStart) % PanamaBitKernels.QUANTIZE_LANES == 0) {
      done = PanamaBitKernels.quantizeActive(y, from, to, levelStart, lower, step, planes, words, wordsPerPlane);
    }
    scalarQuantizeActive(y, done, to, levelStart, lower, step, planes, words, wordsPerPlane);
  }

  static void scalarQuantizeActive(
      float[] y, int from, int to, int levelStart, float lower, float step, int planes, long[] words, int wordsPerPlane) {
    int top = (1 << planes) - 1;
    int half = 1 << (planes - 1);
    for (int d = from; d < to; d++) {
      int q;
      if (planes == 1) {
        q = y[d] > 0 ? 1 : 0;
      } else {
        q = Math.round((y[d] - lower) / step);
        q = Math.max(0, Math.min(top, q));
        // Keep the top plane the exact sign even where rounding lands on the midpoint.
        q = y[d] > 0 ? Math.max(q, half) : Math.min(q, half - 1);
      }
      setLevel(words, wordsPerPlane, d - levelStart, q, planes);
    }
  }

  /**
   * Sets the bits of level {@code q} of the coordinate at {@code offset} in its level's {@code
   * planes} planes ({@code words} zero there before).
   */
  static void setLevel(long[] words, int wordsPerPlane, int offset, int q, int planes) {
    int word = offset >>> 6;
    int shift = offset & 63;
    for (int plane = 0; plane < planes; plane++) {
      // no branch on the bit: a coin toss per coordinate, mispredicted half the time
      words[plane * wordsPerPlane + word] |= (long) ((q >>> (planes - 1 - plane)) & 1) << shift;
    }
  }

  /**
   * Appends {@code firstOrd + i} and {@code scores[i]} for every {@code i < n} whose score is at
   * least {@code cut} to {@code ords} and {@code kept} from {@code size}, in order, and returns the
   * new size. Both arrays need room for {@code size + n + 16}: the vector version writes whole
   * vectors past the last kept entry.
   */
  public static int appendAtLeast(int[] scores, int n, int cut, int firstOrd, int[] ords, int[] kept, int size) {
    if (VECTOR_KERNELS) {
      return PanamaBitKernels.appendAtLeast(scores, n, cut, firstOrd, ords, kept, size);
    }
    return scalarAppendAtLeast(scores, 0, n, cut, firstOrd, ords, kept, size);
  }

  /** {@link #appendAtLeast} over {@code scores[from .. n - 1]}, without a branch per document. */
  static int scalarAppendAtLeast(int[] scores, int from, int n, int cut, int firstOrd, int[] ords, int[] kept, int size) {
    for (int i = from; i < n; i++) {
      int score = scores[i];
      ords[size] = firstOrd + i;
      kept[size] = score;
      size += score >= cut ? 1 : 0;
    }
    return size;
  }

  /**
   * Whether the vector kernels may read and write whole vectors past the chunk's last word: the
   * column and the scratch ints ({@link #scratchFor}) are long enough.
   */
  private static boolean fitsVectors(long[] column, int[] scratch, int docs, int words) {
    int rounded = wholeVectors(docs * words);
    return words == 1 || (column.length >= rounded && scratch != null && scratch.length >= rounded);
  }

  /** Scratch ints the chunk kernels need for chunks of {@code docs} documents of {@code words}. */
  public static int[] scratchFor(int docs, int words) {
    return new int[wholeVectors(docs * words)];
  }

  /** {@code longs} rounded up to whole 512-bit vectors (8 longs), what the vector kernels touch. */
  static int wholeVectors(int longs) {
    return (longs + 7) / 8 * 8;
  }

  /** The scalar hamming kernel over documents {@code from .. from + docs - 1} of the chunk. */
  static void scalarHammingScoresChunk(
      long[] query, long[] column, int from, int docs, int words, int[] scores, int offset) {
    if (words == 1) {
      long q = query[0];
      for (int doc = from; doc < from + docs; doc++) {
        scores[offset + doc] -= Long.bitCount(q ^ column[doc]);
      }
      return;
    }
    for (int doc = from, at = from * words; doc < from + docs; doc++, at += words) {
      int distance = 0;
      for (int w = 0; w < words; w++) {
        distance += Long.bitCount(query[w] ^ column[at + w]);
      }
      scores[offset + doc] -= distance;
    }
  }

  /** The scalar asymmetric kernel over documents {@code from .. from + docs - 1} of the chunk. */
  static void scalarAsymmetricScoresChunk(
      long[] query, long[] column, int from, int docs, int words, int[] scores, int offset) {
    if (words == 1) {
      long q0 = query[0];
      long q1 = query[1];
      long q2 = query[2];
      long q3 = query[3];
      for (int doc = from; doc < from + docs; doc++) {
        long d = column[doc];
        int sumQD =
            (Long.bitCount(q0 & d) << 3)
                + (Long.bitCount(q1 & d) << 2)
                + (Long.bitCount(q2 & d) << 1)
                + Long.bitCount(q3 & d);
        scores[offset + doc] += 2 * sumQD - Binarizer.ASYMMETRIC_QUERY_MAX * Long.bitCount(d);
      }
      return;
    }
    for (int doc = from, at = from * words; doc < from + docs; doc++, at += words) {
      long packed = fourBitQueryOneBitDoc(query, column, at, words);
      scores[offset + doc] += (int) (2 * (packed >>> 32) - Binarizer.ASYMMETRIC_QUERY_MAX * (packed & 0xFFFFFFFFL));
    }
  }
}
