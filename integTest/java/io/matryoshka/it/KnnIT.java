package io.matryoshka.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import io.matryoshka.bench.Fvecs;
import io.matryoshka.it.cluster.ElasticsearchCluster;
import io.matryoshka.it.cluster.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntPredicate;
import org.apache.http.util.EntityUtils;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.client.RestClient;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestRule;

/**
 * Elasticsearch's own kNN on a {@code matryoshka_vector} field, on one real node, over the real
 * bge-small slice (4,000 Debian package descriptions, 384 dims; the first 200 queries): the exact
 * request bodies LangChain.js's {@code ElasticVectorSearch} and LlamaIndex.TS's {@code
 * ElasticSearchVectorStore} send (as {@code integTest/js/clients-check.mjs} prints them), a
 * Kibana-style {@code knn} + {@code match} search, the {@code knn} query and retriever; recall
 * against exact search computed here; equality with {@code matryoshka_knn}; two shards; nested
 * fields; and the field as field listings and usage APIs report it.
 */
public class KnnIT {
  private static final String SLICE = "/debian-bge-small-slice/";
  private static final int K = 10;
  private static final int DIMS = 384;
  private static final int PASSAGES_PER_PARENT = 4;

  @ClassRule
  public static final ElasticsearchCluster cluster = ElasticsearchCluster.singleNode("knn").heap("1g").build();

  @Rule public final TestRule logs = cluster.logTailOnFailure();

  private static float[][] docs;
  private static String[] docTexts;
  private static float[][] queries;
  private static String[] queryTexts;

  @BeforeClass
  public static void loadIndices() throws IOException {
    docs = readFvecs("docs.fvecs");
    docTexts = readTsv("docs.tsv");
    queries = readFvecs("queries.fvecs");
    queryTexts = readTsv("queries.tsv");
    RestClient client = cluster.client();
    Map<String, Object> metadata = Map.of("properties", Map.of("ordinal", Map.of("type", "integer"), "group", Map.of("type", "keyword")));
    for (String index : List.of("langchain", "two_shards")) {
      Map<String, Object> properties = new LinkedHashMap<>();
      properties.put("embedding", Map.of("type", "matryoshka_vector", "dims", DIMS, "similarity", "cosine"));
      properties.put("text", Map.of("type", "text"));
      properties.put("metadata", metadata);
      create(index, index.equals("two_shards") ? 2 : 1, properties);
      bulk(index, docs.length, i -> {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("embedding", toList(docs[i]));
        doc.put("text", docTexts[i]);
        doc.put("metadata", Map.of("ordinal", i, "group", group(i)));
        return doc;
      });
    }
    create(
        "passages",
        1,
        Map.of(
            "title", Map.of("type", "keyword"),
            "passages",
            Map.of(
                "type", "nested",
                "properties",
                Map.of("embedding", Map.of("type", "matryoshka_vector", "dims", DIMS, "similarity", "cosine"), "text", Map.of("type", "text")))));
    bulk("passages", docs.length / PASSAGES_PER_PARENT, p -> {
      List<Map<String, Object>> passages = new ArrayList<>();
      for (int j = 0; j < PASSAGES_PER_PARENT; j++) {
        int d = p * PASSAGES_PER_PARENT + j;
        passages.add(Map.of("embedding", toList(docs[d]), "text", docTexts[d]));
      }
      return Map.of("title", "parent-" + p, "passages", passages);
    });
    for (String index : List.of("langchain", "two_shards", "passages")) {
      // One segment per shard: equality with matryoshka_knn is then per shard, not subject to how
      // Lucene splits a shard's candidates between segments.
      Json.call(client, "POST", "/" + index + "/_forcemerge?max_num_segments=1", null);
      Json.call(client, "POST", "/" + index + "/_refresh", null);
    }
  }

  // ---- the bodies LangChain.js ElasticVectorSearch sends (similaritySearchVectorWithScore) ----

