package io.matryoshka.codec;

import io.matryoshka.engine.SegmentFunnel;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.quantization.Rotation;
import io.matryoshka.search.SegmentPlan;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.hnsw.FlatVectorsReader;
import org.apache.lucene.index.ByteVectorValues;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.IndexFileNames;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.search.AcceptDocs;
import org.apache.lucene.search.KnnCollector;
import org.apache.lucene.store.ChecksumIndexInput;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.IOUtils;
import org.apache.lucene.util.hnsw.RandomVectorScorer;

/**
 * Opens a segment written by {@link MatryoshkaVectorsWriter}: floats through the flat delegate,
 * codes from {@code .veb}, and answers kNN searches on float fields with the funnel ({@link
 * SegmentFunnel}). Both of the format's files are verified in full (CRC32) on open; the floats'
 * file, as in Lucene's own formats, by {@link #checkIntegrity()}.
 */
public final class MatryoshkaVectorsReader extends KnnVectorsReader {
  private final FlatVectorsReader floats;
  private final Map<String, FieldCodes> fields = new HashMap<>();
  private final IndexInput data;

  MatryoshkaVectorsReader(SegmentReadState state, FlatVectorsReader floats) throws IOException {
    this.floats = floats;
    IndexInput dataInput = null;
    boolean success = false;
    try {
      String dataName =
          IndexFileNames.segmentFileName(
              state.segmentInfo.name, state.segmentSuffix, MatryoshkaVectorsFormat.DATA_EXTENSION);
      dataInput = state.directory.openInput(dataName, state.context);
      int dataVersion =
          CodecUtil.checkIndexHeader(
              dataInput,
              MatryoshkaVectorsFormat.DATA_CODEC_NAME,
              MatryoshkaVectorsFormat.VERSION_START,
              MatryoshkaVectorsFormat.VERSION_CURRENT,
              state.segmentInfo.getId(),
              state.segmentSuffix);
      // Codes are a few bytes per document (a fraction of the floats), so the whole file is
      // verified on open: a damaged code would otherwise rank documents silently wrong.
      CodecUtil.checksumEntireFile(dataInput);
      int metaVersion = readMeta(state, dataInput);
      if (metaVersion != dataVersion) {
        throw new CorruptIndexException(
            "format versions differ: meta=" + metaVersion + ", data=" + dataVersion, dataInput);
      }
      success = true;
    } finally {
      if (success == false) {
        IOUtils.closeWhileHandlingException(dataInput, floats);
      }
    }
    this.data = dataInput;
  }

  private int readMeta(SegmentReadState state, IndexInput data) throws IOException {
    String metaName =
        IndexFileNames.segmentFileName(
            state.segmentInfo.name, state.segmentSuffix, MatryoshkaVectorsFormat.META_EXTENSION);
    int version = -1;
    try (ChecksumIndexInput meta = state.directory.openChecksumInput(metaName)) {
      Throwable priorError = null;
      try {
        version =
            CodecUtil.checkIndexHeader(
                meta,
                MatryoshkaVectorsFormat.META_CODEC_NAME,
                MatryoshkaVectorsFormat.VERSION_START,
                MatryoshkaVectorsFormat.VERSION_CURRENT,
                state.segmentInfo.getId(),
                state.segmentSuffix);
        for (int number = meta.readInt(); number != -1; number = meta.readInt()) {
          FieldInfo info = state.fieldInfos.fieldInfo(number);
          if (info == null) {
            throw new CorruptIndexException("invalid field number " + number, meta);
          }
          fields.put(info.name, FieldCodes.read(meta, info, data, meta, version));
        }
      } catch (Throwable t) {
        priorError = t;
      } finally {
        CodecUtil.checkFooter(meta, priorError);
      }
    }
    return version;
  }

  /** This segment's codes of {@code field}, or null if it has none (byte vectors, no such field). */
  public FieldCodes fieldCodes(String field) {
    return fields.get(field);
  }

  /** The codes data file ({@code .veb}), for code scans outside a search (benchmarks). */
  IndexInput codesData() {
    return data;
  }

  @Override
  public void checkIntegrity() throws IOException {
    floats.checkIntegrity();
    CodecUtil.checksumEntireFile(data);
  }

  @Override
  public FloatVectorValues getFloatVectorValues(String field) throws IOException {
    return floats.getFloatVectorValues(field);
  }

  @Override
  public ByteVectorValues getByteVectorValues(String field) throws IOException {
    return floats.getByteVectorValues(field);
  }

  @Override
  public void search(String field, float[] target, KnnCollector collector, AcceptDocs acceptDocs)
      throws IOException {
    FieldCodes codes = fields.get(field);
    if (codes == null || codes.count() == 0 || collector.k() == 0) {
      return;
    }
    FloatVectorValues vectors = floats.getFloatVectorValues(field);
    CodeLayout layout = codes.layout();
    SegmentPlan plan =
        SegmentPlan.resolve(
            collector.getSearchStrategy(),
            collector.k(),
            codes.count(),
            layout.nestedDims(),
            layout.bits(),
            codes.rotation() != Rotation.NONE,
            codes.hasSurvivorEntries());
    new SegmentFunnel(codes, vectors).run(plan, target, vectors.getAcceptOrds(acceptDocs.bits()), collector);
  }

  /** Byte vectors have no codes: every accepted document is scored exactly. */
  @Override
  public void search(String field, byte[] target, KnnCollector collector, AcceptDocs acceptDocs)
      throws IOException {
    RandomVectorScorer scorer = floats.getRandomVectorScorer(field, target);
    if (scorer == null || collector.k() == 0) {
      return;
    }
    Bits acceptedOrds = scorer.getAcceptOrds(acceptDocs.bits());
    int visited = 0;
    for (int ord = 0; ord < scorer.maxOrd(); ord++) {
      if (acceptedOrds == null || acceptedOrds.get(ord)) {
        if (collector.earlyTerminated()) {
          break;
        }
        visited++;
        collector.collect(scorer.ordToDoc(ord), scorer.score(ord));
      }
    }
    collector.incVisitedCount(visited);
  }

  @Override
  public Map<String, Long> getOffHeapByteSize(FieldInfo fieldInfo) {
    Map<String, Long> floatSizes = floats.getOffHeapByteSize(fieldInfo);
    FieldCodes codes = fields.get(fieldInfo.name);
    if (codes == null) {
      return floatSizes;
    }
    return mergeOffHeapByteSizeMaps(
        floatSizes, Map.of(MatryoshkaVectorsFormat.DATA_EXTENSION, codes.totalBytes()));
  }

  @Override
  public void close() throws IOException {
    IOUtils.close(data, floats);
  }
}
