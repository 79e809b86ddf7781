package io.matryoshka.engine;

import org.apache.lucene.util.ArrayUtil;
import io.matryoshka.quantization.BitKernels;

import java.util.Arrays;
import java.util.List;

/**
 * Selects the best {@code keep} documents of a first stage whose scores are integers in a range
 * known before the scan (minus hamming distances, or the asymmetric stage's popcount combination:
 * {@link QueryCode#integerScoreRange}), streaming, chunk by chunk.
 *
 * <p>Documents reaching a threshold are buffered, in ord order, by a branch-free filter ({@link
 * BitKernels#appendAtLeast}: on the Vector API a compare and a compress per 16 documents). When
 * the buffer holds about four times {@code keep}, a histogram of the buffered scores (one bucket per
 * value) gives their {@code keep}-th best, the cut; the buffer is cut to the {@code keep} best
 * (ties: lower ords) and the threshold rises to one above the cut: the {@code keep}-th best of a
 * growing set never falls, and a later document merely equal to it loses every tie. At the end the
 * same histogram gives the exact cut: everything above it is kept and, of those at it, the lowest
 * ords. Nothing per scanned document but a
 * compare: measured, a heap's sift-downs, float buckets or a histogram increment per document cost
 * more than the popcounts themselves ({@code StageOneScanBenchmark}).
 *
 * <p>A scan may {@link #startAt start} the threshold at a guess (from a sample of the segment's
 * scores) instead of the lowest score, so that it buffers about the documents it will keep rather
 * than everything until its first compactions. The selection is then the same as without the guess
 * whenever at least {@code keep} counted documents reach it, which {@link #isComplete} tells; a
 * scan that finds fewer scans again from the lowest score.
 */
final class IntegerScoreSelection {
  /** Room beyond the buffered entries that a vector-wide append may write into. */
  private static final int APPEND_SLACK = 16;

