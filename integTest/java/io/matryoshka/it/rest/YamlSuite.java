package io.matryoshka.it.rest;

import com.fasterxml.jackson.databind.MappingIterator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One YAML test file in Elasticsearch's REST test format: YAML documents separated by {@code ---}, each
 * one section: an optional {@code setup} (run before every test of the file), an optional
 * {@code teardown} (run after every test, also a failed one), and tests keyed by their name. A section is
 * a list of steps, each a single-key map ({@code do}, {@code match}, {@code skip}, ...).
 */
public record YamlSuite(String path, List<Map<String, Object>> setup, List<Map<String, Object>> teardown, Map<String, List<Map<String, Object>>> tests) {

    /** Every {@code *.yml}/{@code *.yaml} file under {@code testRoot}, parsed, sorted by path. */
    public static List<YamlSuite> loadAll(Path testRoot) throws IOException {
        if (Files.isDirectory(testRoot) == false) {
            return List.of();
        }
        List<Path> files;
        try (Stream<Path> s = Files.walk(testRoot)) {
            files = s.filter(Files::isRegularFile).filter(p -> p.toString().endsWith(".yml") || p.toString().endsWith(".yaml")).sorted().toList();
        }
        List<YamlSuite> suites = new ArrayList<>();
        for (Path file : files) {
            suites.add(parse(file, testRoot.relativize(file).toString().replace('\\', '/')));
        }
        return suites;
    }

    @SuppressWarnings("unchecked")
    static YamlSuite parse(Path file, String displayPath) throws IOException {
        List<Map<String, Object>> setup = List.of();
        List<Map<String, Object>> teardown = List.of();
        Map<String, List<Map<String, Object>>> tests = new LinkedHashMap<>();
        try (MappingIterator<Object> docs = Yaml.YAML.readerFor(Object.class).readValues(file.toFile())) {
            while (docs.hasNext()) {
                Object doc = docs.next();
                if (doc == null) {
                    continue; // an empty document, e.g. after a trailing ---
                }
                if (doc instanceof Map == false) {
                    throw new IOException(displayPath + ": every YAML document must be a map of section name to steps, got: " + doc);
                }
                for (Map.Entry<String, Object> section : ((Map<String, Object>) doc).entrySet()) {
                    List<Map<String, Object>> steps = steps(displayPath, section.getKey(), section.getValue());
                    switch (section.getKey()) {
                        case "setup" -> setup = steps;
                        case "teardown" -> teardown = steps;
                        default -> {
                            if (tests.put(section.getKey(), steps) != null) {
                                throw new IOException(displayPath + ": duplicate test name [" + section.getKey() + "]");
                            }
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new IOException("cannot parse " + file + ": " + e.getMessage(), e);
        }
        if (tests.isEmpty()) {
            throw new IOException(displayPath + " has no test (only setup/teardown?)");
        }
        return new YamlSuite(displayPath, setup, teardown, tests);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> steps(String file, String section, Object value) throws IOException {
        if (value instanceof List<?> list) {
            List<Map<String, Object>> steps = new ArrayList<>();
            for (Object step : list) {
                if (step instanceof Map<?, ?> m && m.size() == 1) {
                    steps.add((Map<String, Object>) m);
                } else {
                    throw new IOException(file + " [" + section + "]: each step must be a single-key map like '- do: {...}', got: " + step);
                }
            }
            return List.copyOf(steps);
        }
        throw new IOException(file + " [" + section + "]: a section must be a list of steps, got: " + value);
    }
}
