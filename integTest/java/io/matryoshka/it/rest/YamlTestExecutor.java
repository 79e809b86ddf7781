package io.matryoshka.it.rest;

import org.apache.http.entity.ContentType;
import org.apache.http.entity.StringEntity;
import org.apache.http.util.EntityUtils;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.RequestOptions;
import org.elasticsearch.client.Response;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.client.RestClient;
import org.junit.AssumptionViolatedException;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Runs one test of a {@link YamlSuite} against a real node, with the semantics of Elasticsearch's own
 * YAML REST test runner for the subset documented in {@code integTest/README.md}: {@code setup}, the test,
 * {@code teardown} (always), then every non-system index is deleted.
 *
 * <p>Steps: {@code skip}/{@code requires} (first step of {@code setup} or a test), {@code do}
 * (API call resolved by {@link ApiSpecs}; options {@code catch}, {@code headers}, {@code warnings},
 * {@code allowed_warnings}, {@code warnings_regex}, {@code allowed_warnings_regex}; {@code node_selector}
 * is accepted and ignored), {@code match}, {@code length}, {@code is_true}, {@code is_false},
 * {@code gt}, {@code gte}, {@code lt}, {@code lte}, {@code set}, {@code contains}, {@code close_to}.
 */
public final class YamlTestExecutor {

    private static final Map<String, Integer> CATCH_STATUS = Map.of(
        "bad_request", 400, "unauthorized", 401, "forbidden", 403, "missing", 404, "request_timeout", 408, "conflict", 409, "unavailable", 503);

    private final RestClient client;
    private final ApiSpecs specs;
    private final String nodeVersion;
    private final Stash stash = new Stash();
    private Object lastBody;
    private String lastBodyText;

    public YamlTestExecutor(RestClient client, java.nio.file.Path ownApiSpecDir, String nodeVersion) {
        this.client = client;
        this.specs = new ApiSpecs(ownApiSpecDir);
        this.nodeVersion = nodeVersion;
    }

