package io.matryoshka.it.bench;

import com.fasterxml.jackson.databind.JsonNode;

import io.matryoshka.it.cluster.Json;

import org.apache.http.util.EntityUtils;
import org.elasticsearch.client.Request;
import org.elasticsearch.client.Response;
import org.elasticsearch.client.RestClient;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * One system under test: an index mapping (field {@code v}, maybe more), how a document is written and how a
 * query is sent. Every system gets its own index holding the same vectors (systems that differ only in their
 * queries search one index, see {@link #searchingIndexOf}); every search asks for k hits
 * without {@code _source} and without counting total hits.
 */
abstract class BenchSystem {

    static final String FIELD = "v";

    final String name;
    final String family; // "plugin" or "elasticsearch"
    final String description;
    /** The system whose index this one searches: itself, or one with the same mapping that differs only in its queries. */
    private String indexOwner;

    BenchSystem(String name, String family, String description) {
        this.name = name;
        this.family = family;
        this.description = description;
        this.indexOwner = name;
    }

    /**
     * This system searches {@code owner}'s index (the same mapping, other query parameters): a run that has
     * both builds it once, and the two are compared on the very same segment.
     */
    BenchSystem searchingIndexOf(String owner) {
        this.indexOwner = owner;
        return this;
    }

    String index() {
        return "bench-" + indexOwner.replace('_', '-');
    }

    /** {@code mappings.properties} for vectors of {@code dims}. */
    abstract Map<String, Object> properties(int dims);

    /** Appends the document's JSON source. */
    void appendSource(StringBuilder sb, float[] v) {
        sb.append("{\"").append(FIELD).append("\":");
        appendFloats(sb, v, 0, v.length);
        sb.append('}');
    }

    /** Whatever {@link #search} needs, built before timing starts. */
    abstract Object prepare(float[] query, int k);

    /** Runs one search (maybe several requests) and returns the hit ids, best first. */
    List<String> search(RestClient client, Object prepared) throws IOException {
        return hitIds(post(client, "/" + index() + "/_search", (String) prepared));
    }

    /** When set on a thread, its searches run with {@code "profile": true} and their responses are collected here. */
    static final ThreadLocal<List<String>> PROFILED = new ThreadLocal<>();

    static String post(RestClient client, String endpoint, String body) throws IOException {
        List<String> profiled = PROFILED.get();
        if (profiled != null && body.startsWith("{")) {
            body = "{\"profile\":true," + body.substring(1);
        }
        Request request = new Request("POST", endpoint);
        request.setJsonEntity(body);
        Response response = client.performRequest(request);
        String text = EntityUtils.toString(response.getEntity());
        if (profiled != null) {
            profiled.add(text);
        }
        return text;
    }

    static List<String> hitIds(String responseBody) throws IOException {
        JsonNode hits = Json.MAPPER.readTree(responseBody).path("hits").path("hits");
        List<String> ids = new ArrayList<>(hits.size());
        for (JsonNode hit : hits) {
            ids.add(hit.get("_id").asText());
        }
        return ids;
    }

    static void appendFloats(StringBuilder sb, float[] v, int from, int to) {
        sb.append('[');
        for (int i = from; i < to; i++) {
            if (i > from) {
                sb.append(',');
            }
            sb.append(v[i]);
        }
        sb.append(']');
    }

    static String floats(float[] v) {
        StringBuilder sb = new StringBuilder(v.length * 12);
        appendFloats(sb, v, 0, v.length);
        return sb.toString();
    }

    /** Search request header shared by all systems. */
    static String searchPrefix(int size) {
        return "{\"size\":" + size + ",\"_source\":false,\"track_total_hits\":false,";
    }

    Map<String, Object> describe(int dims) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("family", family);
        m.put("description", description);
        m.put("mapping", properties(dims));
        Object example = prepare(new float[dims], 10);
        m.put("request_example", example instanceof String s ? abbreviateVectors(s) : String.valueOf(example));
        return m;
    }

    private static String abbreviateVectors(String body) {
        return body.replaceAll("\\[(0\\.0,){3,}0\\.0\\]", "[...]");
    }

    // ------------------------------------------------------------------ Elasticsearch's dense_vector

    /** {@code dense_vector} with {@code index_options.type = type}, searched by the top-level {@code knn} section. */
    static BenchSystem denseVector(String name, String type, int numCandidates, Double rescoreOversample, String description) {
        return new BenchSystem(name, "elasticsearch", description) {
            @Override
            Map<String, Object> properties(int dims) {
                return Map.of(FIELD, Map.of("type", "dense_vector", "dims", dims, "index", true, "similarity", "cosine", "index_options",
                    Map.of("type", type)));
            }

            @Override
            Object prepare(float[] query, int k) {
                StringBuilder sb = new StringBuilder(searchPrefix(k)).append("\"knn\":{\"field\":\"").append(FIELD).append("\",\"query_vector\":");
                appendFloats(sb, query, 0, query.length);
                sb.append(",\"k\":").append(k).append(",\"num_candidates\":").append(Math.max(k, numCandidates));
                if (rescoreOversample != null) {
                    sb.append(",\"rescore_vector\":{\"oversample\":").append(rescoreOversample).append('}');
                }
                return sb.append("}}").toString();
            }
        };
    }

    /**
     * The pure-Elasticsearch workaround for a binary first stage: a {@code bit} field holding the sign bits of
     * the first {@code prefixBits} dimensions (exact hamming, {@code flat}), its top {@code candidates} ids, then
     * a second request: exact float {@code knn} on a {@code flat} float field, filtered to those ids.
     */
    static BenchSystem bitPrefixThenFloat(String name, int prefixBitsWanted, int candidates) {
        return new BenchSystem(name, "elasticsearch", "two requests: exact hamming top " + candidates + " on an element_type:bit field of the sign"
            + " bits of the first " + prefixBitsWanted + " dims (flat), then exact float knn (flat) filtered to those ids") {
            int prefixBits(int dims) {
                return Math.min(prefixBitsWanted, dims - dims % 8);
            }

            @Override
            Map<String, Object> properties(int dims) {
                Map<String, Object> p = new LinkedHashMap<>();
                p.put(FIELD, Map.of("type", "dense_vector", "dims", dims, "index", true, "similarity", "cosine", "index_options",
                    Map.of("type", "flat")));
                p.put("signs", Map.of("type", "dense_vector", "element_type", "bit", "dims", prefixBits(dims), "index", true, "similarity",
                    "l2_norm", "index_options", Map.of("type", "flat")));
                return p;
            }

            @Override
            void appendSource(StringBuilder sb, float[] v) {
                sb.append("{\"").append(FIELD).append("\":");
                appendFloats(sb, v, 0, v.length);
                sb.append(",\"signs\":\"").append(signHex(v, prefixBits(v.length))).append("\"}");
            }

            @Override
            Object prepare(float[] query, int k) {
                String first = searchPrefix(candidates) + "\"knn\":{\"field\":\"signs\",\"query_vector\":\"" + signHex(query, prefixBits(query.length))
                    + "\",\"k\":" + candidates + ",\"num_candidates\":" + candidates + "}}";
                StringBuilder second = new StringBuilder(searchPrefix(k)).append("\"knn\":{\"field\":\"").append(FIELD).append("\",\"query_vector\":");
                appendFloats(second, query, 0, query.length);
                second.append(",\"k\":").append(k).append(",\"num_candidates\":").append(candidates).append(",\"filter\":{\"ids\":{\"values\":");
                return new String[] { first, second.toString() };
            }

            @Override
            List<String> search(RestClient client, Object prepared) throws IOException {
                String[] parts = (String[]) prepared;
                List<String> ids = hitIds(post(client, "/" + index() + "/_search", parts[0]));
                String second = parts[1] + Json.write(ids) + "}}}}";
                return hitIds(post(client, "/" + index() + "/_search", second));
            }

            @Override
            Map<String, Object> describe(int dims) {
                Map<String, Object> m = super.describe(dims);
                String[] parts = (String[]) prepare(new float[dims], 10);
                m.put("request_example", List.of(parts[0], parts[1].replaceAll("\\[(0\\.0,){3,}0\\.0\\]", "[...]") + "[<ids of request 1>]}}}}"));
                return m;
            }
        };
    }

    /** Sign bits (value > 0) of the first {@code bits} dimensions, most significant bit first, as hex. */
    static String signHex(float[] v, int bits) {
        StringBuilder sb = new StringBuilder(bits / 4);
        for (int byteStart = 0; byteStart < bits; byteStart += 8) {
            int b = 0;
            for (int i = 0; i < 8; i++) {
                b = (b << 1) | (v[byteStart + i] > 0 ? 1 : 0);
            }
            sb.append(Character.forDigit(b >>> 4, 16)).append(Character.forDigit(b & 15, 16));
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ this plugin

    /**
     * A {@code matryoshka_vector} field (with {@code extraMapping} on top of dims and cosine) searched by
     * {@code matryoshka_knn}, with {@code extraQuery} (e.g. oversample) on top of field, vector and k.
     */
    static BenchSystem matryoshka(String name, IntFunction<Map<String, Object>> extraMapping, Map<String, Object> extraQuery, String description) {
        return new BenchSystem(name, "plugin", description) {
            @Override
            Map<String, Object> properties(int dims) {
                Map<String, Object> f = new LinkedHashMap<>();
                f.put("type", "matryoshka_vector");
                f.put("dims", dims);
                f.put("similarity", "cosine");
                f.putAll(extraMapping.apply(dims));
                return Map.of(FIELD, f);
            }

            @Override
            Object prepare(float[] query, int k) {
                StringBuilder sb = new StringBuilder(searchPrefix(k)).append("\"query\":{\"matryoshka_knn\":{\"field\":\"").append(FIELD)
                    .append("\",\"query_vector\":");
                appendFloats(sb, query, 0, query.length);
                sb.append(",\"k\":").append(k);
                extraQuery.forEach((key, value) -> sb.append(",\"").append(key).append("\":").append(Json.write(value)));
                return sb.append("}}}").toString();
            }
        };
    }

    /** Every system the tool knows, in report order. */
    static List<BenchSystem> all() {
        List<BenchSystem> s = new ArrayList<>();
        s.add(denseVector("es_flat", "flat", 100, null, "dense_vector flat: exact float brute force"));
        s.add(denseVector("es_hnsw", "hnsw", 100, null, "dense_vector hnsw (m 16, ef_construction 100), num_candidates 100"));
        // hnsw asked for more candidates, on es_hnsw's own graph: its time at the plugin's recall
        for (int candidates : new int[] { 300, 1000 }) {
            s.add(denseVector("es_hnsw_nc" + candidates, "hnsw", candidates, null,
                "dense_vector hnsw, num_candidates " + candidates + " (es_hnsw's index)").searchingIndexOf("es_hnsw"));
        }
        s.add(denseVector("es_int8_hnsw", "int8_hnsw", 100, null, "dense_vector int8_hnsw, num_candidates 100"));
        s.add(denseVector("es_bbq_hnsw", "bbq_hnsw", 100, 3.0, "dense_vector bbq_hnsw, num_candidates 100, rescore_vector.oversample 3"));
        s.add(denseVector("es_bbq_hnsw_nc1000", "bbq_hnsw", 1000, 3.0,
            "dense_vector bbq_hnsw, num_candidates 1000, rescore_vector.oversample 3 (es_bbq_hnsw's index)").searchingIndexOf("es_bbq_hnsw"));
        s.add(denseVector("es_bbq_flat", "bbq_flat", 100, 3.0, "dense_vector bbq_flat, rescore_vector.oversample 3"));
        s.add(bitPrefixThenFloat("es_bit256_then_float", 256, 100));
        s.add(matryoshka("mv_default", d -> Map.of(), Map.of(), "matryoshka_vector defaults (1 bit, no rotation), default funnel (oversample 30)"));
        s.add(matryoshka("mv_os10", d -> Map.of(), Map.of("oversample", 10), "matryoshka_vector defaults, oversample 10")
            .searchingIndexOf("mv_default"));
        s.add(matryoshka("mv_os100", d -> Map.of(), Map.of("oversample", 100), "matryoshka_vector defaults, oversample 100")
            .searchingIndexOf("mv_default"));
        s.add(matryoshka("mv_pca4", BenchSystem::pca4Mapping, Map.of(),
            "matryoshka_vector bits 4, rotation pca, nested_dims [d/6, d/3, d/2, d], default funnel"));
        s.add(matryoshka("mv_pca4_os10", BenchSystem::pca4Mapping, Map.of("oversample", 10),
            "matryoshka_vector bits 4, rotation pca, nested_dims [d/6, d/3, d/2, d], oversample 10").searchingIndexOf("mv_pca4"));
        return s;
    }

    static Map<String, Object> pca4Mapping(int dims) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bits", 4);
        m.put("rotation", "pca");
        // multiples of 8 (whole bytes of sign bits): 64/128/192/384 for 384 dims, 128/256/384/768 for 768
        java.util.TreeSet<Integer> nested = new java.util.TreeSet<>();
        for (int level : new int[] { dims / 6, dims / 3, dims / 2 }) {
            nested.add(Math.max(8, level - level % 8));
        }
        nested.removeIf(level -> level >= dims);
        nested.add(dims);
        m.put("nested_dims", List.copyOf(nested));
        return m;
    }
}
