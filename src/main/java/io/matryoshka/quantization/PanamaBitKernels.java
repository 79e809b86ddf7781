package io.matryoshka.quantization;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The kernels of {@link BitKernels} on the Vector API ({@code jdk.incubator.vector}): the integer
 * scores by lane-wise {@code BIT_COUNT}, which on AVX-512 VPOPCNTDQ hardware is one instruction for
 * eight longs, and the two document-coding loops (quantization: sixteen coordinates per vector;
 * rotation: eight documents per pass over the rows). Only loaded through {@link BitKernels} when
 * the module is present and the platform's preferred vectors are 512 bits wide (narrower machines
 * run the scalar loops; see {@code StageOneScanBenchmark} for both).
 *
 * <p>One-word levels (64 dimensions) score eight consecutive documents per vector. Wider levels
 * make one flat pass over the chunk's words (eight per vector, whichever documents they belong
 * to) against the query repeated to match, then sum each document's words: measured faster than
 * one masked vector per document reduced across lanes.
 */
final class PanamaBitKernels {
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

  private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_512;
  private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_256;
  private static final int LANES = LONGS.length();

  private PanamaBitKernels() {}

  /** Whether this platform runs these kernels natively wide (else the scalar ones are faster). */
  static boolean usable() {
    return VectorShape.preferredShape().vectorBitSize() >= 512;
  }

  /**
   * See {@link BitKernels#entrySums} for four query planes: eight of the entry's words per vector
   * (a 384-dim 4-bit entry is three), each lane shifted by its document plane's weight; the words
   * past the last full vector in the scalar loop.
   */
  static long fourPlaneEntrySums(long[][] queryByWord, long[] docShifts, long[] entry, int offset, int words) {
    LongVector products = LongVector.zero(LONGS);
    LongVector docBits = LongVector.zero(LONGS);
    int j = 0;
    for (int upper = LONGS.loopBound(words); j < upper; j += LANES) {
      LongVector d = LongVector.fromArray(LONGS, entry, offset + j);
      LongVector shifts = LongVector.fromArray(LONGS, docShifts, j);
      LongVector weighted =
          popcountAnd(queryByWord[0], j, d).lanewise(VectorOperators.LSHL, 3)
              .add(popcountAnd(queryByWord[1], j, d).lanewise(VectorOperators.LSHL, 2))
              .add(popcountAnd(queryByWord[2], j, d).lanewise(VectorOperators.LSHL, 1))
              .add(popcountAnd(queryByWord[3], j, d));
      products = products.add(weighted.lanewise(VectorOperators.LSHL, shifts));
      docBits = docBits.add(d.lanewise(VectorOperators.BIT_COUNT).lanewise(VectorOperators.LSHL, shifts));
    }
    return BitKernels.fourPlaneEntrySums(
        queryByWord,
        docShifts,
        entry,
        offset,
        j,
        words,
        products.reduceLanes(VectorOperators.ADD),
        docBits.reduceLanes(VectorOperators.ADD));
  }

  private static LongVector popcountAnd(long[] query, int at, LongVector doc) {
    return LongVector.fromArray(LONGS, query, at).and(doc).lanewise(VectorOperators.BIT_COUNT);
  }

  /**
   * See {@link BitKernels#hammingScoresChunk}. {@code partials} holds at least {@code docs * words}
   * ints rounded up to a multiple of 8, and so does {@code column} longs.
   */
  static void hammingScoresChunk(
      long[] query, long[] column, int docs, int words, int[] scores, int offset, int[] partials) {
    if (words == 1) {
      LongVector q = LongVector.broadcast(LONGS, query[0]);
      int doc = 0;
      for (int upper = LONGS.loopBound(docs); doc < upper; doc += LANES) {
        LongVector distance = LongVector.fromArray(LONGS, column, doc).lanewise(VectorOperators.XOR, q)
            .lanewise(VectorOperators.BIT_COUNT);
        subtractInto(distance, scores, offset + doc);
      }
      if (doc < docs) {
        BitKernels.scalarHammingScoresChunk(query, column, doc, docs - doc, 1, scores, offset);
      }
      return;
    }
    // Wider codes: one flat pass over the chunk's words against the query's words repeated to
    // the vector width, a popcount per word, then each document's words summed.
    long[] pattern = repeated(query, 0, words);
    int longs = BitKernels.wholeVectors(docs * words);
    for (int i = 0, p = 0; i < longs; i += LANES) {
      LongVector counts = LongVector.fromArray(LONGS, column, i)
          .lanewise(VectorOperators.XOR, LongVector.fromArray(LONGS, pattern, p))
          .lanewise(VectorOperators.BIT_COUNT);
      ((IntVector) counts.convertShape(VectorOperators.L2I, INTS, 0)).intoArray(partials, i);
      p = p + LANES == pattern.length ? 0 : p + LANES;
    }
    subtractSums(partials, docs, words, scores, offset);
  }

