package io.matryoshka.engine;

import io.matryoshka.quantization.BitKernels;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.quantization.QueryCode;
import java.io.IOException;
import java.util.Arrays;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.RandomAccessInput;

/**
 * Scores survivors' codes on levels {@code 0 .. lastLevel} by random access: what a code stage
 * after the first reads for each survivor. Scores are the first stage's for the same code ({@link
 * QueryCode#estimate}, or the hamming score).
 *
 * <p>Survivors are read {@link #BATCH} at a time, all of a batch's codes before any is scored, so
 * that the reads do not wait on each other's arithmetic and the memory system overlaps their cache
 * misses (survivors lie kilobytes apart). A stage reading all of a field's planes reads
 * each survivor's entry of the survivor block: one contiguous read of its codes and its corrective
 * terms. Other stages (one plane of several, or segments written before the block existed) gather the
 * document's words from each level's and plane's own block into the same layout (level by level,
 * each level's planes one after the other), so one kernel scores both.
 */
final class SurvivorCodeScorer {
  /** Survivors a batch reads before it scores them: enough independent reads to overlap misses. */
  static final int BATCH = 32;

  private final CodeLayout layout;
  private final QueryCode query;
  private final int lastLevel;
  private final int planes;
  private final EntryQuery entryQuery;
  /** The survivor block, or null where the planes are gathered from their blocks. */
  private final IndexInput survivors;
  private final RandomAccessInput[][] planeSlices;
  private final RandomAccessInput correctives;
  /** Longs per survivor in {@link #codes}: a whole survivor entry, or the gathered words. */
  private final int stride;
  private final long[] codes;
  private final float[] lowers = new float[BATCH];
  private final float[] steps = new float[BATCH];

  SurvivorCodeScorer(StoredCodes codes, QueryCode query, int lastLevel, int planes) throws IOException {
    this.layout = codes.layout();
    this.query = query;
    this.lastLevel = lastLevel;
    this.planes = planes;
    this.entryQuery = new EntryQuery(layout, query, lastLevel, planes);
    this.survivors = readsEntries(codes, planes) ? codes.survivorInput() : null;
    if (survivors != null) {
      this.planeSlices = null;
      this.correctives = null;
      this.stride = layout.survivorBytesPerDoc() / Long.BYTES;
    } else {
      this.planeSlices = new RandomAccessInput[lastLevel + 1][planes];
      for (int level = 0; level <= lastLevel; level++) {
        for (int plane = 0; plane < planes; plane++) {
          planeSlices[level][plane] = codes.planeSlice(level, plane);
        }
      }
      this.correctives = planes > 1 ? codes.correctivesSlice() : null;
      this.stride = entryQuery.codeWords;
    }
    this.codes = new long[BATCH * stride];
    if (planes == 1) {
      // one plane: the one-bit interval for every survivor (multi-bit correctives describe all planes)
      Arrays.fill(lowers, ONE_BIT_LOWER);
      Arrays.fill(steps, ONE_BIT_STEP);
    }
  }

  /** Whether a stage reading {@code planes} planes reads whole survivor entries (else it gathers). */
  private static boolean readsEntries(StoredCodes codes, int planes) {
    return planes == codes.layout().bits() && codes.hasSurvivorEntries();
  }

  /**
   * Bytes read per survivor by a stage on levels {@code 0 .. lastLevel} and {@code planes} planes:
   * a whole survivor entry where it reads entries (all levels, whichever it scores), else the
   * words it gathers and, beyond one plane, the correctives.
   */
  static long bytesPerSurvivor(StoredCodes codes, int lastLevel, int planes) {
    CodeLayout layout = codes.layout();
    return readsEntries(codes, planes) ? layout.survivorBytesPerDoc() : layout.stageBytesPerDoc(lastLevel, planes);
  }

