package io.matryoshka.it;

import io.matryoshka.it.bench.EndToEndBench;
import io.matryoshka.it.cluster.Json;

import org.junit.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

/**
 * Runs the end-to-end benchmark tool (integTest/java/io/matryoshka/it/bench) on a few hundred synthetic
 * vectors against its own harness node: every system loads, searches and reports, and the JSON, Markdown and
 * PNG outputs are written. Measures nothing worth keeping; it keeps the tool working.
 */
public class EndToEndBenchSmokeIT {

    @Test
    public void toolRunsEndToEnd() throws Exception {
        Path out = Path.of(System.getProperty("tests.it.dir", "target/it"), "e2e-bench-smoke-results");
        EndToEndBench.run(new String[] { "--synthetic", "400", "--dims", "64", "--num-queries", "20", "--systems", "all", "--heap", "512m",
            "--hot-threads", "none", "--cluster-name", "e2e-bench-smoke", "--out", out.toString(), "--command", "EndToEndBenchSmokeIT" });
        Map<String, Object> report = Json.parseObject(Files.readString(out.resolve("results.json")));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> systems = (List<Map<String, Object>>) report.get("systems");
        assertEquals(11, systems.size());
        for (Map<String, Object> s : systems) {
            assertNull(s.get("name") + " failed", s.get("error"));
            double recall = ((Number) s.get("recall_at_k")).doubleValue();
            assertTrue(s.get("name") + " recall " + recall, recall > 0.3);
            assertEquals(s.get("name") + " segments", 1, Json.path(s, "disk.segments"));
        }
        assertEquals(1.0, ((Number) systems.get(0).get("recall_at_k")).doubleValue(), 0.0); // es_flat is exact
        assertTrue(Files.readString(out.resolve("results.md")).contains("| mv_default |"));
        assertTrue(Files.size(out.resolve("recall_vs_p50.png")) > 10_000);
    }
}