  private static String langchainBody(float[] query, String filterMust) {
    return "{\"size\":10,\"knn\":{\"field\":\"embedding\",\"query_vector\":"
        + vectorJson(query)
        + ",\"filter\":{\"bool\":{\"must\":["
        + filterMust
        + "],\"must_not\":[]}},\"k\":10,\"num_candidates\":200}}";
  }

  @Test
  public void langchainSimilaritySearchEqualsMatryoshkaKnnAndExactSearch() {
    double recall = 0;
    for (int q = 0; q < queries.length; q++) {
      Map<String, Object> response = search("langchain", langchainBody(queries[q], ""));
      List<String> got = ids(response);
      recall += recall(got, exactTop(queries[q], K, d -> true));
      Map<String, Object> funnel = search("langchain", matryoshkaKnnBody(queries[q], "embedding", null));
      assertEquals("query " + q + ": knn and matryoshka_knn hits", ids(funnel), got);
      List<Double> knnScores = scores(response);
      List<Double> funnelScores = scores(funnel);
      for (int i = 0; i < knnScores.size(); i++) {
        assertEquals("query " + q + " hit " + i + " score", funnelScores.get(i), knnScores.get(i), 1e-6);
      }
    }
    recall /= queries.length;
    System.out.printf("LangChain.js similarity search body (k 10, num_candidates 200): recall@10 %.4f over %d queries%n", recall, queries.length);
    assertTrue("recall@10 " + recall, recall >= 0.99);
  }

  @Test
  public void langchainSimilaritySearchWithAFilter() {
    double recall = 0;
    for (int q = 0; q < queries.length; q++) {
      Map<String, Object> response = search("langchain", langchainBody(queries[q], "{\"term\":{\"metadata.group\":\"g3\"}}"));
      List<String> got = ids(response);
      assertEquals(K, got.size());
      for (String id : got) {
        assertEquals("g3", group(Integer.parseInt(id)));
      }
      recall += recall(got, exactTop(queries[q], K, d -> group(d).equals("g3")));
    }
    recall /= queries.length;
    System.out.printf("LangChain.js similarity search body with a metadata filter: recall@10 %.4f%n", recall);
    assertTrue("recall@10 " + recall, recall >= 0.99);
  }

  /**
   * LangChain.js's hybrid search sends an {@code rrf} retriever over a {@code match} and a {@code
   * knn} retriever. {@code rrf} is an x-pack module ({@code rank-rrf}) that the minimal
   * distribution these tests run on does not ship: the node must then reject exactly that, and
   * the body's {@code knn} retriever, sent alone, must return matryoshka_knn's hits.
   */
  @Test
  public void langchainHybridSearch() {
    String knnRetriever =
        "{\"knn\":{\"field\":\"embedding\",\"query_vector\":" + vectorJson(queries[0]) + ",\"k\":10,\"num_candidates\":200}}";
    String body =
        "{\"size\":10,\"retriever\":{\"rrf\":{\"retrievers\":[{\"standard\":{\"query\":{\"match\":{\"text\":"
            + Json.write(queryTexts[0])
            + "}}}},"
            + knnRetriever
            + "],\"rank_window_size\":100,\"rank_constant\":60}}}";
    Object outcome = searchOrError("langchain", body);
    if (outcome instanceof ResponseError error) {
      assertEquals(400, error.status);
      assertTrue(error.body, error.body.contains("[rrf]"));
      System.out.println("LangChain.js hybrid body: this distribution has no rrf retriever: " + error.body.substring(0, Math.min(200, error.body.length())));
    } else {
      assertEquals(K, ids(asMap(outcome)).size());
    }
    Map<String, Object> alone = search("langchain", "{\"size\":10,\"retriever\":" + knnRetriever + "}");
    assertEquals(ids(search("langchain", matryoshkaKnnBody(queries[0], "embedding", null))), ids(alone));
  }

  // ---- the bodies LlamaIndex.TS ElasticSearchVectorStore sends (query) ----

