package io.matryoshka.it.rest;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Values saved by {@code set} for later steps of the same test: a string that is exactly {@code $name}
 * becomes the saved value (any type); {@code ${name}} inside a longer string is replaced by its text.
 * Applies to {@code do} arguments, expected values and keys, and path segments of assertions.
 */
final class Stash {

    private static final Pattern WHOLE = Pattern.compile("\\$([A-Za-z0-9_]+)");
    private static final Pattern EMBEDDED = Pattern.compile("\\$\\{([A-Za-z0-9_]+)}");

    private final Map<String, Object> values = new HashMap<>();

    void put(String name, Object value) {
        values.put(name, value);
    }

    void clear() {
        values.clear();
    }

    Object get(String name) {
        if (values.containsKey(name) == false) {
            throw new AssertionError("nothing was stashed as [" + name + "] (stashed: " + values.keySet() + ")");
        }
        return values.get(name);
    }

    /** A copy of {@code value} with stashed values put in. */
    Object replace(Object value) {
        if (value instanceof String s) {
            Matcher whole = WHOLE.matcher(s);
            if (whole.matches()) {
                return get(whole.group(1));
            }
            if (s.contains("${")) {
                Matcher m = EMBEDDED.matcher(s);
                StringBuilder out = new StringBuilder();
                while (m.find()) {
                    m.appendReplacement(out, Matcher.quoteReplacement(String.valueOf(get(m.group(1)))));
                }
                m.appendTail(out);
                return out.toString();
            }
            return s;
        }
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> out = new LinkedHashMap<>();
            map.forEach((k, v) -> out.put(String.valueOf(replace(String.valueOf(k))), replace(v)));
            return out;
        }
        if (value instanceof List<?> list) {
            List<Object> out = new ArrayList<>();
            list.forEach(v -> out.add(replace(v)));
            return out;
        }
        return value;
    }
}
