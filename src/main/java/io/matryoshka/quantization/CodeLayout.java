package io.matryoshka.quantization;


import java.util.Arrays;

/**
 * Where each nested level's bits of a document lie: the dimensions a level covers, its longs per
 * bit plane and its bytes per document. Pure arithmetic shared by the writer, the reader and the
 * funnel, so that all three agree by construction.
 */
public final class CodeLayout {
  /** Longest vector a code is made for: Elasticsearch's {@code dense_vector} limit. */
  public static final int MAX_DIMS = 4096;

  private static final int[] SUPPORTED_BITS = {1, 2, 4};

  /** Throws unless {@code nestedDims} is strictly ascending, within 1..dims, ending at dims. */
  public static void checkNestedDims(int[] nestedDims, int dims) {
    if (nestedDims.length == 0) {
      throw new IllegalArgumentException("nested_dims must not be empty");
    }
    for (int i = 0; i < nestedDims.length; i++) {
      if (nestedDims[i] < 1 || nestedDims[i] > MAX_DIMS) {
        throw new IllegalArgumentException(
            "nested_dims " + Arrays.toString(nestedDims) + ": " + nestedDims[i] + " is out of range [1, " + MAX_DIMS + "]");
      }
      if (i > 0 && nestedDims[i] <= nestedDims[i - 1]) {
        throw new IllegalArgumentException(
            "nested_dims " + Arrays.toString(nestedDims) + " must be strictly ascending");
      }
    }
    if (nestedDims[nestedDims.length - 1] != dims) {
      throw new IllegalArgumentException(
          "nested_dims " + Arrays.toString(nestedDims) + " must end at dims [" + dims + "]");
    }
  }

  /** The one check of a code's bits per dimension: 1, 2 or 4. */
  public static void checkBits(int bits) {
    if (Arrays.binarySearch(SUPPORTED_BITS, bits) < 0) {
      throw new IllegalArgumentException("bits must be 1, 2 or 4, got " + bits);
    }
  }

  private final int dims;
  private final int[] nestedDims;
  private final int bits;
  private final int[] levelStart;
  private final int[] wordsPerPlane;

  public CodeLayout(int dims, int[] nestedDims, int bits) {
    checkNestedDims(nestedDims, dims);
    checkBits(bits);
    this.dims = dims;
    this.nestedDims = nestedDims.clone();
    this.bits = bits;
    this.levelStart = new int[nestedDims.length];
    this.wordsPerPlane = new int[nestedDims.length];
    for (int level = 0; level < nestedDims.length; level++) {
      levelStart[level] = level == 0 ? 0 : nestedDims[level - 1];
      wordsPerPlane[level] = (nestedDims[level] - levelStart[level] + Long.SIZE - 1) / Long.SIZE;
    }
  }

  public int dims() {
    return dims;
  }

  public int[] nestedDims() {
    return nestedDims.clone();
  }

  public int levels() {
    return nestedDims.length;
  }

  public int bits() {
    return bits;
  }

  /** First dimension of {@code level}. */
  public int levelStart(int level) {
    return levelStart[level];
  }

  /** One past the last dimension of {@code level}: the prefix length it completes. */
  public int levelEnd(int level) {
    return nestedDims[level];
  }

  public int wordsPerPlane(int level) {
    return wordsPerPlane[level];
  }

  /** Longs one document's code takes in {@code level}'s block: all its bit planes. */
  public int wordsPerDoc(int level) {
    return wordsPerPlane[level] * bits;
  }

  /** Bytes of one bit plane of one document in {@code level}. */
  public int bytesPerPlane(int level) {
    return wordsPerPlane[level] * Long.BYTES;
  }

  public int bytesPerDoc(int level) {
    return wordsPerDoc(level) * Long.BYTES;
  }

  /** The level whose end is {@code prefixDims}, or -1 if no level ends there. */
  public int levelEndingAt(int prefixDims) {
    int found = Arrays.binarySearch(nestedDims, prefixDims);
    return found >= 0 ? found : -1;
  }

  /** The level whose end is {@code prefixDims}; a plan naming another prefix is a bug upstream. */
  public int levelIndexOf(int prefixDims) {
    int level = levelEndingAt(prefixDims);
    if (level < 0) {
      throw new IllegalArgumentException(
          "no nested level ends at " + prefixDims + " dims: the levels are " + Arrays.toString(nestedDims));
    }
    return level;
  }

  /**
   * Bytes of one document's entry in the survivor block: every plane of every level, then the
   * corrective terms (none with one bit).
   */
  public int survivorBytesPerDoc() {
    int sum = correctiveBytesPerDoc();
    for (int level = 0; level < levels(); level++) {
      sum += bytesPerDoc(level);
    }
    return sum;
  }

  /** Code bytes of one document on levels {@code 0 .. lastLevel}, {@code planes} bit planes each. */
  public int bytesThrough(int lastLevel, int planes) {
    int bytes = 0;
    for (int level = 0; level <= lastLevel; level++) {
      bytes += bytesPerPlane(level) * planes;
    }
    return bytes;
  }

  /**
   * Bytes a code stage reads per document on levels {@code 0 .. lastLevel} and {@code planes}
   * bit planes, from the level blocks: those planes, and beyond one plane the corrective terms.
   */
  public int stageBytesPerDoc(int lastLevel, int planes) {
    return (planes > 1 ? correctiveBytesPerDoc() : 0) + bytesThrough(lastLevel, planes);
  }

  /**
   * Whether the survivor block is the level 0 block itself: one level of one plane is stored
   * document by document already, so the format does not write it twice.
   */
  public boolean survivorBlockIsLevelBlock() {
    return levels() == 1 && bits == 1;
  }

  /** Longs of a survivor entry's codes through {@code level}: its first part. */
  public int survivorWordsThrough(int level) {
    int sum = 0;
    for (int l = 0; l <= level; l++) {
      sum += wordsPerDoc(l);
    }
    return sum;
  }

  /** Bytes of the corrective terms stored per document: none with one bit. */
  public int correctiveBytesPerDoc() {
    return bits == 1 ? 0 : 2 * Float.BYTES;
  }

  @Override
  public String toString() {
    return "CodeLayout(dims=" + dims + ", nested=" + Arrays.toString(nestedDims) + ", bits=" + bits + ")";
  }
}