  /** See {@link BitKernels#asymmetricScoresChunk}; {@code partials} as for {@link #hammingScoresChunk}. */
  static void asymmetricScoresChunk(
      long[] query, long[] column, int docs, int words, int[] scores, int offset, int[] partials) {
    if (words == 1) {
      LongVector q0 = LongVector.broadcast(LONGS, query[0]);
      LongVector q1 = LongVector.broadcast(LONGS, query[1]);
      LongVector q2 = LongVector.broadcast(LONGS, query[2]);
      LongVector q3 = LongVector.broadcast(LONGS, query[3]);
      int doc = 0;
      for (int upper = LONGS.loopBound(docs); doc < upper; doc += LANES) {
        LongVector d = LongVector.fromArray(LONGS, column, doc);
        addInto(asymmetric(d, q0, q1, q2, q3), scores, offset + doc);
      }
      if (doc < docs) {
        BitKernels.scalarAsymmetricScoresChunk(query, column, doc, docs - doc, 1, scores, offset);
      }
      return;
    }
    long[] plane0 = repeated(query, 0, words);
    long[] plane1 = repeated(query, words, words);
    long[] plane2 = repeated(query, 2 * words, words);
    long[] plane3 = repeated(query, 3 * words, words);
    int longs = BitKernels.wholeVectors(docs * words);
    for (int i = 0, p = 0; i < longs; i += LANES) {
      LongVector d = LongVector.fromArray(LONGS, column, i);
      LongVector partial = asymmetric(
          d,
          LongVector.fromArray(LONGS, plane0, p),
          LongVector.fromArray(LONGS, plane1, p),
          LongVector.fromArray(LONGS, plane2, p),
          LongVector.fromArray(LONGS, plane3, p));
      ((IntVector) partial.convertShape(VectorOperators.L2I, INTS, 0)).intoArray(partials, i);
      p = p + LANES == plane0.length ? 0 : p + LANES;
    }
    addSums(partials, docs, words, scores, offset);
  }

  /** {@code scores[offset + doc] += } the sum of the document's {@code words} partials. */
  private static void addSums(int[] partials, int docs, int words, int[] scores, int offset) {
    if (words == 6) { // 384 dims: the common full-length level, unrolled (a variable inner loop is not)
      for (int doc = 0, at = 0; doc < docs; doc++, at += 6) {
        scores[offset + doc] +=
            partials[at] + partials[at + 1] + partials[at + 2] + partials[at + 3] + partials[at + 4] + partials[at + 5];
      }
      return;
    }
    for (int doc = 0, at = 0; doc < docs; doc++, at += words) {
      int sum = 0;
      for (int w = 0; w < words; w++) {
        sum += partials[at + w];
      }
      scores[offset + doc] += sum;
    }
  }

  private static void subtractSums(int[] partials, int docs, int words, int[] scores, int offset) {
    for (int i = 0, end = docs * words; i < end; i++) {
      partials[i] = -partials[i];
    }
    addSums(partials, docs, words, scores, offset);
  }

  private static final VectorSpecies<Integer> INTS_512 = IntVector.SPECIES_512;

