package io.matryoshka.it.rest;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One REST API as described by a JSON spec of Elasticsearch's {@code rest-api-spec} format
 * ({@code {"<api>": {"url": {"paths": [{"path", "methods", "parts"}]}, "params", "body", "headers"}}}):
 * turns the arguments of a YAML {@code do} section into a method, a path and query parameters.
 */
final class ApiSpec {

    record UrlPath(String path, List<String> methods, Set<String> parts) {}

    /** What to send. {@code body} is null, or the serialized text. */
    record HttpCall(String method, String path, Map<String, String> params, String body, String contentType) {}

    private final String name;
    private final List<UrlPath> paths;
    private final Set<String> params;
    private final boolean bulkBody;
    private final String contentType;

    private ApiSpec(String name, List<UrlPath> paths, Set<String> params, boolean bulkBody, String contentType) {
        this.name = name;
        this.paths = paths;
        this.params = params;
        this.bulkBody = bulkBody;
        this.contentType = contentType;
    }

    @SuppressWarnings("unchecked")
    static ApiSpec parse(String apiName, Map<String, Object> specFile, Set<String> commonParams) {
        Object body = specFile.get(apiName);
        if (body instanceof Map == false) {
            throw new IllegalArgumentException("spec of " + apiName + " has no top-level key \"" + apiName + "\" (keys: " + specFile.keySet() + ")");
        }
        Map<String, Object> spec = (Map<String, Object>) body;
        List<UrlPath> paths = new ArrayList<>();
        Map<String, Object> url = (Map<String, Object>) spec.getOrDefault("url", Map.of());
        for (Map<String, Object> p : (List<Map<String, Object>>) url.getOrDefault("paths", List.of())) {
            Map<String, Object> parts = (Map<String, Object>) p.getOrDefault("parts", Map.of());
            paths.add(new UrlPath((String) p.get("path"), List.copyOf((List<String>) p.get("methods")), Set.copyOf(parts.keySet())));
        }
        if (paths.isEmpty()) {
            throw new IllegalArgumentException("spec of " + apiName + " has no url.paths");
        }
        Set<String> params = new LinkedHashSet<>(commonParams);
        params.addAll(((Map<String, Object>) spec.getOrDefault("params", Map.of())).keySet());
        Map<String, Object> bodySpec = (Map<String, Object>) spec.get("body");
        boolean bulk = bodySpec != null && "bulk".equals(bodySpec.get("serialize"));
        Map<String, Object> headers = (Map<String, Object>) spec.getOrDefault("headers", Map.of());
        List<String> contentTypes = (List<String>) headers.getOrDefault("content_type", List.of());
        String contentType = contentTypes.isEmpty() ? (bulk ? "application/x-ndjson" : "application/json") : contentTypes.get(0);
        return new ApiSpec(apiName, List.copyOf(paths), Set.copyOf(params), bulk, contentType);
    }

    String name() {
        return name;
    }

    /**
     * Builds the call for the given arguments: path parts fill the path with the most parts that are all
     * given; {@code body} becomes the body (a list, or any body of a bulk-style API, as NDJSON); every other
     * argument must be a documented parameter ({@link ParamException} otherwise, which {@code catch: param}
     * expects).
     */
    HttpCall call(Map<String, Object> args) {
        Map<String, Object> remaining = new LinkedHashMap<>(args);
        Object body = remaining.remove("body");
        UrlPath best = null;
        for (UrlPath p : paths) {
            if (remaining.keySet().containsAll(p.parts()) && (best == null || p.parts().size() > best.parts().size())) {
                best = p;
            }
        }
        if (best == null) {
            throw new ParamException("api [" + name + "]: no path of " + paths.stream().map(UrlPath::path).toList()
                + " can be filled from the given arguments " + args.keySet());
        }
        String path = best.path();
        for (String part : best.parts()) {
            path = path.replace("{" + part + "}", encodePathSegment(stringValue(remaining.remove(part))));
        }
        Map<String, String> query = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : remaining.entrySet()) {
            if (params.contains(e.getKey()) == false && "ignore".equals(e.getKey()) == false) {
                throw new ParamException("api [" + name + "] does not support parameter [" + e.getKey() + "] (spec params: " + params + ")");
            }
            query.put(e.getKey(), stringValue(e.getValue()));
        }
        String serializedBody = body == null ? null : serializeBody(body);
        return new HttpCall(chooseMethod(best.methods(), serializedBody != null), path, query, serializedBody, contentType);
    }

    private static String chooseMethod(List<String> methods, boolean hasBody) {
        List<String> preference = hasBody ? List.of("POST", "PUT", "GET", "DELETE") : List.of("GET", "HEAD", "DELETE", "POST", "PUT");
        for (String m : preference) {
            if (methods.contains(m)) {
                return m;
            }
        }
        return methods.get(0);
    }

    /** A string is sent as it is; a list for a bulk-style API as NDJSON (maps as JSON, strings as lines); else JSON. */
    private String serializeBody(Object body) {
        if (body instanceof String s) {
            return bulkBody && s.endsWith("\n") == false ? s + "\n" : s;
        }
        if (bulkBody && body instanceof List<?> lines) {
            StringBuilder ndjson = new StringBuilder();
            for (Object line : lines) {
                ndjson.append(line instanceof String s ? s.strip() : Yaml.toJson(line)).append('\n');
            }
            return ndjson.toString();
        }
        return bulkBody ? Yaml.toJson(body) + "\n" : Yaml.toJson(body);
    }

    static String stringValue(Object value) {
        if (value instanceof Collection<?> c) {
            return c.stream().map(ApiSpec::stringValue).collect(Collectors.joining(","));
        }
        return String.valueOf(value);
    }

    private static String encodePathSegment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20").replace("%2C", ",").replace("%2A", "*");
    }

    /** An argument the API does not accept: the client-side error {@code catch: param} expects. */
    static final class ParamException extends IllegalArgumentException {
        ParamException(String message) {
            super(message);
        }
    }
}
