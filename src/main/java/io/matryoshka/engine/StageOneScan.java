package io.matryoshka.engine;

import io.matryoshka.quantization.BitKernels;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.quantization.QueryCode;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.apache.lucene.search.KnnCollector;
import org.apache.lucene.search.TaskExecutor;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.RandomAccessInput;
import org.apache.lucene.util.Bits;

/**
 * Stage 1 of a funnel on codes: one sequential pass over the bit planes of the levels the stage
 * reads, {@link ChunkVisits#SCAN_CHUNK} documents at a time, then one selection of the best.
 *
 * <p>Sign-plane stages (one bit per document: hamming, or the asymmetric 4-bit query) rank by an
 * integer ({@link QueryCode#hasIntegerScores}), scored a chunk at a time and kept only where it
 * reaches the running threshold of {@link IntegerScoreSelection}: the hot loop is loads, popcounts,
 * a compare and a compress. Stages reading several planes need each document's corrective terms
 * and rank by the float estimate ({@link StageOneSelection}).
 *
 * <p>Unfiltered integer-score scans that keep a small share of their range start the selection's
 * threshold at a guess: the score that {@link #GUESS_MARGIN} times {@code keep} documents of a
 * strided sample of {@link #GUESS_SAMPLE} reach, so that the selection buffers little more than
 * what it keeps instead of everything until its first compactions. Where fewer than {@code keep}
 * reach the guess, the range is scanned again from the lowest score: the survivors are always
 * exactly those of a scan without a guess.
 *
 * <p>Every scored document counts as visited on the collector; the scan stops at its visit limit
 * or when it terminates early (timeout), keeping what it scored so far.
 */
final class StageOneScan {
  private final StoredCodes codes;
  private final CodeLayout layout;

  private final ParallelRanges parallel;
  private final double guessMargin;

  StageOneScan(StoredCodes codes) {
    this(codes, ParallelRanges.DEFAULT);
  }

  StageOneScan(StoredCodes codes, ParallelRanges parallel) {
    this(codes, parallel, GUESS_MARGIN);
  }

  /** Tests aim the guessed threshold elsewhere ({@code guessMargin < 1}: mostly too high). */
  StageOneScan(StoredCodes codes, ParallelRanges parallel, double guessMargin) {
    this.codes = codes;
    this.layout = codes.layout();
    this.parallel = parallel;
    this.guessMargin = guessMargin;
  }

  /**
   * The ords of the {@code keep} best accepted documents on the levels {@code 0 .. lastLevel},
   * reading {@code planes} bit planes, ascending.
   *
   * @param executor runs consecutive ord ranges of a large segment in parallel ({@link
   *     ParallelRanges}), or null for one pass; the result is the same either way
   */
  int[] scan(
      QueryCode query,
      int lastLevel,
      int planes,
      Bits acceptOrds,
      KnnCollector collector,
      int keep,
      TaskExecutor executor)
      throws IOException {
    int count = codes.count();
    if (query.hasIntegerScores()) {
      int[] range = query.integerScoreRange(lastLevel);
      List<IntegerScoreSelection> parts =
          parallel.scan(
              count,
              layout.bytesThrough(lastLevel, 1),
              executor,
              collector,
              (from, to, rangeCollector) -> {
                IntegerScoreSelection part = new IntegerScoreSelection(keep, range[0], range[1]);
                // Only where nothing can cut the scan short but a timeout: no filter, no visit limit
                boolean whole = acceptOrds == null && rangeCollector.visitLimit() - rangeCollector.visitedCount() >= to - from;
                int guess = whole ? guessThreshold(query, lastLevel, from, to, keep) : NO_GUESS;
                if (guess != NO_GUESS) {
                  part.startAt(guess);
                }
                scanIntegerScores(query, lastLevel, from, to, acceptOrds, rangeCollector, part);
                if (part.isComplete() == false) {
                  // The guess was too high (rare: it aims at GUESS_MARGIN x keep): again from the
                  // lowest score, its visits already counted.
                  part = new IntegerScoreSelection(keep, range[0], range[1]);
                  scanIntegerScores(query, lastLevel, from, to, null, new UncountedVisits(rangeCollector), part);
                }
                return part;
              });
      return IntegerScoreSelection.topOrdsAscending(parts);
    }
    List<StageOneSelection> parts =
        parallel.scan(
            count,
            layout.bytesThrough(lastLevel, planes),
            executor,
            collector,
            (from, to, rangeCollector) -> {
              // Sized for the common unfiltered case; a filtered scan grows it as needed.
              StageOneSelection part = new StageOneSelection(acceptOrds == null ? to - from : Math.min(to - from, 1024));
              scanEstimates(query, lastLevel, planes, from, to, acceptOrds, rangeCollector, part);
              return part;
            });
    if (parts.size() == 1) {
      return parts.get(0).topOrdsAscending(keep);
    }
    StageOneSelection merged = new StageOneSelection(keep);
    parts.forEach(merged::addAll);
    return merged.topOrdsAscending(keep);
  }

