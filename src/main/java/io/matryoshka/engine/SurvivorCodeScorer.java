package io.matryoshka.engine;

import io.matryoshka.quantization.BitKernels;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.quantization.QueryCode;
import java.io.IOException;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.RandomAccessInput;

/**
 * Scores single documents' codes on levels {@code 0 .. lastLevel} by random access: what a code
 * stage after the first reads for each survivor. Scores are the first stage's for the same code
 * ({@link QueryCode#estimate}, or the hamming score).
 *
 * <p>A stage reading all of a multi-bit field's planes reads each survivor's entry of the survivor
 * block: one contiguous read of its codes through {@code lastLevel} and its corrective terms. Other
 * stages (one plane, or segments written before the block existed) read the document's words from
 * each level's and plane's own block.
 */
final class SurvivorCodeScorer {
  private final CodeLayout layout;
  private final QueryCode query;
  private final int lastLevel;
  private final int planes;
  private final IndexInput survivors;
  private final EntryQuery entryQuery;
  private final long[] entries;
  private final RandomAccessInput[][] planeSlices;
  private final long[][][] docWords;
  private final RandomAccessInput correctives;

  SurvivorCodeScorer(StoredCodes codes, QueryCode query, int lastLevel, int planes) throws IOException {
    this.layout = codes.layout();
    this.query = query;
    this.lastLevel = lastLevel;
    this.planes = planes;
    this.survivors = planes == layout.bits() && planes > 1 ? codes.survivorInput() : null;
    if (survivors != null) {
      this.entryQuery = new EntryQuery(layout, query, lastLevel);
      this.entries = new long[BATCH * entryQuery.entryLongs];
      this.planeSlices = null;
      this.docWords = null;
      this.correctives = null;
    } else {
      this.entryQuery = null;
      this.entries = null;
      this.planeSlices = new RandomAccessInput[lastLevel + 1][planes];
      this.docWords = new long[lastLevel + 1][planes][];
      for (int level = 0; level <= lastLevel; level++) {
        for (int plane = 0; plane < planes; plane++) {
          planeSlices[level][plane] = codes.planeSlice(level, plane);
          docWords[level][plane] = new long[layout.wordsPerPlane(level)];
        }
      }
      this.correctives = planes > 1 ? codes.correctivesSlice() : null;
    }
  }

  /** Survivors a batch reads before it scores them: enough independent reads to overlap misses. */
  static final int BATCH = 32;

  /**
   * Scores {@code ords[from .. to)} into {@code scores[0 .. to - from)}; at most {@link #BATCH} at a
   * time.
   */
  void score(int[] ords, int from, int to, float[] scores) throws IOException {
    assert to - from <= BATCH;
    if (survivors == null) {
      for (int i = from; i < to; i++) {
        scores[i - from] = scorePlaneBlocks(ords[i]);
      }
      return;
    }
    // All entries first, then all scores: the reads do not wait on each other's arithmetic, so
    // the memory system overlaps their cache misses (survivors lie kilobytes apart).
    int longs = entryQuery.entryLongs;
    long entryBytes = (long) longs * Long.BYTES;
    for (int i = from; i < to; i++) {
      survivors.seek(ords[i] * entryBytes);
      survivors.readLongs(entries, (i - from) * longs, longs);
    }
    for (int i = from; i < to; i++) {
      int at = (i - from) * longs;
      long sums = BitKernels.entrySums(entryQuery.planesByWord, entryQuery.docShifts, entries, at, entryQuery.codeWords);
      long correctives = entries[at + longs - 1]; // float lower, float step, little-endian
      scores[i - from] =
          query.estimate(lastLevel, sums, Float.intBitsToFloat((int) correctives), Float.intBitsToFloat((int) (correctives >>> 32)));
    }
  }

  /**
   * The query laid out like a survivor entry: for each of the entry's code words (levels {@code 0
   * .. lastLevel}, each level's planes one after the other), the query plane's word it meets, and
   * the weight of the document plane it belongs to. One flat pass over the entry then gives what
   * {@link BitKernels#planeSums} gives level by level.
   */
  private static final class EntryQuery {
    final long[][] planesByWord;
    final long[] docShifts;
    final int codeWords;
    final int entryLongs;

    EntryQuery(CodeLayout layout, QueryCode query, int lastLevel) {
      codeWords = layout.survivorWordsThrough(lastLevel);
      entryLongs = layout.survivorBytesPerDoc() / Long.BYTES;
      planesByWord = new long[query.planes()][codeWords];
      docShifts = new long[codeWords];
      int docPlanes = layout.bits();
      int at = 0;
      for (int level = 0; level <= lastLevel; level++) {
        int words = layout.wordsPerPlane(level);
        long[] levelCode = query.levelCode(level);
        for (int plane = 0; plane < docPlanes; plane++) {
          for (int w = 0; w < words; w++) {
            for (int a = 0; a < query.planes(); a++) {
              planesByWord[a][at] = levelCode[a * words + w];
            }
            docShifts[at] = docPlanes - 1 - plane;
            at++;
          }
        }
      }
    }
  }

  private float scorePlaneBlocks(int ord) throws IOException {
    long sums = 0;
    int distance = 0;
    for (int level = 0; level <= lastLevel; level++) {
      int wordsPerPlane = layout.wordsPerPlane(level);
      long base = (long) ord * layout.bytesPerPlane(level);
      for (int plane = 0; plane < planes; plane++) {
        long[] words = docWords[level][plane];
        for (int w = 0; w < wordsPerPlane; w++) {
          words[w] = planeSlices[level][plane].readLong(base + (long) w * Long.BYTES);
        }
      }
      if (query.isPlainHamming()) {
        distance += BitKernels.hamming(query.levelCode(level), docWords[level][0], 0, wordsPerPlane);
      } else {
        sums += BitKernels.planeSums(query.levelCode(level), query.planes(), docWords[level], 0, planes, wordsPerPlane);
      }
    }
    if (query.isPlainHamming()) {
      return query.hammingScore(lastLevel, distance);
    }
    return correctives == null
        ? query.estimate(lastLevel, sums, ONE_BIT_LOWER, ONE_BIT_STEP)
        : query.estimate(
            lastLevel,
            sums,
            Float.intBitsToFloat(correctives.readInt(ord * 8L)),
            Float.intBitsToFloat(correctives.readInt(ord * 8L + 4)));
  }

  /** One-bit codes stand for coordinates {@code -1 + 2 d}: no correctives are stored for them. */
  static final float ONE_BIT_LOWER = -1f;

  static final float ONE_BIT_STEP = 2f;
}
