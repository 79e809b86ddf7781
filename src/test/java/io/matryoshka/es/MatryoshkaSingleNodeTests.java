package io.matryoshka.es;

import static org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertNoFailures;
import static org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertResponse;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.notNullValue;

import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.es.mapper.MatryoshkaVectorFieldMapper;
import io.matryoshka.es.query.MatryoshkaKnnQueryBuilder;
import io.matryoshka.es.stats.MatryoshkaStatsAction;
import io.matryoshka.es.stats.MatryoshkaStatsRequest;
import io.matryoshka.es.stats.MatryoshkaStatsResponse;
import io.matryoshka.es.stats.SegmentSizes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.elasticsearch.action.bulk.BulkRequestBuilder;
import org.elasticsearch.action.bulk.BulkResponse;
import org.elasticsearch.action.search.SearchResponse;
import org.elasticsearch.action.support.WriteRequest;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.IndexService;
import org.elasticsearch.index.engine.Engine;
import org.elasticsearch.index.query.QueryBuilders;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.search.SearchHit;
import org.elasticsearch.test.ESSingleNodeTestCase;
import org.elasticsearch.xcontent.XContentType;

/** The plugin on one real node: mapping, indexing, search and stats through Elasticsearch's APIs. */
@LuceneTestCase.SuppressCodecs("*")
public class MatryoshkaSingleNodeTests extends ESSingleNodeTestCase {
  private static final int DIMS = 16;

  @Override
  protected Collection<Class<? extends Plugin>> getPlugins() {
    return List.of(MatryoshkaPlugin.class);
  }

  private static String mapping(String similarity) {
    return """
        {"properties": {
          "embedding": {"type": "matryoshka_vector", "dims": %s, "similarity": "%s", "nested_dims": [4, 8, 16], "bits": 1},
          "plain": {"type": "dense_vector", "dims": %s, "similarity": "%s", "index_options": {"type": "flat"}},
          "lang": {"type": "keyword"}
        }}"""
        .formatted(Integer.toString(DIMS), similarity, Integer.toString(DIMS), similarity);
  }

  private float[][] indexRandomDocs(String index, String similarity, Settings settings, int count) {
    createIndex(index, indicesAdmin().prepareCreate(index).setSettings(settings).setMapping(mapping(similarity)));
    float[][] vectors = TestVectors.gaussian(random(), count, DIMS);
    if (similarity.equals("dot_product")) {
      for (int i = 0; i < vectors.length; i++) {
        vectors[i] = TestVectors.unit(vectors[i]);
      }
    }
    BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
    for (int i = 0; i < count; i++) {
      String vector = TestVectors.json(vectors[i]);
      bulk.add(
          client()
              .prepareIndex(index)
              .setId(Integer.toString(i))
              .setSource(
                  "{\"embedding\": %s, \"plain\": %s, \"lang\": \"%s\"}".formatted(vector, vector, i % 2 == 0 ? "en" : "de"),
                  XContentType.JSON));
      if (i == count / 2) {
        // Two batches, so that the index has more than one segment.
        assertFalse(bulk.get().hasFailures());
        bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
      }
    }
    BulkResponse response = bulk.get();
    assertFalse(response.buildFailureMessage(), response.hasFailures());
    return vectors;
  }

  private static List<String> ids(SearchResponse response) {
    List<String> ids = new ArrayList<>();
    for (SearchHit hit : response.getHits().getHits()) {
      ids.add(hit.getId());
    }
    return ids;
  }

  public void testExactMatchesBruteForceAndDenseVectorFlatKnn() {
    String similarity = randomFrom("cosine", "dot_product", "l2_norm", "max_inner_product");
    float[][] vectors = indexRandomDocs("docs", similarity, Settings.EMPTY, 200);
    VectorSimilarityFunction function =
        switch (similarity) {
          case "cosine" -> VectorSimilarityFunction.COSINE;
          case "dot_product" -> VectorSimilarityFunction.DOT_PRODUCT;
          case "l2_norm" -> VectorSimilarityFunction.EUCLIDEAN;
          default -> VectorSimilarityFunction.MAXIMUM_INNER_PRODUCT;
        };
    for (int round = 0; round < 5; round++) {
      float[] query = TestVectors.gaussian(random(), 1, DIMS)[0];
      if (similarity.equals("dot_product")) {
        query = TestVectors.unit(query);
      }
      List<String> expected = new ArrayList<>();
      for (int doc : TestVectors.topK(vectors, query, 10, function)) {
        expected.add(Integer.toString(doc));
      }
      List<String> matryoshkaIds = new ArrayList<>();
      Map<String, Float> matryoshkaScores = new java.util.HashMap<>();
      assertResponse(
          client().prepareSearch("docs").setSize(10).setQuery(new MatryoshkaKnnQueryBuilder("embedding", query).k(10).exact(true)),
          response -> {
            assertNoFailures(response);
            matryoshkaIds.addAll(ids(response));
            for (SearchHit hit : response.getHits().getHits()) {
              matryoshkaScores.put(hit.getId(), hit.getScore());
            }
          });
      assertThat(matryoshkaIds, equalTo(expected));
      String knn = "{\"knn\": {\"field\": \"plain\", \"query_vector\": %s, \"k\": 10}}".formatted(TestVectors.json(query));
      assertResponse(
          client().prepareSearch("docs").setSize(10).setQuery(QueryBuilders.wrapperQuery(knn)),
          response -> {
            assertNoFailures(response);
            assertThat(new HashSet<>(ids(response)), equalTo(new HashSet<>(matryoshkaIds)));
            for (SearchHit hit : response.getHits().getHits()) {
              assertEquals("score of " + hit.getId(), hit.getScore(), matryoshkaScores.get(hit.getId()), 1e-5f);
            }
          });
    }
  }

