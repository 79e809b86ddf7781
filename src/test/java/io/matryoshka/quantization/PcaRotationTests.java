package io.matryoshka.quantization;

import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.search.Funnel;
import io.matryoshka.search.FunnelMetric;
import io.matryoshka.search.FunnelSearchStrategy;
import io.matryoshka.search.FunnelStage;

import io.matryoshka.bench.SyntheticVectors;
import java.io.IOException;
import java.util.List;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.elasticsearch.common.logging.LogConfigurator;

@LuceneTestCase.SuppressSysoutChecks(bugUrl = "Elasticsearch formats log a native-access warning")
public class PcaRotationTests extends LuceneTestCase {
  static {
    LogConfigurator.configureESLogging();
  }

  private static float[][] learn(float[][] vectors, VectorSimilarityFunction similarity) throws IOException {
    int dims = vectors[0].length;
    float[] centroid = new float[dims];
    for (float[] v : vectors) {
      for (int i = 0; i < dims; i++) {
        centroid[i] += v[i] / vectors.length;
      }
    }
    return PcaRotation.learn(
        vectors.length,
        dims,
        similarity,
        centroid,
        consumer -> {
          for (float[] v : vectors) {
            consumer.accept(v);
          }
        });
  }

  private static void assertOrthonormal(float[][] rows) {
    for (int i = 0; i < rows.length; i++) {
      for (int j = 0; j < rows.length; j++) {
        double dot = 0;
        for (int d = 0; d < rows.length; d++) {
          dot += (double) rows[i][d] * rows[j][d];
        }
        assertEquals("row " + i + " . row " + j, i == j ? 1.0 : 0.0, dot, 1e-5);
      }
    }
  }

  public void testRotationIsOrthonormal() throws IOException {
    float[][] vectors = SyntheticVectors.generate(2000, 48, random().nextLong());
    assertOrthonormal(learn(vectors, VectorSimilarityFunction.DOT_PRODUCT));
  }

  public void testRotationIsDeterministic() throws IOException {
    float[][] vectors = SyntheticVectors.generate(1000, 32, random().nextLong());
    float[][] first = learn(vectors, VectorSimilarityFunction.COSINE);
    float[][] second = learn(vectors, VectorSimilarityFunction.COSINE);
    for (int r = 0; r < first.length; r++) {
      assertArrayEquals(first[r], second[r], 0f);
    }
  }

  /** Leading axes carry the most variance: projected variances never increase. */
  public void testAxesAreOrderedByVariance() throws IOException {
    float[][] vectors = SyntheticVectors.generate(3000, 24, random().nextLong());
    float[][] rows = learn(vectors, VectorSimilarityFunction.DOT_PRODUCT);
    double previous = Double.POSITIVE_INFINITY;
    for (float[] axis : rows) {
      double mean = 0;
      double squares = 0;
      for (float[] v : vectors) {
        double p = 0;
        for (int d = 0; d < axis.length; d++) {
          p += (double) axis[d] * v[d];
        }
        mean += p / vectors.length;
        squares += p * p / vectors.length;
      }
      double variance = squares - mean * mean;
      assertTrue(variance + " after " + previous, variance <= previous + 1e-6);
      previous = variance;
    }
  }

  /** Fewer documents than dimensions: a rank-deficient covariance still gives a full basis. */
  public void testFewerDocumentsThanDimensions() throws IOException {
    int dims = 64;
    float[][] vectors = SyntheticVectors.generate(10, dims, random().nextLong());
    assertOrthonormal(learn(vectors, VectorSimilarityFunction.COSINE));

    MatryoshkaVectorsFormat format = new MatryoshkaVectorsFormat(new int[] {16, 32, 64}, 4, Rotation.PCA);
    try (Directory dir = newDirectory()) {
      try (IndexWriter writer =
          new IndexWriter(dir, new IndexWriterConfig().setCodec(TestUtil.alwaysKnnVectorsFormat(format)))) {
        for (float[] v : vectors) {
          Document doc = new Document();
          doc.add(new KnnFloatVectorField("v", v, VectorSimilarityFunction.COSINE));
          writer.addDocument(doc);
        }
      }
      try (DirectoryReader reader = DirectoryReader.open(dir)) {
        IndexSearcher searcher = new IndexSearcher(reader);
        for (int q = 0; q < vectors.length; q++) {
          Funnel funnel =
              new Funnel(
                  List.of(
                      new FunnelStage(16, FunnelMetric.ASYMMETRIC, 5, 1),
                      new FunnelStage(64, FunnelMetric.ASYMMETRIC, 3),
                      new FunnelStage(64, FunnelMetric.FLOAT, 1)));
          TopDocs top =
              searcher.search(
                  new KnnFloatVectorQuery("v", vectors[q], 1, null, new FunnelSearchStrategy(funnel, 1f, dims, false)),
                  1);
          // each vector finds itself through codes learned in its own rotated space
          assertEquals(q, top.scoreDocs[0].doc);
        }
      }
    }
  }
}
