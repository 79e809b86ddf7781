package io.matryoshka.es.stats;

import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.codec.FieldCodes;
import io.matryoshka.codec.MatryoshkaVectorsReader;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
import org.apache.lucene.index.CodecReader;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.KnnVectorValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.util.Bits;

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
  static void addTo(FieldStats into, LeafReader leaf, String field) throws IOException {
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
    into.addSegment(codes.count(), liveVectors(leaf, field, codes.count()), levelBytes, codes.correctivesBytes(), floats);
  }

  /** Vectors of documents the segment's live docs keep (all of them without deletions). */
  private static long liveVectors(LeafReader leaf, String field, long vectors) throws IOException {
    Bits live = leaf.getLiveDocs();
    FloatVectorValues values = leaf.getFloatVectorValues(field);
    if (live == null || values == null) {
      return vectors;
    }
    long count = 0;
    KnnVectorValues.DocIndexIterator docs = values.iterator();
    for (int doc = docs.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = docs.nextDoc()) {
      if (live.get(doc)) {
        count++;
      }
    }
    return count;
  }
}