  public void testFilterAndSimilarityAndPrefixQuery() {
    float[][] vectors = indexRandomDocs("docs", "cosine", Settings.EMPTY, 100);
    float[] query = vectors[7];
    assertResponse(
        client()
            .prepareSearch("docs")
            .setQuery(
                new MatryoshkaKnnQueryBuilder("embedding", query).k(5).filter(QueryBuilders.termQuery("lang", "de"))),
        response -> {
          assertNoFailures(response);
          assertThat(response.getHits().getHits().length, equalTo(5));
          for (SearchHit hit : response.getHits().getHits()) {
            assertThat(Integer.parseInt(hit.getId()) % 2, equalTo(1));
          }
        });
    // A similarity of 0.999 keeps (almost) only the query's own document.
    assertResponse(
        client().prepareSearch("docs").setQuery(new MatryoshkaKnnQueryBuilder("embedding", query).k(10).similarity(0.999f)),
        response -> {
          assertNoFailures(response);
          assertThat(response.getHits().getHits().length, equalTo(1));
          assertThat(response.getHits().getHits()[0].getId(), equalTo("7"));
        });
    float[] prefix = java.util.Arrays.copyOf(query, 8);
    List<String> expected = new ArrayList<>();
    for (int doc : TestVectors.topK(vectors, prefix, 5, VectorSimilarityFunction.COSINE)) {
      expected.add(Integer.toString(doc));
    }
    assertResponse(
        client().prepareSearch("docs").setQuery(new MatryoshkaKnnQueryBuilder("embedding", prefix).k(5).exact(true)),
        response -> assertThat(ids(response), equalTo(expected)));
  }

  public void testSegmentsCarryTheMatryoshkaFormat() throws Exception {
    indexRandomDocs("docs", "cosine", Settings.EMPTY, 50);
    assertSegmentsUseMatryoshkaFormat("docs");
  }

  /**
   * {@code best_compression} needs zstd, which Elasticsearch loads through native access. The
   * surefire JVM runs without {@code -Des.nativelibs.path=<ES_HOME>/lib/platform/linux-x64}, and
   * with it the test node refuses to run as root (as CI does), so here the test is skipped unless
   * zstd is actually available; the real-node integration suite covers best_compression.
   */
  public void testSegmentsCarryTheMatryoshkaFormatUnderBestCompression() throws Exception {
    assumeTrue(
        "native zstd is unavailable in this JVM (no -Des.nativelibs.path)",
        org.elasticsearch.nativeaccess.NativeAccess.instance().getZstd() != null);
    indexRandomDocs("docs", "cosine", Settings.builder().put("index.codec", "best_compression").build(), 50);
    assertSegmentsUseMatryoshkaFormat("docs");
  }

