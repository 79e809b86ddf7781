package io.matryoshka.codec;

import io.matryoshka.quantization.VectorPasses;

import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.quantization.Rotation;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.codecs.KnnFieldVectorsWriter;
import org.apache.lucene.codecs.KnnVectorsWriter;
import org.apache.lucene.codecs.hnsw.FlatFieldVectorsWriter;
import org.apache.lucene.codecs.hnsw.FlatVectorsWriter;
import org.apache.lucene.index.DocsWithFieldSet;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.IndexFileNames;
import org.apache.lucene.index.KnnVectorValues;
import org.apache.lucene.index.MergeState;
import org.apache.lucene.index.SegmentWriteState;
import org.apache.lucene.index.Sorter;
import org.apache.lucene.index.VectorEncoding;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.store.IndexOutput;
import org.apache.lucene.util.IOUtils;
import org.apache.lucene.util.RamUsageEstimator;
import org.apache.lucene.util.IORunnable;

/**
 * Writes a segment: floats through the flat delegate, then per float field the centroid (and
 * rotation), and the nested codes level by level (see {@link MatryoshkaVectorsFormat}).
 */
final class MatryoshkaVectorsWriter extends KnnVectorsWriter {
  private static final long SHALLOW_SIZE =
      RamUsageEstimator.shallowSizeOfInstance(MatryoshkaVectorsWriter.class);

  private final SegmentWriteState state;
  private final MatryoshkaVectorsFormat format;
  private final FlatVectorsWriter floatsWriter;
  private final List<PendingField> pendingFields = new ArrayList<>();
  private final IndexOutput meta;
  private final IndexOutput data;
  private boolean finished;

  private record PendingField(FieldInfo fieldInfo, FlatFieldVectorsWriter<float[]> floats) {}

  MatryoshkaVectorsWriter(
      SegmentWriteState state, MatryoshkaVectorsFormat format, FlatVectorsWriter floatsWriter)
      throws IOException {
    this.state = state;
    this.format = format;
    this.floatsWriter = floatsWriter;
    boolean success = false;
    IndexOutput metaOut = null;
    IndexOutput dataOut = null;
    try {
      metaOut = state.directory.createOutput(fileName(MatryoshkaVectorsFormat.META_EXTENSION), state.context);
      dataOut = state.directory.createOutput(fileName(MatryoshkaVectorsFormat.DATA_EXTENSION), state.context);
      CodecUtil.writeIndexHeader(
          metaOut,
          MatryoshkaVectorsFormat.META_CODEC_NAME,
          MatryoshkaVectorsFormat.VERSION_CURRENT,
          state.segmentInfo.getId(),
          state.segmentSuffix);
      CodecUtil.writeIndexHeader(
          dataOut,
          MatryoshkaVectorsFormat.DATA_CODEC_NAME,
          MatryoshkaVectorsFormat.VERSION_CURRENT,
          state.segmentInfo.getId(),
          state.segmentSuffix);
      success = true;
    } finally {
      if (success == false) {
        IOUtils.closeWhileHandlingException(metaOut, dataOut, floatsWriter);
      }
    }
    this.meta = metaOut;
    this.data = dataOut;
  }

  private String fileName(String extension) {
    return IndexFileNames.segmentFileName(state.segmentInfo.name, state.segmentSuffix, extension);
  }

  @Override
  @SuppressWarnings("unchecked")
  public KnnFieldVectorsWriter<?> addField(FieldInfo fieldInfo) throws IOException {
    FlatFieldVectorsWriter<?> floats = floatsWriter.addField(fieldInfo);
    if (fieldInfo.getVectorEncoding() == VectorEncoding.FLOAT32) {
      // Fail at the first document rather than at flush if the levels do not fit the field.
      format.nestedDimsFor(fieldInfo.getVectorDimension());
      pendingFields.add(new PendingField(fieldInfo, (FlatFieldVectorsWriter<float[]>) floats));
    }
    return floats;
  }

