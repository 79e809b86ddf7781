package io.matryoshka.codec;

import java.util.Arrays;

/**
 * Where each nested level's bits of a document lie: the dimensions a level covers, its longs per
 * bit plane and its bytes per document. Pure arithmetic shared by the writer, the reader and the
 * funnel, so that all three agree by construction.
 */
public final class CodeLayout {
  private final int dims;
  private final int[] nestedDims;
  private final int bits;
  private final int[] levelStart;
  private final int[] wordsPerPlane;

  public CodeLayout(int dims, int[] nestedDims, int bits) {
    MatryoshkaVectorsFormat.validateNestedDims(nestedDims, dims);
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

  /** Bytes per document of all levels up to and including {@code level}. */
  public int bytesPerDocThrough(int level) {
    int sum = 0;
    for (int l = 0; l <= level; l++) {
      sum += bytesPerDoc(l);
    }
    return sum;
  }

  /** The level whose end is {@code prefixDims}, or -1 if no level ends there. */
  public int levelEndingAt(int prefixDims) {
    int found = Arrays.binarySearch(nestedDims, prefixDims);
    return found >= 0 ? found : -1;
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