  static final int NO_GUESS = Integer.MIN_VALUE;

  /** Documents sampled to guess a starting threshold. */
  static final int GUESS_SAMPLE = 512;

  /** The guess aims at this many times {@code keep} documents reaching it. */
  static final double GUESS_MARGIN = 1.5;

  /**
   * A starting threshold for selecting {@code keep} of ords {@code [from, to)}: the score that
   * {@link #GUESS_MARGIN} x {@code keep} of them should reach, estimated from {@link #GUESS_SAMPLE}
   * documents at an even stride (ords may follow the order documents were indexed in, which need
   * not be random). {@link #NO_GUESS} where the selection keeps too large a share for a sample to
   * pay: its first compaction would come late or never.
   */
  private int guessThreshold(QueryCode query, int lastLevel, int from, int to, int keep) throws IOException {
    int docs = to - from;
    if (docs < 16L * keep || docs < 8 * GUESS_SAMPLE) {
      return NO_GUESS;
    }
    int rank = (int) Math.ceil(guessMargin * keep * GUESS_SAMPLE / (double) docs) + (guessMargin >= 1 ? 4 : 0);
    if (rank < 1 || rank >= GUESS_SAMPLE / 4) {
      return NO_GUESS;
    }
    int[] scores = new int[GUESS_SAMPLE];
    int words = 0;
    for (int level = 0; level <= lastLevel; level++) {
      words = Math.max(words, layout.wordsPerPlane(level));
    }
    long[] column = new long[GUESS_SAMPLE * words];
    int[] scratch = BitKernels.scratchFor(GUESS_SAMPLE, words);
    long stride = docs / GUESS_SAMPLE;
    for (int level = 0; level <= lastLevel; level++) {
      RandomAccessInput plane = codes.planeSlice(level, 0);
      int levelWords = layout.wordsPerPlane(level);
      long bytes = layout.bytesPerPlane(level);
      for (int i = 0; i < GUESS_SAMPLE; i++) {
        long ord = from + i * stride;
        for (int w = 0; w < levelWords; w++) {
          column[i * levelWords + w] = plane.readLong(ord * bytes + (long) w * Long.BYTES);
        }
      }
      if (query.isPlainHamming()) {
        BitKernels.hammingScoresChunk(query.levelCode(level), column, GUESS_SAMPLE, levelWords, scores, 0, scratch);
      } else {
        BitKernels.asymmetricScoresChunk(query.levelCode(level), column, GUESS_SAMPLE, levelWords, scores, 0, scratch);
      }
    }
    Arrays.sort(scores);
    return scores[GUESS_SAMPLE - rank];
  }

  /** A range's collector for a second pass over documents it already counted. */
  private static final class UncountedVisits extends KnnCollector.Decorator {
    UncountedVisits(KnnCollector collector) {
      super(collector);
    }

    @Override
    public void incVisitedCount(int count) {}

    @Override
    public long visitLimit() {
      return Long.MAX_VALUE;
    }
  }

