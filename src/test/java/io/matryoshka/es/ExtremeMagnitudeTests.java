package io.matryoshka.es;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;

import io.matryoshka.es.mapper.VectorChecks;
import io.matryoshka.es.query.MatryoshkaKnnQueryBuilder;
import io.matryoshka.search.FunnelMetric;
import io.matryoshka.search.FunnelStage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.elasticsearch.ExceptionsHelper;
import org.elasticsearch.action.bulk.BulkItemResponse;
import org.elasticsearch.action.bulk.BulkRequestBuilder;
import org.elasticsearch.action.bulk.BulkResponse;
import org.elasticsearch.action.search.SearchResponse;
import org.elasticsearch.action.support.WriteRequest;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.mapper.vectors.DenseVectorFieldMapper.VectorSimilarity;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.search.SearchHit;
import org.elasticsearch.test.ESSingleNodeTestCase;
import org.elasticsearch.xcontent.XContentType;

/**
 * Issue #10, randomized: documents and queries of extreme magnitudes (1e-40 to 1e25, whole vectors
 * or single values) are either rejected, exactly when {@link VectorChecks} names a problem, with
 * that problem in the error, or searched with finite scores, best first, that equal exact search's
 * (and a brute force here) whatever the funnel.
 */
@LuceneTestCase.SuppressCodecs("*")
public class ExtremeMagnitudeTests extends ESSingleNodeTestCase {
  private static final int DIMS = 16;
  private static final int DOCS = 300;
  private static final int K = 10;

  @Override
  protected Collection<Class<? extends Plugin>> getPlugins() {
    return List.of(MatryoshkaPlugin.class);
  }

  private float[] extremeVector(VectorSimilarity similarity) {
    float[] v = new float[DIMS];
    double scale = Math.pow(10, randomIntBetween(-40, 25));
    boolean mixed = rarely();
    for (int i = 0; i < DIMS; i++) {
      double value = random().nextGaussian() * (mixed ? Math.pow(10, randomIntBetween(-40, 25)) : scale);
      v[i] = (float) value;
    }
    if (similarity == VectorSimilarity.DOT_PRODUCT && randomIntBetween(0, 9) < 7) {
      v = TestVectors.unit(TestVectors.gaussian(random(), 1, DIMS)[0]);
    }
    return v;
  }

