package io.matryoshka.it.bench;

import io.matryoshka.it.cluster.ElasticsearchCluster;
import io.matryoshka.it.cluster.Json;

import org.apache.http.HttpHost;
import org.apache.http.entity.ContentType;
import org.apache.http.nio.entity.NStringEntity;
import org.apache.http.util.EntityUtils;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.client.RestClient;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * End-to-end benchmark: starts one real node with this plugin (the integration harness), loads the same
 * vectors into one index per system (this plugin's {@code matryoshka_vector} in a few settings, and
 * Elasticsearch's own {@code dense_vector} options), and measures for each: recall@k against the exact float
 * top k, latency (p50/p99, one client), throughput (two clients), indexing time (bulk + refresh + force-merge to
 * one segment), disk bytes per document, and the request floor (a {@code match_all} of the same size, measured
 * the same way). Writes {@code results.json}, {@code results.md} and {@code recall_vs_p50.png}.
 *
 * <p>Run it with {@code ./mvnw -Pe2e-bench verify -Dbench.args="..."} (see src/bench/results/README.md); the
 * harness's system properties ({@code tests.es.home} etc.) come from the profile.
 */
public final class EndToEndBench {

    static final class Options {
        Path dataDir;
        Path docs;
        Path queries;
        Path groundTruth;
        int synthetic = -1;
        int dims = 768;
        long seed = 42;
        int numQueries = -1;
        int maxDocs = Integer.MAX_VALUE;
        String systems = "all";
        Path out;
        String heap = System.getProperty("tests.es.heap", "4g");
        int k = 10;
        int batch = 500;
        int loadThreads = 2;
        int warmupPasses = 1;
        String hotThreads = "plugin";
        boolean keepIndices;
        String label;
        String command;
        String clusterName = "e2e-bench";
        int indexWarmup = 50_000;
        int waitQuietSeconds = 0;
        int attempts = 3;

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                String v = i + 1 < args.length ? args[i + 1] : null;
                switch (a) {
                    case "--data" -> o.dataDir = Path.of(need(a, v));
                    case "--docs" -> o.docs = Path.of(need(a, v));
                    case "--queries" -> o.queries = Path.of(need(a, v));
                    case "--groundtruth" -> o.groundTruth = Path.of(need(a, v));
                    case "--synthetic" -> o.synthetic = Integer.parseInt(need(a, v).replace("_", ""));
                    case "--dims" -> o.dims = Integer.parseInt(need(a, v));
                    case "--seed" -> o.seed = Long.parseLong(need(a, v));
                    case "--num-queries" -> o.numQueries = Integer.parseInt(need(a, v));
                    case "--max-docs" -> o.maxDocs = Integer.parseInt(need(a, v).replace("_", ""));
                    case "--systems" -> o.systems = need(a, v);
                    case "--out" -> o.out = Path.of(need(a, v));
                    case "--heap" -> o.heap = need(a, v);
                    case "--k" -> o.k = Integer.parseInt(need(a, v));
                    case "--batch" -> o.batch = Integer.parseInt(need(a, v));
                    case "--load-threads" -> o.loadThreads = Integer.parseInt(need(a, v));
                    case "--warmup-passes" -> o.warmupPasses = Integer.parseInt(need(a, v));
                    case "--hot-threads" -> o.hotThreads = need(a, v);
                    case "--label" -> o.label = need(a, v);
                    case "--command" -> o.command = need(a, v);
                    case "--cluster-name" -> o.clusterName = need(a, v);
                    case "--attempts" -> o.attempts = Integer.parseInt(need(a, v));
                    case "--wait-quiet" -> o.waitQuietSeconds = Integer.parseInt(need(a, v));
                    case "--index-warmup" -> o.indexWarmup = Integer.parseInt(need(a, v).replace("_", ""));
                    case "--keep-indices" -> {
                        o.keepIndices = true;
                        continue;
                    }
                    case "--help", "-h" -> {
                        System.out.println(USAGE);
                        System.exit(0);
                    }
                    default -> throw new IllegalArgumentException("unknown argument " + a + "\n" + USAGE);
                }
                i++;
            }
            if ((o.dataDir != null || o.docs != null) == (o.synthetic > 0)) {
                throw new IllegalArgumentException("give either --data DIR / --docs F --queries F, or --synthetic N\n" + USAGE);
            }
            if (o.dataDir != null) {
                o.docs = o.docs != null ? o.docs : o.dataDir.resolve("docs.fvecs");
                o.queries = o.queries != null ? o.queries : o.dataDir.resolve("queries.fvecs");
                Path gt = o.dataDir.resolve("groundtruth.ivecs");
                o.groundTruth = o.groundTruth != null ? o.groundTruth : Files.isRegularFile(gt) ? gt : null;
            }
            if (o.docs != null && o.queries == null) {
                throw new IllegalArgumentException("--docs needs --queries");
            }
            return o;
        }

        private static String need(String flag, String value) {
            if (value == null) {
                throw new IllegalArgumentException(flag + " needs a value");
            }
            return value;
        }
    }

    static final String USAGE = """
        EndToEndBench: this plugin vs Elasticsearch's dense_vector on one real node.
          data (one of):
            --data DIR                 docs.fvecs, queries.fvecs and (if present) groundtruth.ivecs in DIR
            --docs F --queries F [--groundtruth F]   TEXMEX files (ground truth: top-k ordinals per query)
            --synthetic N [--dims 768] [--seed 42]    built-in clustered, decaying-spectrum, normalised vectors
          --num-queries Q    queries to use (default: all in the file; 1000 for synthetic)
          --max-docs N       use the first N documents (ground truth is then recomputed)
          --systems LIST     comma-separated names, or all | es | mv (default all): es_flat, es_hnsw, es_int8_hnsw,
                             es_bbq_hnsw, es_bbq_flat, es_bit256_then_float, mv_default, mv_os10, mv_os100, mv_pca4, mv_pca4_os10
          --out DIR          results folder (default target/e2e-bench/<dataset>)
          --heap 4g          node heap;  --k 10;  --batch 500 (docs per bulk);  --load-threads 2
          --warmup-passes 1  passes over all queries before measuring
          --hot-threads plugin|all|none   save the node's hot threads under two-client load (default plugin)
          --index-warmup 50000   docs bulk-loaded into a throwaway index before the first system (JIT warm-up; 0: none)
          --wait-quiet S     before each system's queries, wait up to S seconds until other processes use < 0.15 cores
                             (a shared machine); each system records the other processes' CPU during its queries
          --attempts 3       repeat a system's indexing / its queries while other processes used > 0.2 cores meanwhile
          --keep-indices     do not delete each index after measuring it
          --label TEXT       dataset label in the report;  --command TEXT  the command line to record
          --cluster-name e2e-bench   the harness cluster (its folder target/it/<name> is wiped at start)
        """;

    private final Options options;
    private final BenchData data;
    private final ElasticsearchCluster cluster;
    private RestClient client;

    private EndToEndBench(Options options, BenchData data, ElasticsearchCluster cluster) {
        this.options = options;
        this.data = data;
        this.cluster = cluster;
    }

    public static void main(String[] args) throws Exception {
        Path out = run(args);
        System.out.println("[bench] results in " + out.toAbsolutePath());
        System.exit(0); // the REST client's threads are not daemons
    }

    /** Runs the benchmark and returns the results folder. */
    public static Path run(String[] args) throws Exception {
        Options o = Options.parse(args);
        if (o.command == null) {
            // what ./mvnw -Pe2e-bench verify -Dbench.args="..." passed, so a report always says how it was made
            o.command = "./mvnw -Pe2e-bench verify -Dbench.args=\"" + String.join(" ", args) + "\"";
        }
        Path cacheDir = Path.of(System.getProperty("bench.cache.dir", "target/e2e-bench/cache"));
        BenchData data;
        if (o.synthetic > 0) {
            data = BenchData.synthetic(o.synthetic, o.dims, o.numQueries > 0 ? o.numQueries : 1000, o.seed, cacheDir);
        } else {
            String name = o.label != null ? o.label : (o.dataDir != null ? o.dataDir : o.docs.getParent()).getFileName().toString();
            data = BenchData.fromFiles(name, o.docs, o.queries, o.groundTruth, o.maxDocs, o.numQueries > 0 ? o.numQueries : Integer.MAX_VALUE,
                cacheDir);
        }
        if (o.out == null) {
            o.out = Path.of("target/e2e-bench", data.name);
        }
        Files.createDirectories(o.out);
        List<BenchSystem> systems = select(o.systems);
        System.err.printf("[bench] %s: %,d docs x %d dims, %,d queries, k=%d; systems %s%n", data.name, data.docs.length, data.dims(),
            data.queries.length, o.k, systems.stream().map(s -> s.name).toList());
        ElasticsearchCluster cluster = ElasticsearchCluster.singleNode(o.clusterName).heap(o.heap).build();
        cluster.start();
        try {
            EndToEndBench bench = new EndToEndBench(o, data, cluster);
            bench.execute(systems);
        } finally {
            cluster.stop();
        }
        return o.out;
    }

    static List<BenchSystem> select(String spec) {
        List<BenchSystem> all = BenchSystem.all();
        if (spec.equals("all")) {
            return all;
        }
        if (spec.equals("es") || spec.equals("mv")) {
            return all.stream().filter(s -> s.name.startsWith(spec + "_")).toList();
        }
        List<BenchSystem> chosen = new ArrayList<>();
        for (String name : spec.split(",")) {
            chosen.add(all.stream().filter(s -> s.name.equals(name.trim())).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no system " + name + "; known: " + all.stream().map(s -> s.name).toList())));
        }
        return chosen;
    }

    private void execute(List<BenchSystem> systems) throws Exception {
        client = RestClient.builder(new HttpHost("127.0.0.1", cluster.node(0).httpPort(), "http"))
            .setRequestConfigCallback(c -> c.setConnectTimeout(10_000).setSocketTimeout(4 * 3600_000))
            .build();
        Map<String, Object> report = new LinkedHashMap<>();
        try {
            report.put("tool", "io.matryoshka.it.bench.EndToEndBench");
            report.put("command", options.command != null ? options.command : "(not recorded: pass --command)");
            report.put("started", Instant.now().toString());
            report.put("machine", Machine.describe(client));
            report.put("dataset", data.describe());
            Map<String, Object> settings = new LinkedHashMap<>();
            settings.put("k", options.k);
            settings.put("node_heap", options.heap);
            settings.put("shards", 1);
            settings.put("replicas", 0);
            settings.put("bulk_docs_per_request", options.batch);
            settings.put("bulk_client_threads", options.loadThreads);
            settings.put("warmup_passes", options.warmupPasses);
            settings.put("latency", "one client thread, each query once after the warm-up, client-side wall time of the whole search"
                + " (request, response, parsing the hit ids); the request floor is a match_all of the same size on the same index");
            settings.put("throughput", "two client threads sharing the node's 2 cores with it, each query twice");
            report.put("settings", settings);
            if (options.indexWarmup > 0) {
                // the node's JIT has not seen bulk indexing yet: the first measured system would pay for it
                int docs = Math.min(options.indexWarmup, data.docs.length);
                System.err.printf("%n[bench] ===== warm-up (not measured): bulk-loading %,d docs into a throwaway index%n", docs);
                BenchSystem warm = BenchSystem.denseVector("warmup", "flat", 100, null, "warm-up");
                Json.call(client, "PUT", "/" + warm.index(), Map.of("settings", Map.of("index", Map.of("number_of_shards", 1, "number_of_replicas", 0,
                    "refresh_interval", "-1")), "mappings", Map.of("_source", Map.of("enabled", false), "properties", warm.properties(data.dims()))));
                bulkLoad(warm, warm.index(), docs);
                Json.call(client, "POST", "/" + warm.index() + "/_refresh", null);
                deleteQuietly(warm.index());
                settings.put("indexing_warmup_docs", docs);
            }
            List<Map<String, Object>> results = new ArrayList<>();
            report.put("systems", results);
            for (BenchSystem system : systems) {
                System.err.printf("%n[bench] ===== %s: %s%n", system.name, system.description);
                Map<String, Object> r;
                try {
                    r = measure(system);
                } catch (Exception | AssertionError e) {
                    System.err.println("[bench] " + system.name + " FAILED: " + e);
                    r = system.describe(data.dims());
                    r.put("error", String.valueOf(e.getMessage()));
                    deleteQuietly(system.index());
                }
                results.add(r);
                // partial results survive an interrupted run
                BenchReport.write(report, options.out);
            }
            report.put("finished", Instant.now().toString());
            report.put("load_average_at_end", Machine.loadAverage());
            BenchReport.write(report, options.out);
        } finally {
            client.close();
        }
    }

    private Map<String, Object> measure(BenchSystem system) throws Exception {
        Map<String, Object> r = system.describe(data.dims());
        String index = system.index();
        // indexing and queries are each repeated (up to --attempts) while other processes took more than
        // CONTAMINATED cores of CPU meanwhile; every attempt's contamination is recorded
        List<Object> indexingAttempts = new ArrayList<>();
        for (int attempt = 1; ; attempt++) {
            Map<String, Object> indexing = index(system, index);
            indexingAttempts.add(indexing.get("other_processes_cores"));
            r.put("indexing", indexing);
            if (clean(indexing) || attempt >= options.attempts) {
                break;
            }
            System.err.printf("[bench] other processes used %.2f cores while indexing: indexing again%n", indexing.get("other_processes_cores"));
        }
        r.put("indexing_attempts_other_processes_cores", indexingAttempts);
        Object count = Json.path(Json.call(client, "GET", "/" + index + "/_count", null), "count");
        if (((Number) count).intValue() != data.docs.length) {
            throw new AssertionError(index + " holds " + count + " documents, expected " + data.docs.length);
        }
        r.put("disk", disk(index));
        if (system.family.equals("plugin")) {
            try { // the plugin's own account of its bytes: codes per nested level, correctives, floats
                r.put("matryoshka_stats", Json.path(Json.call(client, "GET", "/" + index + "/_matryoshka/stats", null), "indices." + index));
            } catch (RuntimeException e) {
                r.put("matryoshka_stats_error", e.getMessage());
            }
        }

        // ---- queries
        Object[] prepared = new Object[data.queries.length];
        for (int q = 0; q < prepared.length; q++) {
            prepared[q] = system.prepare(data.queries[q], options.k);
        }
        String floorBody = BenchSystem.searchPrefix(options.k) + "\"query\":{\"match_all\":{}}}";
        List<Object> queryAttempts = new ArrayList<>();
        for (int attempt = 1; ; attempt++) {
            Map<String, Object> q = queries(system, prepared, floorBody);
            queryAttempts.add(q.get("other_processes_cores_during_queries"));
            r.putAll(q);
            if (clean(q.get("other_processes_cores_during_queries")) || attempt >= options.attempts) {
                break;
            }
            System.err.printf("[bench] other processes used %.2f cores during the queries: measuring again%n",
                q.get("other_processes_cores_during_queries"));
        }
        r.put("query_attempts_other_processes_cores", queryAttempts);
        if (options.hotThreads.equals("all") || options.hotThreads.equals(system.family)) {
            r.put("hot_threads_file", hotThreads(system, prepared));
        }
        if (options.keepIndices == false) {
            deleteQuietly(index);
        }
        return r;
    }

    static final double CONTAMINATED = 0.2;

    private static boolean clean(Object othersCores) {
        Object v = othersCores instanceof Map<?, ?> m ? m.get("other_processes_cores") : othersCores;
        return v instanceof Number n && n.doubleValue() < CONTAMINATED;
    }

    /** (Re)creates the index and loads it: bulk + refresh + force-merge to one segment, timed. */
    private Map<String, Object> index(BenchSystem system, String index) throws Exception {
        deleteQuietly(index);
        Map<String, Object> indexSettings = new LinkedHashMap<>();
        indexSettings.put("number_of_shards", 1);
        indexSettings.put("number_of_replicas", 0);
        indexSettings.put("refresh_interval", "-1");
        indexSettings.put("compound_format", false); // per-file sizes in the report
        Map<String, Object> mappings = new LinkedHashMap<>();
        mappings.put("_source", Map.of("enabled", false)); // only the vector structures count towards disk
        mappings.put("properties", system.properties(data.dims()));
        Json.call(client, "PUT", "/" + index, Map.of("settings", Map.of("index", indexSettings), "mappings", mappings));

        List<Double> waitedBeforeIndexing = new ArrayList<>();
        if (options.waitQuietSeconds > 0) {
            waitedBeforeIndexing.add(round(Machine.waitQuiet(0.15, options.waitQuietSeconds), 1));
        }
        double othersBeforeIndexing = Machine.othersCpuSeconds();
        long t0 = System.nanoTime();
        bulkLoad(system, index, data.docs.length);
        long t1 = System.nanoTime();
        Json.call(client, "POST", "/" + index + "/_refresh", null);
        long t2 = System.nanoTime();
        Json.call(client, "POST", "/" + index + "/_forcemerge?max_num_segments=1", null);
        Json.call(client, "POST", "/" + index + "/_refresh", null);
        long t3 = System.nanoTime();
        Map<String, Object> indexing = new LinkedHashMap<>();
        indexing.put("bulk_s", round((t1 - t0) / 1e9, 2));
        indexing.put("refresh_s", round((t2 - t1) / 1e9, 2));
        indexing.put("force_merge_s", round((t3 - t2) / 1e9, 2));
        indexing.put("total_s", round((t3 - t0) / 1e9, 2));
        indexing.put("other_processes_cores", round((Machine.othersCpuSeconds() - othersBeforeIndexing) / ((t3 - t0) / 1e9), 3));
        if (waitedBeforeIndexing.isEmpty() == false) {
            indexing.put("waited_for_quiet_s", waitedBeforeIndexing.get(0));
        }
        System.err.printf("[bench] indexed in %.1fs (bulk %.1f, refresh %.1f, force-merge %.1f)%n", (t3 - t0) / 1e9, (t1 - t0) / 1e9,
            (t2 - t1) / 1e9, (t3 - t2) / 1e9);

        return indexing;
    }

    /** Latency (one client), request floor, throughput (two clients) and the search profile of one system. */
    private Map<String, Object> queries(BenchSystem system, Object[] prepared, String floorBody) throws Exception {
        Map<String, Object> r = new LinkedHashMap<>();
        String index = system.index();
        if (options.waitQuietSeconds > 0) {
            r.put("waited_for_quiet_s", round(Machine.waitQuiet(0.15, options.waitQuietSeconds), 1));
        }
        r.put("load_average_before_queries", Machine.loadAverage());
        double othersBefore = Machine.othersCpuSeconds();
        long queriesStart = System.nanoTime();
        for (int pass = 0; pass < options.warmupPasses; pass++) {
            try (Progress p = new Progress("warm-up " + (pass + 1) + "/" + options.warmupPasses, prepared.length)) {
                for (Object request : prepared) {
                    system.search(client, request);
                    p.step();
                }
            }
        }
        long[] nanos = new long[prepared.length];
        double recallSum = 0;
        int short_ = 0;
        try (Progress p = new Progress("latency, 1 client", prepared.length)) {
            for (int q = 0; q < prepared.length; q++) {
                long s = System.nanoTime();
                List<String> ids = system.search(client, prepared[q]);
                nanos[q] = System.nanoTime() - s;
                recallSum += recall(ids, data.groundTruth[q], options.k);
                if (ids.size() < options.k) {
                    short_++;
                }
                p.step();
            }
        }
        double[] latency = percentiles(nanos);
        // the floor: a trivial search with the same size, measured the same way on the same index
        for (int i = 0; i < Math.min(200, prepared.length); i++) {
            BenchSystem.post(client, "/" + index + "/_search", floorBody);
        }
        long[] floorNanos = new long[prepared.length];
        try (Progress p = new Progress("request floor (match_all)", prepared.length)) {
            for (int q = 0; q < prepared.length; q++) {
                long s = System.nanoTime();
                BenchSystem.hitIds(BenchSystem.post(client, "/" + index + "/_search", floorBody));
                floorNanos[q] = System.nanoTime() - s;
                p.step();
            }
        }
        double[] floor = percentiles(floorNanos);
        double qps = throughput(system, prepared, 2, "throughput, 2 clients");

        r.put("recall_at_k", round(recallSum / prepared.length, 4));
        r.put("queries_with_fewer_than_k_hits", short_);
        Map<String, Object> lat = new LinkedHashMap<>();
        lat.put("p50_ms", round(latency[0], 3));
        lat.put("p90_ms", round(latency[1], 3));
        lat.put("p99_ms", round(latency[2], 3));
        lat.put("mean_ms", round(latency[3], 3));
        r.put("latency", lat);
        Map<String, Object> fl = new LinkedHashMap<>();
        fl.put("p50_ms", round(floor[0], 3));
        fl.put("p99_ms", round(floor[2], 3));
        r.put("request_floor", fl);
        r.put("search_above_floor_p50_ms", round(latency[0] - floor[0], 3));
        r.put("throughput_2_clients_qps", round(qps, 1));
        System.err.printf("[bench] %s: recall@%d %.4f, p50 %.2f ms, p99 %.2f ms (floor p50 %.2f ms), %.0f q/s with 2 clients%n", system.name, options.k,
            recallSum / prepared.length, latency[0], latency[2], floor[0], qps);

        r.put("server_profile", profile(system, prepared));
        // other processes' CPU while this system's latency, floor, throughput and profile were measured
        double others = (Machine.othersCpuSeconds() - othersBefore) / ((System.nanoTime() - queriesStart) / 1e9);
        r.put("other_processes_cores_during_queries", round(others, 3));
        System.err.printf("[bench] other processes used %.2f cores meanwhile%n", others);
        return r;
    }

    private void bulkLoad(BenchSystem system, String index, int n) throws Exception {
        int batches = (n + options.batch - 1) / options.batch;
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (Progress p = new Progress("bulk load " + index, n)) {
            Thread[] threads = new Thread[options.loadThreads];
            for (int t = 0; t < threads.length; t++) {
                threads[t] = new Thread(() -> {
                    StringBuilder sb = new StringBuilder();
                    int b;
                    while (failure.get() == null && (b = next.getAndIncrement()) < batches) {
                        int from = b * options.batch, to = Math.min(n, from + options.batch);
                        sb.setLength(0);
                        for (int d = from; d < to; d++) {
                            sb.append("{\"index\":{\"_id\":\"").append(d).append("\"}}\n");
                            system.appendSource(sb, data.docs[d]);
                            sb.append('\n');
                        }
                        try {
                            Request request = new Request("POST", "/" + index + "/_bulk");
                            request.addParameter("filter_path", "errors,items.*.error");
                            request.setEntity(new NStringEntity(sb.toString(), ContentType.create("application/x-ndjson", StandardCharsets.UTF_8)));
                            String body = EntityUtils.toString(client.performRequest(request).getEntity());
                            if (body.contains("\"errors\":false") == false) {
                                throw new IllegalStateException("bulk into " + index + " had errors: "
                                    + body.substring(0, Math.min(2000, body.length())));
                            }
                        } catch (Throwable e) {
                            failure.compareAndSet(null, e);
                        }
                        p.add(to - from);
                    }
                }, "bulk-" + t);
                threads[t].start();
            }
            for (Thread t : threads) {
                t.join();
            }
        }
        if (failure.get() != null) {
            throw new IllegalStateException("bulk load failed: " + failure.get().getMessage(), failure.get());
        }
    }

    /** Queries per second with {@code clients} threads, each running every query once... twice in all. */
    private double throughput(BenchSystem system, Object[] prepared, int clients, String label) throws Exception {
        int total = prepared.length * 2;
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long start;
        try (Progress p = new Progress(label, total)) {
            Thread[] threads = new Thread[clients];
            for (int t = 0; t < clients; t++) {
                threads[t] = new Thread(() -> {
                    int i;
                    while (failure.get() == null && (i = next.getAndIncrement()) < total) {
                        try {
                            system.search(client, prepared[i % prepared.length]);
                        } catch (Throwable e) {
                            failure.compareAndSet(null, e);
                        }
                        p.step();
                    }
                }, "client-" + t);
            }
            start = System.nanoTime();
            for (Thread t : threads) {
                t.start();
            }
            for (Thread t : threads) {
                t.join();
            }
        }
        long elapsed = System.nanoTime() - start;
        if (failure.get() != null) {
            throw new IllegalStateException("search failed: " + failure.get().getMessage(), failure.get());
        }
        return total / (elapsed / 1e9);
    }

    /**
     * Where a search's time goes on the node, from the search profile API over up to 200 queries (profiling adds
     * its own overhead): mean ms of the kNN section (dfs phase, Elasticsearch's {@code knn}), of the query phase
     * (queries incl. rewrite, e.g. {@code matryoshka_knn}, and collectors), and of the fetch phase; the rest of the
     * client's wall time is HTTP, coordination and (de)serialisation.
     */
    private Map<String, Object> profile(BenchSystem system, Object[] prepared) throws IOException {
        int n = Math.min(200, prepared.length);
        double dfs = 0, query = 0, fetch = 0, vectorOps = 0, wall = 0;
        List<String> responses = new ArrayList<>();
        BenchSystem.PROFILED.set(responses);
        try {
            for (int q = 0; q < n; q++) {
                long s = System.nanoTime();
                system.search(client, prepared[q]);
                wall += System.nanoTime() - s;
            }
        } finally {
            BenchSystem.PROFILED.remove();
        }
        for (String body : responses) {
            com.fasterxml.jackson.databind.JsonNode shards = Json.MAPPER.readTree(body).path("profile").path("shards");
            for (com.fasterxml.jackson.databind.JsonNode shard : shards) {
                for (com.fasterxml.jackson.databind.JsonNode knn : shard.path("dfs").path("knn")) {
                    dfs += sumTimes(knn);
                    vectorOps += knn.path("vector_operations_count").asDouble(0);
                }
                for (com.fasterxml.jackson.databind.JsonNode search : shard.path("searches")) {
                    query += sumTimes(search);
                }
                fetch += shard.path("fetch").path("time_in_nanos").asDouble(0);
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("queries_profiled", n);
        m.put("mean_client_wall_ms_with_profiling", round(wall / n / 1e6, 3));
        m.put("mean_knn_dfs_phase_ms", round(dfs / n / 1e6, 3));
        m.put("mean_query_phase_ms", round(query / n / 1e6, 3));
        m.put("mean_fetch_phase_ms", round(fetch / n / 1e6, 3));
        if (vectorOps > 0) {
            m.put("mean_vector_operations", round(vectorOps / n, 1));
        }
        return m;
    }

    /** query[].time_in_nanos + rewrite_time + collector[].time_in_nanos of one profiled search or knn section. */
    private static double sumTimes(com.fasterxml.jackson.databind.JsonNode section) {
        double t = section.path("rewrite_time").asDouble(0);
        for (com.fasterxml.jackson.databind.JsonNode q : section.path("query")) {
            t += q.path("time_in_nanos").asDouble(0);
        }
        for (com.fasterxml.jackson.databind.JsonNode c : section.path("collector")) {
            t += c.path("time_in_nanos").asDouble(0);
        }
        return t;
    }

    /** Two clients search while the node's hot threads are sampled (10 snapshots over 1 s, twice); saved as text. */
    private String hotThreads(BenchSystem system, Object[] prepared) throws Exception {
        AtomicInteger stop = new AtomicInteger();
        Thread[] threads = new Thread[2];
        for (int t = 0; t < threads.length; t++) {
            int offset = t * 7;
            threads[t] = new Thread(() -> {
                int i = offset;
                while (stop.get() == 0) {
                    try {
                        system.search(client, prepared[i++ % prepared.length]);
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            threads[t].start();
        }
        StringBuilder text = new StringBuilder();
        try {
            Thread.sleep(500);
            for (int i = 0; i < 2; i++) {
                Request request = new Request("GET", "/_nodes/hot_threads");
                request.addParameter("threads", "4");
                request.addParameter("interval", "1s");
                request.addParameter("snapshots", "20");
                request.addParameter("ignore_idle_threads", "true");
                text.append(EntityUtils.toString(client.performRequest(request).getEntity())).append("\n\n");
            }
        } finally {
            stop.set(1);
            for (Thread t : threads) {
                t.join();
            }
        }
        Path file = options.out.resolve("hot_threads").resolve(system.name + ".txt");
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
        return options.out.relativize(file).toString();
    }

    private Map<String, Object> disk(String index) throws IOException {
        Map<String, Object> disk = new LinkedHashMap<>();
        int n = data.docs.length;
        long store = ((Number) Json.path(Json.call(client, "GET", "/" + index + "/_stats/store", null),
            "indices." + index + ".primaries.store.size_in_bytes")).longValue();
        disk.put("store_bytes", store);
        disk.put("store_bytes_per_doc", round((double) store / n, 1));
        Map<String, Object> segs = Json.call(client, "GET", "/" + index + "/_segments", null);
        Object shard = Json.path(segs, "indices." + index + ".shards.0.0.segments");
        disk.put("segments", shard instanceof Map<?, ?> m ? m.size() : -1);
        // every file of the shard by extension (compound files are off for these indices)
        Map<String, Object> settingsResponse = Json.call(client, "GET", "/" + index + "/_settings?flat_settings=true", null);
        @SuppressWarnings("unchecked")
        Map<String, Object> flat = (Map<String, Object>) Json.path(settingsResponse, index + ".settings");
        String uuid = flat == null ? null : (String) flat.get("index.uuid");
        Path shardDir = cluster.node(0).dataDir().resolve("indices").resolve(String.valueOf(uuid)).resolve("0").resolve("index");
        if (Files.isDirectory(shardDir)) {
            Map<String, Long> byExt = new TreeMap<>();
            try (Stream<Path> files = Files.list(shardDir)) {
                for (Path f : files.toList()) {
                    String fn = f.getFileName().toString();
                    String ext = fn.startsWith("segments") ? "segments_N" : fn.contains(".") ? fn.substring(fn.lastIndexOf('.') + 1) : fn;
                    byExt.merge(ext, Files.size(f), Long::sum);
                }
            }
            Map<String, Object> perDoc = new LinkedHashMap<>();
            byExt.forEach((ext, bytes) -> perDoc.put(ext, round((double) bytes / n, 2)));
            disk.put("file_bytes_per_doc_by_extension", perDoc);
        }
        try {
            Map<String, Object> usage = Json.call(client, "POST", "/" + index + "/_disk_usage?run_expensive_tasks=true", null);
            @SuppressWarnings("unchecked")
            Map<String, Map<String, Object>> fields = (Map<String, Map<String, Object>>) Json.path(usage, index + ".fields");
            Map<String, Object> perField = new LinkedHashMap<>();
            if (fields != null) {
                fields.forEach((field, u) -> {
                    Map<String, Object> f = new LinkedHashMap<>();
                    f.put("total_bytes_per_doc", round(((Number) u.get("total_in_bytes")).doubleValue() / n, 2));
                    Object knn = u.get("knn_vectors_in_bytes");
                    if (knn instanceof Number kn && kn.longValue() > 0) {
                        f.put("knn_vectors_bytes_per_doc", round(kn.doubleValue() / n, 2));
                    }
                    perField.put(field, f);
                });
            }
            disk.put("disk_usage_api_per_field", perField);
        } catch (Exception e) {
            disk.put("disk_usage_api_error", e.getMessage());
        }
        return disk;
    }

    private void deleteQuietly(String index) {
        try {
            client.performRequest(new Request("DELETE", "/" + index + "?ignore_unavailable=true"));
        } catch (ResponseException e) {
            // absent
        } catch (IOException e) {
            System.err.println("[bench] could not delete " + index + ": " + e);
        }
    }

    static double recall(List<String> ids, int[] truth, int k) {
        Set<String> expected = new HashSet<>();
        for (int i = 0; i < Math.min(k, truth.length); i++) {
            expected.add(Integer.toString(truth[i]));
        }
        int found = 0;
        for (int i = 0; i < Math.min(k, ids.size()); i++) {
            if (expected.contains(ids.get(i))) {
                found++;
            }
        }
        return (double) found / expected.size();
    }

    /** p50, p90, p99, mean in milliseconds. */
    static double[] percentiles(long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        double mean = Arrays.stream(sorted).average().orElse(0);
        return new double[] { pct(sorted, 0.50) / 1e6, pct(sorted, 0.90) / 1e6, pct(sorted, 0.99) / 1e6, mean / 1e6 };
    }

    private static double pct(long[] sorted, double p) {
        // nearest rank
        int rank = (int) Math.ceil(p * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}
