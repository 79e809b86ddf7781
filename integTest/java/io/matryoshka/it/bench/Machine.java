package io.matryoshka.it.bench;

import io.matryoshka.it.cluster.Json;

import org.elasticsearch.client.RestClient;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What the benchmark ran on: CPU, memory, load, the node's JVM and version, this checkout's commit. */
final class Machine {

    private Machine() {}

    static Map<String, Object> describe(RestClient client) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu", cpuModel());
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("memory_total", memTotal());
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        m.put("load_average_at_start", loadAverage());
        m.put("top_at_start", List.of(run("top", "-bn1", "-w", "200").split("\n")).stream().limit(14).toList());
        m.put("client_jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        try {
            Map<String, Object> nodes = Json.call(client, "GET", "/_nodes/_local/jvm,os?filter_path=nodes.*.version,nodes.*.jvm.version,"
                + "nodes.*.jvm.vm_name,nodes.*.jvm.mem.heap_max_in_bytes,nodes.*.os.allocated_processors", null);
            @SuppressWarnings("unchecked")
            Map<String, Object> node = (Map<String, Object>) ((Map<String, Object>) nodes.get("nodes")).values().iterator().next();
            m.put("elasticsearch", node.get("version"));
            m.put("node_jvm", Json.path(node, "jvm.vm_name") + " " + Json.path(node, "jvm.version"));
            m.put("node_heap_bytes", Json.path(node, "jvm.mem.heap_max_in_bytes"));
            m.put("node_allocated_processors", Json.path(node, "os.allocated_processors"));
        } catch (RuntimeException e) {
            m.put("node_info_error", e.getMessage());
        }
        m.put("git_commit", run("git", "rev-parse", "HEAD"));
        m.put("git_dirty", run("git", "status", "--porcelain", "--untracked-files=no").isBlank() ? "no" : "yes");
        return m;
    }

    /** CPU seconds (user + system) used so far by every process that is neither this JVM nor one of its descendants (the node). */
    static double othersCpuSeconds() {
        java.util.Set<Long> ours = new java.util.HashSet<>();
        ours.add(ProcessHandle.current().pid());
        ProcessHandle.current().descendants().forEach(h -> ours.add(h.pid()));
        double ticks = 0;
        try (java.util.stream.Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                String name = p.getFileName().toString();
                if (name.chars().allMatch(Character::isDigit) == false || ours.contains(Long.parseLong(name))) {
                    continue;
                }
                try {
                    String stat = Files.readString(p.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
                } catch (Exception gone) {
                    // the process exited meanwhile
                }
            }
        } catch (Exception e) {
            return Double.NaN;
        }
        return ticks / 100.0; // USER_HZ
    }

    /** Cores' worth of CPU the other processes used over {@code millis}. */
    static double othersCores(long millis) {
        double before = othersCpuSeconds();
        long t0 = System.nanoTime();
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return (othersCpuSeconds() - before) / ((System.nanoTime() - t0) / 1e9);
    }

    /**
     * Waits (up to {@code maxSeconds}) until the other processes on the machine use less than {@code maxCores}
     * over 5 s; returns the seconds waited (negative: gave up).
     */
    static double waitQuiet(double maxCores, int maxSeconds) {
        long start = System.nanoTime();
        boolean told = false;
        while (true) {
            double others = othersCores(5000);
            double waited = (System.nanoTime() - start) / 1e9;
            if (others < maxCores) {
                if (told) {
                    System.err.printf("[bench] quiet again after %.0fs%n", waited);
                }
                return waited;
            }
            if (waited > maxSeconds) {
                System.err.printf("[bench] still busy (%.2f cores used by other processes) after %.0fs: measuring anyway%n", others, waited);
                return -waited;
            }
            if (told == false) {
                System.err.printf("[bench] other processes use %.2f cores: waiting up to %ds for the machine to be quiet%n", others, maxSeconds);
                told = true;
            }
        }
    }

    static String loadAverage() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return parts[0] + " " + parts[1] + " " + parts[2];
        } catch (Exception e) {
            return "unknown";
        }
    }

    private static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name")).findFirst()
                .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown");
        } catch (Exception e) {
            return "unknown";
        }
    }

    private static String memTotal() {
        try {
            return Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal")).findFirst()
                .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown");
        } catch (Exception e) {
            return "unknown";
        }
    }

    private static String run(String... command) {
        try {
            Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            return p.waitFor() == 0 ? out : "unknown";
        } catch (Exception e) {
            return "unknown";
        }
    }
}