    /** Runs {@code setup}, the named test, {@code teardown} and the index cleanup; throws the first failure. */
    public void run(YamlSuite suite, String testName) throws Throwable {
        List<Map<String, Object>> steps = suite.tests().get(testName);
        if (steps == null) {
            throw new IllegalArgumentException(suite.path() + " has no test [" + testName + "]");
        }
        stash.clear();
        lastBody = null;
        lastBodyText = null;
        skipIfRequested(suite.setup(), "setup");
        skipIfRequested(steps, testName);
        Throwable failure = null;
        try {
            execute(suite.setup(), "setup");
            execute(steps, testName);
        } catch (Throwable t) {
            failure = t;
        }
        try {
            execute(suite.teardown(), "teardown");
        } catch (Throwable t) {
            failure = addFailure(failure, t);
        }
        try {
            deleteIndices();
        } catch (Throwable t) {
            failure = addFailure(failure, t);
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static Throwable addFailure(Throwable first, Throwable next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }

    // ---------------------------------------------------------------- skip / requires

    @SuppressWarnings("unchecked")
    private void skipIfRequested(List<Map<String, Object>> steps, String section) {
        for (Map<String, Object> step : steps) {
            if (step.containsKey("skip") == false && step.containsKey("requires") == false) {
                return; // only leading steps may skip
            }
            if (step.containsKey("skip") == false) {
                continue; // requires: cluster_features / test_runner_features are assumed present
            }
            Map<String, Object> skip = (Map<String, Object>) step.get("skip");
            String reason = String.valueOf(skip.getOrDefault("reason", "(no reason given)"));
            if (skip.containsKey("awaits_fix")) {
                throw new AssumptionViolatedException("[" + section + "] skipped, awaits fix: " + skip.get("awaits_fix"));
            }
            Object version = skip.get("version");
            if (version != null && versionInRanges(nodeVersion, String.valueOf(version))) {
                throw new AssumptionViolatedException("[" + section + "] skipped on " + nodeVersion + " (" + version + "): " + reason);
            }
            // 'features' name runner features; every one this runner lacks fails loudly when used, so none is a reason to skip
        }
    }

    /** {@code all}, or comma-separated ranges {@code lower - upper} (either side may be empty). */
    static boolean versionInRanges(String version, String ranges) {
        if (ranges.trim().equalsIgnoreCase("all")) {
            return true;
        }
        for (String range : ranges.split(",")) {
            String[] bounds = range.split("-", -1);
            if (bounds.length != 2) {
                throw new IllegalArgumentException("skip version range must be 'lower - upper' or 'all': [" + range + "]");
            }
            String lower = bounds[0].trim();
            String upper = bounds[1].trim();
            if ((lower.isEmpty() || compareVersions(version, lower) >= 0) && (upper.isEmpty() || compareVersions(version, upper) <= 0)) {
                return true;
            }
        }
        return false;
    }

    private static int compareVersions(String a, String b) {
        String[] x = a.split("[.-]");
        String[] y = b.split("[.-]");
        for (int i = 0; i < 3; i++) {
            int xi = i < x.length && x[i].matches("\\d+") ? Integer.parseInt(x[i]) : 0;
            int yi = i < y.length && y[i].matches("\\d+") ? Integer.parseInt(y[i]) : 0;
            if (xi != yi) {
                return Integer.compare(xi, yi);
            }
        }
        return 0;
    }

    // ---------------------------------------------------------------- steps

    private void execute(List<Map<String, Object>> steps, String section) {
        for (int i = 0; i < steps.size(); i++) {
            Map<String, Object> step = steps.get(i);
            Map.Entry<String, Object> only = step.entrySet().iterator().next();
            try {
                executeStep(only.getKey(), only.getValue(), i == 0 || isSkipStep(steps.get(i - 1)));
            } catch (AssertionError | RuntimeException e) {
                AssertionError wrapped = new AssertionError("[" + section + "] step " + (i + 1) + " (" + only.getKey() + ": " + Yaml.toJson(only.getValue())
                    + ") failed: " + e.getMessage()
                    + (lastBodyText != null && only.getKey().equals("do") == false ? "\n  last response: " + abbreviate(lastBodyText, 4000) : ""), e);
                throw wrapped;
            }
        }
    }

    private static boolean isSkipStep(Map<String, Object> step) {
        return step.containsKey("skip") || step.containsKey("requires");
    }

    @SuppressWarnings("unchecked")
    private void executeStep(String kind, Object value, boolean leading) {
        switch (kind) {
            case "skip", "requires" -> {
                if (leading == false) {
                    throw new IllegalArgumentException(kind + " must be the first step of a test or of setup");
                }
            }
            case "do" -> doSection((Map<String, Object>) value);
            case "match" -> forEachEntry(kind, value, this::match);
            case "length" -> forEachEntry(kind, value, this::length);
            case "gt", "gte", "lt", "lte" -> forEachEntry(kind, value, (path, expected) -> compare(kind, path, expected));
            case "set" -> forEachEntry(kind, value, (path, name) -> stash.put(String.valueOf(name), evaluate(path)));
            case "contains" -> forEachEntry(kind, value, this::contains);
            case "close_to" -> forEachEntry(kind, value, this::closeTo);
            case "is_true" -> isTrue(String.valueOf(value), true);
            case "is_false" -> isTrue(String.valueOf(value), false);
            default -> throw new IllegalArgumentException("unsupported step [" + kind + "] (see integTest/README.md for what this runner supports)");
        }
    }

    private interface Check {
        void apply(String path, Object expected);
    }

    private void forEachEntry(String kind, Object value, Check check) {
        if (value instanceof Map<?, ?> map && map.isEmpty() == false) {
            map.forEach((path, expected) -> check.apply(String.valueOf(path), expected));
        } else {
            throw new IllegalArgumentException(kind + " needs a map of path to value, got: " + value);
        }
    }

    // ---------------------------------------------------------------- do

    @SuppressWarnings("unchecked")
    private void doSection(Map<String, Object> section) {
        String catchValue = null;
        Map<String, Object> headers = Map.of();
        List<String> warnings = List.of();
        List<String> allowedWarnings = List.of();
        List<String> warningsRegex = List.of();
        List<String> allowedWarningsRegex = List.of();
        String api = null;
        Map<String, Object> args = Map.of();
        for (Map.Entry<String, Object> e : section.entrySet()) {
            switch (e.getKey()) {
                case "catch" -> catchValue = String.valueOf(e.getValue()).trim();
                case "headers" -> headers = (Map<String, Object>) stash.replace(e.getValue());
                case "warnings" -> warnings = stringList(stash.replace(e.getValue()));
                case "allowed_warnings" -> allowedWarnings = stringList(stash.replace(e.getValue()));
                case "warnings_regex" -> warningsRegex = stringList(stash.replace(e.getValue()));
                case "allowed_warnings_regex" -> allowedWarningsRegex = stringList(stash.replace(e.getValue()));
                case "node_selector" -> { /* one node: every selector selects it */ }
                default -> {
                    if (api != null) {
                        throw new IllegalArgumentException("do has two API calls: [" + api + "] and [" + e.getKey() + "]");
                    }
                    api = e.getKey();
                    args = e.getValue() == null ? Map.of() : (Map<String, Object>) stash.replace(e.getValue());
                }
            }
        }
        if (api == null) {
            throw new IllegalArgumentException("do has no API call");
        }
        ApiSpec.HttpCall call;
        try {
            call = specs.get(api).call(args);
        } catch (ApiSpec.ParamException e) {
            if ("param".equals(catchValue)) {
                return;
            }
            throw e;
        }
        if ("param".equals(catchValue)) {
            throw new AssertionError("expected a client-side parameter error (catch: param) but [" + api + "] accepted " + args.keySet());
        }

        Request request = new Request(call.method(), call.path());
        Set<Integer> ignoredStatuses = new HashSet<>();
        call.params().forEach((k, v) -> {
            if (k.equals("ignore")) {
                for (String code : v.split(",")) {
                    ignoredStatuses.add(Integer.parseInt(code.trim()));
                }
            } else {
                request.addParameter(k, v);
            }
        });
        if (call.body() != null) {
            request.setEntity(new StringEntity(call.body(), ContentType.create(call.contentType().split(";")[0].trim(), StandardCharsets.UTF_8)));
        }
        RequestOptions.Builder options = RequestOptions.DEFAULT.toBuilder();
        headers.forEach((k, v) -> options.addHeader(k, String.valueOf(v)));
        request.setOptions(options);

        Response response;
        try {
            response = client.performRequest(request);
        } catch (ResponseException e) {
            response = e.getResponse();
        } catch (IOException e) {
            throw new AssertionError(call.method() + " " + call.path() + " failed: " + e, e);
        }
        int status = response.getStatusLine().getStatusCode();
        readBody(response, call.method());

        checkWarnings(response.getWarnings(), warnings, allowedWarnings, warningsRegex, allowedWarningsRegex);
        String what = call.method() + " " + call.path() + (call.params().isEmpty() ? "" : " " + call.params());
        if (call.method().equals("HEAD")) {
            ignoredStatuses.add(404); // as in Elasticsearch: a HEAD's 404 is the answer "no", e.g. indices.exists
        }
        if (catchValue == null) {
            if (status >= 400 && ignoredStatuses.contains(status) == false) {
                throw new AssertionError(what + " returned " + status + ": " + abbreviate(lastBodyText, 4000));
            }
            return;
        }
        if (CATCH_STATUS.containsKey(catchValue)) {
            if (status != CATCH_STATUS.get(catchValue)) {
                throw new AssertionError("expected " + catchValue + " (" + CATCH_STATUS.get(catchValue) + ") from " + what + " but got " + status + ": "
                    + abbreviate(lastBodyText, 4000));
            }
        } else if (catchValue.equals("request")) {
            // as in Elasticsearch: any error but those the named catches cover, except 503
            if (status < 400 || (CATCH_STATUS.containsValue(status) && status != 503)) {
                throw new AssertionError("expected a request error (4xx/5xx but 400, 401, 403, 404, 408, 409) from " + what + " but got " + status
                    + ": " + abbreviate(lastBodyText, 4000));
            }
        } else if (isRegex(catchValue)) {
            if (status < 400) {
                throw new AssertionError("expected an error matching " + catchValue + " from " + what + " but got " + status + ": "
                    + abbreviate(lastBodyText, 4000));
            }
            Object error = evaluate("error");
            String errorText = error == null ? lastBodyText : error instanceof String s ? s : Yaml.toJson(error);
            if (regex(catchValue, 0).matcher(errorText).find() == false) {
                throw new AssertionError("the error of " + what + " does not match " + catchValue + ": " + abbreviate(errorText, 4000));
            }
        } else {
            throw new IllegalArgumentException("unsupported catch [" + catchValue + "]: use one of " + CATCH_STATUS.keySet()
                + ", request, param or /regex/");
        }
    }

    private void readBody(Response response, String method) {
        try {
            String text = response.getEntity() == null ? "" : EntityUtils.toString(response.getEntity(), StandardCharsets.UTF_8);
            lastBodyText = text;
            int status = response.getStatusLine().getStatusCode();
            String contentType = response.getEntity() == null || response.getEntity().getContentType() == null ? ""
                : response.getEntity().getContentType().getValue().toLowerCase(Locale.ROOT);
            if (method.equals("HEAD")) {
                lastBody = status >= 200 && status < 300;
            } else if (text.isBlank()) {
                lastBody = text;
            } else if (contentType.contains("json")) {
                lastBody = Yaml.JSON.readValue(text, Object.class);
            } else if (contentType.contains("yaml")) {
                lastBody = Yaml.YAML.readValue(text, Object.class);
            } else {
                lastBody = text;
            }
        } catch (IOException e) {
            throw new AssertionError("cannot read the response body: " + e, e);
        }
    }

    private static void checkWarnings(List<String> actual, List<String> expected, List<String> allowed, List<String> expectedRegex, List<String> allowedRegex) {
        Set<String> missing = new LinkedHashSet<>(expected);
        Set<String> missingRegex = new LinkedHashSet<>(expectedRegex);
        List<String> unexpected = new ArrayList<>();
        for (String warning : actual) {
            boolean known = missing.remove(warning) | expected.contains(warning) | allowed.contains(warning);
            for (String r : expectedRegex) {
                if (Pattern.compile(r).matcher(warning).find()) {
                    missingRegex.remove(r);
                    known = true;
                }
            }
            for (String r : allowedRegex) {
                known |= Pattern.compile(r).matcher(warning).find();
            }
            if (known == false) {
                unexpected.add(warning);
            }
        }
        if (unexpected.isEmpty() == false || missing.isEmpty() == false || missingRegex.isEmpty() == false) {
            throw new AssertionError("warning headers: unexpected " + unexpected + ", expected but missing " + missing
                + (missingRegex.isEmpty() ? "" : ", no warning matched " + missingRegex) + " (list expected ones under 'warnings' or 'allowed_warnings')");
        }
    }

    // ---------------------------------------------------------------- assertions

    private void match(String path, Object expectedRaw) {
        Object expected = stash.replace(expectedRaw);
        Object actual = evaluate(path);
        if (expected instanceof String s && isRegex(s)) {
            if (actual == null || actual instanceof Map || actual instanceof List) {
                throw new AssertionError("[" + path + "] should match " + s.trim() + " but is " + describe(actual));
            }
            if (regex(s, Pattern.COMMENTS).matcher(String.valueOf(actual)).find() == false) {
                throw new AssertionError("[" + path + "] does not match " + s.trim() + ": " + abbreviate(String.valueOf(actual), 4000));
            }
            return;
        }
        String difference = difference(path, expected, actual);
        if (difference != null) {
            throw new AssertionError(difference);
        }
    }

    private void length(String path, Object expected) {
        Object actual = evaluate(path);
        int size;
        if (actual instanceof Map<?, ?> m) {
            size = m.size();
        } else if (actual instanceof List<?> l) {
            size = l.size();
        } else if (actual instanceof String s) {
            size = s.length();
        } else {
            throw new AssertionError("[" + path + "] has no length: it is " + describe(actual));
        }
        Object want = stash.replace(expected);
        if ((want instanceof Number n && n.intValue() == size) == false) {
            throw new AssertionError("[" + path + "] has length " + size + ", expected " + want);
        }
    }

    private void isTrue(String path, boolean wantTrue) {
        Object actual = evaluate(path);
        boolean falsy = actual == null || Boolean.FALSE.equals(actual) || "".equals(actual) || "false".equalsIgnoreCase(String.valueOf(actual))
            || (actual instanceof Number n && n.doubleValue() == 0);
        if (wantTrue == falsy) {
            throw new AssertionError("[" + path + "] should be " + (wantTrue ? "true (present, not false/empty/0)" : "false (absent, false, empty or 0)")
                + " but is " + describe(actual));
        }
    }

    private void compare(String kind, String path, Object expectedRaw) {
        Object expected = stash.replace(expectedRaw);
        Object actual = evaluate(path);
        int c;
        if (actual instanceof Number a && expected instanceof Number e) {
            c = decimal(a).compareTo(decimal(e));
        } else if (actual instanceof String a && expected instanceof String e) {
            c = a.compareTo(e);
        } else {
            throw new AssertionError("[" + path + "] " + kind + " " + expected + ": cannot compare " + describe(actual) + " with " + describe(expected));
        }
        boolean ok = switch (kind) {
            case "gt" -> c > 0;
            case "gte" -> c >= 0;
            case "lt" -> c < 0;
            default -> c <= 0;
        };
        if (ok == false) {
            throw new AssertionError("[" + path + "] is " + actual + ", expected " + kind + " " + expected);
        }
    }

    private void contains(String path, Object expectedRaw) {
        Object expected = stash.replace(expectedRaw);
        Object actual = evaluate(path);
        if (actual instanceof List<?> == false) {
            throw new AssertionError("[" + path + "] should be a list containing " + Yaml.toJson(expected) + " but is " + describe(actual));
        }
        for (Object item : (List<?>) actual) {
            if (expected instanceof Map<?, ?> subset && item instanceof Map<?, ?> map) {
                if (subset.entrySet().stream().allMatch(e -> difference("", e.getValue(), map.get(e.getKey())) == null)) {
                    return;
                }
            } else if (difference("", expected, item) == null) {
                return;
            }
        }
        throw new AssertionError("[" + path + "] does not contain " + Yaml.toJson(expected) + ": " + abbreviate(Yaml.toJson(actual), 4000));
    }

    @SuppressWarnings("unchecked")
    private void closeTo(String path, Object spec) {
        if ((spec instanceof Map<?, ?> m && m.get("value") instanceof Number && m.get("error") instanceof Number) == false) {
            throw new IllegalArgumentException("close_to needs {value: <number>, error: <number>}, got " + spec);
        }
        Map<String, Object> bounds = (Map<String, Object>) spec;
        Object actual = evaluate(path);
        double value = ((Number) bounds.get("value")).doubleValue();
        double error = ((Number) bounds.get("error")).doubleValue();
        if ((actual instanceof Number a && Math.abs(a.doubleValue() - value) <= error) == false) {
            throw new AssertionError("[" + path + "] is " + describe(actual) + ", expected " + value + " ± " + error);
        }
    }

    /** Null when equal; else where and how they differ. Numbers compare by value (1 == 1.0). */
    static String difference(String path, Object expected, Object actual) {
        if (expected instanceof Number e && actual instanceof Number a) {
            return decimal(e).compareTo(decimal(a)) == 0 ? null : at(path) + "expected " + e + " but was " + a;
        }
        if (expected instanceof Map<?, ?> e && actual instanceof Map<?, ?> a) {
            Set<Object> keys = new LinkedHashSet<>(e.keySet());
            keys.addAll(a.keySet());
            for (Object k : keys) {
                String sub = path.isEmpty() ? String.valueOf(k) : path + "." + k;
                if (e.containsKey(k) == false) {
                    return at(sub) + "unexpected key, value " + describe(a.get(k));
                }
                if (a.containsKey(k) == false) {
                    return at(sub) + "missing, expected " + describe(e.get(k));
                }
                String d = difference(sub, e.get(k), a.get(k));
                if (d != null) {
                    return d;
                }
            }
            return null;
        }
        if (expected instanceof List<?> e && actual instanceof List<?> a) {
            if (e.size() != a.size()) {
                return at(path) + "expected " + e.size() + " element(s) " + abbreviate(Yaml.toJson(e), 2000) + " but got " + a.size() + ": "
                    + abbreviate(Yaml.toJson(a), 2000);
            }
            for (int i = 0; i < e.size(); i++) {
                String d = difference(path.isEmpty() ? Integer.toString(i) : path + "." + i, e.get(i), a.get(i));
                if (d != null) {
                    return d;
                }
            }
            return null;
        }
        if (expected == null ? actual == null : expected.equals(actual)) {
            return null;
        }
        return at(path) + "expected " + describe(expected) + " but was " + describe(actual);
    }

    private static String at(String path) {
        return path.isEmpty() ? "" : "[" + path + "] ";
    }

    private static BigDecimal decimal(Number n) {
        return n instanceof BigDecimal b ? b : new BigDecimal(n.toString());
    }

    // ---------------------------------------------------------------- paths

    /**
     * Looks up a dotted path in the last response: {@code hits.hits.0._id}; {@code \.} escapes a dot in a key;
     * {@code $name} segments come from the stash; {@code _arbitrary_key_} takes any (the first) key of a map;
     * {@code ""} or {@code $body} is the whole body. Missing: null.
     */
    Object evaluate(String path) {
        if (lastBody == null) {
            throw new AssertionError("no response to check: a 'do' step must come first");
        }
        String p = path.trim();
        if (p.equals("$body")) {
            return lastBody;
        }
        if (p.startsWith("$body.")) {
            p = p.substring("$body.".length());
        }
        if (p.isEmpty()) {
            return lastBody;
        }
        Object current = lastBody;
        String[] keys = p.split("(?<!\\\\)\\.");
        for (int i = 0; i < keys.length; i++) {
            String key = String.valueOf(stash.replace(keys[i].replace("\\.", ".")));
            if (current instanceof Map<?, ?> map) {
                if (key.equals("_arbitrary_key_")) {
                    if (map.isEmpty()) {
                        return null;
                    }
                    Object anyKey = map.keySet().iterator().next();
                    if (i == keys.length - 1) {
                        return anyKey; // as in Elasticsearch: the key itself, e.g. a node id to stash
                    }
                    current = map.get(anyKey);
                    continue;
                }
                current = map.get(key);
            } else if (current instanceof List<?> list && key.matches("\\d+")) {
                int index = Integer.parseInt(key);
                current = index < list.size() ? list.get(index) : null;
            } else {
                return null;
            }
        }
        return current;
    }

    // ---------------------------------------------------------------- cleanup

    /** Deletes every index that does not start with a dot (system and internal indices stay). */
    @SuppressWarnings("unchecked")
    private void deleteIndices() throws IOException {
        Request list = new Request("GET", "/_cat/indices");
        list.addParameter("format", "json");
        list.addParameter("h", "index");
        list.addParameter("expand_wildcards", "all");
        Response response = client.performRequest(list);
        List<Map<String, Object>> rows = Yaml.JSON.readValue(EntityUtils.toString(response.getEntity()), List.class);
        List<String> names = rows.stream().map(r -> String.valueOf(r.get("index"))).filter(n -> n.startsWith(".") == false).toList();
        if (names.isEmpty() == false) {
            Request delete = new Request("DELETE", "/" + String.join(",", names));
            delete.addParameter("expand_wildcards", "all");
            client.performRequest(delete);
        }
    }

    // ---------------------------------------------------------------- helpers

    private static boolean isRegex(String s) {
        String t = s.trim();
        return t.length() > 2 && t.startsWith("/") && t.endsWith("/");
    }

    private static Pattern regex(String delimited, int flags) {
        String t = delimited.trim();
        return Pattern.compile(t.substring(1, t.length() - 1), flags);
    }

    private static List<String> stringList(Object value) {
        if (value instanceof List<?> l) {
            return l.stream().map(String::valueOf).toList();
        }
        return value == null ? List.of() : List.of(String.valueOf(value));
    }

    private static String describe(Object value) {
        if (value == null) {
            return "null (absent)";
        }
        String json = value instanceof String s ? "\"" + s + "\"" : Yaml.toJson(value);
        return abbreviate(json, 2000) + " (" + value.getClass().getSimpleName() + ")";
    }

    private static String abbreviate(String s, int max) {
        return s == null || s.length() <= max ? s : s.substring(0, max) + "...(" + (s.length() - max) + " more chars)";
    }
}