  /** See {@link BitKernels#appendAtLeast}: a compare and two compresses per 16 documents. */
  static int appendAtLeast(int[] scores, int n, int cut, int firstOrd, int[] ords, int[] kept, int size) {
    IntVector cutVector = IntVector.broadcast(INTS_512, cut);
    IntVector lane = IntVector.zero(INTS_512).addIndex(1);
    int i = 0;
    for (int upper = INTS_512.loopBound(n); i < upper; i += INTS_512.length()) {
      IntVector chunk = IntVector.fromArray(INTS_512, scores, i);
      VectorMask<Integer> reaching = chunk.compare(VectorOperators.GE, cutVector);
      if (reaching.anyTrue()) {
        chunk.compress(reaching).intoArray(kept, size);
        lane.add(firstOrd + i).compress(reaching).intoArray(ords, size);
        size += reaching.trueCount();
      }
    }
    return BitKernels.scalarAppendAtLeast(scores, i, n, cut, firstOrd, ords, kept, size);
  }


  /**
   * The {@code words} longs of {@code query} from {@code from}, repeated until the pattern is a
   * whole number of vectors long: lcm(words, 8) longs, so a flat pass over consecutive documents'
   * words meets word {@code w} of the query at every document's word {@code w}.
   */
  private static long[] repeated(long[] query, int from, int words) {
    int length = words / gcd(words, LANES) * LANES;
    long[] pattern = new long[length];
    for (int i = 0; i < length; i++) {
      pattern[i] = query[from + i % words];
    }
    return pattern;
  }

  private static int gcd(int a, int b) {
    return b == 0 ? a : gcd(b, a % b);
  }

  /** Per lane {@code 2 sum(q d) - 15 sum(d)}, {@code sum(q d)} weighing plane a by {@code 2^(3 - a)}. */
  private static LongVector asymmetric(LongVector d, LongVector q0, LongVector q1, LongVector q2, LongVector q3) {
    LongVector p0 = d.and(q0).lanewise(VectorOperators.BIT_COUNT);
    LongVector p1 = d.and(q1).lanewise(VectorOperators.BIT_COUNT);
    LongVector p2 = d.and(q2).lanewise(VectorOperators.BIT_COUNT);
    LongVector p3 = d.and(q3).lanewise(VectorOperators.BIT_COUNT);
    LongVector sumD = d.lanewise(VectorOperators.BIT_COUNT);
    // 2 (8 p0 + 4 p1 + 2 p2 + p3) - 15 sumD
    LongVector twiceSumQD = p0.lanewise(VectorOperators.LSHL, 4)
        .add(p1.lanewise(VectorOperators.LSHL, 3))
        .add(p2.lanewise(VectorOperators.LSHL, 2))
        .add(p3.lanewise(VectorOperators.LSHL, 1));
    return twiceSumQD.sub(sumD.lanewise(VectorOperators.LSHL, 4)).add(sumD);
  }

  private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_512;

  /** Coordinates quantized per vector: their bits are one 16-bit group of a code word. */
  static final int QUANTIZE_LANES = FLOATS.length();

  /**
   * See {@link BitKernels#quantizeActive}: sixteen coordinates per vector, {@code from -
   * levelStart} a multiple of 16; returns where it stopped (the scalar loop does the rest). The
   * same levels as the scalar loop: {@code DIV} is IEEE division lane by lane, and {@code
   * Math.round(x)} is taken as {@code floor(x)} plus one where {@code x - floor(x) >= 0.5}, both
   * exact, not as {@code floor(x + 0.5f)}, whose sum rounds (0.49999997f + 0.5f is 1.0f). Negative
   * quotients, truncated toward zero instead of floored, clamp to 0 either way.
   */
  static int quantizeActive(
      float[] y, int from, int to, int levelStart, float lower, float step, int planes, long[] words, int wordsPerPlane) {
    int top = (1 << planes) - 1;
    int half = 1 << (planes - 1);
    FloatVector lowerV = FloatVector.broadcast(FLOATS, lower);
    FloatVector stepV = FloatVector.broadcast(FLOATS, step);
    int d = from;
    for (; d + QUANTIZE_LANES <= to; d += QUANTIZE_LANES) {
      FloatVector v = FloatVector.fromArray(FLOATS, y, d);
      VectorMask<Float> positive = v.compare(VectorOperators.GT, 0f);
      int offset = d - levelStart;
      int word = offset >>> 6;
      int shift = offset & 63;
      if (planes == 1) {
        words[word] |= positive.toLong() << shift;
        continue;
      }
      FloatVector x = v.sub(lowerV).div(stepV);
      IntVector whole = (IntVector) x.convert(VectorOperators.F2I, 0); // toward zero: floor where x >= 0
      FloatVector fraction = x.sub((FloatVector) whole.convert(VectorOperators.I2F, 0)); // exact
      IntVector q = whole.add(1, fraction.compare(VectorOperators.GE, 0.5f).cast(INTS_512));
      q = q.max(0).min(top);
      q = q.min(half - 1).blend(q.max(half), positive.cast(INTS_512));
      for (int plane = 0; plane < planes; plane++) {
        long bits = q.lanewise(VectorOperators.LSHR, planes - 1 - plane).and(1).compare(VectorOperators.NE, 0).toLong();
        words[plane * wordsPerPlane + word] |= bits << shift;
      }
    }
    return d;
  }

