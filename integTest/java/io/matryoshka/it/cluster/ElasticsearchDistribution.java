package io.matryoshka.it.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The unpacked Elasticsearch distribution (Maven's {@code unpack-elasticsearch} execution) with this
 * build's plugin zip installed, prepared once per test JVM: stale nodes of an interrupted earlier run are
 * killed, the plugin is re-installed with {@code bin/elasticsearch-plugin install --batch}, and, when the
 * build runs as root, the files are handed to the unprivileged {@link NodeUser}.
 *
 * <p>Locations come from system properties that failsafe sets (see pom.xml): {@code tests.es.home},
 * {@code tests.es.version}, {@code tests.plugin.zip}, {@code tests.plugin.name}, {@code tests.it.dir}
 * (where node folders go, target/it), {@code tests.es.java.home} (defaults to this JVM's java.home).
 */
public final class ElasticsearchDistribution {

    private static ElasticsearchDistribution instance;

    private final Path home;
    private final String version;
    private final Path pluginZip;
    private final String pluginName;
    private final Path nodesRoot;
    private final Path javaHome;
    private final NodeUser user;

    private ElasticsearchDistribution(Path home, String version, Path pluginZip, String pluginName, Path nodesRoot, Path javaHome, NodeUser user) {
        this.home = home;
        this.version = version;
        this.pluginZip = pluginZip;
        this.pluginName = pluginName;
        this.nodesRoot = nodesRoot;
        this.javaHome = javaHome;
        this.user = user;
    }

    /** The prepared distribution, preparing it on first use. */
    public static synchronized ElasticsearchDistribution get() {
        if (instance == null) {
            instance = prepare();
        }
        return instance;
    }

    public Path home() {
        return home;
    }

    public String version() {
        return version;
    }

    public String pluginName() {
        return pluginName;
    }

    /** Parent folder of every node folder ({@code <nodesRoot>/<cluster>/<node>}). */
    public Path nodesRoot() {
        return nodesRoot;
    }

    Path javaHome() {
        return javaHome;
    }

    NodeUser user() {
        return user;
    }

    /** Environment for Elasticsearch's scripts: the caller's, minus JVM options meant for Maven or tests. */
    Map<String, String> baseEnvironment() {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.keySet().removeIf(k -> k.startsWith("ES_") || k.startsWith("MAVEN_") || k.equals("JAVA_HOME") || k.equals("JAVA_TOOL_OPTIONS")
            || k.equals("_JAVA_OPTIONS") || k.equals("JDK_JAVA_OPTIONS") || k.equals("CLASSPATH"));
        env.put("ES_JAVA_HOME", javaHome.toString());
        return env;
    }

    private static ElasticsearchDistribution prepare() {
        Path home = requiredPath("tests.es.home");
        String version = required("tests.es.version");
        Path zip = requiredPath("tests.plugin.zip");
        String pluginName = required("tests.plugin.name");
        Path itDir = requiredPath("tests.it.dir");
        Path javaHome = Path.of(System.getProperty("tests.es.java.home", System.getProperty("java.home"))).toAbsolutePath();
        if (Files.isExecutable(home.resolve("bin/elasticsearch")) == false) {
            throw new IllegalStateException("no Elasticsearch distribution at " + home + ": run the integration tests through Maven (./mvnw verify)");
        }
        if (Files.isRegularFile(zip) == false) {
            throw new IllegalStateException("no plugin zip at " + zip + ": run ./mvnw verify (package builds it)");
        }
        // a folder the node user can reach even when the project sits under e.g. /root (see below)
        Path fallbackRoot = Path.of("/tmp", "matryoshka-it-" + Integer.toHexString(itDir.toString().hashCode()));
        NodeProcesses.killStale(itDir, home);
        NodeProcesses.killStale(fallbackRoot, fallbackRoot);
        NodeUser user = NodeUser.forThisProcess();
        installPlugin(home, zip, pluginName, javaHome);
        createDirectories(itDir);
        user.own(home);
        user.own(itDir);
        if (user.dropsPrivileges()) {
            if (user.canRead(javaHome.resolve("bin/java")) == false) {
                throw new IllegalStateException("user " + user.name() + " cannot read " + javaHome + ", the JDK for the nodes: use a JDK"
                    + " installed in a world-readable folder, or run the build as a non-root user");
            }
            if (user.canRead(home.resolve("bin/elasticsearch")) == false || user.canWriteIn(itDir) == false) {
                // A parent of the project is not traversable by others (e.g. /root/...). Run the nodes from a
                // copy under /tmp rather than loosening permissions of folders the build does not own.
                System.out.println("[it] NOTE: user " + user.name() + " cannot reach " + itDir + "; running the nodes from " + fallbackRoot);
                try {
                    deleteTree(fallbackRoot);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                createDirectories(fallbackRoot);
                NodeUser.Result copy = NodeUser.exec(List.of("cp", "-a", home.toString(), fallbackRoot.resolve("elasticsearch").toString()));
                if (copy.ok() == false) {
                    throw new IllegalStateException("copying " + home + " to " + fallbackRoot + " failed: " + copy.output());
                }
                home = fallbackRoot.resolve("elasticsearch");
                itDir = fallbackRoot.resolve("it");
                createDirectories(itDir);
                user.own(fallbackRoot);
                if (user.canRead(home.resolve("bin/elasticsearch")) == false || user.canWriteIn(itDir) == false) {
                    throw new IllegalStateException("user " + user.name() + " cannot reach " + fallbackRoot + " either; run the build as a non-root user");
                }
            }
        }
        System.out.println("[it] Elasticsearch " + version + " at " + home + " with plugin " + pluginName + " installed; nodes run as "
            + user.name() + " with ES_JAVA_HOME=" + javaHome + "; node folders under " + itDir);
        return new ElasticsearchDistribution(home, version, zip, pluginName, itDir, javaHome, user);
    }

    private static void installPlugin(Path home, Path zip, String pluginName, Path javaHome) {
        Path plugins = home.resolve("plugins");
        try (Stream<Path> s = Files.list(plugins)) {
            // an earlier run's copy (maybe an older build) and leftovers of an interrupted install
            for (Path p : s.filter(p -> p.getFileName().toString().equals(pluginName) || p.getFileName().toString().startsWith(".installing")).toList()) {
                deleteTree(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> command = new ArrayList<>(List.of(home.resolve("bin/elasticsearch-plugin").toString(), "install", "--batch", zip.toUri().toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("ES_") || k.equals("JAVA_HOME") || k.equals("JAVA_TOOL_OPTIONS"));
        pb.environment().put("ES_JAVA_HOME", javaHome.toString());
        try {
            Process p = pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (p.waitFor() != 0 || Files.isDirectory(plugins.resolve(pluginName)) == false) {
                throw new IllegalStateException("installing " + zip + " failed (exit " + p.exitValue() + "):\n" + out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    private static String required(String property) {
        String value = System.getProperty(property);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("system property " + property + " is not set: run the integration tests through Maven (./mvnw verify)");
        }
        return value;
    }

    private static Path requiredPath(String property) {
        return Path.of(required(property)).toAbsolutePath().normalize();
    }
}
