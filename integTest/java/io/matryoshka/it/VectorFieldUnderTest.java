package io.matryoshka.it;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one place where the cluster tests say which vector field they index and how they search it.
 * Chosen with {@code -Dtests.vector.field=dense_vector|matryoshka_vector}; the default is the
 * product's own {@link #MATRYOSHKA_VECTOR}.
 *
 * <p>Both searches must be exact (deterministic): the cluster tests compare results served by different
 * copies of a shard (primary, replica, recovered, restored), whose segments differ. So the dense_vector
 * field uses {@code index_options.type: flat} (brute force) and the matryoshka query keeps every document
 * of a shard in its first stage.
 */
public enum VectorFieldUnderTest {

    DENSE_VECTOR {
        @Override
        public Map<String, Object> fieldMapping(int dims) {
            return map("type", "dense_vector", "dims", dims, "similarity", "cosine", "index", true, "index_options", map("type", "flat"));
        }

        @Override
        public Map<String, Object> query(String field, float[] vector, int k, int maxDocsPerShard) {
            return map("knn", map("field", field, "query_vector", toList(vector), "k", k, "num_candidates", Math.max(k, maxDocsPerShard)));
        }
    },

    /** The product's contract (shared/notes/interface.md). */
    MATRYOSHKA_VECTOR {
        @Override
        public Map<String, Object> fieldMapping(int dims) {
            return map("type", "matryoshka_vector", "dims", dims, "similarity", "cosine", "nested_dims", List.of(dims / 4, dims / 2, dims), "bits", 1);
        }

        @Override
        public Map<String, Object> query(String field, float[] vector, int k, int maxDocsPerShard) {
            List<Object> funnel = List.of(
                map("dims", vector.length / 4, "metric", "hamming", "candidates", Math.max(2 * k, maxDocsPerShard)),
                map("dims", vector.length, "metric", "float", "candidates", k));
            return map("matryoshka_knn", map("field", field, "query_vector", toList(vector), "k", k, "funnel", funnel));
        }
    };

    public static final VectorFieldUnderTest DEFAULT = MATRYOSHKA_VECTOR;

    public static VectorFieldUnderTest selected() {
        String name = System.getProperty("tests.vector.field", "");
        if (name.isBlank()) {
            return DEFAULT;
        }
        for (VectorFieldUnderTest v : values()) {
            if (v.name().equalsIgnoreCase(name)) {
                return v;
            }
        }
        throw new IllegalArgumentException("tests.vector.field=" + name + ": use dense_vector or matryoshka_vector");
    }

    /** The mapping of the vector field (the value under {@code properties.<field>}); dims divisible by 4. */
    public abstract Map<String, Object> fieldMapping(int dims);

    /**
     * An exact top-{@code k} query (the value of {@code "query"} in a search body) that visits every one of
     * up to {@code maxDocsPerShard} documents of a shard.
     */
    public abstract Map<String, Object> query(String field, float[] vector, int k, int maxDocsPerShard);

    static Map<String, Object> map(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    static List<Float> toList(float[] vector) {
        List<Float> list = new ArrayList<>(vector.length);
        for (float f : vector) {
            list.add(f);
        }
        return list;
    }
}
