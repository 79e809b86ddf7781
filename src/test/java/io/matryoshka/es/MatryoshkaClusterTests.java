package io.matryoshka.es;

import static org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertAcked;
import static org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertNoFailures;
import static org.elasticsearch.test.hamcrest.ElasticsearchAssertions.assertResponse;
import static org.hamcrest.Matchers.equalTo;

import io.matryoshka.es.query.MatryoshkaKnnQueryBuilder;
import io.matryoshka.es.stats.MatryoshkaStatsAction;
import io.matryoshka.es.stats.MatryoshkaStatsRequest;
import io.matryoshka.es.stats.MatryoshkaStatsResponse;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.elasticsearch.action.bulk.BulkRequestBuilder;
import org.elasticsearch.action.search.SearchType;
import org.elasticsearch.action.support.WriteRequest;
import org.elasticsearch.cluster.routing.ShardRouting;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.search.SearchHit;
import org.elasticsearch.test.ESIntegTestCase;
import org.elasticsearch.xcontent.XContentType;

/**
 * Two data nodes, several shards with a replica each: the query is serialized to both nodes and
 * merged across shards, and stats are gathered from every copy.
 */
@LuceneTestCase.SuppressCodecs("*")
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 2, numClientNodes = 0, supportsDedicatedMasters = false)
public class MatryoshkaClusterTests extends ESIntegTestCase {
  private static final int DIMS = 12;
  private static final int DOCS = 120;
  private static final int SHARDS = 3;

  @Override
  protected Collection<Class<? extends Plugin>> nodePlugins() {
    return List.of(MatryoshkaPlugin.class);
  }

  public void testQueryAndStatsAcrossNodes() throws Exception {
    assertAcked(
        prepareCreate("docs")
            .setSettings(
                Settings.builder()
                    .put("index.number_of_shards", SHARDS)
                    .put("index.number_of_replicas", 1)
                    // The framework may pick best_compression, which needs native zstd this JVM lacks.
                    .put("index.codec", "default"))
            .setMapping(
                """
                {"properties": {"embedding": {"type": "matryoshka_vector", "dims": 12, "nested_dims": [4, 12], "bits": 2}}}"""));
    ensureGreen("docs");
    // Both nodes hold shard copies, so a search needs both.
    Set<String> nodesWithShards = new HashSet<>();
    for (ShardRouting shard : clusterService().state().routingTable().allShards("docs")) {
      nodesWithShards.add(shard.currentNodeId());
    }
    assertThat(nodesWithShards.size(), equalTo(2));

    float[][] vectors = TestVectors.gaussian(random(), DOCS, DIMS);
    BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
    for (int i = 0; i < DOCS; i++) {
      bulk.add(prepareIndex("docs").setId(Integer.toString(i)).setSource("{\"embedding\": " + TestVectors.json(vectors[i]) + "}", XContentType.JSON));
    }
    assertFalse(bulk.get().hasFailures());

    for (int round = 0; round < 4; round++) {
      float[] query = TestVectors.gaussian(random(), 1, DIMS)[0];
      List<String> expected = new ArrayList<>();
      for (int doc : TestVectors.topK(vectors, query, 10, VectorSimilarityFunction.COSINE)) {
        expected.add(Integer.toString(doc));
      }
      // k per shard: the global top 10 is the merge of each shard's exact top 10.
      assertResponse(
          // Each node coordinates in turn; with 3 shards on 2 nodes, shards on the other node are
          // reached through the transport layer (the query builder is serialized).
          internalCluster()
              .client(internalCluster().getNodeNames()[round % 2])
              .prepareSearch("docs")
              .setSearchType(randomFrom(SearchType.QUERY_THEN_FETCH, SearchType.DFS_QUERY_THEN_FETCH))
              .setSize(10)
              .setQuery(new MatryoshkaKnnQueryBuilder("embedding", query).k(10).exact(true)),
          response -> {
            assertNoFailures(response);
            assertThat(response.getSuccessfulShards(), equalTo(SHARDS));
            List<String> ids = new ArrayList<>();
            for (SearchHit hit : response.getHits().getHits()) {
              ids.add(hit.getId());
            }
            assertThat(ids, equalTo(expected));
            assertThat(response.getHits().getTotalHits().value(), equalTo((long) SHARDS * 10));
          });
    }

    MatryoshkaStatsResponse stats =
        internalCluster().client(randomFrom(internalCluster().getNodeNames()))
            .execute(MatryoshkaStatsAction.INSTANCE, new MatryoshkaStatsRequest("docs"))
            .get();
    assertThat(stats.getTotalShards(), equalTo(SHARDS * 2));
    assertThat(stats.getSuccessfulShards(), equalTo(SHARDS * 2));
    MatryoshkaStatsResponse.IndexFieldStats field = stats.indices().get("docs").get("embedding");
    assertThat(field.primaries().documents(), equalTo((long) DOCS));
    assertThat(field.total().documents(), equalTo(2L * DOCS));
    assertThat(field.primaries().floatsBytes(), equalTo((long) DOCS * DIMS * Float.BYTES));
    // 2 bits per dimension: two 64-bit planes per level and document, plus two float correctives.
    assertThat(field.primaries().codeBytesByLevel().get(4), equalTo(16L * DOCS));
    assertThat(field.primaries().codeBytesByLevel().get(12), equalTo(16L * DOCS));
    assertThat(field.primaries().correctivesBytes(), equalTo(8L * DOCS));
    assertThat(field.bits(), equalTo(2));
  }
}
