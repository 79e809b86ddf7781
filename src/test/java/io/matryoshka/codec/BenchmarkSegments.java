package io.matryoshka.codec;

import java.io.IOException;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene104.Lucene104Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.Directory;

/** The JMH benchmarks' index: one force-merged segment of cosine vectors in field {@code v}. */
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
}
