package io.matryoshka.it;

import io.matryoshka.it.bench.EndToEndBench;
import io.matryoshka.it.cluster.Json;

import org.junit.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

/**
 * Runs the end-to-end benchmark tool (integTest/java/io/matryoshka/it/bench) on a few hundred synthetic
 * vectors against its own harness node: every system loads, goes through the paired latency rounds and the
 * throughput phase, and the JSON, Markdown and PNG outputs are written. Measures nothing worth keeping; it
 * keeps the tool working.
 */
public class EndToEndBenchSmokeIT {

    private static final int QUERIES = 20;
    private static final int ROUNDS = 2;

    @Test
    public void toolRunsEndToEnd() throws Exception {
        Path out = Path.of(System.getProperty("tests.it.dir", "target/it"), "e2e-bench-smoke-results");
        EndToEndBench.run(new String[] { "--synthetic", "400", "--dims", "64", "--num-queries", String.valueOf(QUERIES), "--systems", "all",
            "--rounds", String.valueOf(ROUNDS), "--warmup", "1", "--heap", "512m", "--hot-threads", "none", "--cluster-name", "e2e-bench-smoke",
            "--out", out.toString(), "--command", "EndToEndBenchSmokeIT" });
        Map<String, Object> report = Json.parseObject(Files.readString(out.resolve("results.json")));
        assertEquals(ROUNDS, Json.path(report, "protocol.measured_rounds"));
        assertEquals(1, Json.path(report, "protocol.warmup_rounds"));
        assertNotNull(Json.path(report, "protocol.rotation"));
        assertNull(report.get("request_floor_error"));
        assertEquals(1 + ROUNDS, ((List<?>) report.get("paired_rounds")).size());
        assertSaneLatency("request floor", Json.path(report, "request_floor"));
        double floorP50 = ((Number) Json.path(report, "request_floor.p50_ms")).doubleValue();
        assertTrue("floor p50 " + floorP50, floorP50 > 0);
        assertEquals("floor queries per measured round", List.of(QUERIES, QUERIES), Json.path(report, "request_floor.queries_per_measured_round"));

        @SuppressWarnings("unchecked")
        List<Map<String, Object>> systems = (List<Map<String, Object>>) report.get("systems");
        assertEquals(14, systems.size());
        for (Map<String, Object> s : systems) {
            String name = (String) s.get("name");
            assertNull(name + " failed", s.get("error"));
            double recall = ((Number) s.get("recall_at_k")).doubleValue();
            assertTrue(name + " recall " + recall, recall > 0.3);
            assertEquals(name + " segments", 1, Json.path(s, "disk.segments"));
            assertSaneLatency(name, s.get("latency"));
            assertEquals(name + " queries per measured round", List.of(QUERIES, QUERIES), s.get("queries_per_measured_round"));
            assertEquals(name + " samples", QUERIES * ROUNDS, Json.path(s, "latency.samples"));
            assertTrue(name + " p50 above floor", s.get("search_above_floor_p50_ms") instanceof Number);
            assertTrue(name + " paired median above floor", s.get("paired_median_above_floor_ms") instanceof Number);
            assertTrue(name + " throughput", ((Number) s.get("throughput_2_clients_qps")).doubleValue() > 0);
            assertTrue(name + " index + merge", ((Number) Json.path(s, "indexing.total_s")).doubleValue() > 0);
            @SuppressWarnings("unchecked")
            Map<String, Object> ratios = (Map<String, Object>) s.get("goal_ratios");
            assertNotNull(name + " goal ratios", ratios);
            assertTrue(ratios.containsKey("p50_above_floor_vs_es_hnsw") && ratios.containsKey("p50_above_floor_vs_es_bbq_hnsw"));
            if (name.equals("es_hnsw") && ((Number) s.get("search_above_floor_p50_ms")).doubleValue() > 0) {
                // hnsw reaches its own recall: it is matched at equal recall by itself or a faster variant
                assertNotNull(name + " at equal recall", ratios.get("es_hnsw_at_equal_recall"));
                assertTrue(((Number) ratios.get("p50_above_floor_vs_es_hnsw_at_equal_recall")).doubleValue() >= 1.0);
            }
        }
        // the variants that only query differently search their owner's index, built once
        Map<String, Map<String, Object>> byName = new HashMap<>();
        systems.forEach(s -> byName.put((String) s.get("name"), s));
        for (String[] shared : new String[][] { { "es_hnsw_nc300", "es_hnsw" }, { "es_hnsw_nc1000", "es_hnsw" },
            { "es_bbq_hnsw_nc1000", "es_bbq_hnsw" }, { "mv_os10", "mv_default" }, { "mv_pca4_os10", "mv_pca4" } }) {
            assertEquals(shared[0], shared[1], byName.get(shared[0]).get("index_of"));
            assertEquals(shared[0], Json.path(byName.get(shared[1]), "indexing.total_s"), Json.path(byName.get(shared[0]), "indexing.total_s"));
        }
        assertNull(byName.get("es_hnsw").get("index_of"));
        assertEquals(1.0, ((Number) systems.get(0).get("recall_at_k")).doubleValue(), 0.0); // es_flat is exact
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("| mv_default |"));
        assertTrue(md.contains("Protocol: ") && md.contains("Request floor: ") && md.contains("Command: `EndToEndBenchSmokeIT`"));
        assertTrue(Files.size(out.resolve("recall_vs_p50.png")) > 10_000);
    }

    private static void assertSaneLatency(String what, Object latency) {
        @SuppressWarnings("unchecked")
        Map<String, Object> lat = (Map<String, Object>) latency;
        assertNotNull(what + " latency", lat);
        double p50 = ((Number) lat.get("p50_ms")).doubleValue(), p90 = ((Number) lat.get("p90_ms")).doubleValue(),
            p99 = ((Number) lat.get("p99_ms")).doubleValue();
        assertTrue(what + ": p50 " + p50 + " p90 " + p90 + " p99 " + p99, 0 < p50 && p50 <= p90 && p90 <= p99);
        assertEquals(what + " rounds", ROUNDS, ((List<?>) lat.get("p50_ms_per_measured_round")).size());
        assertEquals(what + " samples", QUERIES * ROUNDS, lat.get("samples"));
    }
}
