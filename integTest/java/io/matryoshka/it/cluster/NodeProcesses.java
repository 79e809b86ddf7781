package io.matryoshka.it.cluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Makes sure no node outlives the build. Every started node is registered here; one JVM shutdown hook
 * stops whatever is still registered (tests that forgot, a failure between start and stop, Ctrl-C, or
 * failsafe exiting the fork because Maven went away). A node killed with the test JVM by SIGKILL cannot
 * be helped by a hook: its pid files stay behind and {@link #killStale} ends it at the next run.
 */
final class NodeProcesses {

    private static final Set<ElasticsearchNode> RUNNING = new LinkedHashSet<>();
    private static boolean hookInstalled;
    private static volatile boolean shuttingDown;

    private NodeProcesses() {}

    static synchronized void register(ElasticsearchNode node) {
        if (hookInstalled == false) {
            Runtime.getRuntime().addShutdownHook(new Thread(NodeProcesses::stopAll, "stop-elasticsearch-nodes"));
            hookInstalled = true;
        }
        RUNNING.add(node);
    }

    static synchronized void unregister(ElasticsearchNode node) {
        RUNNING.remove(node);
    }

    /** Refuses to launch a node once the JVM is exiting (the hook would not see it). */
    static void checkNotShuttingDown() {
        if (shuttingDown) {
            throw new IllegalStateException("the test JVM is shutting down: not starting another node");
        }
    }

    private static void stopAll() {
        shuttingDown = true;
        List<ElasticsearchNode> nodes;
        synchronized (NodeProcesses.class) {
            nodes = new ArrayList<>(RUNNING);
        }
        if (nodes.isEmpty() == false) {
            System.err.println("[it] JVM exiting with " + nodes.size() + " node(s) still running: stopping them");
        }
        // signal all first so they shut down in parallel, then wait
        nodes.forEach(ElasticsearchNode::signalStop);
        nodes.forEach(ElasticsearchNode::stop);
    }

    /**
     * Kills node processes recorded in pid files under {@code root} by an earlier run that never stopped
     * them, but only processes whose command line mentions {@code homeMarker} (so a recycled pid of an
     * unrelated process is left alone).
     */
    static void killStale(Path root, Path homeMarker) {
        if (Files.isDirectory(root) == false) {
            return;
        }
        List<Path> pidFiles;
        try (Stream<Path> s = Files.walk(root, 4)) {
            pidFiles = s.filter(p -> p.getFileName().toString().endsWith(".pid")).toList();
        } catch (IOException e) {
            return;
        }
        for (Path pidFile : pidFiles) {
            try {
                long pid = Long.parseLong(Files.readString(pidFile).trim());
                Optional<ProcessHandle> handle = ProcessHandle.of(pid);
                if (handle.isPresent() && handle.get().isAlive()
                    && handle.get().info().commandLine().orElse("").contains(homeMarker.toString())) {
                    System.err.println("[it] killing node process " + pid + " left running by an earlier run (" + pidFile + ")");
                    handle.get().descendants().forEach(ProcessHandle::destroyForcibly);
                    handle.get().destroyForcibly();
                    handle.get().onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
                }
                Files.deleteIfExists(pidFile);
            } catch (Exception e) {
                // unreadable or half-written pid file: nothing we can safely kill
            }
        }
    }
}
