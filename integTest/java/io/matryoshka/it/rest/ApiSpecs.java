package io.matryoshka.it.rest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The REST API specs the YAML {@code do} sections are resolved with, loaded by API name: first this
 * project's own {@code rest-api-spec/api/<name>.json} (our plugin's endpoints), then Elasticsearch's from
 * the {@code org.elasticsearch:rest-api-spec} jar on the test class path ({@code rest-api-spec/api/<name>.json}).
 */
final class ApiSpecs {

    private static final String CLASSPATH_DIR = "rest-api-spec/api/";

    private final Path ownApiDir;
    private final Map<String, ApiSpec> cache = new HashMap<>();
    private Set<String> commonParams;

    ApiSpecs(Path ownApiDir) {
        this.ownApiDir = ownApiDir;
    }

    synchronized ApiSpec get(String apiName) {
        ApiSpec spec = cache.get(apiName);
        if (spec == null) {
            spec = ApiSpec.parse(apiName, load(apiName), commonParams());
            cache.put(apiName, spec);
        }
        return spec;
    }

    private Map<String, Object> load(String apiName) {
        if (apiName.matches("[A-Za-z0-9_.]+") == false) {
            throw new IllegalArgumentException("not an API name: [" + apiName + "]");
        }
        Path own = ownApiDir.resolve(apiName + ".json");
        try {
            if (Files.isRegularFile(own)) {
                return readMap(Files.newInputStream(own), own.toString());
            }
            InputStream fromJar = ApiSpecs.class.getClassLoader().getResourceAsStream(CLASSPATH_DIR + apiName + ".json");
            if (fromJar == null) {
                throw new IllegalArgumentException("unknown API [" + apiName + "]: neither " + own + " nor Elasticsearch's "
                    + CLASSPATH_DIR + apiName + ".json (org.elasticsearch:rest-api-spec) exists");
            }
            return readMap(fromJar, CLASSPATH_DIR + apiName + ".json");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    private synchronized Set<String> commonParams() {
        if (commonParams == null) {
            InputStream in = ApiSpecs.class.getClassLoader().getResourceAsStream(CLASSPATH_DIR + "_common.json");
            if (in == null) {
                throw new IllegalStateException(CLASSPATH_DIR + "_common.json is not on the class path: is org.elasticsearch:rest-api-spec a test dependency?");
            }
            try {
                Map<String, Object> common = readMap(in, "_common.json");
                commonParams = Set.copyOf(((Map<String, Object>) common.getOrDefault("params", Map.of())).keySet());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return commonParams;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> readMap(InputStream in, String source) throws IOException {
        try (in) {
            return Yaml.JSON.readValue(in, Map.class);
        } catch (IOException e) {
            throw new IOException("cannot parse API spec " + source + ": " + e.getMessage(), e);
        }
    }
}
