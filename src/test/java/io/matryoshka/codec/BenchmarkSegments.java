package io.matryoshka.codec;

import java.io.IOException;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene104.Lucene104Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.util.TestUtil;

/**
 * Indices of cosine vectors in field {@code v} for benchmarks and recall measurements: one
 * force-merged segment, or a given number of segments (documents in order, doc id = ordinal).
 */
public final class BenchmarkSegments {
  private BenchmarkSegments() {}

  public static void writeForceMerged(Directory directory, float[][] vectors, KnnVectorsFormat format) throws IOException {
    Codec codec =
        new Lucene104Codec() {
          @Override
          public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
            return format;
          }
        };
    try (IndexWriter writer =
        new IndexWriter(directory, new IndexWriterConfig().setCodec(codec).setRAMBufferSizeMB(512))) {
      for (float[] vector : vectors) {
        Document doc = new Document();
        doc.add(new KnnFloatVectorField("v", vector, VectorSimilarityFunction.COSINE));
        writer.addDocument(doc);
      }
      writer.forceMerge(1);
    }
  }

  /**
   * Writes {@code vectors} into {@code segments} segments of consecutive documents (the last may be
   * smaller), never merged.
   */
  public static void writeSegments(Directory directory, float[][] vectors, KnnVectorsFormat format, int segments)
      throws IOException {
    IndexWriterConfig config =
        new IndexWriterConfig()
            .setCodec(TestUtil.alwaysKnnVectorsFormat(format))
            .setMergePolicy(NoMergePolicy.INSTANCE)
            .setRAMBufferSizeMB(512);
    try (IndexWriter writer = new IndexWriter(directory, config)) {
      int perSegment = (vectors.length + segments - 1) / segments;
      for (int i = 0; i < vectors.length; i++) {
        Document doc = new Document();
        doc.add(new KnnFloatVectorField("v", vectors[i], VectorSimilarityFunction.COSINE));
        writer.addDocument(doc);
        if ((i + 1) % perSegment == 0) {
          writer.flush();
        }
      }
    }
  }
}