  /** Scores ords {@code [from, to)} into {@code selection} by integer scores. */
  private void scanIntegerScores(
      QueryCode query,
      int lastLevel,
      int from,
      int to,
      Bits acceptOrds,
      KnnCollector collector,
      IntegerScoreSelection selection)
      throws IOException {
    ChunkReader reader = new ChunkReader(lastLevel, 1, from);
    int[] scores = new int[ChunkVisits.SCAN_CHUNK];
    int[] scratch = BitKernels.scratchFor(ChunkVisits.SCAN_CHUNK, reader.maxWordsPerPlane());
    boolean hamming = query.isPlainHamming();
    for (int start = from; start < to; start += ChunkVisits.SCAN_CHUNK) {
      int n = Math.min(ChunkVisits.SCAN_CHUNK, to - start);
      reader.read(n);
      Arrays.fill(scores, 0, n, 0); // the kernels add each level's part
      for (int level = 0; level <= lastLevel; level++) {
        long[] column = reader.chunk[level][0];
        int words = reader.wordsPerPlane[level];
        if (hamming) {
          BitKernels.hammingScoresChunk(query.levelCode(level), column, n, words, scores, 0, scratch);
        } else {
          BitKernels.asymmetricScoresChunk(query.levelCode(level), column, n, words, scores, 0, scratch);
        }
      }
      if (ChunkVisits.takesWholeChunk(n, acceptOrds, collector)) {
        selection.addChunk(start, scores, n);
        collector.incVisitedCount(n);
      } else {
        int chunkStart = start;
        ChunkVisits.visitChunk(start, n, acceptOrds, collector, ord -> selection.add(ord, scores[ord - chunkStart]));
      }
      if (collector.earlyTerminated()) {
        break;
      }
    }
  }

  /** Scores ords {@code [from, to)} into {@code selection} by the float estimate. */
  private void scanEstimates(
      QueryCode query,
      int lastLevel,
      int planes,
      int from,
      int to,
      Bits acceptOrds,
      KnnCollector collector,
      StageOneSelection selection)
      throws IOException {
    ChunkReader reader = new ChunkReader(lastLevel, planes, from);
    IndexInput correctivesInput = codes.correctivesInput();
    correctivesInput.seek((long) from * 2 * Float.BYTES);
    float[] correctives = new float[2 * ChunkVisits.SCAN_CHUNK];
    long[] sums = new long[ChunkVisits.SCAN_CHUNK];
    for (int start = from; start < to; start += ChunkVisits.SCAN_CHUNK) {
      int n = Math.min(ChunkVisits.SCAN_CHUNK, to - start);
      reader.read(n);
      correctivesInput.readFloats(correctives, 0, 2 * n);
      Arrays.fill(sums, 0, n, 0L);
      for (int level = 0; level <= lastLevel; level++) {
        int words = reader.wordsPerPlane[level];
        for (int i = 0; i < n; i++) {
          sums[i] += BitKernels.planeSums(query.levelCode(level), query.planes(), reader.chunk[level], i * words, planes, words);
        }
      }
      int chunkStart = start;
      ChunkVisits.visitChunk(
          start,
          n,
          acceptOrds,
          collector,
          ord -> {
            int i = ord - chunkStart;
            selection.add(ord, query.estimate(lastLevel, sums[i], correctives[2 * i], correctives[2 * i + 1]));
          });
      if (collector.earlyTerminated()) {
        break;
      }
    }
  }

  /** Sequential readers of the stage's planes, and the buffers one chunk of them is read into. */
  private final class ChunkReader {
    final IndexInput[][] inputs;
    final long[][][] chunk;
    final int[] wordsPerPlane;

    ChunkReader(int lastLevel, int planes, int firstOrd) throws IOException {
      inputs = new IndexInput[lastLevel + 1][planes];
      chunk = new long[lastLevel + 1][planes][];
      wordsPerPlane = new int[lastLevel + 1];
      for (int level = 0; level <= lastLevel; level++) {
        wordsPerPlane[level] = layout.wordsPerPlane(level);
        for (int plane = 0; plane < planes; plane++) {
          inputs[level][plane] = codes.planeInput(level, plane);
          inputs[level][plane].seek((long) firstOrd * layout.bytesPerPlane(level));
          chunk[level][plane] = new long[ChunkVisits.SCAN_CHUNK * wordsPerPlane[level]];
        }
      }
    }

    int maxWordsPerPlane() {
      return Arrays.stream(wordsPerPlane).max().orElse(1);
    }

    /** Reads the next {@code docs} documents' words of every plane. */
    void read(int docs) throws IOException {
      for (int level = 0; level < inputs.length; level++) {
        for (int plane = 0; plane < inputs[level].length; plane++) {
          inputs[level][plane].readLongs(chunk[level][plane], 0, docs * wordsPerPlane[level]);
        }
      }
    }
  }
}
