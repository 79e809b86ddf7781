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