  private final int keep;
  private final int minScore;
  /** One bucket per score value; all zero between {@link #cutAmong} calls. */
  private final int[] counts;
  /** Documents scoring below it are not buffered. */
  private int threshold;
  private long counted;
  private int[] bufferOrds;
  private int[] bufferScores;
  private int buffered;
  private final int compactAt;
  private boolean guessed;

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
    this.compactAt = compactionTrigger(keep);
    int initial = Math.min(compactAt, 1 << 16) + ChunkVisits.SCAN_CHUNK + APPEND_SLACK;
    this.bufferOrds = new int[initial];
    this.bufferScores = new int[initial];
  }

  /**
   * Buffers, from now on, only documents scoring at least {@code guess}; before the first document.
   * See {@link #isComplete}.
   */
  void startAt(int guess) {
    if (counted > 0) {
      throw new IllegalStateException("the threshold can only be guessed before the first document");
    }
    threshold = Math.max(threshold, guess);
    guessed = true;
  }

  /**
   * Whether the selection is that of every counted document: always without a {@link #startAt
   * guess}; with one, when at least {@code keep} (or all counted) documents reached it. Buffered
   * documents fall below {@code keep} only by a compaction, which needs more than {@code keep} of
   * them, so fewer buffered than that at the end means fewer reached the guess.
   */
  boolean isComplete() {
    return guessed == false || buffered >= Math.min(keep, counted);
  }

  /**
   * Counts {@code n} documents, ords {@code firstOrd ..}, scores {@code scores[0 .. n - 1]}, all
   * accepted.
   */
  void addChunk(int firstOrd, int[] scores, int n) {
    ensureRoom(n + APPEND_SLACK);
    buffered = BitKernels.appendAtLeast(scores, n, threshold, firstOrd, bufferOrds, bufferScores, buffered);
    counted += n;
    if (buffered >= compactAt) {
      compact();
    }
  }

  /** Counts one accepted document; ords must ascend across calls. */
  void add(int ord, int score) {
    ensureRoom(1);
    counted++;
    if (score >= threshold) {
      bufferOrds[buffered] = ord;
      bufferScores[buffered] = score;
      buffered++;
      if (buffered >= compactAt) {
        compact();
      }
    }
  }

  /** Documents held for the final selection. */
  int buffered() {
    return buffered;
  }

  /** The ords of the {@code keep} best counted documents (ties: lower ords), ascending. */
  int[] topOrdsAscending() {
    return topOrdsAscending(List.of(this));
  }

  /**
   * The ords of the {@code keep} best documents counted by {@code parts}, selections of consecutive
   * ord ranges in ord order (as parallel ranges scan them), ties to lower ords: exactly what one
   * selection counting all of them would select. One histogram over every part's buffer gives the
   * cut, one pass writes the ords.
   *
   * <p>Why the buffers suffice: a part buffers at least its own {@code keep} best, and the overall
   * best of a part's range are among those. Of the documents at the overall cut a part holds at
   * least as many of its lowest ords as can be needed, since its own cut is no higher and it
   * dropped only later documents equal to its cut after holding {@code keep} above or at it.
   */
  static int[] topOrdsAscending(List<IntegerScoreSelection> parts) {
    IntegerScoreSelection first = parts.get(0);
    long counted = 0;
    for (IntegerScoreSelection part : parts) {
      if (part.keep != first.keep || part.minScore != first.minScore || part.counts.length != first.counts.length) {
        throw new IllegalArgumentException("parts must select the same keep over the same score range");
      }
      counted += part.counted;
    }
    int selected = (int) Math.min(first.keep, counted);
    if (selected == 0) {
      return new int[0];
    }
    long[] cut = cutAmong(parts, selected);
    int cutScore = (int) cut[0];
    long atCut = selected - cut[1];
    // Branch-free, as in compact(): whether a buffered score beats the cut is close to a coin toss.
    int[] result = new int[selected];
    int size = 0;
    for (IntegerScoreSelection part : parts) {
      int[] ords = part.bufferOrds;
      int[] scores = part.bufferScores;
      for (int i = 0; i < part.buffered && size < selected; i++) {
        int score = scores[i];
        int tie = (score == cutScore) & (atCut > 0) ? 1 : 0;
        atCut -= tie;
        result[size] = ords[i];
        size += (score > cutScore ? 1 : 0) | tie;
      }
    }
    assert size == selected : size + " != " + selected;
    return size == selected ? result : Arrays.copyOf(result, size);
  }

  /**
   * Cuts the buffer to the {@code keep} best (ties: lower ords) and raises the threshold above the
   * cut: a later document that only equals the cut can never be selected, since {@code keep}
   * documents with lower ords already reach it.
   */
  private void compact() {
    long[] cut = cutAmong(List.of(this), keep);
    int cutScore = (int) cut[0];
    long atCut = keep - cut[1];
    int size = 0;
    for (int i = 0; i < buffered; i++) {
      // Branch-free: whether a buffered score beats the cut is close to a coin toss.
      int score = bufferScores[i];
      int tie = (score == cutScore) & (atCut > 0) ? 1 : 0;
      atCut -= tie;
      bufferOrds[size] = bufferOrds[i];
      bufferScores[size] = score;
      size += (score > cutScore ? 1 : 0) | tie;
    }
    buffered = size;
    threshold = cutScore + 1;
  }

  /**
   * {@code {the wanted-th best score buffered by parts (or the lowest, if fewer are buffered), how
   * many score above it}}: one histogram of the buffered scores, in the first part's {@link
   * #counts} (all parts share its score range), zero again on return.
   */
  private static long[] cutAmong(List<IntegerScoreSelection> parts, int wanted) {
    IntegerScoreSelection first = parts.get(0);
    int[] counts = first.counts;
    int offset = -first.minScore;
    int top = 0;
    for (IntegerScoreSelection part : parts) {
      for (int i = 0; i < part.buffered; i++) {
        int bucket = part.bufferScores[i] + offset;
        counts[bucket]++;
        top = Math.max(top, bucket);
      }
    }
    int bucket = top;
    long above = 0;
    while (bucket > 0 && above + counts[bucket] < wanted) {
      above += counts[bucket];
      bucket--;
    }
    for (IntegerScoreSelection part : parts) {
      for (int i = 0; i < part.buffered; i++) {
        counts[part.bufferScores[i] + offset] = 0;
      }
    }
    return new long[] {bucket - offset, above};
  }

  /**
   * Buffered documents that trigger a compaction: every compaction reads the whole buffer and
   * keeps {@code keep}, so a buffer of 4 x keep spends a third more than the appends themselves.
   */
  private static int compactionTrigger(int keep) {
    return (int) Math.min(Integer.MAX_VALUE / 4, 4L * keep + ChunkVisits.SCAN_CHUNK);
  }

  private void ensureRoom(int more) {
    if (buffered + more > bufferOrds.length) {
      bufferOrds = ArrayUtil.grow(bufferOrds, buffered + more);
      bufferScores = ArrayUtil.growExact(bufferScores, bufferOrds.length);
    }
  }
}