  /**
   * Scores {@code ords[from .. to)} into {@code scores[from .. to)}; at most {@link #BATCH} at a
   * time.
   */
  void score(int[] ords, int from, int to, float[] scores) throws IOException {
    assert to - from <= BATCH;
    if (survivors != null) {
      readEntries(ords, from, to);
    } else {
      gatherPlanes(ords, from, to);
    }
    for (int i = 0; i < to - from; i++) {
      int at = i * stride;
      if (query.isPlainHamming()) {
        long[] queryWords = entryQuery.planesByWord[0];
        int distance = 0;
        for (int j = 0; j < entryQuery.codeWords; j++) {
          distance += Long.bitCount(queryWords[j] ^ codes[at + j]);
        }
        scores[from + i] = query.hammingScore(lastLevel, distance);
      } else {
        long sums = BitKernels.entrySums(entryQuery.planesByWord, entryQuery.docShifts, codes, at, entryQuery.codeWords);
        scores[from + i] = query.estimate(lastLevel, sums, lowers[i], steps[i]);
      }
    }
  }

  /**
   * Whole survivor entries: codes of every level, then (multi-bit) the correctives {@code float
   * lower, float step}.
   */
  private void readEntries(int[] ords, int from, int to) throws IOException {
    long entryBytes = (long) stride * Long.BYTES;
    for (int i = from; i < to; i++) {
      survivors.seek(ords[i] * entryBytes);
      survivors.readLongs(codes, (i - from) * stride, stride);
    }
    if (planes == 1) {
      return; // one-bit entries have no correctives: the constructor set the one-bit interval
    }
    for (int i = 0; i < to - from; i++) {
      long correctiveWord = codes[i * stride + stride - 1]; // two little-endian floats
      lowers[i] = Float.intBitsToFloat((int) correctiveWord);
      steps[i] = Float.intBitsToFloat((int) (correctiveWord >>> 32));
    }
  }

  /** The stage's planes of levels {@code 0 .. lastLevel}, word by word from their blocks. */
  private void gatherPlanes(int[] ords, int from, int to) throws IOException {
    for (int i = from; i < to; i++) {
      int ord = ords[i];
      int at = (i - from) * stride;
      for (int level = 0; level <= lastLevel; level++) {
        int words = layout.wordsPerPlane(level);
        long base = (long) ord * layout.bytesPerPlane(level);
        for (int plane = 0; plane < planes; plane++) {
          RandomAccessInput slice = planeSlices[level][plane];
          for (int w = 0; w < words; w++) {
            codes[at++] = slice.readLong(base + (long) w * Long.BYTES);
          }
        }
      }
      if (correctives != null) {
        lowers[i - from] = Float.intBitsToFloat(correctives.readInt(ord * 8L));
        steps[i - from] = Float.intBitsToFloat(correctives.readInt(ord * 8L + 4));
      }
    }
  }

  /**
   * The query laid out like a survivor's codes: for each code word (levels {@code 0 .. lastLevel},
   * each level's {@code planes} document planes one after the other), the query plane's word it
   * meets, and the weight ({@code 2^shift}) of the document plane it belongs to. One flat pass over
   * a survivor's words then gives what {@link BitKernels#planeSums} gives level by level.
   */
  private static final class EntryQuery {
    final long[][] planesByWord;
    final long[] docShifts;
    final int codeWords;

    EntryQuery(CodeLayout layout, QueryCode query, int lastLevel, int planes) {
      int words = 0;
      for (int level = 0; level <= lastLevel; level++) {
        words += layout.wordsPerPlane(level) * planes;
      }
      codeWords = words;
      planesByWord = new long[query.planes()][codeWords];
      docShifts = new long[codeWords];
      int at = 0;
      for (int level = 0; level <= lastLevel; level++) {
        int levelWords = layout.wordsPerPlane(level);
        long[] levelCode = query.levelCode(level);
        for (int plane = 0; plane < planes; plane++) {
          for (int w = 0; w < levelWords; w++) {
            for (int a = 0; a < query.planes(); a++) {
              planesByWord[a][at] = levelCode[a * levelWords + w];
            }
            docShifts[at] = planes - 1 - plane;
            at++;
          }
        }
      }
    }
  }

  /** One-bit codes stand for coordinates {@code -1 + 2 d}: no correctives are stored for them. */
  static final float ONE_BIT_LOWER = -1f;

  static final float ONE_BIT_STEP = 2f;
}
