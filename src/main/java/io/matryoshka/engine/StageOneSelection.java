package io.matryoshka.engine;

import org.apache.lucene.util.ArrayUtil;
import java.util.Arrays;

/**
 * Keeps every scored document of a first stage and selects the best {@code k} once, at the end, in
 * linear time: a histogram of the scores finds the bucket the {@code k}-th best falls in, everything
 * above it is kept, and only that bucket is sorted. A first stage keeps thousands of documents out
 * of a whole segment; a bounded heap would sift on most of its offers (measured: the heap was the
 * first stage's largest cost), the histogram touches each score twice, sequentially.
 *
 * <p>Ties at the cut keep the lower ords, so selections are deterministic.
 */
final class StageOneSelection {
  private static final int BUCKETS = 4096;

  private int[] ords;
  private float[] scores;
  private int size;

  StageOneSelection(int expectedSize) {
    int initial = Math.max(16, expectedSize);
    ords = new int[initial];
    scores = new float[initial];
  }

  void add(int ord, float score) {
    if (size == ords.length) {
      ords = ArrayUtil.grow(ords, size + 1);
      scores = ArrayUtil.growExact(scores, ords.length);
    }
    ords[size] = ord;
    scores[size] = score;
    size++;
  }

  /** Adds every document {@code other} holds, as if they had been added here (in ord order). */
  void addAll(StageOneSelection other) {
    for (int i = 0; i < other.size; i++) {
      add(other.ords[i], other.scores[i]);
    }
  }

  /** The ords of the {@code k} best scores, ascending. */
  int[] topOrdsAscending(int k) {
    if (k >= size) {
      int[] all = Arrays.copyOf(ords, size);
      Arrays.sort(all);
      return all;
    }
    float min = Float.POSITIVE_INFINITY;
    float max = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < size; i++) {
      min = Math.min(min, scores[i]);
      max = Math.max(max, scores[i]);
    }
    if (!(max > min)) {
      return firstOrds(k);
    }
    float scale = BUCKETS / (max - min);
    int[] counts = new int[BUCKETS];
    for (int i = 0; i < size; i++) {
      counts[bucket(scores[i], min, scale)]++;
    }
    int boundary = BUCKETS - 1;
    int above = 0;
    while (above + counts[boundary] < k) {
      above += counts[boundary];
      boundary--;
    }
    int[] kept = new int[k];
    int keptCount = 0;
    int fromBoundary = k - above;
    long[] boundaryEntries = new long[counts[boundary]];
    int boundaryCount = 0;
    for (int i = 0; i < size; i++) {
      int b = bucket(scores[i], min, scale);
      if (b > boundary) {
        kept[keptCount++] = ords[i];
      } else if (b == boundary) {
        boundaryEntries[boundaryCount++] = sortableEntry(scores[i], ords[i]);
      }
    }
    // Best first: higher score, then lower ord.
    Arrays.sort(boundaryEntries, 0, boundaryCount);
    for (int i = 0; i < fromBoundary; i++) {
      kept[keptCount++] = (int) (boundaryEntries[i] & 0xFFFFFFFFL);
    }
    Arrays.sort(kept);
    return kept;
  }

  private static int bucket(float score, float min, float scale) {
    return Math.min(BUCKETS - 1, (int) ((score - min) * scale));
  }

  /**
   * A long that sorts ascending by descending score, then ascending ord: the score's bits, made
   * order-preserving and inverted, in the high half; the ord in the low half.
   */
  private static long sortableEntry(float score, int ord) {
    int bits = Float.floatToIntBits(score);
    int ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF); // ascending int order == ascending float order
    long descending = ~((long) ordered - Integer.MIN_VALUE) & 0xFFFFFFFFL;
    // Flipping the sign bit makes signed long order follow the unsigned order of the halves.
    return (descending << 32 | (ord & 0xFFFFFFFFL)) ^ Long.MIN_VALUE;
  }

  private int[] firstOrds(int k) {
    int[] first = Arrays.copyOf(ords, size);
    Arrays.sort(first);
    return Arrays.copyOf(first, k);
  }
}
