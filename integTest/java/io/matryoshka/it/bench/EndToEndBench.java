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
import java.util.Collections;
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
 * Elasticsearch's own {@code dense_vector} options), and measures for each: indexing time (bulk + refresh +
 * force-merge to one segment, one system at a time), disk bytes per document, then, with every index built,
 * paired latency rounds (one client; each query goes to every system and to the request floor, an {@code ids}
 * query on a small index of the same node, in a rotating order), recall@k against the exact float top k, and
 * last, one system at a time, throughput (two clients) and the search profile. Writes {@code results.json},
 * {@code results.md} and {@code recall_vs_p50.png}.
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
        int warmupRounds = 1;
        int rounds = 2;
        int estimateSample = 20_000;
        boolean loadOnly;
        String hotThreads = "plugin";
        boolean keepIndices;
        String label;
        String command;
        String clusterName = "e2e-bench";
        int indexWarmup = 50_000;
        int systemWarmup = 10_000;
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
                    case "--warmup", "--warmup-passes" -> o.warmupRounds = Integer.parseInt(need(a, v));
                    case "--rounds" -> o.rounds = Integer.parseInt(need(a, v));
                    case "--estimate-skipped" -> o.estimateSample = Integer.parseInt(need(a, v).replace("_", ""));
                    case "--hot-threads" -> o.hotThreads = need(a, v);
                    case "--label" -> o.label = need(a, v);
                    case "--command" -> o.command = need(a, v);
                    case "--cluster-name" -> o.clusterName = need(a, v);
                    case "--attempts" -> o.attempts = Integer.parseInt(need(a, v));
                    case "--wait-quiet" -> o.waitQuietSeconds = Integer.parseInt(need(a, v));
                    case "--index-warmup" -> o.indexWarmup = Integer.parseInt(need(a, v).replace("_", ""));
                    case "--system-warmup" -> o.systemWarmup = Integer.parseInt(need(a, v).replace("_", ""));
                    case "--keep-indices" -> {
                        o.keepIndices = true;
                        continue;
                    }
                    case "--load-only" -> {
                        o.loadOnly = true;
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
            if (o.rounds < 1 || o.warmupRounds < 0) {
                throw new IllegalArgumentException("--rounds must be at least 1, --warmup at least 0");
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
          --systems LIST     comma-separated names or groups all | es | mv, a leading - removes (e.g. all,-es_hnsw,-es_flat;
                             default all): es_flat, es_hnsw, es_int8_hnsw, es_bbq_hnsw, es_bbq_flat, es_bit256_then_float,
                             mv_default, mv_os10, mv_os100, mv_pca4, mv_pca4_os10
          --estimate-skipped 20000   for each system left out by --systems, index this many documents (at most half of
                             them) and print an extrapolated indexing time for all (0: no estimate)
          --out DIR          results folder (default target/e2e-bench/<dataset>)
          --heap 4g          node heap;  --k 10;  --batch 500 (docs per bulk);  --load-threads 2
          --warmup 1         paired warm-up rounds (every query to every system, not measured)
          --rounds 2         paired measured rounds: every query to every system and the request floor, rotating order
          --load-only        read the data (and ground truth), print the heap it takes, and exit (no node)
          --hot-threads plugin|all|none   save the node's hot threads under two-client load (default plugin)
          --index-warmup 50000   docs bulk-loaded into a throwaway index before the first system (JIT warm-up; 0: none)
          --system-warmup 10000  docs of each system's own mapping indexed (twice, merged) into a throwaway index before its
                                 timed indexing, so that its flush and merge code is compiled (0: none)
          --wait-quiet S     before each indexing, paired round and throughput run, wait up to S seconds until other processes
                             use < 0.15 cores (a shared machine); each records the other processes' CPU meanwhile
          --attempts 3       repeat a system's indexing / its throughput run while other processes used > 0.2 cores meanwhile
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
        List<BenchSystem> skipped = BenchSystem.all().stream().filter(s -> systems.stream().noneMatch(c -> c.name.equals(s.name))).toList();
        System.err.printf("[bench] %s: %,d docs x %d dims, %,d queries, k=%d; systems %s%s%n", data.name, data.docs.length, data.dims(),
            data.queries.length, o.k, systems.stream().map(s -> s.name).toList(), skipped.isEmpty() ? ""
                : "; left out " + skipped.stream().map(s -> s.name).toList() + (o.estimateSample > 0 ? " (indexing time estimated first)" : ""));
        if (o.loadOnly) {
            Runtime rt = Runtime.getRuntime();
            System.gc();
            System.err.printf("[bench] --load-only: data loaded; heap used %,d MB of max %,d MB%n", (rt.totalMemory() - rt.freeMemory()) >> 20,
                rt.maxMemory() >> 20);
            return o.out;
        }
        ElasticsearchCluster cluster = ElasticsearchCluster.singleNode(o.clusterName).heap(o.heap).build();
        cluster.start();
        try {
            EndToEndBench bench = new EndToEndBench(o, data, cluster);
            bench.execute(systems, skipped);
        } finally {
            cluster.stop();
        }
        return o.out;
    }

    /** Names and groups (all, es, mv) in the order given; a leading {@code -} removes. Report order: as given. */
    static List<BenchSystem> select(String spec) {
        List<BenchSystem> all = BenchSystem.all();
        List<BenchSystem> chosen = new ArrayList<>();
        if (spec.trim().startsWith("-")) { // only removals: from all
            chosen.addAll(all);
        }
        for (String item : spec.split(",")) {
            item = item.trim();
            boolean remove = item.startsWith("-");
            String name = remove ? item.substring(1) : item;
            List<BenchSystem> matched = switch (name) {
                case "all" -> all;
                case "es", "mv" -> all.stream().filter(s -> s.name.startsWith(name + "_")).toList();
                default -> List.of(all.stream().filter(s -> s.name.equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no system " + name + "; known: " + all.stream().map(s -> s.name).toList())));
            };
            for (BenchSystem s : matched) {
                chosen.removeIf(c -> c.name.equals(s.name));
                if (remove == false) {
                    chosen.add(s);
                }
            }
        }
        if (chosen.isEmpty()) {
            throw new IllegalArgumentException("--systems " + spec + " selects no system");
        }
        return chosen;
    }

    private void execute(List<BenchSystem> systems, List<BenchSystem> skipped) throws Exception {
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
            report.put("settings", settings);
            report.put("protocol", protocol(systems.size()));
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
            if (skipped.isEmpty() == false) {
                // first, so that whoever left them out sees what they would cost before the long part starts
                report.put("skipped_systems", estimateSkipped(skipped, systems));
            }
            List<Map<String, Object>> results = new ArrayList<>();
            report.put("systems", results);
            Map<BenchSystem, Map<String, Object>> bySystem = new LinkedHashMap<>();

            // ---- phase 1: indexing, one system at a time; every index stays for the paired rounds
            List<BenchSystem> built = new ArrayList<>();
            for (BenchSystem system : systems) {
                System.err.printf("%n[bench] ===== indexing %s: %s%n", system.name, system.description);
                Map<String, Object> r = system.describe(data.dims());
                results.add(r);
                bySystem.put(system, r);
                BenchSystem owner = built.stream().filter(b -> b.index().equals(system.index())).findFirst().orElse(null);
                if (owner != null) { // the same mapping, other query parameters: search the index already built
                    System.err.printf("[bench] %s searches %s's index, built above%n", system.name, owner.name);
                    Map<String, Object> ownerResult = bySystem.get(owner);
                    for (String key : List.of("indexing", "disk", "matryoshka_stats")) {
                        if (ownerResult.containsKey(key)) {
                            r.put(key, ownerResult.get(key));
                        }
                    }
                    r.put("index_of", owner.name);
                    built.add(system);
                    continue;
                }
                try {
                    build(system, r);
                    built.add(system);
                } catch (Exception | AssertionError e) {
                    fail(system, r, "indexing", e);
                }
                BenchReport.write(report, options.out); // partial results survive an interrupted run
            }

            // ---- phase 2: paired latency rounds over every built system and the request floor
            Object[][] prepared = new Object[systems.size()][];
            for (BenchSystem system : built) {
                Object[] p = new Object[data.queries.length];
                for (int q = 0; q < p.length; q++) {
                    p[q] = system.prepare(data.queries[q], options.k);
                }
                prepared[systems.indexOf(system)] = p;
            }
            System.err.printf("%n[bench] ===== paired latency: %d warm-up + %d measured rounds over %d systems + the request floor%n",
                options.warmupRounds, options.rounds, built.size());
            report.put("request_floor", buildFloorIndex());
            pairedRounds(built, systems, prepared, bySystem, report);
            BenchReport.write(report, options.out);

            // ---- phase 3: throughput (two clients), search profile, hot threads: one system at a time
            for (BenchSystem system : built) {
                Map<String, Object> r = bySystem.get(system);
                if (r.get("error") != null) {
                    continue;
                }
                System.err.printf("%n[bench] ===== throughput %s%n", system.name);
                try {
                    throughputPhase(system, prepared[systems.indexOf(system)], r);
                } catch (Exception | AssertionError e) {
                    fail(system, r, "throughput", e);
                }
                BenchReport.write(report, options.out);
            }
            if (options.keepIndices == false) {
                for (BenchSystem system : systems) {
                    deleteQuietly(system.index());
                }
                deleteQuietly(FLOOR_INDEX);
            }
            goalRatios(results);
            report.put("finished", Instant.now().toString());
            report.put("load_average_at_end", Machine.loadAverage());
            BenchReport.write(report, options.out);
        } finally {
            client.close();
        }
    }

    private Map<String, Object> protocol(int systemCount) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("order", "phase 1: every system's index is built (bulk + refresh + force-merge, timed), one system at a time, and kept;"
            + " phase 2: paired latency rounds over all built systems and the request floor; phase 3: throughput (two clients), search"
            + " profile and hot threads, one system at a time, after the paired rounds");
        p.put("warmup_rounds", options.warmupRounds);
        p.put("measured_rounds", options.rounds);
        p.put("rotation", "in every round each query goes to every system and to the request floor in turn, one request at a time"
            + " (one client thread); with the " + (systemCount + 1) + " entries (systems in report order, the floor last), query i starts"
            + " at entry i mod " + (systemCount + 1) + " and continues in order, wrapping");
        p.put("latency", "client-side wall time of the whole search (HTTP request, response, parsing the hit ids); p50/p90/p99 over"
            + " every query of every measured round (queries x rounds samples per system)");
        p.put("request_floor", "an ids query (one id, size 10, _source false) on the index " + FLOOR_INDEX + " of the same node (" + FLOOR_DOCS
            + " empty documents, one segment), sent in the same rotation as a pseudo-system, so it drifts with the host like the systems");
        p.put("p50_above_floor", "a system's p50 minus the floor's p50 (both pooled over the measured rounds); also the median over"
            + " (query, round) of the system's time minus the floor's time for the same query in the same round");
        p.put("goal_ratios", "p50_above_floor of the system divided by es_hnsw's and by es_bbq_hnsw's (from the same run)");
        p.put("recall", "recall@k of the first measured round against the dataset's exact top k");
        p.put("indexing", "one system at a time, before the paired rounds: bulk + refresh + force-merge to one segment, wall time;"
            + " each system's own code warmed first on a throwaway index of its mapping (" + options.systemWarmup
            + " documents, flushed twice and merged, not timed)");
        p.put("throughput", "one system at a time, after the paired rounds: two client threads sharing the machine's cores with the node,"
            + " each query twice, total / wall time");
        return p;
    }

    private void fail(BenchSystem system, Map<String, Object> r, String phase, Throwable e) {
        System.err.println("[bench] " + system.name + " FAILED in " + phase + ": " + e);
        r.put("error", phase + ": " + e.getMessage());
        if (phase.equals("indexing")) { // a failed search leaves the index to the other systems that search it
            deleteQuietly(system.index());
        }
    }

    /** Phase 1 for one system: indexing (repeated while the machine was busy), document count, disk, plugin stats. */
    private void build(BenchSystem system, Map<String, Object> r) throws Exception {
        String index = system.index();
        // indexing is repeated (up to --attempts) while other processes took more than CONTAMINATED cores meanwhile;
        // every attempt's contamination is recorded
        warmUpIndexing(system);
        List<Object> indexingAttempts = new ArrayList<>();
        for (int attempt = 1; ; attempt++) {
            Map<String, Object> indexing = index(system, index, data.docs.length);
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
    }

    static final String FLOOR_INDEX = "bench-floor";
    static final int FLOOR_DOCS = 1000;

    /** The request floor's index: FLOOR_DOCS empty documents, one segment. */
    private Map<String, Object> buildFloorIndex() throws IOException {
        deleteQuietly(FLOOR_INDEX);
        Json.call(client, "PUT", "/" + FLOOR_INDEX, Map.of("settings", Map.of("index", Map.of("number_of_shards", 1, "number_of_replicas", 0,
            "refresh_interval", "-1")), "mappings", Map.of("_source", Map.of("enabled", false))));
        StringBuilder sb = new StringBuilder();
        for (int d = 0; d < FLOOR_DOCS; d++) {
            sb.append("{\"index\":{\"_id\":\"").append(d).append("\"}}\n{}\n");
        }
        Request request = new Request("POST", "/" + FLOOR_INDEX + "/_bulk");
        request.addParameter("filter_path", "errors");
        request.setEntity(new NStringEntity(sb.toString(), ContentType.create("application/x-ndjson", StandardCharsets.UTF_8)));
        client.performRequest(request);
        Json.call(client, "POST", "/" + FLOOR_INDEX + "/_refresh", null);
        Json.call(client, "POST", "/" + FLOOR_INDEX + "/_forcemerge?max_num_segments=1", null);
        Json.call(client, "POST", "/" + FLOOR_INDEX + "/_refresh", null);
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("index", FLOOR_INDEX);
        f.put("documents", FLOOR_DOCS);
        f.put("request_example", floorBody(0));
        return f;
    }

    private String floorBody(int query) {
        return BenchSystem.searchPrefix(options.k) + "\"query\":{\"ids\":{\"values\":[\"" + (query % FLOOR_DOCS) + "\"]}}}";
    }

    /**
     * Phase 2: {@code warmupRounds + rounds} rounds; in each, query i goes to every entry (the built systems in
     * report order, then the floor) starting at entry i mod entries. A system whose search fails leaves the
     * rotation (its slot stays, so the others' order does not change) and is marked failed.
     */
    private void pairedRounds(List<BenchSystem> built, List<BenchSystem> all, Object[][] prepared, Map<BenchSystem, Map<String, Object>> bySystem,
        Map<String, Object> report) {
        int entries = built.size() + 1, floorEntry = built.size(), queries = data.queries.length;
        int totalRounds = options.warmupRounds + options.rounds;
        long[][][] nanos = new long[entries][options.rounds][queries];
        int[][] answered = new int[entries][options.rounds];
        double[][] recallSum = new double[built.size()][options.rounds];
        int[] fewerThanK = new int[built.size()];
        boolean[] failed = new boolean[entries];
        List<Map<String, Object>> roundsInfo = new ArrayList<>();
        for (int round = 0; round < totalRounds; round++) {
            boolean measured = round >= options.warmupRounds;
            int m = round - options.warmupRounds;
            String label = measured ? "measured round " + (m + 1) + "/" + options.rounds : "warm-up round " + (round + 1) + "/" + options.warmupRounds;
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("round", label);
            if (options.waitQuietSeconds > 0) {
                info.put("waited_for_quiet_s", round(Machine.waitQuiet(0.15, options.waitQuietSeconds), 1));
            }
            info.put("load_average_before", Machine.loadAverage());
            double othersBefore = Machine.othersCpuSeconds();
            long roundStart = System.nanoTime();
            try (Progress p = new Progress(label, (long) queries * entries)) {
                for (int q = 0; q < queries; q++) {
                    for (int j = 0; j < entries; j++) {
                        int e = (q + j) % entries;
                        p.step();
                        if (failed[e]) {
                            continue;
                        }
                        try {
                            long s = System.nanoTime();
                            List<String> ids = e == floorEntry ? BenchSystem.hitIds(BenchSystem.post(client, "/" + FLOOR_INDEX + "/_search",
                                floorBody(q))) : built.get(e).search(client, prepared[all.indexOf(built.get(e))][q]);
                            long t = System.nanoTime() - s;
                            if (measured) {
                                nanos[e][m][q] = t;
                                answered[e][m]++;
                                if (e != floorEntry) {
                                    recallSum[e][m] += recall(ids, data.groundTruth[q], options.k);
                                    if (m == 0 && ids.size() < options.k) {
                                        fewerThanK[e]++;
                                    }
                                }
                            }
                        } catch (Exception ex) {
                            failed[e] = true;
                            String what = e == floorEntry ? "request floor" : built.get(e).name;
                            System.err.println("\n[bench] " + what + " FAILED in " + label + ", query " + q + ": " + ex);
                            if (e == floorEntry) {
                                report.put("request_floor_error", label + ", query " + q + ": " + ex.getMessage());
                            } else {
                                bySystem.get(built.get(e)).put("error", "paired latency, " + label + ", query " + q + ": " + ex.getMessage());
                            }
                        }
                    }
                }
            }
            double seconds = (System.nanoTime() - roundStart) / 1e9;
            info.put("seconds", round(seconds, 1));
            info.put("other_processes_cores", round((Machine.othersCpuSeconds() - othersBefore) / seconds, 3));
            roundsInfo.add(info);
            System.err.printf("[bench] %s: %.1fs, other processes used %.2f cores meanwhile%n", label, seconds, info.get("other_processes_cores"));
        }
        report.put("paired_rounds", roundsInfo);

        // the floor first: every system's p50 above it
        Map<String, Object> floor = latencyStats(nanos[floorEntry], answered[floorEntry]);
        @SuppressWarnings("unchecked")
        Map<String, Object> floorReport = (Map<String, Object>) report.get("request_floor");
        floorReport.putAll(floor);
        double floorP50 = ((Number) floor.get("p50_ms")).doubleValue();
        System.err.printf("[bench] request floor (ids query): p50 %.3f ms, p99 %.3f ms%n", floorP50, floor.get("p99_ms"));
        for (int e = 0; e < built.size(); e++) {
            BenchSystem system = built.get(e);
            Map<String, Object> r = bySystem.get(system);
            Map<String, Object> lat = latencyStats(nanos[e], answered[e]);
            r.put("latency", lat);
            r.put("queries_per_measured_round", lat.remove("queries_per_measured_round"));
            List<Double> recallPerRound = new ArrayList<>();
            for (int m = 0; m < options.rounds; m++) {
                recallPerRound.add(answered[e][m] == 0 ? null : round(recallSum[e][m] / answered[e][m], 4));
            }
            r.put("recall_at_k", recallPerRound.get(0));
            r.put("recall_at_k_per_measured_round", recallPerRound);
            r.put("queries_with_fewer_than_k_hits", fewerThanK[e]);
            double p50 = ((Number) lat.get("p50_ms")).doubleValue();
            r.put("search_above_floor_p50_ms", round(p50 - floorP50, 3));
            // paired: the same query in the same round, this system minus the floor
            List<Long> diffs = new ArrayList<>();
            for (int m = 0; m < options.rounds; m++) {
                for (int q = 0; q < queries; q++) {
                    if (nanos[e][m][q] > 0 && nanos[floorEntry][m][q] > 0) {
                        diffs.add(nanos[e][m][q] - nanos[floorEntry][m][q]);
                    }
                }
            }
            long[] d = diffs.stream().mapToLong(Long::longValue).toArray();
            r.put("paired_median_above_floor_ms", d.length == 0 ? null : round(percentiles(d)[0], 3));
            System.err.printf("[bench] %-22s recall@%d %.4f, p50 %.3f ms, p90 %.3f, p99 %.3f, p50 - floor %.3f ms%n", system.name, options.k,
                recallPerRound.get(0), p50, lat.get("p90_ms"), lat.get("p99_ms"), p50 - floorP50);
        }
    }

    /** p50/p90/p99/mean over every measured round's answered queries, and the p50 of each round. */
    private Map<String, Object> latencyStats(long[][] nanosByRound, int[] answered) {
        List<Long> all = new ArrayList<>();
        List<Double> p50PerRound = new ArrayList<>();
        List<Integer> perRound = new ArrayList<>();
        for (int m = 0; m < nanosByRound.length; m++) {
            long[] round = Arrays.stream(nanosByRound[m]).filter(t -> t > 0).toArray();
            perRound.add(answered[m]);
            p50PerRound.add(round.length == 0 ? null : round(percentiles(round)[0], 3));
            for (long t : round) {
                all.add(t);
            }
        }
        double[] p = all.isEmpty() ? new double[] { Double.NaN, Double.NaN, Double.NaN, Double.NaN }
            : percentiles(all.stream().mapToLong(Long::longValue).toArray());
        Map<String, Object> lat = new LinkedHashMap<>();
        lat.put("p50_ms", round(p[0], 3));
        lat.put("p90_ms", round(p[1], 3));
        lat.put("p99_ms", round(p[2], 3));
        lat.put("mean_ms", round(p[3], 3));
        lat.put("samples", all.size());
        lat.put("p50_ms_per_measured_round", p50PerRound);
        lat.put("queries_per_measured_round", perRound);
        return lat;
    }

    /** The ratios the project's goals use: p50 above the floor divided by es_hnsw's and by es_bbq_hnsw's. */
    /**
     * Recalls this close count as equal when a system is compared with a graph index asked for more candidates:
     * about 1.5 x the sampling error of recall@10 over 1,000 queries near 0.99 (sqrt(0.99 x 0.01 / 10,000) = 0.001).
     */
    static final double EQUAL_RECALL = 0.0015;

    /**
     * Of {@code family}'s systems in the run ({@code es_hnsw} and its {@code es_hnsw_nc*} variants searching the
     * same graph with more candidates), the fastest above the floor whose recall reaches {@code recall}; null if none.
     */
    private static Map<String, Object> fastestAtRecall(List<Map<String, Object>> results, Map<String, Double> above, String family, double recall) {
        Map<String, Object> best = null;
        for (Map<String, Object> r : results) {
            String name = (String) r.get("name");
            Double theirs = above.get(name);
            boolean inFamily = name.equals(family) || name.startsWith(family + "_nc");
            if (inFamily && theirs != null && theirs > 0 && ((Number) r.get("recall_at_k")).doubleValue() >= recall
                && (best == null || theirs < (Double) best.get("above"))) {
                best = Map.of("name", name, "above", theirs);
            }
        }
        return best;
    }

    static void goalRatios(List<Map<String, Object>> results) {
        Map<String, Double> above = new LinkedHashMap<>();
        for (Map<String, Object> r : results) {
            if (r.get("error") == null && r.get("search_above_floor_p50_ms") instanceof Number n) {
                above.put((String) r.get("name"), n.doubleValue());
            }
        }
        for (Map<String, Object> r : results) {
            Double mine = above.get((String) r.get("name"));
            if (mine == null) {
                continue;
            }
            Map<String, Object> ratios = new LinkedHashMap<>();
            for (String base : List.of("es_hnsw", "es_bbq_hnsw")) {
                Double theirs = above.get(base);
                // a baseline at or below the floor gives no meaningful ratio
                ratios.put("p50_above_floor_vs_" + base, theirs == null || theirs <= 0 ? null : round(mine / theirs, 3));
            }
            double recall = ((Number) r.get("recall_at_k")).doubleValue();
            for (String family : List.of("es_hnsw", "es_bbq_hnsw")) {
                Map<String, Object> match = fastestAtRecall(results, above, family, recall - EQUAL_RECALL);
                if (match != null) {
                    ratios.put("p50_above_floor_vs_" + family + "_at_equal_recall", round(mine / (Double) match.get("above"), 3));
                    ratios.put(family + "_at_equal_recall", match.get("name"));
                }
            }
            r.put("goal_ratios", ratios);
        }
    }

    /** Phase 3 for one system: throughput with two clients (repeated while the machine was busy), profile, hot threads. */
    private void throughputPhase(BenchSystem system, Object[] prepared, Map<String, Object> r) throws Exception {
        List<Object> attempts = new ArrayList<>();
        for (int attempt = 1; ; attempt++) {
            if (options.waitQuietSeconds > 0) {
                r.put("waited_for_quiet_s", round(Machine.waitQuiet(0.15, options.waitQuietSeconds), 1));
            }
            double othersBefore = Machine.othersCpuSeconds();
            long start = System.nanoTime();
            double qps = throughput(system, prepared, 2, "throughput, 2 clients");
            double others = (Machine.othersCpuSeconds() - othersBefore) / ((System.nanoTime() - start) / 1e9);
            attempts.add(round(others, 3));
            r.put("throughput_2_clients_qps", round(qps, 1));
            r.put("other_processes_cores_during_throughput", round(others, 3));
            System.err.printf("[bench] %s: %.0f q/s with 2 clients (other processes used %.2f cores meanwhile)%n", system.name, qps, others);
            if (clean(others) || attempt >= options.attempts) {
                break;
            }
        }
        r.put("throughput_attempts_other_processes_cores", attempts);
        r.put("server_profile", profile(system, prepared));
        if (options.hotThreads.equals("all") || options.hotThreads.equals(system.family)) {
            r.put("hot_threads_file", hotThreads(system, prepared));
        }
    }

    /**
     * For systems left out of the run: index a sample of the documents, time it, and extrapolate to all of them
     * (n log n for HNSW graphs, linear otherwise). A rough guide to what running them would cost, not a result.
     */
    private List<Map<String, Object>> estimateSkipped(List<BenchSystem> skipped, List<BenchSystem> chosen) {
        int n = data.docs.length;
        // systems that differ only in their queries (mv_os10 = mv_default's mapping) index the same: one estimate each mapping
        Map<Map<String, Object>, String> measuredMapping = new LinkedHashMap<>();
        for (BenchSystem c : chosen) {
            measuredMapping.putIfAbsent(c.properties(data.dims()), c.name);
        }
        Map<Map<String, Object>, Map<String, Object>> estimated = new LinkedHashMap<>();
        int sample = Math.min(options.estimateSample, n / 2);
        List<Map<String, Object>> out = new ArrayList<>();
        if (options.estimateSample > 0 && sample >= 1000) {
            System.err.printf("%n[bench] ===== estimating the indexing time of the systems left out, from %,d of the %,d documents%n", sample, n);
        }
        for (BenchSystem system : skipped) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", system.name);
            m.put("description", system.description);
            Map<String, Object> mapping = system.properties(data.dims());
            if (measuredMapping.containsKey(mapping)) {
                m.put("estimate", "same mapping as " + measuredMapping.get(mapping) + ": its indexing time in this run applies");
                System.err.printf("[bench] skipped %s: same mapping as %s, which is measured%n", system.name, measuredMapping.get(mapping));
                out.add(m);
                continue;
            }
            if (estimated.containsKey(mapping)) {
                Map<String, Object> twin = estimated.get(mapping);
                twin.forEach((key, value) -> {
                    if (key.equals("name") == false && key.equals("description") == false) {
                        m.put(key, value);
                    }
                });
                m.put("note", "same mapping as " + twin.get("name") + ", estimated once for both");
                System.err.printf("[bench] skipped %s: same mapping as %s (estimate above)%n", system.name, twin.get("name"));
                out.add(m);
                continue;
            }
            if (options.estimateSample <= 0 || sample < 1000) {
                m.put("estimate", "none (--estimate-skipped " + options.estimateSample + ", " + n + " documents)");
                System.err.printf("[bench] skipped %s: no estimate%n", system.name);
                out.add(m);
                continue;
            }
            String index = system.index() + "-estimate";
            try {
                Map<String, Object> indexing = index(system, index, sample);
                double t = ((Number) indexing.get("total_s")).doubleValue();
                boolean graph = system.name.contains("hnsw");
                double scale = (double) n / sample * (graph ? Math.log(n) / Math.log(sample) : 1);
                m.put("sample_documents", sample);
                m.put("sample_index_and_merge_s", t);
                m.put("scaling", graph ? "n log n (HNSW graph)" : "linear");
                m.put("estimated_index_and_merge_s", round(t * scale, 0));
                m.put("note", "extrapolated from a sample; larger indexes also outgrow the CPU caches, so expect more");
                System.err.printf("[bench] skipped %s: index + merge of %,d docs took %.1fs -> about %.0fs%s for %,d docs (%s)%n", system.name,
                    sample, t, t * scale, t * scale >= 120 ? String.format(" (%.0f min)", t * scale / 60) : "", n, m.get("scaling"));
                estimated.put(mapping, m);
            } catch (Exception e) {
                m.put("estimate_error", e.getMessage());
            } finally {
                deleteQuietly(index);
            }
            out.add(m);
        }
        return out;
    }

    static final double CONTAMINATED = 0.2;

    private static boolean clean(Object othersCores) {
        Object v = othersCores instanceof Map<?, ?> m ? m.get("other_processes_cores") : othersCores;
        return v instanceof Number n && n.doubleValue() < CONTAMINATED;
    }

    /** (Re)creates the index and loads the first {@code docs} documents: bulk + refresh + force-merge to one segment, timed. */
    /** A fresh index of the system's mapping: one shard, no replica, no refresh until asked, no compound files. */
    private void createIndex(BenchSystem system, String index) throws Exception {
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
    }

    /**
     * Before a system's indexing is timed, the same mapping indexes {@code --system-warmup} documents
     * into a throwaway index: flushed, the same documents again (updates, so a second segment with
     * deletes), flushed, force-merged. The node's JIT then has compiled that system's own flush and
     * merge code (its vectors format, HNSW graph building, the plugin's rotation and quantization
     * kernels, which the Vector API runs orders of magnitude slower before C2 compiles them) instead
     * of compiling it inside the first timed refresh.
     */
    private void warmUpIndexing(BenchSystem system) throws Exception {
        int docs = Math.min(options.systemWarmup, data.docs.length);
        if (docs <= 0) {
            return;
        }
        String index = system.index() + "-warmup";
        System.err.printf("[bench] warm-up (not measured): %,d docs of %s's mapping, flushed twice and merged%n", docs, system.name);
        createIndex(system, index);
        try {
            bulkLoad(system, index, docs);
            Json.call(client, "POST", "/" + index + "/_refresh", null);
            bulkLoad(system, index, docs);
            Json.call(client, "POST", "/" + index + "/_refresh", null);
            Json.call(client, "POST", "/" + index + "/_forcemerge?max_num_segments=1", null);
        } finally {
            deleteQuietly(index);
        }
    }

    private Map<String, Object> index(BenchSystem system, String index, int docs) throws Exception {
        createIndex(system, index);

        List<Double> waitedBeforeIndexing = new ArrayList<>();
        if (options.waitQuietSeconds > 0) {
            waitedBeforeIndexing.add(round(Machine.waitQuiet(0.15, options.waitQuietSeconds), 1));
        }
        double othersBeforeIndexing = Machine.othersCpuSeconds();
        long t0 = System.nanoTime();
        bulkLoad(system, index, docs);
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
        double dfs = 0, query = 0, fetch = 0, vectorOps = 0, wall = 0, took = 0;
        List<Double> funnelStages = new ArrayList<>(); // per profiled search: the plugin's funnel, its stages' sum
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
            com.fasterxml.jackson.databind.JsonNode response = Json.MAPPER.readTree(body);
            took += response.path("took").asDouble(0);
            double funnel = funnelStageMillis(response.path("profile"));
            if (funnel >= 0) {
                funnelStages.add(funnel);
            }
            com.fasterxml.jackson.databind.JsonNode shards = response.path("profile").path("shards");
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
        m.put("mean_took_ms", round(took / n, 3));
        if (funnelStages.isEmpty() == false) {
            Collections.sort(funnelStages);
            m.put("median_funnel_stages_ms", round(funnelStages.get(funnelStages.size() / 2), 3));
            m.put("mean_funnel_stages_ms", round(funnelStages.stream().mapToDouble(Double::doubleValue).average().orElse(0), 3));
        }
        if (vectorOps > 0) {
            m.put("mean_vector_operations", round(vectorOps / n, 1));
        }
        return m;
    }

    private static final java.util.regex.Pattern STAGE_MILLIS = java.util.regex.Pattern.compile("([0-9.]+) ms");

    /**
     * The sum of the plugin's funnel stages' own times (the {@code FunnelTrace} in the profiled query's
     * description: {@code "... 0.412 ms; ... 0.118 ms]"}) over every segment of one profiled search, or -1
     * where no query of it is a funnel's: the funnel's time inside the node, next to the phases around it.
     */
    private static double funnelStageMillis(com.fasterxml.jackson.databind.JsonNode node) {
        double sum = -1;
        if (node.isObject()) {
            String description = node.path("description").asText("");
            if (description.contains("MatryoshkaFunnelHits[")) {
                java.util.regex.Matcher stage = STAGE_MILLIS.matcher(description);
                sum = 0;
                while (stage.find()) {
                    sum += Double.parseDouble(stage.group(1));
                }
                return sum;
            }
        }
        for (com.fasterxml.jackson.databind.JsonNode child : node) {
            double found = funnelStageMillis(child);
            if (found >= 0) {
                return found; // one funnel query per search in these benchmarks
            }
        }
        return sum;
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
