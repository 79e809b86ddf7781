package io.matryoshka.it.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One real Elasticsearch node: a process of the unpacked distribution with its own folder
 * {@code <nodesRoot>/<cluster>/<node>/} holding {@code config/} (copied from the distribution, used as
 * ES_PATH_CONF), {@code data/}, {@code logs/} (the server's log files, e.g. {@code <cluster>.log}),
 * {@code tmp/} (ES_TMPDIR), {@code console.log} (everything the process printed, appended across
 * restarts, each start marked) and the pid files.
 *
 * <p>Settings are passed as {@code -E key=value}; data survives {@link #stop()} and a later
 * {@link #start()} (a restart). Stopping sends SIGTERM to the launcher, which shuts the server down
 * gracefully; after 60 s the launcher and its children are killed.
 */
public final class ElasticsearchNode {

    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

    private final ElasticsearchDistribution distribution;
    private final String clusterName;
    private final String name;
    private final Path dir;
    private final int httpPort;
    private final int transportPort;
    private final String heap;
    private final Map<String, String> settings = new LinkedHashMap<>();
    private Process process;
    private List<ProcessHandle> serverProcesses = List.of();
    private int starts;

    ElasticsearchNode(ElasticsearchDistribution distribution, String clusterName, String name, int httpPort, int transportPort, String heap) {
        this.distribution = distribution;
        this.clusterName = clusterName;
        this.name = name;
        this.dir = distribution.nodesRoot().resolve(clusterName).resolve(name);
        this.httpPort = httpPort;
        this.transportPort = transportPort;
        this.heap = heap;
        settings.put("cluster.name", clusterName);
        settings.put("node.name", name);
        settings.put("network.host", "127.0.0.1");
        settings.put("http.port", Integer.toString(httpPort));
        settings.put("transport.port", Integer.toString(transportPort));
        settings.put("path.data", dataDir().toString());
        settings.put("path.logs", logsDir().toString());
        settings.put("xpack.security.enabled", "false");
        // the node refuses to start without our plugin: a broken install cannot pass unnoticed
        settings.put("plugin.mandatory", distribution.pluginName());
        // tests must not depend on how full the build machine's disk is
        settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");
    }

    public String name() {
        return name;
    }

    public int httpPort() {
        return httpPort;
    }

    public int transportPort() {
        return transportPort;
    }

    /** {@code 127.0.0.1:<http port>} */
    public String httpAddress() {
        return "127.0.0.1:" + httpPort;
    }

    public Path dir() {
        return dir;
    }

    public Path dataDir() {
        return dir.resolve("data");
    }

    public Path logsDir() {
        return dir.resolve("logs");
    }

    /** The server's main log file. */
    public Path serverLog() {
        return logsDir().resolve(clusterName + ".log");
    }

    /** Everything the node process printed, across restarts. */
    public Path consoleLog() {
        return dir.resolve("console.log");
    }

    /** Sets (or, with a null value, removes) a setting for the next start. */
    public synchronized void setting(String key, String value) {
        if (value == null) {
            settings.remove(key);
        } else {
            settings.put(key, value);
        }
    }

    public synchronized Map<String, String> settings() {
        return Map.copyOf(settings);
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Launches the node and returns at once; see {@link #awaitStarted}. */
    public synchronized void start() {
        if (process != null) {
            throw new IllegalStateException(name + " is already running");
        }
        NodeUser user = distribution.user();
        Path config = dir.resolve("config");
        try {
            for (String sub : List.of("data", "logs", "tmp")) {
                Files.createDirectories(dir.resolve(sub));
            }
            if (Files.isDirectory(config) == false) {
                copyTree(distribution.home().resolve("config"), config);
            }
            starts++;
            Files.writeString(consoleLog(), "\n===== [it] start #" + starts + " of " + name + " at " + Instant.now() + " =====\n",
                StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        user.own(dir);

        List<String> command = new ArrayList<>();
        command.add(distribution.home().resolve("bin/elasticsearch").toString());
        command.add("-p");
        command.add(dir.resolve("server.pid").toString());
        settings.forEach((k, v) -> {
            command.add("-E");
            command.add(k + "=" + v);
        });
        ProcessBuilder pb = new ProcessBuilder(user.wrap(command)).directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(consoleLog().toFile()));
        pb.environment().clear();
        pb.environment().putAll(distribution.baseEnvironment());
        pb.environment().put("ES_PATH_CONF", config.toString());
        pb.environment().put("ES_TMPDIR", dir.resolve("tmp").toString());
        pb.environment().put("ES_JAVA_OPTS", "-Xms" + heap + " -Xmx" + heap);
        pb.environment().put("HOME", dir.toString());
        NodeProcesses.checkNotShuttingDown();
        try {
            process = pb.start();
            process.getOutputStream().close(); // no terminal input: like </dev/null
            Files.writeString(dir.resolve("launcher.pid"), Long.toString(process.pid()));
        } catch (IOException e) {
            process = null;
            throw new UncheckedIOException("could not start " + name + ": " + e.getMessage(), e);
        }
        NodeProcesses.register(this);
    }

    /** Waits until the node answers HTTP; fails at once, with its log, if the process exits meanwhile. */
    public void awaitStarted(Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        while (true) {
            Process p;
            synchronized (this) {
                p = process;
            }
            if (p == null) {
                throw new IllegalStateException(name + " is not started");
            }
            if (p.isAlive() == false) {
                throw new IllegalStateException(name + " exited with code " + p.exitValue() + " while starting. Last lines of "
                    + consoleLog() + ":\n" + logTail(80));
            }
            if (httpAnswers()) {
                synchronized (this) {
                    serverProcesses = p.descendants().toList();
                }
                return;
            }
            if (Instant.now().isAfter(deadline)) {
                throw new IllegalStateException(name + " did not answer on " + httpAddress() + " within " + timeout.toSeconds() + "s. Last lines of "
                    + consoleLog() + ":\n" + logTail(80));
            }
            sleep(250);
        }
    }

    /**
     * True once the HTTP port answers at all: a node binds HTTP only at the end of its start. (Any status
     * counts: this distribution has no handler for {@code GET /}, it answers 405.)
     */
    private boolean httpAnswers() {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://" + httpAddress() + "/_nodes/_local/name").toURL().openConnection();
            c.setConnectTimeout(1000);
            c.setReadTimeout(10000);
            try {
                return c.getResponseCode() > 0;
            } finally {
                c.disconnect();
            }
        } catch (IOException e) {
            return false;
        }
    }

    /** Asks the node to shut down (SIGTERM to its launcher) without waiting. */
    synchronized void signalStop() {
        if (process != null && process.isAlive()) {
            process.destroy();
        }
    }

    /** Stops the node gracefully, killing it after 60 s; a no-op when it is not running. Keeps its files. */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        List<ProcessHandle> tree = new ArrayList<>(serverProcesses);
        process.descendants().forEach(tree::add);
        signalStop();
        try {
            if (process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS) == false) {
                System.err.println("[it] " + name + " did not stop within " + STOP_TIMEOUT.toSeconds() + "s: killing it");
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
            for (ProcessHandle h : tree) {
                // the server JVM exits when its launcher goes; make sure of it
                if (h.isAlive()) {
                    try {
                        h.onExit().get(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                    } catch (Exception timeout) {
                        h.destroyForcibly();
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        } finally {
            process = null;
            serverProcesses = List.of();
            NodeProcesses.unregister(this);
            try {
                Files.deleteIfExists(dir.resolve("launcher.pid"));
            } catch (IOException ignored) {
                // a stale pid file is checked against the command line before anything is killed
            }
        }
    }

    /** The last {@code lines} lines this node printed since its latest start. */
    public String logTail(int lines) {
        try {
            if (Files.exists(consoleLog()) == false) {
                return "(no " + consoleLog() + ")";
            }
            List<String> all = Files.readAllLines(consoleLog(), StandardCharsets.UTF_8);
            int lastStart = 0;
            for (int i = 0; i < all.size(); i++) {
                if (all.get(i).startsWith("===== [it] start #")) {
                    lastStart = i;
                }
            }
            List<String> tail = all.subList(Math.max(lastStart, all.size() - lines), all.size());
            return String.join("\n", tail);
        } catch (IOException | UncheckedIOException e) {
            return "(could not read " + consoleLog() + ": " + e + ")";
        }
    }

    @Override
    public String toString() {
        return name + "[http " + httpAddress() + ", transport " + transportPort + "]";
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path source : s.toList()) {
                Path target = to.resolve(from.relativize(source).toString());
                if (Files.isDirectory(source)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
