package io.matryoshka.codec;

import io.matryoshka.engine.StoredCodes;
import io.matryoshka.quantization.Binarizer;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.quantization.Rotation;
import io.matryoshka.quantization.RotationRows;
import java.io.IOException;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.DataInput;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.RandomAccessInput;
import org.apache.lucene.util.VectorUtil;

/**
 * One field's codes in one segment, as described by its {@code .vemb} entry: the layout, the
 * centroid and where each block lies in {@code .veb}. Immutable and shared by all searches; the
 * engine reads it as {@link StoredCodes} over the segment's open data file. Nothing of the codes
 * or the rotation is held on heap: both are read in place from the mapped data file.
 */
public final class FieldCodes implements StoredCodes {
  private final VectorSimilarityFunction similarity;
  private final int count;
  private final CodeLayout layout;
  private final Rotation rotation;
  private final float[] centroid;
  private final long[] levelOffsets;
  private final long correctivesOffset;
  private final long rotationOffset;
  private final int rotationRows;
  /** Start of the survivor block, or -1 where the segment has none (version 0; one bit in version 1). */
  private final long survivorOffset;
  private final IndexInput data;

  private FieldCodes(
      VectorSimilarityFunction similarity,
      int count,
      CodeLayout layout,
      Rotation rotation,
      float[] centroid,
      long[] levelOffsets,
      long correctivesOffset,
      long rotationOffset,
      int rotationRows,
      long survivorOffset,
      IndexInput data) {
    this.similarity = similarity;
    this.count = count;
    this.layout = layout;
    this.rotation = rotation;
    this.centroid = centroid;
    this.levelOffsets = levelOffsets;
    this.correctivesOffset = correctivesOffset;
    this.rotationOffset = rotationOffset;
    this.rotationRows = rotationRows;
    this.survivorOffset = survivorOffset;
    this.data = data;
  }

