package io.matryoshka.codec;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.ChecksumIndexInput;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexInput;

/**
 * Test helper: reads a segment's {@code .vemb} / {@code .veb} files straight from the directory,
 * following the byte layout documented on {@link MatryoshkaVectorsFormat} (not the reader's code),
 * so that tests compare the documented layout with what was written.
 */
public final class CodeFiles {
  private CodeFiles() {}

  /** One {@code .vemb} field entry, as documented. */
  record FieldMeta(
      int fieldNumber,
      VectorSimilarityFunction similarity,
      int dims,
      int count,
      int[] nestedDims,
      int bits,
      int rotationId,
      float[] centroid,
      long[] levelOffsets,
      long correctivesOffset,
      long rotationOffset,
      int rotationRows,
      long survivorOffset) {}

  /** The similarity ids as the format's javadoc lists them (independent of the reader's list). */
  private static final VectorSimilarityFunction[] SIMILARITY_IDS = {
    VectorSimilarityFunction.EUCLIDEAN,
    VectorSimilarityFunction.DOT_PRODUCT,
    VectorSimilarityFunction.COSINE,
    VectorSimilarityFunction.MAXIMUM_INNER_PRODUCT
  };

  public static SegmentReader segmentReader(LeafReader leaf) {
    return (SegmentReader) FilterLeafReader.unwrap(leaf);
  }

  /** The segment's file with {@code extension} (exactly one must exist). */
  static String fileWithExtension(SegmentReader segment, String extension) throws IOException {
    List<String> found = new ArrayList<>();
    for (String file : segment.getSegmentInfo().files()) {
      if (file.endsWith("." + extension)) {
        found.add(file);
      }
    }
    if (found.size() != 1) {
      throw new AssertionError("expected one ." + extension + " file, got " + found);
    }
    return found.get(0);
  }

  /** Parses a whole {@code .vemb} file, verifying header (with the segment id) and footer. */
  static List<FieldMeta> readMeta(Directory dir, SegmentReader segment) throws IOException {
    String name = fileWithExtension(segment, MatryoshkaVectorsFormat.META_EXTENSION);
    List<FieldMeta> fields = new ArrayList<>();
    try (ChecksumIndexInput in = dir.openChecksumInput(name)) {
      int version =
          CodecUtil.checkHeader(
              in,
              MatryoshkaVectorsFormat.META_CODEC_NAME,
              MatryoshkaVectorsFormat.VERSION_START,
              MatryoshkaVectorsFormat.VERSION_CURRENT);
      byte[] id = new byte[16];
      in.readBytes(id, 0, id.length);
      if (Arrays.equals(id, segment.getSegmentInfo().info.getId()) == false) {
        throw new AssertionError("segment id in .vemb header differs");
      }
      int suffixLength = in.readByte() & 0xFF;
      in.skipBytes(suffixLength);
      for (int number = in.readInt(); number != -1; number = in.readInt()) {
        VectorSimilarityFunction similarity = SIMILARITY_IDS[in.readInt()];
        int dims = in.readVInt();
        int count = in.readVInt();
        int levels = in.readVInt();
        int[] nested = new int[levels];
        for (int i = 0; i < levels; i++) {
          nested[i] = in.readVInt();
        }
        int bits = in.readByte();
        int rotation = in.readByte();
        float[] centroid = null;
        long[] offsets = null;
        long correctives = -1;
        long rotationOffset = -1;
        int rotationRows = -1;
        long survivorOffset = -1;
        if (count > 0) {
          centroid = new float[dims];
          for (int i = 0; i < dims; i++) {
            centroid[i] = Float.intBitsToFloat(in.readInt());
          }
          offsets = new long[levels];
          for (int i = 0; i < levels; i++) {
            offsets[i] = in.readVLong();
          }
          correctives = in.readVLong();
          rotationOffset = in.readVLong();
          // version 1 records the rotation's rows (version 0's rotation was dims x dims), then the
          // survivor block's offset
          rotationRows = version >= 1 ? in.readVInt() : rotation == 0 ? 0 : dims;
          if (version >= 1) {
            survivorOffset = in.readVLong();
          }
        }
        fields.add(
            new FieldMeta(
                number,
                similarity,
                dims,
                count,
                nested,
                bits,
                rotation,
                centroid,
                offsets,
                correctives,
                rotationOffset,
                rotationRows,
                survivorOffset));
      }
      CodecUtil.checkFooter(in);
    }
    return fields;
  }

  static FieldMeta fieldMeta(Directory dir, SegmentReader segment, String field) throws IOException {
    int number = segment.getFieldInfos().fieldInfo(field).number;
    for (FieldMeta meta : readMeta(dir, segment)) {
      if (meta.fieldNumber() == number) {
        return meta;
      }
    }
    throw new AssertionError("no .vemb entry for field " + field);
  }

  /** The raw bytes of {@code length} bytes at {@code offset} of the segment's {@code .veb}. */
  static byte[] dataBytes(Directory dir, SegmentReader segment, long offset, int length)
      throws IOException {
    String name = fileWithExtension(segment, MatryoshkaVectorsFormat.DATA_EXTENSION);
    try (IndexInput in = dir.openInput(name, IOContext.DEFAULT)) {
      byte[] bytes = new byte[length];
      in.seek(offset);
      in.readBytes(bytes, 0, length);
      return bytes;
    }
  }

  /** The whole {@code .veb} (header and footer included). */
  static byte[] allDataBytes(Directory dir, SegmentReader segment) throws IOException {
    String name = fileWithExtension(segment, MatryoshkaVectorsFormat.DATA_EXTENSION);
    try (IndexInput in = dir.openInput(name, IOContext.DEFAULT)) {
      byte[] bytes = new byte[Math.toIntExact(in.length())];
      in.readBytes(bytes, 0, bytes.length);
      return bytes;
    }
  }

  /** The format's own reader of {@code field} in this segment. */
  public static MatryoshkaVectorsReader formatReader(SegmentReader segment, String field) {
    KnnVectorsReader reader = segment.getVectorReader();
    if (reader instanceof PerFieldKnnVectorsFormat.FieldsReader perField) {
      reader = perField.getFieldReader(field);
    }
    return (MatryoshkaVectorsReader) reader;
  }

  /** Per ord of {@code field}, the value of the numeric doc values field {@code idField}. */
  static int[] ordToId(LeafReader leaf, String field, String idField) throws IOException {
    FloatVectorValues values = leaf.getFloatVectorValues(field);
    int[] ids = new int[values.size()];
    for (int ord = 0; ord < ids.length; ord++) {
      int doc = values.ordToDoc(ord);
      NumericDocValues idValues = leaf.getNumericDocValues(idField);
      if (idValues.advanceExact(doc) == false) {
        throw new AssertionError("doc " + doc + " has no id");
      }
      ids[ord] = (int) idValues.longValue();
      if (ord > 0 && doc <= values.ordToDoc(ord - 1)) {
        throw new AssertionError("ords are not in doc order at ord " + ord);
      }
    }
    return ids;
  }

  /** Little-endian bytes of {@code words}, as a DataOutput writes longs. */
  static byte[] littleEndian(long[] words, int from, int count) {
    byte[] bytes = new byte[count * Long.BYTES];
    for (int w = 0; w < count; w++) {
      long word = words[from + w];
      for (int b = 0; b < Long.BYTES; b++) {
        bytes[w * Long.BYTES + b] = (byte) (word >>> (8 * b));
      }
    }
    return bytes;
  }
}