  @Test
  public void llamaIndexQuery() {
    double recall = 0;
    double filteredRecall = 0;
    for (int q = 0; q < queries.length; q++) {
      String body =
          "{\"size\":10,\"knn\":{\"field\":\"embedding\",\"query_vector\":" + vectorJson(queries[q]) + ",\"k\":10,\"num_candidates\":100,\"filter\":[]}}";
      List<String> got = ids(search("langchain", body));
      recall += recall(got, exactTop(queries[q], K, d -> true));
      assertEquals("query " + q, ids(search("langchain", matryoshkaKnnBody(queries[q], "embedding", null))), got);
      String filtered =
          "{\"size\":10,\"knn\":{\"field\":\"embedding\",\"query_vector\":"
              + vectorJson(queries[q])
              + ",\"k\":10,\"num_candidates\":100,\"filter\":[{\"term\":{\"metadata.group\":\"g7\"}}]}}";
      filteredRecall += recall(ids(search("langchain", filtered)), exactTop(queries[q], K, d -> group(d).equals("g7")));
    }
    recall /= queries.length;
    filteredRecall /= queries.length;
    System.out.printf("LlamaIndex.TS query body (k 10, num_candidates 100): recall@10 %.4f; with a filter %.4f%n", recall, filteredRecall);
    assertTrue("recall@10 " + recall, recall >= 0.99);
    assertTrue("filtered recall@10 " + filteredRecall, filteredRecall >= 0.99);
  }

  // ---- Kibana-style knn + match; the knn query and retriever ----

  /** What Kibana's Discover/Playground and most clients send: knn (k 10, num_candidates 100) beside a match. */
  @Test
  public void knnSectionRecallAndKibanaStyleHybrid() {
    double recall = 0;
    for (int q = 0; q < queries.length; q++) {
      String knn = "{\"field\":\"embedding\",\"query_vector\":" + vectorJson(queries[q]) + ",\"k\":10,\"num_candidates\":100}";
      List<String> got = ids(search("langchain", "{\"size\":10,\"knn\":" + knn + ",\"_source\":false}"));
      recall += recall(got, exactTop(queries[q], K, d -> true));
      if (q < 20) {
        // knn query and knn retriever: the same hits as the search section.
        assertEquals(got, ids(search("langchain", "{\"size\":10,\"query\":{\"knn\":" + knn + "},\"_source\":false}")));
        assertEquals(got, ids(search("langchain", "{\"size\":10,\"retriever\":{\"knn\":" + knn + "},\"_source\":false}")));
        // knn + match: Elasticsearch sums the scores of documents both find.
        Map<String, Object> knnOnly = search("langchain", "{\"size\":10,\"knn\":" + knn + ",\"_source\":false}");
        Map<String, Object> hybrid =
            search(
                "langchain",
                "{\"size\":10,\"knn\":"
                    + knn
                    + ",\"query\":{\"match\":{\"text\":{\"query\":"
                    + Json.write(queryTexts[q])
                    + "}}},\"_source\":false}");
        List<String> hybridIds = ids(hybrid);
        assertEquals(K, hybridIds.size());
        Map<String, Double> knnScore = new LinkedHashMap<>();
        for (int i = 0; i < got.size(); i++) {
          knnScore.put(got.get(i), scores(knnOnly).get(i));
        }
        for (int i = 0; i < hybridIds.size(); i++) {
          Double alone = knnScore.get(hybridIds.get(i));
          if (alone != null) {
            assertTrue("query " + q + ": hybrid score adds to the knn score", scores(hybrid).get(i) >= alone - 1e-6);
          }
        }
      }
    }
    recall /= queries.length;
    System.out.printf("knn search section (k 10, num_candidates 100): recall@10 %.4f over %d queries%n", recall, queries.length);
    assertTrue("recall@10 " + recall, recall >= 0.99);
  }

  /** Global k: two shards each find k; the coordinator keeps the k best of all. */
  @Test
  public void twoShardsReturnKHitsInTotal() {
    double recall = 0;
    for (int q = 0; q < queries.length; q++) {
      Map<String, Object> response =
          search("two_shards", "{\"size\":50,\"knn\":{\"field\":\"embedding\",\"query_vector\":" + vectorJson(queries[q]) + ",\"k\":10,\"num_candidates\":100},\"_source\":false}");
      assertEquals(2, ((Number) Json.path(response, "_shards.successful")).intValue());
      List<String> got = ids(response);
      assertEquals("query " + q, K, got.size());
      recall += recall(got, exactTop(queries[q], K, d -> true));
    }
    recall /= queries.length;
    System.out.printf("two shards, knn k 10: %d hits per search, recall@10 %.4f%n", K, recall);
    assertTrue("recall@10 " + recall, recall >= 0.99);
  }

