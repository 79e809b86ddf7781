package io.matryoshka.es.stats;

import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.codec.FieldCodes;
import io.matryoshka.codec.MatryoshkaVectorsReader;
import java.util.HashMap;
import java.util.Map;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
import org.apache.lucene.index.CodecReader;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.LeafReader;

/** Reads a segment's sizes for one field from this plugin's vectors reader. */
public final class SegmentSizes {
  private SegmentSizes() {}

  /**
   * The segment's reader of {@code field} if it is this plugin's format, else null (the field has no
   * vectors in this segment, or another format wrote them).
   */
  public static MatryoshkaVectorsReader matryoshkaReader(LeafReader leaf, String field) {
    LeafReader unwrapped = FilterLeafReader.unwrap(leaf);
    if (!(unwrapped instanceof CodecReader codecReader)) {
      return null;
    }
    KnnVectorsReader vectors = codecReader.getVectorReader();
    if (vectors instanceof PerFieldKnnVectorsFormat.FieldsReader perField) {
      vectors = perField.getFieldReader(field);
    }
    return vectors instanceof MatryoshkaVectorsReader matryoshka ? matryoshka : null;
  }

  /** Adds the segment's share of {@code field} to {@code into}; a segment without it adds nothing. */
  static void addTo(FieldStats into, LeafReader leaf, String field) {
    MatryoshkaVectorsReader reader = matryoshkaReader(leaf, field);
    FieldInfo info = leaf.getFieldInfos().fieldInfo(field);
    FieldCodes codes = reader == null ? null : reader.fieldCodes(field);
    if (codes == null || info == null) {
      return;
    }
    CodeLayout layout = codes.layout();
    int[] nestedDims = layout.nestedDims();
    Map<Integer, Long> levelBytes = new HashMap<>();
    for (int level = 0; level < layout.levels(); level++) {
      levelBytes.put(nestedDims[level], codes.levelBytes(level));
    }
    long floats = reader.getOffHeapByteSize(info).getOrDefault("vec", 0L);
    into.addSegment(codes.count(), levelBytes, codes.correctivesBytes(), floats);
  }
}