  private void assertSegmentsUseMatryoshkaFormat(String index) throws Exception {
    IndexService indexService = getInstanceFromNode(org.elasticsearch.indices.IndicesService.class).indexServiceSafe(resolveIndex(index));
    // The Lucene vector field is the user's name (the dense_vector child's full path).
    String vectorField = "embedding";
    int segments = 0;
    try (Engine.Searcher searcher = indexService.getShard(0).acquireSearcher("test")) {
      for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
        FieldInfo info = leaf.reader().getFieldInfos().fieldInfo(vectorField);
        assertThat(info, notNullValue());
        assertThat(info.getAttribute(PerFieldKnnVectorsFormat.PER_FIELD_FORMAT_KEY), equalTo(MatryoshkaVectorsFormat.NAME));
        assertThat(SegmentSizes.matryoshkaReader(leaf.reader(), vectorField), notNullValue());
        FieldInfo plain = leaf.reader().getFieldInfos().fieldInfo("plain");
        assertNotEquals(MatryoshkaVectorsFormat.NAME, plain.getAttribute(PerFieldKnnVectorsFormat.PER_FIELD_FORMAT_KEY));
        segments++;
      }
    }
    assertThat(segments, greaterThan(0));
  }

  public void testStats() {
    indexRandomDocs("docs", "cosine", Settings.EMPTY, 60);
    MatryoshkaStatsResponse response = client().execute(MatryoshkaStatsAction.INSTANCE, new MatryoshkaStatsRequest("docs")).actionGet();
    assertThat(response.getFailedShards(), equalTo(0));
    MatryoshkaStatsResponse.IndexFieldStats stats = response.indices().get("docs").get("embedding");
    assertThat(stats.primaries().documents(), equalTo(60L));
    assertThat(stats.primaries().segments(), greaterThan(0L));
    // 1 bit per dimension, 64-bit words per level: each of the three levels takes 8 bytes a document.
    assertThat(stats.primaries().codeBytesByLevel(), equalTo(Map.of(4, 480L, 8, 480L, 16, 480L)));
    assertThat(stats.primaries().floatsBytes(), equalTo(60L * DIMS * Float.BYTES));
    assertArrayEquals(new int[] {4, 8, 16}, stats.nestedDims());
    assertThat(stats.bits(), equalTo(1));
    assertThat(stats.rotation(), equalTo("none"));
    assertThat(response.indices().keySet(), equalTo(Set.of("docs")));
  }

  /**
   * Like {@code dense_vector}: the vector is kept out of the stored {@code _source} and, with
   * {@code _source} disabled, out of {@code _recovery_source} (the JSON text of a float array
   * takes several times the 4 bytes per dimension the index already holds), and is read back from
   * the index when a request asks for it. {@code index.mapping.exclude_source_vectors: false} keeps
   * it stored, as it does for {@code dense_vector}.
   */
  public void testVectorsStayOutOfTheStoredSource() throws Exception {
    String mapping = """
        {"_source": {"enabled": %s}, "properties": {
          "embedding": {"type": "matryoshka_vector", "dims": 4},
          "text": {"type": "keyword"}}}""";
    createIndex("stored", indicesAdmin().prepareCreate("stored").setMapping(mapping.formatted("true")));
    createIndex("recovery", indicesAdmin().prepareCreate("recovery").setMapping(mapping.formatted("false")));
    createIndex(
        "kept",
        indicesAdmin()
            .prepareCreate("kept")
            .setSettings(Settings.builder().put("index.mapping.exclude_source_vectors", false))
            .setMapping(mapping.formatted("true")));
    for (String index : List.of("stored", "recovery", "kept")) {
      client()
          .prepareIndex(index)
          .setId("1")
          .setSource("{\"embedding\": [0.5, -0.25, 1.0, 2.0], \"text\": \"a\"}", XContentType.JSON)
          .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE)
          .get();
    }
    assertThat(storedSource("stored", "_source"), equalTo(Map.of("text", "a")));
    assertThat(storedSource("recovery", "_recovery_source"), equalTo(Map.of("text", "a")));
    assertThat(storedSource("kept", "_source"), equalTo(Map.of("embedding", List.of(0.5, -0.25, 1.0, 2.0), "text", "a")));

    // Responses leave it out by default, and read it back from the index on request.
    assertThat(client().prepareGet("stored", "1").get().getSourceAsMap(), equalTo(Map.of("text", "a")));
    Map<String, Object> withVector =
        client()
            .get(
                new org.elasticsearch.action.get.GetRequest("stored", "1")
                    .fetchSourceContext(org.elasticsearch.search.fetch.subphase.FetchSourceContext.of(true, false, null, null)))
            .get()
            .getSourceAsMap();
    assertThat(withVector, equalTo(Map.of("embedding", List.of(0.5, -0.25, 1.0, 2.0), "text", "a")));
  }

  /** The stored field {@code name} of the only document of {@code index}, parsed. */
  private Map<String, Object> storedSource(String index, String name) throws Exception {
    IndexService indexService = getInstanceFromNode(org.elasticsearch.indices.IndicesService.class).indexServiceSafe(resolveIndex(index));
    try (Engine.Searcher searcher = indexService.getShard(0).acquireSearcher("test")) {
      org.apache.lucene.document.Document doc = searcher.getIndexReader().storedFields().document(0);
      org.apache.lucene.util.BytesRef bytes = doc.getBinaryValue(name);
      assertThat(name + " of " + index, bytes, notNullValue());
      return org.elasticsearch.common.xcontent.XContentHelper.convertToMap(
              new org.elasticsearch.common.bytes.BytesArray(bytes), false, XContentType.JSON)
          .v2();
    }
  }
}
