package io.matryoshka.codec;

import java.io.IOException;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.DataInput;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.RandomAccessInput;

/**
 * One field's codes in one segment, as described by its {@code .vemb} entry: the layout, the
 * centroid and where each block lies in {@code .veb}. Immutable and shared by all searches.
 */
public final class FieldCodes {
  private final VectorSimilarityFunction similarity;
  private final int count;
  private final CodeLayout layout;
  private final Rotation rotation;
  private final float[] centroid;
  private final long[] levelOffsets;
  private final long correctivesOffset;
  private final long rotationOffset;

  private FieldCodes(
      VectorSimilarityFunction similarity,
      int count,
      CodeLayout layout,
      Rotation rotation,
      float[] centroid,
      long[] levelOffsets,
      long correctivesOffset,
      long rotationOffset) {
    this.similarity = similarity;
    this.count = count;
    this.layout = layout;
    this.rotation = rotation;
    this.centroid = centroid;
    this.levelOffsets = levelOffsets;
    this.correctivesOffset = correctivesOffset;
    this.rotationOffset = rotationOffset;
  }

  /** Reads an entry (after its field number) and checks it against the data file's length. */
  static FieldCodes read(DataInput meta, int fieldDims, long dataLength, IndexInput metaForErrors)
      throws IOException {
    int similarityOrdinal = meta.readInt();
    if (similarityOrdinal < 0 || similarityOrdinal >= VectorSimilarityFunction.values().length) {
      throw new CorruptIndexException("invalid similarity " + similarityOrdinal, metaForErrors);
    }
    VectorSimilarityFunction similarity = VectorSimilarityFunction.values()[similarityOrdinal];
    int dims = meta.readVInt();
    if (dims != fieldDims) {
      throw new CorruptIndexException(
          "codes were written for " + dims + " dims, the field has " + fieldDims, metaForErrors);
    }
    int count = meta.readVInt();
    int levels = meta.readVInt();
    if (levels < 1 || levels > dims) {
      throw new CorruptIndexException("invalid number of nested levels " + levels, metaForErrors);
    }
    int[] nestedDims = new int[levels];
    for (int i = 0; i < levels; i++) {
      nestedDims[i] = meta.readVInt();
    }
    int bits = meta.readByte();
    Rotation rotation;
    CodeLayout layout;
    try {
      rotation = Rotation.fromWireId(meta.readByte());
      if (bits != 1 && bits != 2 && bits != 4) {
        throw new IllegalArgumentException("invalid bits " + bits);
      }
      layout = new CodeLayout(dims, nestedDims, bits);
    } catch (IllegalArgumentException e) {
      throw new CorruptIndexException(e.getMessage(), metaForErrors, e);
    }
    float[] centroid = new float[dims];
    long[] levelOffsets = new long[levels];
    long correctivesOffset = 0;
    long rotationOffset = 0;
    if (count > 0) {
      for (int i = 0; i < dims; i++) {
        centroid[i] = Float.intBitsToFloat(meta.readInt());
      }
      for (int level = 0; level < levels; level++) {
        levelOffsets[level] = meta.readVLong();
        checkBlock(levelOffsets[level], (long) count * layout.bytesPerDoc(level), dataLength, metaForErrors);
      }
      correctivesOffset = meta.readVLong();
      checkBlock(correctivesOffset, (long) count * layout.correctiveBytesPerDoc(), dataLength, metaForErrors);
      rotationOffset = meta.readVLong();
      long rotationBytes = rotation == Rotation.NONE ? 0 : (long) dims * dims * Float.BYTES;
      checkBlock(rotationOffset, rotationBytes, dataLength, metaForErrors);
    }
    return new FieldCodes(
        similarity, count, layout, rotation, centroid, levelOffsets, correctivesOffset, rotationOffset);
  }

  private static void checkBlock(long offset, long length, long dataLength, IndexInput metaForErrors)
      throws CorruptIndexException {
    if (offset < 0 || length < 0 || offset + length > dataLength) {
      throw new CorruptIndexException(
          "code block [" + offset + ", " + (offset + length) + ") lies outside the data file of " + dataLength + " bytes",
          metaForErrors);
    }
  }

  public VectorSimilarityFunction similarity() {
    return similarity;
  }

  /** Documents with a vector in this segment. */
  public int count() {
    return count;
  }

  public CodeLayout layout() {
    return layout;
  }

  public Rotation rotation() {
    return rotation;
  }

  float[] centroid() {
    return centroid;
  }

  /** Bytes of each level's block. */
  public long levelBytes(int level) {
    return (long) count * layout.bytesPerDoc(level);
  }

  public long correctivesBytes() {
    return (long) count * layout.correctiveBytesPerDoc();
  }

  /** All bytes this field's codes (and rotation) take in {@code .veb}. */
  public long totalBytes() {
    long sum = correctivesBytes() + rotationBytes();
    for (int level = 0; level < layout.levels(); level++) {
      sum += levelBytes(level);
    }
    return sum;
  }

  long levelOffset(int level) {
    return levelOffsets[level];
  }

  long correctivesOffset() {
    return correctivesOffset;
  }

  /**
   * The binarizer queries must use to meet this segment's codes. The rotation (dims x dims floats)
   * is read from the data file on first use and kept on heap for the segment's lifetime.
   */
  Binarizer binarizer(IndexInput data) throws IOException {
    return new Binarizer(layout, similarity, centroid, rotationRows(data));
  }

  private volatile float[][] rotationRows;

  private float[][] rotationRows(IndexInput data) throws IOException {
    if (rotation == Rotation.NONE || count == 0) {
      return null;
    }
    float[][] rows = rotationRows;
    if (rows == null) {
      int dims = layout.dims();
      float[] flat = new float[dims * dims];
      IndexInput in = data.slice("rotation", rotationOffset, (long) flat.length * Float.BYTES);
      in.readFloats(flat, 0, flat.length);
      rows = PcaRotation.rows(flat, dims);
      rotationRows = rows;
    }
    return rows;
  }

  /** Bytes of the stored rotation matrix (0 without rotation). */
  public long rotationBytes() {
    return rotation == Rotation.NONE || count == 0 ? 0 : (long) layout.dims() * layout.dims() * Float.BYTES;
  }

  /** Bytes of one bit plane of one level: every document's words of that plane. */
  long planeBytes(int level) {
    return (long) count * layout.bytesPerPlane(level);
  }

  /** Start of {@code plane} of {@code level}: a level's planes follow each other, plane 0 first. */
  long planeOffset(int level, int plane) {
    return levelOffsets[level] + plane * planeBytes(level);
  }

  /** Random access to one bit plane of one level. */
  RandomAccessInput planeSlice(IndexInput data, int level, int plane) throws IOException {
    return data.randomAccessSlice(planeOffset(level, plane), planeBytes(level));
  }

  /** Sequential access to one bit plane of one level. */
  IndexInput planeInput(IndexInput data, int level, int plane) throws IOException {
    return data.slice("level" + level + "_plane" + plane, planeOffset(level, plane), planeBytes(level));
  }

  RandomAccessInput correctivesSlice(IndexInput data) throws IOException {
    return data.randomAccessSlice(correctivesOffset, correctivesBytes());
  }
}