  // ---- nested ----

  @Test
  public void nestedKnnAndMatryoshkaKnnReturnKDistinctParentsWithTheirBestPassages() {
    double recall = 0;
    int innerHits = 0;
    int bestInnerHits = 0;
    for (int q = 0; q < queries.length; q++) {
      List<String> expected = exactTopParents(queries[q], K);
      Map<String, Object> knn =
          search(
              "passages",
              "{\"size\":10,\"_source\":false,\"knn\":{\"field\":\"passages.embedding\",\"query_vector\":"
                  + vectorJson(queries[q])
                  + ",\"k\":10,\"num_candidates\":100,\"inner_hits\":{\"size\":1,\"_source\":false}}}");
      List<String> parents = ids(knn);
      assertEquals("query " + q + ": knn parents", K, parents.size());
      assertEquals("query " + q + ": distinct parents", K, new HashSet<>(parents).size());
      List<?> hits = (List<?>) Json.path(knn, "hits.hits");
      for (Object hit : hits) {
        int parent = Integer.parseInt((String) ((Map<?, ?>) hit).get("_id"));
        Object offset = Json.path(hit, "inner_hits.passages.hits.hits.0._nested.offset");
        assertNotNull("query " + q + ": inner hit of parent " + parent, offset);
        // Elasticsearch scores a knn's inner hits exactly over all the parent's passages.
        assertBestPassage("query " + q + ", knn", queries[q], parent, ((Number) offset).intValue());
      }
      recall += recall(parents, expected);

      Map<String, Object> funnel =
          search(
              "passages",
              "{\"size\":10,\"_source\":false,\"query\":{\"nested\":{\"path\":\"passages\",\"score_mode\":\"max\",\"query\":"
                  + matryoshkaKnnBody(queries[q], "passages.embedding", null)
                  + ",\"inner_hits\":{\"size\":1,\"_source\":false}}}}");
      assertEquals("query " + q + ": matryoshka_knn in nested returns the k best distinct parents", parents, ids(funnel));
      for (Object hit : (List<?>) Json.path(funnel, "hits.hits")) {
        int parent = Integer.parseInt((String) ((Map<?, ?>) hit).get("_id"));
        Object offset = Json.path(hit, "inner_hits.passages.hits.hits.0._nested.offset");
        // matryoshka_knn's inner hit is the passage that represented the parent: the best of
        // those the funnel kept, which the parent's score is.
        double parentScore = ((Number) ((Map<?, ?>) hit).get("_score")).doubleValue();
        double innerScore = ((Number) Json.path(hit, "inner_hits.passages.hits.hits.0._score")).doubleValue();
        assertEquals("query " + q + ", matryoshka_knn: parent " + parent + " scores as its inner hit", parentScore, innerScore, 1e-6);
        double cosine = dot(queries[q], docs[parent * PASSAGES_PER_PARENT + ((Number) offset).intValue()]);
        assertEquals("query " + q + ", matryoshka_knn: parent " + parent + "'s inner hit score", (1 + cosine) / 2, innerScore, 1e-5);
        if (bestPassage(queries[q], parent) == ((Number) offset).intValue()) {
          bestInnerHits++;
        }
        innerHits++;
      }
    }
    recall /= queries.length;
    System.out.printf(
        "nested knn k 10: 10 distinct parents per search, parent recall@10 %.4f; matryoshka_knn's inner hit is the parent's best passage for %d of %d parents%n",
        recall, bestInnerHits, innerHits);
    assertTrue("recall@10 " + recall, recall >= 0.99);
  }

  // ---- one field to the outside ----

