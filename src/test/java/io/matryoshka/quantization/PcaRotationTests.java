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

  private static void assertOrthonormal(float[][] rows, int dims) {
    for (int i = 0; i < rows.length; i++) {
      assertEquals(dims, rows[i].length);
      for (int j = 0; j < rows.length; j++) {
        double dot = 0;
        for (int d = 0; d < dims; d++) {
          dot += (double) rows[i][d] * rows[j][d];
        }
        assertEquals("row " + i + " . row " + j, i == j ? 1.0 : 0.0, dot, 1e-5);
      }
    }
  }

  public void testRotationIsOrthonormal() throws IOException {
    float[][] vectors = SyntheticVectors.generate(2000, 48, random().nextLong());
    float[][] rows = learn(vectors, VectorSimilarityFunction.DOT_PRODUCT);
    // more vectors than dims: a full basis
    assertEquals(48, rows.length);
    assertOrthonormal(rows, 48);
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

  /**
   * Fewer documents than dimensions: the axes span the centred documents (at most count - 1 of
   * them, as they are centred on their own mean), orthonormal, and the codes learned in that
   * space still find every document.
   */
  public void testFewerDocumentsThanDimensions() throws IOException {
    int dims = 64;
    float[][] vectors = SyntheticVectors.generate(10, dims, random().nextLong());
    float[][] rows = learn(vectors, VectorSimilarityFunction.COSINE);
    assertEquals(9, rows.length);
    assertOrthonormal(rows, dims);

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

  /** Below dims vectors, the Gram matrix gives the covariance's leading axes. */
  public void testGramAxesEqualCovarianceAxes() throws IOException {
    int dims = 96;
    float[][] vectors = SyntheticVectors.generate(60, dims, random().nextLong());
    float[][] gram = learn(vectors, VectorSimilarityFunction.DOT_PRODUCT);
    float[] centroid = new float[dims];
    for (float[] v : vectors) {
      for (int i = 0; i < dims; i++) {
        centroid[i] += v[i] / vectors.length;
      }
    }
    double[] covariance = new double[dims * dims];
    for (float[] v : vectors) {
      for (int i = 0; i < dims; i++) {
        for (int j = 0; j < dims; j++) {
          covariance[i * dims + j] += (double) (v[i] - centroid[i]) * (v[j] - centroid[j]) / vectors.length;
        }
      }
    }
    float[][] full = PcaRotation.principalAxes(new org.ejml.data.DMatrixRMaj(dims, dims, true, covariance));
    for (int r = 0; r < 5; r++) {
      double dot = 0;
      for (int j = 0; j < dims; j++) {
        dot += (double) gram[r][j] * full[r][j];
      }
      assertEquals("axis " + r, 1.0, dot, 1e-3);
    }
  }

  /** A segment sampled whole lies in the span of its axes: rotating keeps every centred norm. */
  public void testSmallSegmentLiesInItsAxes() throws IOException {
    int dims = 128;
    float[][] vectors = SyntheticVectors.generate(1 + random().nextInt(100), dims, random().nextLong());
    float[][] rows = learn(vectors, VectorSimilarityFunction.COSINE);
    assertTrue(rows.length + " rows", rows.length <= vectors.length - 1);
    float[] centroid = new float[dims];
    for (float[] v : vectors) {
      for (int i = 0; i < dims; i++) {
        centroid[i] += v[i] / vectors.length;
      }
    }
    for (float[] v : vectors) {
      double norm = 0;
      double rotated = 0;
      for (int i = 0; i < dims; i++) {
        norm += (double) (v[i] - centroid[i]) * (v[i] - centroid[i]);
      }
      for (float[] axis : rows) {
        double p = 0;
        for (int i = 0; i < dims; i++) {
          p += (double) axis[i] * (v[i] - centroid[i]);
        }
        rotated += p * p;
      }
      assertEquals(norm, rotated, 1e-4 * Math.max(norm, 1e-6));
    }
  }

  /** Above MAX_AXES dims the sample, and so the rotation, stays at MAX_AXES rows. */
  public void testHighDimsAreBounded() throws IOException {
    int dims = 1024;
    float[][] vectors = SyntheticVectors.generate(PcaRotation.MAX_AXES + 100, dims, random().nextLong());
    assertEquals(PcaRotation.MAX_AXES, PcaRotation.sampleSize(vectors.length, dims));
    assertEquals(PcaRotation.MAX_SAMPLE, PcaRotation.sampleSize(100_000, PcaRotation.MAX_AXES));
    assertEquals(384, PcaRotation.maxRows(384, 64));
    assertEquals(512, PcaRotation.maxRows(768, 48));
    assertEquals(128, PcaRotation.maxRows(4096, 32));
    assertEquals(1024 / 2, PcaRotation.maxRows(4096, 1024));
    float[][] rows = learn(vectors, VectorSimilarityFunction.DOT_PRODUCT);
    assertTrue(rows.length + " rows", rows.length <= PcaRotation.MAX_AXES && rows.length > PcaRotation.MAX_AXES / 2);
    assertOrthonormal(java.util.Arrays.copyOf(rows, 32), dims);
  }
}
