package io.matryoshka.it;

import io.matryoshka.it.cluster.ElasticsearchCluster;
import io.matryoshka.it.cluster.ElasticsearchNode;
import io.matryoshka.it.cluster.Json;

import org.apache.http.entity.ContentType;
import org.apache.http.entity.StringEntity;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.Response;
import org.elasticsearch.client.RestClient;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestRule;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.IntStream;

import static io.matryoshka.it.VectorFieldUnderTest.map;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * A real 3-node cluster (all master-eligible data nodes, {@code plugin.mandatory} set) holding an index
 * with 2 shards and 1 replica of vector documents. Every search is checked to be complete (all shards
 * answered, no failures) and correct (the ids of an exact top-k computed here), and results must stay
 * identical, served by any node's copies, when a node is stopped (the elected master), after it rejoins
 * and recovers (including documents written while it was away), after a full cluster restart, and in an
 * index restored from an {@code fs} snapshot repository.
 *
 * <p>Which vector field and query are used is decided in one place: {@link VectorFieldUnderTest}.
 */
public class ClusterResilienceIT {

    private static final VectorFieldUnderTest FIELD = VectorFieldUnderTest.selected();
    private static final int DIMS = 16;
    private static final int DOCS = 300;
    private static final int K = 10;
    private static final int QUERIES = 5;

    @ClassRule
    public static final ElasticsearchCluster cluster = ElasticsearchCluster.nodes("resilience", 3).withSnapshotRepositoryPath().build();

    @Rule
    public final TestRule logs = cluster.logTailOnFailure();

    @Test
    public void searchesStayCompleteWhenANodeStopsAndTheNodeRecoversOnRejoin() {
        String index = "node-loss";
        createIndex(index);
        indexDocs(index, 0, DOCS);
        Map<String, List<String>> before = searchEverywhere(index, DOCS);

        ElasticsearchNode master = cluster.node(electedMaster());
        step("stopping the elected master " + master.name());
        cluster.stopNode(master);
        cluster.awaitHealth("yellow", 2, index);
        assertEquals("results with " + master.name() + " stopped", before, searchEverywhere(index, DOCS));

        step("writing " + 50 + " more documents while " + master.name() + " is away");
        indexDocs(index, DOCS, DOCS + 50);
        Map<String, List<String>> withNewDocs = searchEverywhere(index, DOCS + 50);

        step("restarting " + master.name());
        cluster.startNode(master);
        cluster.awaitHealth("green", 3, index);
        Map<String, List<String>> copies = assertShardCopiesAgree(index, DOCS + 50);
        assertTrue(master.name() + " holds no shard copy after rejoining: " + copies, copies.values().stream().anyMatch(nodes -> nodes.contains(master.name())));
        assertEquals("results after " + master.name() + " rejoined", withNewDocs, searchEverywhere(index, DOCS + 50));
    }

    @Test
    public void aFullClusterRestartKeepsEveryDocumentAndResult() {
        String index = "full-restart";
        createIndex(index);
        indexDocs(index, 0, DOCS); // not flushed: the restart must replay the translog
        Map<String, List<String>> before = searchEverywhere(index, DOCS);

        step("full cluster restart");
        cluster.fullRestart();
        cluster.awaitHealth("green", 3, index);
        assertShardCopiesAgree(index, DOCS);
        assertEquals("results after a full cluster restart", before, searchEverywhere(index, DOCS));
    }

    @Test
    public void anIndexRestoredFromAnFsSnapshotAnswersIdentically() {
        String index = "snapshotted";
        createIndex(index);
        indexDocs(index, 0, DOCS);
        Map<String, List<String>> before = searchEverywhere(index, DOCS);

        step("snapshot to an fs repository at " + cluster.repoDir());
        Json.call(cluster.client(), "PUT", "/_snapshot/it-repo", map("type", "fs", "settings", map("location", cluster.repoDir().toString())));
        Map<String, Object> snapshot = Json.call(cluster.client(), "PUT", "/_snapshot/it-repo/snap-1?wait_for_completion=true",
            map("indices", index, "include_global_state", false));
        assertEquals(snapshot.toString(), "SUCCESS", Json.path(snapshot, "snapshot.state"));
        assertEquals(snapshot.toString(), 0, Json.path(snapshot, "snapshot.shards.failed"));
        assertEquals(snapshot.toString(), 2, Json.path(snapshot, "snapshot.shards.successful"));

        step("restore into a new index");
        Map<String, Object> restore = Json.call(cluster.client(), "POST", "/_snapshot/it-repo/snap-1/_restore?wait_for_completion=true",
            map("indices", index, "rename_pattern", index, "rename_replacement", "restored", "include_global_state", false));
        assertEquals(restore.toString(), 0, Json.path(restore, "snapshot.shards.failed"));
        cluster.awaitHealth("green", 3, "restored");
        assertShardCopiesAgree("restored", DOCS);
        assertEquals("results of the restored index", before, searchEverywhere("restored", DOCS));
    }