  @Override
  public void flush(int maxDoc, Sorter.DocMap sortMap) throws IOException {
    floatsWriter.flush(maxDoc, sortMap);
    for (PendingField field : pendingFields) {
      List<float[]> vectors = field.floats().getVectors();
      DocsWithFieldSet docsWithField = field.floats().getDocsWithFieldSet();
      final int[] newToOldOrd;
      if (sortMap == null) {
        newToOldOrd = null;
      } else {
        newToOldOrd = new int[docsWithField.cardinality()];
        mapOldOrdToNewOrd(docsWithField, sortMap, null, newToOldOrd, null);
      }
      VectorPasses passes =
          consumer -> {
            for (int ord = 0; ord < vectors.size(); ord++) {
              consumer.accept(vectors.get(newToOldOrd == null ? ord : newToOldOrd[ord]));
            }
          };
      writeField(field.fieldInfo(), vectors.size(), passes);
      field.floats().finish();
    }
  }

  @Override
  public IORunnable mergeOneField(FieldInfo fieldInfo, MergeState mergeState) throws IOException {
    floatsWriter.mergeOneFlatVectorField(fieldInfo, mergeState);
    if (fieldInfo.getVectorEncoding() != VectorEncoding.FLOAT32) {
      return null;
    }
    VectorPasses passes =
        consumer -> {
          FloatVectorValues merged = MergedVectorValues.mergeFloatVectorValues(fieldInfo, mergeState);
          KnnVectorValues.DocIndexIterator iterator = merged.iterator();
          for (int doc = iterator.nextDoc();
              doc != DocIdSetIterator.NO_MORE_DOCS;
              doc = iterator.nextDoc()) {
            consumer.accept(merged.vectorValue(iterator.index()));
          }
        };
    int[] count = new int[1];
    passes.forEach(vector -> count[0]++);
    writeField(fieldInfo, count[0], passes);
    return null;
  }

  private void writeField(FieldInfo fieldInfo, int count, VectorPasses passes) throws IOException {
    int dims = fieldInfo.getVectorDimension();
    CodeLayout layout = new CodeLayout(dims, format.nestedDimsFor(dims), format.bits());
    SegmentCodes codes =
        new SegmentCodeWriter(state, data, layout, fieldInfo.getVectorSimilarityFunction(), format.rotation())
            .write(count, passes);
    writeMeta(fieldInfo, count, layout, format.rotation(), codes);
  }

  private void writeMeta(
      FieldInfo fieldInfo, int count, CodeLayout layout, Rotation rotation, SegmentCodes codes)
      throws IOException {
    meta.writeInt(fieldInfo.number);
    meta.writeInt(SimilarityIds.idOf(fieldInfo.getVectorSimilarityFunction()));
    meta.writeVInt(layout.dims());
    meta.writeVInt(count);
    meta.writeVInt(layout.levels());
    for (int level = 0; level < layout.levels(); level++) {
      meta.writeVInt(layout.levelEnd(level));
    }
    meta.writeByte((byte) layout.bits());
    meta.writeByte((byte) rotation.wireId);
    if (count > 0) {
      for (float value : codes.centroid()) {
        meta.writeInt(Float.floatToIntBits(value));
      }
      for (long offset : codes.levelOffsets()) {
        meta.writeVLong(offset);
      }
      meta.writeVLong(codes.correctivesOffset());
      meta.writeVLong(codes.rotationOffset());
      meta.writeVInt(codes.rotationRows());
      meta.writeVLong(codes.survivorOffset());
    }
  }

  @Override
  public void finish() throws IOException {
    if (finished) {
      throw new IllegalStateException("already finished");
    }
    finished = true;
    floatsWriter.finish();
    meta.writeInt(-1);
    CodecUtil.writeFooter(meta);
    CodecUtil.writeFooter(data);
  }

  @Override
  public void close() throws IOException {
    IOUtils.close(meta, data, floatsWriter);
  }

  @Override
  public long ramBytesUsed() {
    // Vectors are buffered by the flat delegate; codes are computed at flush, not buffered.
    return SHALLOW_SIZE + floatsWriter.ramBytesUsed();
  }
}
