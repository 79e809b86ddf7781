import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.lang.module.ResolvedModule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Build check run in {@code package} (pom.xml, execution {@code plugin-package-check}) as a single-file
 * program: {@code java PluginPackageCheck.java <plugin.zip> <plugin-jar-name> <es-home> <es-version>}.
 *
 * <p>Unit tests run on a flat class path, where every class of Elasticsearch, Lucene and the JDK is
 * visible. A real node is different: it runs Elasticsearch as named modules in the boot layer
 * ({@code --module-path lib --add-modules=ALL-MODULE-PATH,jdk.net,jdk.management.agent,jdk.incubator.vector
 * -m org.elasticsearch.server}) and loads a classic plugin into an unnamed module of its own class loader.
 * Such a plugin can use only packages that a boot-layer module exports without qualification; anything
 * else fails at run time ({@code IllegalAccessError}, {@code NoClassDefFoundError}) on the first call.
 *
 * <p>So this check (1) validates the zip the installer will see: descriptor at the root, filtered, the
 * required keys, {@code elasticsearch.version} equal to the distribution's, the plugin jar present, no jar
 * that repeats a package of the server's lib/ (the installer's jar-hell check); and (2) lists, with
 * {@code jdeps}, every package the bundled classes reference and resolves each one against the same boot
 * layer the node builds (the JDK running Maven, which is also the node's ES_JAVA_HOME, plus the
 * distribution's lib/). A reference from the plugin's own jar to a package that is not exported
 * unqualified, not in the boot layer, or nowhere at all fails the build. Bundled third-party jars get
 * warnings only, since libraries often reference optional packages on paths that never run.
 *
 * <p>The node's extra {@code --add-opens ...=ALL-UNNAMED} flags are deliberately not honoured: they are
 * Elasticsearch's internal workarounds, not an API, and entitlements may still refuse such access.
 */
public class PluginPackageCheck {

    private static final Set<String> REQUIRED_KEYS =
        Set.of("name", "description", "version", "classname", "java.version", "elasticsearch.version");
    private static final Set<String> OPTIONAL_KEYS =
        Set.of("extended.plugins", "has.native.controller", "licensed", "modulename", "deployment.target");
    /** Root modules of the node's boot layer besides ALL-MODULE-PATH (from the server's command line). */
    private static final List<String> EXTRA_ROOT_MODULES = List.of("jdk.net", "jdk.management.agent", "jdk.incubator.vector");

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: java PluginPackageCheck.java <plugin.zip> <plugin-jar-name> <es-home> <es-version>");
            System.exit(2);
        }
        Path zip = Path.of(args[0]);
        String pluginJarName = args[1];
        Path esHome = Path.of(args[2]);
        String esVersion = args[3];
        List<String> errors = new ArrayList<>();
        List<String> warnings = new ArrayList<>();

        Path libDir = esHome.resolve("lib");
        if (Files.isDirectory(libDir) == false) {
            fail(List.of("no Elasticsearch distribution at " + esHome + " (execution unpack-elasticsearch should have unpacked it)"));
        }
        List<Path> libJars;
        try (Stream<Path> s = Files.list(libDir)) {
            libJars = s.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
        }
        ModuleFinder libFinder = ModuleFinder.of(libJars.toArray(Path[]::new));
        Set<String> roots = new TreeSet<>(EXTRA_ROOT_MODULES);
        libFinder.findAll().forEach(ref -> roots.add(ref.descriptor().name()));
        Configuration bootLayer = Configuration.empty().resolveAndBind(ModuleFinder.ofSystem(), libFinder, roots);

        Map<String, ModuleDescriptor> packageToBootModule = new HashMap<>();
        for (ResolvedModule m : bootLayer.modules()) {
            for (String pkg : m.reference().descriptor().packages()) {
                packageToBootModule.put(pkg, m.reference().descriptor());
            }
        }
        Map<String, String> packageToJdkModule = new HashMap<>();
        for (ModuleReference ref : ModuleFinder.ofSystem().findAll()) {
            for (String pkg : ref.descriptor().packages()) {
                packageToJdkModule.put(pkg, ref.descriptor().name());
            }
        }
        Map<String, String> libPackageToJar = new HashMap<>();
        for (Path jar : libJars) {
            for (String pkg : packagesOf(jar)) {
                libPackageToJar.put(pkg, jar.getFileName().toString());
            }
        }

        Path work = zip.toAbsolutePath().getParent().resolve("plugin-package-check");
        deleteTree(work);
        Files.createDirectories(work);
        List<Path> bundledJars = new ArrayList<>();
        Properties descriptor = null;
        try (ZipFile zf = new ZipFile(zip.toFile())) {
            for (ZipEntry e : zf.stream().toList()) {
                String name = e.getName();
                if (name.equals("plugin-descriptor.properties")) {
                    descriptor = new Properties();
                    try (InputStream in = zf.getInputStream(e)) {
                        descriptor.load(in);
                    }
                } else if (name.endsWith(".jar")) {
                    if (name.contains("/")) {
                        errors.add("zip entry " + name + ": jars must be at the zip root");
                        continue;
                    }
                    Path out = work.resolve(name);
                    try (InputStream in = zf.getInputStream(e)) {
                        Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
                    }
                    bundledJars.add(out);
                }
            }
        }
        if (descriptor == null) {
            fail(List.of(zip + " has no plugin-descriptor.properties at its root (a top folder? the installer needs it at the root)"));
        }
        for (String key : REQUIRED_KEYS) {
            if (descriptor.getProperty(key, "").isBlank()) {
                errors.add("plugin-descriptor.properties: required key '" + key + "' is missing or empty");
            }
        }
        for (String key : descriptor.stringPropertyNames()) {
            if (REQUIRED_KEYS.contains(key) == false && OPTIONAL_KEYS.contains(key) == false) {
                errors.add("plugin-descriptor.properties: key '" + key + "' is not one Elasticsearch accepts");
            }
            if (descriptor.getProperty(key).contains("${")) {
                errors.add("plugin-descriptor.properties: '" + key + "=" + descriptor.getProperty(key) + "' was not filtered");
            }
        }
        if (esVersion.equals(descriptor.getProperty("elasticsearch.version")) == false) {
            errors.add("plugin-descriptor.properties: elasticsearch.version=" + descriptor.getProperty("elasticsearch.version")
                + " but the node is " + esVersion + " (must be equal)");
        }
        Path pluginJar = work.resolve(pluginJarName);
        if (bundledJars.contains(pluginJar) == false) {
            fail(List.of(zip + " does not contain the plugin jar " + pluginJarName + " at its root; it has " + bundledJars));
        }
        String classname = descriptor.getProperty("classname", "");
        try (ZipFile jf = new ZipFile(pluginJar.toFile())) {
            if (jf.getEntry(classname.replace('.', '/') + ".class") == null) {
                errors.add("plugin-descriptor.properties: classname " + classname + " is not in " + pluginJarName);
            }
        }

        Map<String, String> bundledPackageToJar = new HashMap<>();
        for (Path jar : bundledJars) {
            for (String pkg : packagesOf(jar)) {
                String libJar = libPackageToJar.get(pkg);
                if (libJar != null) {
                    errors.add(jar.getFileName() + " repeats package " + pkg + " of the server's lib/" + libJar
                        + " (jar hell: the installer refuses it; make that dependency <scope>provided</scope>)");
                }
                bundledPackageToJar.put(pkg, jar.getFileName().toString());
            }
        }

        // jdeps prints "   from.package  -> to.package  location" under a "x.jar -> ..." header per jar.
        Map<String, Set<String>> referencesByJar = new TreeMap<>();
        List<String> jdepsArgs = new ArrayList<>(List.of("--multi-release", "21", "-verbose:package", "-filter:none"));
        bundledJars.forEach(j -> jdepsArgs.add(j.toString()));
        String jdepsOutput = runJdeps(jdepsArgs);
        String currentJar = null;
        for (String line : jdepsOutput.split("\\R")) {
            if (line.isBlank()) {
                continue;
            }
            String[] cols = line.trim().split("\\s+");
            if (Character.isWhitespace(line.charAt(0)) == false) {
                currentJar = cols[0];
            } else if (cols.length >= 3 && cols[1].equals("->") && currentJar != null) {
                referencesByJar.computeIfAbsent(currentJar, k -> new TreeSet<>()).add(cols[2]);
            }
        }
        int checked = 0;
        for (Map.Entry<String, Set<String>> entry : referencesByJar.entrySet()) {
            String jar = entry.getKey();
            List<String> sink = jar.equals(pluginJarName) ? errors : warnings;
            for (String pkg : entry.getValue()) {
                checked++;
                if (bundledPackageToJar.containsKey(pkg)) {
                    continue;
                }
                ModuleDescriptor module = packageToBootModule.get(pkg);
                if (module != null) {
                    boolean exported = module.isAutomatic()
                        || module.exports().stream().anyMatch(x -> x.source().equals(pkg) && x.isQualified() == false);
                    if (exported == false) {
                        sink.add(jar + " uses package " + pkg + " of module " + module.name()
                            + ", which does not export it to plugins (only qualified or not at all)");
                    }
                } else if (packageToJdkModule.containsKey(pkg)) {
                    sink.add(jar + " uses package " + pkg + " of JDK module " + packageToJdkModule.get(pkg)
                        + ", which is not in the node's boot layer");
                } else if (jar.equals(pluginJarName)) {
                    errors.add(jar + " uses package " + pkg
                        + ", which is in none of the node's lib/ jars, the JDK or the plugin zip (an Elasticsearch module? a test or provided-only dependency?)");
                }
            }
        }

        warnings.forEach(w -> System.out.println("[plugin-package-check] WARNING: " + w));
        if (errors.isEmpty() == false) {
            fail(errors);
        }
        System.out.println("[plugin-package-check] OK: " + zip.getFileName() + " (" + bundledJars.size() + " jar(s), "
            + checked + " referenced packages resolved against Elasticsearch " + esVersion + "'s boot layer: "
            + bootLayer.modules().size() + " modules)");
    }

    private static String runJdeps(List<String> args) {
        ToolProvider jdeps = ToolProvider.findFirst("jdeps")
            .orElseThrow(() -> new IllegalStateException("this JDK has no jdeps; run Maven with a full JDK 21+"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = jdeps.run(new PrintWriter(out, true), new PrintWriter(err, true), args.toArray(String[]::new));
        if (rc != 0) {
            fail(List.of("jdeps " + String.join(" ", args) + " failed (" + rc + "):\n" + out + err));
        }
        return out.toString();
    }

    /** Packages of a jar's classes, including multi-release ones, without module-info. */
    private static Set<String> packagesOf(Path jar) throws IOException {
        Set<String> packages = new TreeSet<>();
        try (ZipFile zf = new ZipFile(jar.toFile())) {
            zf.stream().map(ZipEntry::getName).filter(n -> n.endsWith(".class")).forEach(n -> {
                String path = n.startsWith("META-INF/versions/") ? n.replaceFirst("^META-INF/versions/\\d+/", "") : n;
                int slash = path.lastIndexOf('/');
                if (slash > 0 && path.startsWith("META-INF/") == false) {
                    packages.add(path.substring(0, slash).replace('/', '.'));
                }
            });
        }
        return packages;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    private static void fail(List<String> errors) {
        errors.forEach(e -> System.err.println("[plugin-package-check] ERROR: " + e));
        System.err.println("[plugin-package-check] FAILED: the plugin would not install or would fail at run time on a real node.");
        System.exit(1);
    }
}