  /**
   * Reads an entry (after its field number) and checks it against the field and the data file's
   * length.
   *
   * @param data the segment's open {@code .veb}, which searches read the codes from
   * @param version the format version both files were written with
   */
  static FieldCodes read(DataInput meta, FieldInfo field, IndexInput data, IndexInput metaForErrors, int version)
      throws IOException {
    long dataLength = data.length() - CodecUtil.footerLength();
    int fieldDims = field.getVectorDimension();
    int similarityId = meta.readInt();
    VectorSimilarityFunction similarity = SimilarityIds.byId(similarityId);
    if (similarity == null) {
      throw new CorruptIndexException("invalid similarity id " + similarityId, metaForErrors);
    }
    if (similarity != field.getVectorSimilarityFunction()) {
      throw new CorruptIndexException(
          "codes were written for similarity "
              + similarity
              + ", the field has "
              + field.getVectorSimilarityFunction(),
          metaForErrors);
    }
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
      layout = new CodeLayout(dims, nestedDims, bits);
    } catch (IllegalArgumentException e) {
      throw new CorruptIndexException(e.getMessage(), metaForErrors, e);
    }
    float[] centroid = new float[dims];
    long[] levelOffsets = new long[levels];
    long correctivesOffset = 0;
    long rotationOffset = 0;
    int rotationRows = 0;
    long survivorOffset = -1;
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
      if (version >= MatryoshkaVectorsFormat.VERSION_BOUNDED_ROTATION) {
        rotationRows = meta.readVInt();
        int maxRows = rotation == Rotation.NONE ? 0 : Math.min(dims, count);
        if (rotationRows < 0 || rotationRows > maxRows) {
          throw new CorruptIndexException(
              "invalid number of rotation rows " + rotationRows + " (at most " + maxRows + ")", metaForErrors);
        }
      } else {
        // version 0: a full dims x dims rotation with pca
        rotationRows = rotation == Rotation.NONE ? 0 : dims;
      }
      checkBlock(rotationOffset, (long) rotationRows * dims * Float.BYTES, dataLength, metaForErrors);
      if (version >= MatryoshkaVectorsFormat.VERSION_SURVIVOR_BLOCK) {
        long offset = meta.readVLong();
        if (MatryoshkaVectorsFormat.hasSurvivorBlock(version, bits)) {
          checkBlock(offset, (long) count * layout.survivorBytesPerDoc(), dataLength, metaForErrors);
          survivorOffset = offset;
        } else if (offset != 0) {
          throw new CorruptIndexException(
              "a one-bit field of version " + version + " has no survivor block, got offset " + offset, metaForErrors);
        }
      }
    }
    return new FieldCodes(
        similarity,
        count,
        layout,
        rotation,
        centroid,
        levelOffsets,
        correctivesOffset,
        rotationOffset,
        rotationRows,
        survivorOffset,
        data);
  }

  private static void checkBlock(long offset, long length, long dataLength, IndexInput metaForErrors)
      throws CorruptIndexException {
    if (offset < 0 || length < 0 || offset + length > dataLength) {
      throw new CorruptIndexException(
          "code block [" + offset + ", " + (offset + length) + ") lies outside the data file of " + dataLength + " bytes",
          metaForErrors);
    }
  }

  @Override
  public VectorSimilarityFunction similarity() {
    return similarity;
  }

  /** Documents with a vector in this segment. */
  @Override
  public int count() {
    return count;
  }

  @Override
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
    long sum = correctivesBytes() + rotationBytes() + survivorBytes();
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
   * The binarizer queries must use to meet this segment's codes. Its rotation is read from the
   * mapped data file each time a query is coded (one row at a time, never held on heap).
   */
  @Override
  public Binarizer binarizer() {
    return Binarizer.withRotation(
        layout, similarity, centroid, rotation == Rotation.NONE || count == 0 ? null : new MappedRotation());
  }

  /** Rows of the rotation (0 without rotation): at most {@code min(dims, count)}. */
  public int rotationRows() {
    return rotationRows;
  }

  /** Bytes of the stored rotation matrix (0 without rotation). */
  public long rotationBytes() {
    return (long) rotationRows * layout.dims() * Float.BYTES;
  }

  /** The stored rotation, applied row by row from the data file. */
  private final class MappedRotation implements RotationRows {
    @Override
    public int rows() {
      return rotationRows;
    }

    @Override
    public void apply(float[] x, float[] out) throws IOException {
      int dims = layout.dims();
      IndexInput in = data.slice("rotation", rotationOffset, rotationBytes());
      float[] row = new float[dims];
      for (int r = 0; r < rotationRows; r++) {
        in.readFloats(row, 0, dims);
        out[r] = VectorUtil.dotProduct(row, x);
      }
    }
  }

  /** Bytes of one bit plane of one level: every document's words of that plane. */
  long planeBytes(int level) {
    return (long) count * layout.bytesPerPlane(level);
  }

  /** Start of {@code plane} of {@code level}: a level's planes follow each other, plane 0 first. */
  long planeOffset(int level, int plane) {
    return levelOffsets[level] + plane * planeBytes(level);
  }

  @Override
  public RandomAccessInput planeSlice(int level, int plane) throws IOException {
    return data.randomAccessSlice(planeOffset(level, plane), planeBytes(level));
  }

  @Override
  public IndexInput planeInput(int level, int plane) throws IOException {
    return data.slice("level" + level + "_plane" + plane, planeOffset(level, plane), planeBytes(level));
  }

  @Override
  public IndexInput correctivesInput() throws IOException {
    return data.slice("correctives", correctivesOffset, correctivesBytes());
  }

  @Override
  public IndexInput survivorInput() throws IOException {
    return survivorOffset < 0
        ? null
        : data.slice("survivors", survivorOffset, (long) count * layout.survivorBytesPerDoc());
  }

  @Override
  public boolean hasSurvivorEntries() {
    return survivorOffset >= 0;
  }

  /**
   * Bytes the survivor block adds to {@code .veb}: 0 where there is none, or where it is the level
   * 0 block (one level, one bit).
   */
  public long survivorBytes() {
    boolean ownBlock = survivorOffset >= 0 && layout.survivorBlockIsLevelBlock() == false;
    return ownBlock ? (long) count * layout.survivorBytesPerDoc() : 0;
  }

  @Override
  public RandomAccessInput correctivesSlice() throws IOException {
    return data.randomAccessSlice(correctivesOffset, correctivesBytes());
  }
}
