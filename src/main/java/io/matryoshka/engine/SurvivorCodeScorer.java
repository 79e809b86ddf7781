package io.matryoshka.engine;

import io.matryoshka.quantization.BitKernels;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.quantization.QueryCode;
import java.io.IOException;
import java.util.Arrays;
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
  private final long[] entry;
  private final long[][] entryPlanes;
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
      this.entry = new long[layout.survivorWordsThrough(lastLevel)];
      this.entryPlanes = new long[planes][];
      Arrays.fill(entryPlanes, entry);
      this.planeSlices = null;
      this.docWords = null;
      this.correctives = null;
    } else {
      this.entry = null;
      this.entryPlanes = null;
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

  float score(int ord) throws IOException {
    return survivors != null ? scoreEntry(ord) : scorePlaneBlocks(ord);
  }

  /** One read of the survivor entry: codes through {@code lastLevel}, then the correctives. */
  private float scoreEntry(int ord) throws IOException {
    long start = (long) ord * layout.survivorBytesPerDoc();
    survivors.seek(start);
    survivors.readLongs(entry, 0, entry.length);
    long sums = 0;
    int at = 0;
    for (int level = 0; level <= lastLevel; level++) {
      int wordsPerPlane = layout.wordsPerPlane(level);
      sums += BitKernels.planeSums(query.levelCode(level), query.planes(), entryPlanes, at, wordsPerPlane, planes, wordsPerPlane);
      at += layout.wordsPerDoc(level);
    }
    survivors.seek(start + layout.survivorBytesPerDoc() - layout.correctiveBytesPerDoc());
    float lower = Float.intBitsToFloat(survivors.readInt());
    float step = Float.intBitsToFloat(survivors.readInt());
    return query.estimate(lastLevel, sums, lower, step);
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