  /**
   * {@code outs[from + v][r] = <rows[r], xs[from + v]>} for {@code v < 8}: each row is loaded once
   * for the eight vectors (eight accumulators of 16 lanes), which stay in the L1 cache.
   */
  static void rotateBlockOfEight(float[][] rows, float[][] xs, int from, float[][] outs) {
    float[] x0 = xs[from], x1 = xs[from + 1], x2 = xs[from + 2], x3 = xs[from + 3];
    float[] x4 = xs[from + 4], x5 = xs[from + 5], x6 = xs[from + 6], x7 = xs[from + 7];
    int dims = x0.length;
    int bound = FLOATS.loopBound(dims);
    for (int r = 0; r < rows.length; r++) {
      float[] row = rows[r];
      FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
      for (int j = 0; j < bound; j += QUANTIZE_LANES) {
        FloatVector w = FloatVector.fromArray(FLOATS, row, j);
        a0 = w.fma(FloatVector.fromArray(FLOATS, x0, j), a0);
        a1 = w.fma(FloatVector.fromArray(FLOATS, x1, j), a1);
        a2 = w.fma(FloatVector.fromArray(FLOATS, x2, j), a2);
        a3 = w.fma(FloatVector.fromArray(FLOATS, x3, j), a3);
        a4 = w.fma(FloatVector.fromArray(FLOATS, x4, j), a4);
        a5 = w.fma(FloatVector.fromArray(FLOATS, x5, j), a5);
        a6 = w.fma(FloatVector.fromArray(FLOATS, x6, j), a6);
        a7 = w.fma(FloatVector.fromArray(FLOATS, x7, j), a7);
      }
      float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
      float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
      float s4 = a4.reduceLanes(VectorOperators.ADD), s5 = a5.reduceLanes(VectorOperators.ADD);
      float s6 = a6.reduceLanes(VectorOperators.ADD), s7 = a7.reduceLanes(VectorOperators.ADD);
      for (int j = bound; j < dims; j++) {
        float w = row[j];
        s0 += w * x0[j];
        s1 += w * x1[j];
        s2 += w * x2[j];
        s3 += w * x3[j];
        s4 += w * x4[j];
        s5 += w * x5[j];
        s6 += w * x6[j];
        s7 += w * x7[j];
      }
      outs[from][r] = s0;
      outs[from + 1][r] = s1;
      outs[from + 2][r] = s2;
      outs[from + 3][r] = s3;
      outs[from + 4][r] = s4;
      outs[from + 5][r] = s5;
      outs[from + 6][r] = s6;
      outs[from + 7][r] = s7;
    }
  }

  private static void addInto(LongVector values, int[] scores, int at) {
    IntVector narrowed = (IntVector) values.convertShape(VectorOperators.L2I, INTS, 0);
    IntVector.fromArray(INTS, scores, at).add(narrowed).intoArray(scores, at);
  }

  private static void subtractInto(LongVector values, int[] scores, int at) {
    IntVector narrowed = (IntVector) values.convertShape(VectorOperators.L2I, INTS, 0);
    IntVector.fromArray(INTS, scores, at).sub(narrowed).intoArray(scores, at);
  }

}