  private static float[] normalizedInDouble(float[] vector) {
    double squared = 0;
    for (float value : vector) {
      squared += (double) value * value;
    }
    double length = Math.sqrt(squared);
    float[] out = new float[vector.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) (vector[i] / length);
    }
    return out;
  }

  private static VectorSimilarityFunction lucene(VectorSimilarity similarity) {
    return switch (similarity) {
      case COSINE -> VectorSimilarityFunction.COSINE;
      case DOT_PRODUCT -> VectorSimilarityFunction.DOT_PRODUCT;
      case L2_NORM -> VectorSimilarityFunction.EUCLIDEAN;
      case MAX_INNER_PRODUCT -> VectorSimilarityFunction.MAXIMUM_INNER_PRODUCT;
    };
  }

  public void testExtremeMagnitudesAreRejectedOrScoreFinitely() {
    for (int round = 0; round < 3; round++) {
      VectorSimilarity similarity = randomFrom(VectorSimilarity.values());
      String index = "extreme-" + round;
      client().admin()
          .indices()
          .prepareCreate(index)
          .setSettings(Settings.builder().put("index.number_of_shards", 1).put("index.number_of_replicas", 0))
          .setMapping(
              String.format(
                  Locale.ROOT,
                  "{\"properties\": {\"embedding\": {\"type\": \"matryoshka_vector\", \"dims\": %d, \"similarity\": \"%s\", \"nested_dims\": [4, 8, 16], \"bits\": %d}}}",
                  DIMS,
                  similarity,
                  randomFrom(1, 2, 4)))
          .get();
      List<float[]> accepted = new ArrayList<>();
      List<String> acceptedIds = new ArrayList<>();
      BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
      float[][] vectors = new float[DOCS][];
      for (int i = 0; i < DOCS; i++) {
        vectors[i] = extremeVector(similarity);
        bulk.add(client().prepareIndex(index).setId(Integer.toString(i)).setSource("{\"embedding\": " + TestVectors.json(vectors[i]) + "}", XContentType.JSON));
        if (i == DOCS / 2 || i == DOCS - 1) {
          BulkResponse response = bulk.get();
          for (BulkItemResponse item : response.getItems()) {
            int id = Integer.parseInt(item.getId());
            String problem = VectorChecks.problem(vectors[id], similarity);
            if (problem == null) {
              assertFalse(similarity + " " + Arrays.toString(vectors[id]) + ": " + item.getFailureMessage(), item.isFailed());
              accepted.add(vectors[id]);
              acceptedIds.add(item.getId());
            } else {
              assertTrue(similarity + " " + Arrays.toString(vectors[id]) + " should be rejected: " + problem, item.isFailed());
              String failure = ExceptionsHelper.stackTrace(item.getFailure().getCause());
              assertThat(failure, containsString(problem.substring(0, 30)));
              assertThat(failure, containsString("field [embedding] of type [matryoshka_vector]"));
            }
          }
          bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        }
      }
      assertThat("some documents accepted under " + similarity, accepted.size(), greaterThanOrEqualTo(K));
      for (int q = 0; q < 10; q++) {
        float[] query = rarely() ? accepted.get(randomIntBetween(0, accepted.size() - 1)) : extremeVector(similarity);
        String problem = VectorChecks.problem(query, similarity);
        if (problem != null) {
          Exception e =
              expectThrows(Exception.class, () -> client().prepareSearch(index).setQuery(new MatryoshkaKnnQueryBuilder("embedding", query).k(K)).get().decRef());
          assertThat(ExceptionsHelper.stackTrace(e), containsString(problem.substring(0, 30)));
          continue;
        }
        float[] exact = scores(index, new MatryoshkaKnnQueryBuilder("embedding", query).k(K).exact(true));
        float[] keepAll =
            scores(
                index,
                new MatryoshkaKnnQueryBuilder("embedding", query)
                    .k(K)
                    .funnel(List.of(new FunnelStage(4, randomFrom(FunnelMetric.HAMMING, FunnelMetric.ASYMMETRIC), DOCS + 1), new FunnelStage(DIMS, FunnelMetric.FLOAT, K))));
        float[] defaults = scores(index, new MatryoshkaKnnQueryBuilder("embedding", query).k(K));
        String what = similarity + " query " + Arrays.toString(query);
        // Brute force over the accepted documents, with Lucene's float similarity. Under cosine the
        // index scores the query normalised first, as Elasticsearch's knn does: here in double, so
        // that a tiny query's subnormal squares do not blur the reference.
        float[] reference = similarity == VectorSimilarity.COSINE ? normalizedInDouble(query) : query;
        float[] brute = new float[accepted.size()];
        for (int i = 0; i < brute.length; i++) {
          brute[i] = lucene(similarity).compare(reference, accepted.get(i));
        }
        Arrays.sort(brute);
        float[] bruteTop = new float[Math.min(K, brute.length)];
        for (int i = 0; i < bruteTop.length; i++) {
          bruteTop[i] = brute[brute.length - 1 - i];
        }
        // Normalised in float by the index, in double here: the same up to a float's last bits.
        assertArrayEquals(what, bruteTop, exact, similarity == VectorSimilarity.COSINE ? 1e-5f : 0f);
        assertArrayEquals(what, exact, keepAll, 0f);
        assertEquals(what, K, defaults.length);
      }
    }
  }

  /** The hits' scores, checked finite, non-negative and best first. */
  private float[] scores(String index, MatryoshkaKnnQueryBuilder query) {
    SearchResponse response = client().prepareSearch(index).setSize(K).setQuery(query).get();
    try {
      SearchHit[] hits = response.getHits().getHits();
      float[] scores = new float[hits.length];
      for (int i = 0; i < hits.length; i++) {
        scores[i] = hits[i].getScore();
        assertTrue(query + ": score " + scores[i], Float.isFinite(scores[i]) && scores[i] >= 0);
        if (i > 0) {
          assertTrue(query + ": scores best first", scores[i] <= scores[i - 1]);
        }
      }
      return scores;
    } finally {
      response.decRef();
    }
  }
}
