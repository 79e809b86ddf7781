package io.matryoshka.it.cluster;

import org.apache.http.HttpHost;
import org.elasticsearch.client.Node;
import org.elasticsearch.client.RestClient;
import org.junit.rules.ExternalResource;
import org.junit.rules.TestRule;
import org.junit.rules.TestWatcher;
import org.junit.runner.Description;
import org.junit.runners.model.Statement;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A set of real Elasticsearch nodes with this build's plugin installed, as a JUnit rule:
 *
 * <pre>{@code
 * @ClassRule public static final ElasticsearchCluster cluster = ElasticsearchCluster.singleNode("my-it").build();
 * @Rule public final TestRule logs = cluster.logTailOnFailure();
 * ... cluster.client() ...
 * }</pre>
 *
 * <p>Nodes listen on 127.0.0.1 on free ports, run with security off, {@code plugin.mandatory} set to our
 * plugin and a small heap (512m, {@code -Dtests.es.heap=1g} to change); a single node uses
 * {@code discovery.type=single-node}, a multi-node cluster real discovery (seed hosts, initial master
 * nodes on its first start). {@link #start()} waits until every node answers and the cluster health is
 * at least yellow with all nodes joined. The cluster's folder ({@code target/it/<name>/}) is wiped at
 * start and kept afterwards for inspection. Nodes are always stopped: by the rule, and, if the JVM
 * exits first, by a shutdown hook.
 *
 * <p>Only one cluster should run at a time (the build machine has 2 cores): use it as a
 * {@code @ClassRule} so each test class starts and stops its own.
 */
public final class ElasticsearchCluster extends ExternalResource implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(Long.getLong("tests.es.start.timeout.seconds", 240));
    private static final Duration HEALTH_TIMEOUT = Duration.ofSeconds(120);

    private final String name;
    private final int nodeCount;
    private final Map<String, String> extraSettings;
    private final boolean pathRepo;
    private final String heap;
    private final int fixedHttpPort;
    private final List<ElasticsearchNode> nodes = new ArrayList<>();
    private ElasticsearchDistribution distribution;
    private RestClient client;
    private volatile Throwable failureAlreadyLogged;

    private ElasticsearchCluster(Builder b) {
        this.name = b.name;
        this.nodeCount = b.nodeCount;
        this.extraSettings = Map.copyOf(b.settings);
        this.pathRepo = b.pathRepo;
        this.heap = b.heap;
        this.fixedHttpPort = b.fixedHttpPort;
    }

    public static Builder singleNode(String name) {
        return new Builder(name, 1);
    }

    public static Builder nodes(String name, int count) {
        return new Builder(name, count);
    }

    public static final class Builder {
        private final String name;
        private final int nodeCount;
        private final Map<String, String> settings = new LinkedHashMap<>();
        private boolean pathRepo;
        private String heap = System.getProperty("tests.es.heap", "512m");
        private int fixedHttpPort;

        private Builder(String name, int nodeCount) {
            if (name.matches("[a-z0-9][a-z0-9-]*") == false) {
                throw new IllegalArgumentException("cluster name must be lowercase letters, digits and '-': " + name);
            }
            if (nodeCount < 1) {
                throw new IllegalArgumentException("a cluster needs at least one node");
            }
            this.name = name;
            this.nodeCount = nodeCount;
        }

        /** A setting ({@code -E key=value}) for every node. */
        public Builder setting(String key, String value) {
            settings.put(key, value);
            return this;
        }

        /** Sets {@code path.repo} on every node to {@link #repoDir()}, for {@code fs} snapshot repositories. */
        public Builder withSnapshotRepositoryPath() {
            this.pathRepo = true;
            return this;
        }

        /** JVM heap of each node, e.g. {@code 512m} or {@code 1g}. */
        public Builder heap(String heap) {
            this.heap = heap;
            return this;
        }

        /** The HTTP port of a single node (e.g. 9200 for the local demo) instead of a free one. */
        public Builder httpPort(int port) {
            if (nodeCount != 1) {
                throw new IllegalArgumentException("a fixed HTTP port needs a single node");
            }
            this.fixedHttpPort = port;
            return this;
        }

        public ElasticsearchCluster build() {
            return new ElasticsearchCluster(this);
        }
    }

    public String name() {
        return name;
    }

    /** {@code <nodesRoot>/<cluster name>}; the cluster's nodes have their folders inside. */
    public Path dir() {
        return distribution().nodesRoot().resolve(name);
    }

    /** Where {@code fs} snapshot repositories may live (registered as {@code path.repo}); see the builder. */
    public Path repoDir() {
        return dir().resolve("snapshot-repo");
    }

    public List<ElasticsearchNode> nodes() {
        return List.copyOf(nodes);
    }

    public ElasticsearchNode node(int index) {
        return nodes.get(index);
    }

    public ElasticsearchNode node(String nodeName) {
        return nodes.stream().filter(n -> n.name().equals(nodeName)).findFirst()
            .orElseThrow(() -> new IllegalArgumentException("no node " + nodeName + " in " + nodes));
    }

    public List<ElasticsearchNode> runningNodes() {
        return nodes.stream().filter(ElasticsearchNode::isRunning).toList();
    }

    /**
     * A low-level REST client that spreads requests over the running nodes (kept up to date by
     * {@link #stopNode}, {@link #startNode}, {@link #fullRestart}). Closed with the cluster.
     */
    public synchronized RestClient client() {
        if (client == null) {
            List<ElasticsearchNode> running = runningNodes();
            if (running.isEmpty()) {
                throw new IllegalStateException("no node of " + name + " is running");
            }
            client = RestClient.builder(running.stream().map(n -> new HttpHost("127.0.0.1", n.httpPort(), "http")).toArray(HttpHost[]::new))
                .setRequestConfigCallback(c -> c.setConnectTimeout(5_000).setSocketTimeout(180_000))
                .build();
        }
        return client;
    }

    /** A client bound to one node only (caller closes it). */
    public RestClient clientFor(ElasticsearchNode node) {
        return RestClient.builder(new HttpHost("127.0.0.1", node.httpPort(), "http"))
            .setRequestConfigCallback(c -> c.setConnectTimeout(5_000).setSocketTimeout(180_000))
            .build();
    }

    /** Creates the nodes on fresh folders and free ports, starts them and waits for the cluster to form. */
    public synchronized void start() {
        if (nodes.isEmpty() == false) {
            throw new IllegalStateException(name + " was already started");
        }
        distribution = ElasticsearchDistribution.get();
        try {
            ElasticsearchDistribution.deleteTree(dir());
            Files.createDirectories(dir());
            if (pathRepo) {
                Files.createDirectories(repoDir());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        distribution.user().own(dir()); // the nodes write the snapshot repository too
        List<int[]> ports = new ArrayList<>();
        java.util.Set<Integer> taken = new java.util.HashSet<>();
        for (int i = 0; i < nodeCount; i++) {
            int httpPort = fixedHttpPort > 0 ? fixedHttpPort : freePort(taken);
            taken.add(httpPort);
            ports.add(new int[] { httpPort, freePort(taken) });
        }
        String seedHosts = ports.stream().map(p -> "127.0.0.1:" + p[1]).collect(Collectors.joining(","));
        String nodeNames = java.util.stream.IntStream.range(0, nodeCount).mapToObj(i -> name + "-" + i).collect(Collectors.joining(","));
        for (int i = 0; i < nodeCount; i++) {
            ElasticsearchNode node = new ElasticsearchNode(distribution, name, name + "-" + i, ports.get(i)[0], ports.get(i)[1], heap);
            if (nodeCount == 1) {
                node.setting("discovery.type", "single-node");
            } else {
                node.setting("discovery.seed_hosts", seedHosts);
                node.setting("cluster.initial_master_nodes", nodeNames);
            }
            if (pathRepo) {
                node.setting("path.repo", repoDir().toString());
            }
            extraSettings.forEach(node::setting);
            nodes.add(node);
        }
        long t0 = System.nanoTime();
        try {
            startAndAwait(nodes);
            awaitHealth("yellow", nodeCount);
        } catch (RuntimeException | Error e) {
            System.err.println("[it] cluster " + name + " did not start: " + e.getMessage());
            printLogTails(120);
            failureAlreadyLogged = e;
            stop();
            throw e;
        }
        // bootstrapped: a restarted node must rejoin this cluster, not help bootstrap a new one
        nodes.forEach(n -> n.setting("cluster.initial_master_nodes", null));
        System.out.printf("[it] cluster %s started: %s in %.1fs (logs: %s/<node>/console.log)%n", name, nodes, (System.nanoTime() - t0) / 1e9, dir());
    }

    /** Stops every node (gracefully, killing after a timeout) and closes the client. Idempotent. */
    public synchronized void stop() {
        closeClient();
        nodes.forEach(ElasticsearchNode::signalStop); // in parallel
        nodes.forEach(ElasticsearchNode::stop);
    }

    @Override
    public void close() {
        stop();
    }

    /** Gracefully stops one node; the client then only uses the others. */
    public synchronized void stopNode(ElasticsearchNode node) {
        node.stop();
        refreshClientNodes();
    }

    /** Starts a stopped node again on its old data and ports, and waits until it answers HTTP. */
    public synchronized void startNode(ElasticsearchNode node) {
        startAndAwait(List.of(node));
        refreshClientNodes();
    }

    /** Stops all nodes, then starts them all again on the same data and waits for the cluster to form. */
    public synchronized void fullRestart() {
        stop();
        startAndAwait(nodes);
        refreshClientNodes();
        awaitHealth("yellow", nodeCount);
    }

    /**
     * {@code GET _cluster/health?wait_for_status=<status>&wait_for_nodes=<n>&wait_for_no_initializing_shards}
     * (and no relocating shards); fails when it times out. Returns the health response.
     */
    public Map<String, Object> awaitHealth(String status, int expectedNodes) {
        return awaitHealth(status, expectedNodes, null);
    }

    /** As {@link #awaitHealth(String, int)}, for one index (or comma-separated indices) only. */
    public Map<String, Object> awaitHealth(String status, int expectedNodes, String index) {
        String endpoint = "/_cluster/health" + (index == null ? "" : "/" + index) + "?wait_for_status=" + status + "&wait_for_nodes="
            + expectedNodes + "&wait_for_no_initializing_shards=true&wait_for_no_relocating_shards=true&timeout=" + HEALTH_TIMEOUT.toSeconds() + "s";
        Map<String, Object> health = Json.call(client(), "GET", endpoint, null);
        if (Boolean.TRUE.equals(health.get("timed_out"))) {
            throw new AssertionError("cluster " + name + " did not reach " + status + " with " + expectedNodes + " node(s) in "
                + HEALTH_TIMEOUT.toSeconds() + "s: " + health);
        }
        return health;
    }

    /** Node id (as in {@code _nodes}) of every running node, by node name. */
    public Map<String, String> nodeIdsByName() {
        Map<String, Object> info = Json.call(client(), "GET", "/_nodes/_all/name", null);
        Map<String, String> ids = new LinkedHashMap<>();
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> byId = (Map<String, Map<String, Object>>) info.get("nodes");
        byId.forEach((id, n) -> ids.put((String) n.get("name"), id));
        return ids;
    }

    /** Prints the last lines of every node's output to stderr. */
    public void printLogTails(int lines) {
        for (ElasticsearchNode node : nodes) {
            System.err.println("===== [it] last " + lines + " lines of " + node.name() + " (" + node.consoleLog() + "; server log "
                + node.serverLog() + ") =====");
            System.err.println(node.logTail(lines));
        }
    }

    /** A {@code @Rule} that prints the nodes' log tails when a test fails. */
    public TestRule logTailOnFailure() {
        return new TestWatcher() {
            @Override
            protected void failed(Throwable e, Description description) {
                System.err.println("[it] " + description.getDisplayName() + " failed: " + e);
                printLogTails(60);
            }
        };
    }

    @Override
    public Statement apply(Statement base, Description description) {
        Statement inner = super.apply(base, description);
        return new Statement() {
            @Override
            public void evaluate() throws Throwable {
                try {
                    inner.evaluate();
                } catch (Throwable t) {
                    // failures outside a test method (@BeforeClass, @AfterClass), with the logs
                    if (nodes.isEmpty() == false && t != failureAlreadyLogged) {
                        System.err.println("[it] " + description.getDisplayName() + " failed: " + t);
                        printLogTails(60);
                    }
                    throw t;
                }
            }
        };
    }

    @Override
    protected void before() {
        start(); // stops what it started if it fails
    }

    @Override
    protected void after() {
        stop();
    }

    private void startAndAwait(List<ElasticsearchNode> toStart) {
        toStart.forEach(ElasticsearchNode::start); // all launch before any is awaited: they boot in parallel
        for (ElasticsearchNode node : toStart) {
            node.awaitStarted(START_TIMEOUT);
        }
    }

    private synchronized void refreshClientNodes() {
        List<ElasticsearchNode> running = runningNodes();
        if (client != null) {
            if (running.isEmpty()) {
                closeClient();
            } else {
                client.setNodes(running.stream().map(n -> new Node(new HttpHost("127.0.0.1", n.httpPort(), "http"))).toList());
            }
        }
    }

    private synchronized void closeClient() {
        if (client != null) {
            try {
                client.close();
            } catch (IOException ignored) {
                // nothing left to release that matters to the test
            }
            client = null;
        }
    }

    private ElasticsearchDistribution distribution() {
        return distribution != null ? distribution : ElasticsearchDistribution.get();
    }

    /** A port that is free on loopback now and not in {@code taken} (added to it). */
    private static int freePort(java.util.Set<Integer> taken) {
        for (int attempt = 0; attempt < 20; attempt++) {
            try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                if (taken.add(socket.getLocalPort())) {
                    return socket.getLocalPort();
                }
            } catch (IOException e) {
                throw new UncheckedIOException("no free port on loopback", e);
            }
        }
        throw new IllegalStateException("no distinct free port on loopback after 20 attempts");
    }
}