  @Test
  public void fieldListingsAndUsageApisShowTheUsersField() {
    RestClient client = cluster.client();
    Map<String, Object> caps = Json.call(client, "GET", "/langchain/_field_caps?fields=*", null);
    Map<?, ?> fields = (Map<?, ?>) caps.get("fields");
    assertNotNull(fields.get("embedding"));
    assertNotNull(Json.path(fields.get("embedding"), "dense_vector"));
    assertTrue("searchable", (Boolean) Json.path(fields.get("embedding"), "dense_vector.searchable"));
    for (Object name : fields.keySet()) {
      assertFalse("field_caps shows " + name, ((String) name).contains("_matryoshka"));
    }
    String fieldMappings = Json.send(client, "GET", "/langchain,passages/_mapping/field/*", null);
    assertFalse(fieldMappings, fieldMappings.contains("_matryoshka"));
    assertTrue(fieldMappings, fieldMappings.contains("\"passages.embedding\""));
    String mapping = Json.send(client, "GET", "/langchain/_mapping", null);
    assertTrue(mapping, mapping.contains("matryoshka_vector"));
    assertFalse(mapping, mapping.contains("_matryoshka"));

    Map<String, Object> usage = Json.call(client, "POST", "/langchain/_disk_usage?run_expensive_tasks=true", null);
    Map<?, ?> usageFields = (Map<?, ?>) Json.path(usage, "langchain.fields");
    assertTrue("disk usage of embedding", ((Number) Json.path(usageFields.get("embedding"), "knn_vectors_in_bytes")).longValue() > 0);
    for (Object name : usageFields.keySet()) {
      assertFalse("_disk_usage shows " + name, ((String) name).contains("_matryoshka"));
    }
    Map<String, Object> stats = Json.call(client, "GET", "/langchain/_stats/dense_vector", null);
    assertEquals(docs.length, ((Number) Json.path(stats, "indices.langchain.primaries.dense_vector.value_count")).intValue());
  }

  // ---- helpers ----

  private static String matryoshkaKnnBody(float[] query, String field, String filter) {
    String knn =
        "{\"matryoshka_knn\":{\"field\":\""
            + field
            + "\",\"query_vector\":"
            + vectorJson(query)
            + ",\"k\":10"
            + (filter == null ? "" : ",\"filter\":" + filter)
            + "}}";
    return field.startsWith("passages.") ? knn : "{\"size\":10,\"_source\":false,\"query\":" + knn + "}";
  }

  private static Map<String, Object> search(String index, String body) {
    return Json.call(cluster.client(), "POST", "/" + index + "/_search", body);
  }

  private record ResponseError(int status, String body) {}