    // ------------------------------------------------------------------ index and documents

    private static void createIndex(String index) {
        step("creating " + index + " (" + FIELD + ", 2 shards, 1 replica)");
        Map<String, Object> settings = map(
            "number_of_shards", 2,
            "number_of_replicas", 1,
            // a stopped node's copies wait for it instead of being rebuilt elsewhere: its recovery is tested
            "unassigned.node_left.delayed_timeout", "5m");
        Map<String, Object> mappings = map("properties", map(
            "id", map("type", "integer"),
            "tag", map("type", "keyword"),
            "embedding", FIELD.fieldMapping(DIMS)));
        Json.call(cluster.client(), "PUT", "/" + index, map("settings", map("index", settings), "mappings", mappings));
        cluster.awaitHealth("green", 3, index);
    }

    /** The vector of document {@code id}: pseudo-random, the same in every run. */
    static float[] docVector(int id) {
        return randomVector(new Random(1_000_003L * id + 17));
    }

    static float[] queryVector(int q) {
        return randomVector(new Random(-7_000_001L * (q + 1)));
    }

    private static float[] randomVector(Random random) {
        float[] v = new float[DIMS];
        for (int i = 0; i < DIMS; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    private static void indexDocs(String index, int fromId, int toId) {
        StringBuilder bulk = new StringBuilder();
        for (int id = fromId; id < toId; id++) {
            bulk.append(Json.write(map("index", map("_index", index, "_id", Integer.toString(id))))).append('\n');
            bulk.append(Json.write(map("id", id, "tag", "t" + (id % 3), "embedding", VectorFieldUnderTest.toList(docVector(id))))).append('\n');
        }
        Request request = new Request("POST", "/_bulk");
        request.addParameter("refresh", "wait_for");
        request.setEntity(new StringEntity(bulk.toString(), ContentType.create("application/x-ndjson", java.nio.charset.StandardCharsets.UTF_8)));
        Map<String, Object> response = perform(cluster.client(), request);
        assertEquals("bulk had errors: " + response, false, response.get("errors"));
    }

    // ------------------------------------------------------------------ searching and checking

    /**
     * Runs the count, the id listing and every query vector's top-k on every running node's copies
     * ({@code preference=_prefer_nodes:<id>}), checks each answer is complete and correct, checks all
     * nodes agree, and returns the answers (the same for every node) for comparison with later ones.
     */
    private static Map<String, List<String>> searchEverywhere(String index, int expectedDocs) {
        Map<String, String> nodeIds = cluster.nodeIdsByName();
        Map<String, List<String>> first = null;
        String firstNode = null;
        for (ElasticsearchNode node : cluster.runningNodes()) {
            try (RestClient client = cluster.clientFor(node)) {
                Map<String, List<String>> answers = searchFrom(client, index, "_prefer_nodes:" + nodeIds.get(node.name()), expectedDocs);
                if (first == null) {
                    first = answers;
                    firstNode = node.name();
                } else {
                    assertEquals("answers via " + node.name() + " differ from those via " + firstNode, first, answers);
                }
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }
        return first;
    }

    private static Map<String, List<String>> searchFrom(RestClient client, String index, String preference, int expectedDocs) {
        Map<String, List<String>> answers = new TreeMap<>();
        Map<String, Object> count = call(client, "GET", "/" + index + "/_count?preference=" + preference, null);
        assertComplete(count);
        assertEquals("document count of " + index, expectedDocs, ((Number) count.get("count")).intValue());

        Map<String, Object> all = call(client, "POST", "/" + index + "/_search?preference=" + preference,
            map("size", expectedDocs + 10, "_source", false, "track_total_hits", true, "query", map("match_all", map())));
        assertComplete(all);
        Set<String> ids = new TreeSet<>(hitIds(all));
        Set<String> expectedIds = new TreeSet<>();
        IntStream.range(0, expectedDocs).forEach(i -> expectedIds.add(Integer.toString(i)));
        assertEquals("ids in " + index, expectedIds, ids);
        answers.put("ids", List.copyOf(ids));

        for (int q = 0; q < QUERIES; q++) {
            float[] vector = queryVector(q);
            Map<String, Object> response = call(client, "POST", "/" + index + "/_search?preference=" + preference,
                map("size", K, "_source", false, "query", FIELD.query("embedding", vector, K, expectedDocs)));
            assertComplete(response);
            List<String> hits = new ArrayList<>();
            List<String> expected = exactTopK(vector, expectedDocs);
            assertEquals("top " + K + " ids for query " + q + " in " + index + " (exact, computed by the test)", expected, hitIds(response));
            for (Object hit : (List<?>) Json.path(response, "hits.hits")) {
                String id = (String) Json.path(hit, "_id");
                double score = ((Number) Json.path(hit, "_score")).doubleValue();
                double want = (1 + cosine(vector, docVector(Integer.parseInt(id)))) / 2; // dense_vector cosine score
                assertEquals("score of doc " + id + " for query " + q, want, score, 1e-4);
                hits.add(id + ":" + score);
            }
            answers.put("query-" + q, hits);
        }
        return answers;
    }

    private static List<String> exactTopK(float[] query, int docs) {
        return IntStream.range(0, docs).boxed()
            .sorted(Comparator.comparingDouble((Integer id) -> cosine(query, docVector(id))).reversed())
            .limit(K).map(String::valueOf).toList();
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    private static List<String> hitIds(Map<String, Object> response) {
        List<String> ids = new ArrayList<>();
        for (Object hit : (List<?>) Json.path(response, "hits.hits")) {
            ids.add((String) Json.path(hit, "_id"));
        }
        return ids;
    }

    private static void assertComplete(Map<String, Object> response) {
        assertEquals("shards that failed: " + response.get("_shards"), 0, Json.path(response, "_shards.failed"));
        assertEquals("shards that answered: " + response.get("_shards"), 2, Json.path(response, "_shards.successful"));
        assertEquals("shards asked: " + response.get("_shards"), 2, Json.path(response, "_shards.total"));
        assertFalse("timed out: " + response, Boolean.TRUE.equals(response.get("timed_out")));
    }

    /**
     * Refreshes, then checks that both copies of every shard are started and hold the same number of
     * documents, adding up to {@code expectedDocs}. Returns the nodes of each shard's copies.
     */
    @SuppressWarnings("unchecked")
    private static Map<String, List<String>> assertShardCopiesAgree(String index, int expectedDocs) {
        call(cluster.client(), "POST", "/" + index + "/_refresh", null);
        List<Object> rows = shardRowsWithCounts(index);
        Map<String, List<String>> nodesByShard = new TreeMap<>();
        Map<String, Set<String>> docsByShard = new HashMap<>();
        int primaryDocs = 0;
        for (Object row : rows) {
            Map<String, Object> r = (Map<String, Object>) row;
            assertEquals("shard copy not started: " + rows, "STARTED", r.get("state"));
            String shard = String.valueOf(r.get("shard"));
            nodesByShard.computeIfAbsent(shard, s -> new ArrayList<>()).add(String.valueOf(r.get("node")));
            docsByShard.computeIfAbsent(shard, s -> new TreeSet<>()).add(String.valueOf(r.get("docs")));
            if ("p".equals(r.get("prirep"))) {
                primaryDocs += Integer.parseInt(String.valueOf(r.get("docs")));
            }
        }
        assertEquals("shards of " + index + ": " + rows, 2, nodesByShard.size());
        nodesByShard.forEach((shard, nodes) -> {
            assertEquals("copies of shard " + shard + ": " + rows, 2, nodes.size());
            assertEquals("copies of shard " + shard + " on distinct nodes: " + rows, 2, new TreeSet<>(nodes).size());
        });
        docsByShard.forEach((shard, counts) -> assertEquals("doc counts of the copies of shard " + shard + " differ: " + rows, 1, counts.size()));
        assertEquals("documents in the primaries of " + index + ": " + rows, expectedDocs, primaryDocs);
        return nodesByShard;
    }

    /**
     * A copy that has only just started may not report its document count yet (docs: null); on a
     * loaded machine that lasts a moment after the cluster turns green: ask again, for up to 30 s.
     */
    @SuppressWarnings("unchecked")
    private static List<Object> shardRowsWithCounts(String index) {
        List<Object> rows = shardRows(index);
        for (int attempt = 0; attempt < 60 && rows.stream().anyMatch(row -> ((Map<String, Object>) row).get("docs") == null); attempt++) {
            sleep(500);
            rows = shardRows(index);
        }
        return rows;
    }

    private static List<Object> shardRows(String index) {
        return Json.parseArray(
            Json.send(cluster.client(), "GET", "/_cat/shards/" + index + "?format=json&h=shard,prirep,state,docs,node", null));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    @SuppressWarnings("unchecked")
    private static String electedMaster() {
        List<Object> rows = Json.parseArray(Json.send(cluster.client(), "GET", "/_cat/master?format=json", null));
        return String.valueOf(((Map<String, Object>) rows.get(0)).get("node"));
    }

    private static Map<String, Object> call(RestClient client, String method, String endpoint, Object body) {
        return Json.call(client, method, endpoint, body);
    }

    private static Map<String, Object> perform(RestClient client, Request request) {
        try {
            Response response = client.performRequest(request);
            return Json.parseObject(org.apache.http.util.EntityUtils.toString(response.getEntity()));
        } catch (IOException e) {
            throw new AssertionError(request + " failed: " + e.getMessage(), e);
        }
    }

    private static void step(String what) {
        System.out.println("[it] " + ClusterResilienceIT.class.getSimpleName() + ": " + what);
    }
}
