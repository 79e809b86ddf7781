package io.matryoshka.codec;

import java.util.Arrays;

/**
 * Selects the best {@code keep} documents of a first stage whose scores are integers in a range
 * known before the scan (minus hamming distances, or the asymmetric stage's popcount combination:
 * {@link QueryCode#integerScoreRange}), streaming, chunk by chunk.
 *
 * <p>The selection keeps a threshold: the highest score that at least {@code keep} documents seen
 * so far reach. The {@code keep}-th best score of a growing set never falls, so a document below
 * the threshold can never be selected: only documents at or above it are buffered (in ord order)
 * and counted in a histogram with one bucket per score value, from which the threshold rises. At the end the threshold is the exact cut: everything above it is kept, and of those at
 * it the lowest ords. No heap, no sort, no float per document: measured, a heap's sift-downs or a
 * second pass over all scores cost more than the popcounts themselves ({@code
 * StageOneScanBenchmark}).
 */
final class IntegerScoreSelection {
  private final int keep;
  private final int minScore;
  private final int[] counts;
  /** Documents scoring below it are not buffered ({@code counts} index {@code threshold - minScore}). */
  private int threshold;
  /** Buffered documents with a score of at least {@code threshold}. */
  private long atOrAbove;
  private long counted;
  private int[] bufferOrds;
  private int[] bufferScores;
  private int buffered;

  /**
   * @param keep documents to select
   * @param minScore the lowest score any document can get
   * @param maxScore the highest
   */
  IntegerScoreSelection(int keep, int minScore, int maxScore) {
    if (keep < 1) {
      throw new IllegalArgumentException("keep must be >= 1, got " + keep);
    }
    this.keep = keep;
    this.minScore = minScore;
    this.counts = new int[Math.toIntExact((long) maxScore - minScore + 1)];
    this.threshold = minScore;
    int initial = Math.min(keep, 1 << 16) + FunnelSearcher.SCAN_CHUNK;
    this.bufferOrds = new int[initial];
    this.bufferScores = new int[initial];
  }

  /**
   * Counts {@code n} documents, ords {@code firstOrd ..}, scores {@code scores[0 .. n - 1]}, all
   * accepted.
   */
  void addChunk(int firstOrd, int[] scores, int n) {
    ensureRoom(n);
    int[] counts = this.counts;
    int[] ords = bufferOrds;
    int[] kept = bufferScores;
    int offset = -minScore;
    int cut = threshold;
    int size = buffered;
    for (int i = 0; i < n; i++) {
      int score = scores[i];
      // Once the threshold has settled almost every document falls below it (well predicted),
      // and those need no bucket: the threshold never falls back to them.
      if (score >= cut) {
        counts[score + offset]++;
        ords[size] = firstOrd + i;
        kept[size] = score;
        size++;
      }
    }
    atOrAbove += size - buffered; // exactly the documents buffered: those at or above the threshold
    buffered = size;
    counted += n;
    raiseThreshold(cut);
  }

  /** Counts one accepted document; ords must ascend across calls. */
  void add(int ord, int score) {
    ensureRoom(1);
    counted++;
    if (score >= threshold) {
      counts[score - minScore]++;
      bufferOrds[buffered] = ord;
      bufferScores[buffered] = score;
      buffered++;
      atOrAbove++;
    }
    raiseThreshold(threshold);
  }

  /** Documents held for the final selection: at or above the threshold when they came. */
  int buffered() {
    return buffered;
  }

  /** Documents counted so far. */
  long size() {
    return counted;
  }

  /** The ords of the {@code keep} best counted documents (ties: lower ords), ascending. */
  int[] topOrdsAscending() {
    long above = atOrAbove - counts[threshold - minScore];
    int selected = (int) Math.min(keep, counted);
    int[] result = new int[selected];
    if (selected == 0) {
      return result;
    }
    long atCut = selected - above;
    int size = 0;
    for (int i = 0; i < buffered && size < selected; i++) {
      int score = bufferScores[i];
      if (score > threshold) {
        result[size++] = bufferOrds[i];
      } else if (score == threshold && atCut > 0) {
        result[size++] = bufferOrds[i];
        atCut--;
      }
    }
    assert size == selected : size + " != " + selected;
    return size == selected ? result : Arrays.copyOf(result, size);
  }

  /**
   * Moves the threshold up while the documents strictly above it are still at least {@code keep}:
   * the {@code keep}-th best score is then the threshold.
   */
  private void raiseThreshold(int from) {
    int index = from - minScore;
    long atOrAboveNow = atOrAbove;
    int last = counts.length - 1;
    while (index < last && atOrAboveNow - counts[index] >= keep) {
      atOrAboveNow -= counts[index];
      index++;
    }
    atOrAbove = atOrAboveNow;
    threshold = index + minScore;
  }

  private void ensureRoom(int more) {
    if (buffered + more > bufferOrds.length) {
      int grown = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(buffered + more, bufferOrds.length * 2L));
      bufferOrds = Arrays.copyOf(bufferOrds, grown);
      bufferScores = Arrays.copyOf(bufferScores, grown);
    }
  }
}