  private static Object searchOrError(String index, String body) {
    try {
      return search(index, body);
    } catch (UncheckedIOException e) {
      if (e.getCause() instanceof ResponseException re) {
        try {
          return new ResponseError(re.getResponse().getStatusLine().getStatusCode(), EntityUtils.toString(re.getResponse().getEntity()));
        } catch (IOException io) {
          throw new UncheckedIOException(io);
        }
      }
      throw e;
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> asMap(Object o) {
    return (Map<String, Object>) o;
  }

  private static List<String> ids(Map<String, Object> response) {
    List<String> ids = new ArrayList<>();
    for (Object hit : (List<?>) Json.path(response, "hits.hits")) {
      ids.add((String) ((Map<?, ?>) hit).get("_id"));
    }
    return ids;
  }

  private static List<Double> scores(Map<String, Object> response) {
    List<Double> scores = new ArrayList<>();
    for (Object hit : (List<?>) Json.path(response, "hits.hits")) {
      scores.add(((Number) ((Map<?, ?>) hit).get("_score")).doubleValue());
    }
    return scores;
  }

  private static double recall(List<String> got, List<String> expected) {
    Set<String> want = new HashSet<>(expected);
    return got.stream().filter(want::contains).count() / (double) expected.size();
  }

  /** The slice is L2-normalised: cosine is the dot product. */
  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }

  private static List<String> exactTop(float[] query, int k, IntPredicate accept) {
    Integer[] order = new Integer[docs.length];
    double[] score = new double[docs.length];
    for (int d = 0; d < docs.length; d++) {
      order[d] = d;
      score[d] = accept.test(d) ? dot(query, docs[d]) : Double.NEGATIVE_INFINITY;
    }
    Arrays.sort(order, (x, y) -> Double.compare(score[y], score[x]));
    List<String> top = new ArrayList<>();
    for (int i = 0; i < k && score[order[i]] != Double.NEGATIVE_INFINITY; i++) {
      top.add(Integer.toString(order[i]));
    }
    return top;
  }

  private static List<String> exactTopParents(float[] query, int k) {
    int parents = docs.length / PASSAGES_PER_PARENT;
    Integer[] order = new Integer[parents];
    double[] best = new double[parents];
    for (int p = 0; p < parents; p++) {
      order[p] = p;
      best[p] = dot(query, docs[p * PASSAGES_PER_PARENT + bestPassage(query, p)]);
    }
    Arrays.sort(order, (x, y) -> Double.compare(best[y], best[x]));
    List<String> top = new ArrayList<>();
    for (int i = 0; i < k; i++) {
      top.add(Integer.toString(order[i]));
    }
    return top;
  }

  /** The slice repeats some descriptions (equal vectors): any passage with the best score is right. */
  private static void assertBestPassage(String what, float[] query, int parent, int offset) {
    double best = dot(query, docs[parent * PASSAGES_PER_PARENT + bestPassage(query, parent)]);
    double got = dot(query, docs[parent * PASSAGES_PER_PARENT + offset]);
    assertEquals(what + ": parent " + parent + "'s inner hit " + offset + " is its best passage", best, got, 1e-6);
  }

  private static int bestPassage(float[] query, int parent) {
    int best = 0;
    for (int j = 1; j < PASSAGES_PER_PARENT; j++) {
      if (dot(query, docs[parent * PASSAGES_PER_PARENT + j]) > dot(query, docs[parent * PASSAGES_PER_PARENT + best])) {
        best = j;
      }
    }
    return best;
  }

  private static String group(int ordinal) {
    return "g" + (ordinal % 10);
  }

  private static String vectorJson(float[] v) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < v.length; i++) {
      sb.append(i == 0 ? "" : ",").append(v[i]);
    }
    return sb.append(']').toString();
  }

  private static List<Float> toList(float[] v) {
    List<Float> list = new ArrayList<>(v.length);
    for (float x : v) {
      list.add(x);
    }
    return list;
  }

  private static void create(String index, int shards, Map<String, Object> properties) {
    Json.call(
        cluster.client(),
        "PUT",
        "/" + index,
        Map.of("settings", Map.of("number_of_shards", shards, "number_of_replicas", 0), "mappings", Map.of("properties", properties)));
  }

  private static void bulk(String index, int count, java.util.function.IntFunction<Map<String, Object>> doc) {
    for (int from = 0; from < count; from += 250) {
      StringBuilder body = new StringBuilder();
      for (int i = from; i < Math.min(count, from + 250); i++) {
        body.append(Json.write(Map.of("index", Map.of("_id", Integer.toString(i))))).append('\n');
        body.append(Json.write(doc.apply(i))).append('\n');
      }
      Map<String, Object> response = Json.call(cluster.client(), "POST", "/" + index + "/_bulk", body.toString());
      assertEquals(Json.write(response).substring(0, Math.min(500, Json.write(response).length())), Boolean.FALSE, response.get("errors"));
    }
  }

  private static float[][] readFvecs(String name) throws IOException {
    try (InputStream in = resource(name)) {
      return Fvecs.readFvecs(in, Integer.MAX_VALUE, name);
    }
  }

  private static String[] readTsv(String name) throws IOException {
    List<String> texts = new ArrayList<>();
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(resource(name), StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        texts.add(line.split("\t", -1)[1]);
      }
    }
    return texts.toArray(String[]::new);
  }

  private static InputStream resource(String name) throws IOException {
    InputStream in = KnnIT.class.getResourceAsStream(SLICE + name);
    if (in == null) {
      throw new IOException(SLICE + name + " is missing from the test classpath");
    }
    return in;
  }
}
