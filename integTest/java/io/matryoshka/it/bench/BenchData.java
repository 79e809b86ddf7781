package io.matryoshka.it.bench;

import io.matryoshka.bench.Fvecs;
import io.matryoshka.bench.SyntheticVectors;

import org.apache.lucene.util.VectorUtil;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The vectors of one benchmark run: documents, queries and the exact top-{@value #GT_K} of every query
 * by cosine (documents and queries are L2-normalised on load, so cosine = dot product). Ground truth comes
 * from a TEXMEX .ivecs file when given, else it is computed here by multi-threaded brute force and cached.
 */
final class BenchData {

    static final int GT_K = 100;

    final String name;
    final String source;
    final float[][] docs;
    final float[][] queries;
    final int[][] groundTruth;
    final String groundTruthSource;

    private BenchData(String name, String source, float[][] docs, float[][] queries, int[][] groundTruth, String groundTruthSource) {
        this.name = name;
        this.source = source;
        this.docs = docs;
        this.queries = queries;
        this.groundTruth = groundTruth;
        this.groundTruthSource = groundTruthSource;
    }

    int dims() {
        return docs[0].length;
    }

    /**
     * TEXMEX files. With {@code maxDocs} below the file's row count a given ground truth no longer applies
     * and is recomputed.
     */
    static BenchData fromFiles(String name, Path docsFile, Path queriesFile, Path gtFile, int maxDocs, int maxQueries, Path cacheDir)
        throws IOException {
        System.err.println("[bench] reading " + docsFile + " and " + queriesFile);
        float[][] docs = readFvecs(docsFile, maxDocs);
        float[][] queries = readFvecs(queriesFile, maxQueries);
        long fileRows = Files.size(docsFile) / (4L * (docs[0].length + 1));
        normalise(docs);
        normalise(queries);
        String source = docsFile.toAbsolutePath() + " (" + docs.length + " of " + fileRows + " rows), " + queriesFile.toAbsolutePath() + " ("
            + queries.length + " queries)";
        if (gtFile != null && docs.length == fileRows) {
            int[][] gt = Fvecs.readIvecs(gtFile, queries.length);
            if (gt.length < queries.length) {
                throw new IllegalArgumentException(gtFile + " has " + gt.length + " rows for " + queries.length + " queries");
            }
            return new BenchData(name, source, docs, queries, gt, gtFile.toAbsolutePath().toString());
        }
        if (gtFile != null) {
            System.err.println("[bench] " + gtFile + " is for all " + fileRows + " documents, only " + docs.length + " are used: recomputing");
        }
        String key = name + "-" + docs.length + "x" + docs[0].length + "-q" + queries.length;
        return withComputedGroundTruth(name, source, docs, queries, cacheDir.resolve(key + ".gt.ivecs"));
    }

    /** {@link SyntheticVectors}: {@code count + queryCount} vectors from one seed; the last {@code queryCount} are the queries. */
    static BenchData synthetic(int count, int dims, int queryCount, long seed, Path cacheDir) throws IOException {
        System.err.printf("[bench] generating %,d synthetic vectors x %d dims (seed %d)%n", count + queryCount, dims, seed);
        float[][] all = SyntheticVectors.generate(count + queryCount, dims, seed);
        float[][] docs = new float[count][];
        float[][] queries = new float[queryCount][];
        System.arraycopy(all, 0, docs, 0, count);
        System.arraycopy(all, count, queries, 0, queryCount);
        String name = "synthetic-" + count + "x" + dims;
        String source = "io.matryoshka.bench.SyntheticVectors.generate(" + (count + queryCount) + ", " + dims + ", " + seed + "): clustered (count/100,"
            + " at most 1000 centres), per-dimension scale (1+d)^-0.5, L2-normalised; the last " + queryCount + " vectors are the queries";
        return withComputedGroundTruth(name, source, docs, queries, cacheDir.resolve(name + "-q" + queryCount + "-seed" + seed + ".gt.ivecs"));
    }

    private static BenchData withComputedGroundTruth(String name, String source, float[][] docs, float[][] queries, Path cache) throws IOException {
        if (Files.isRegularFile(cache)) {
            int[][] gt = Fvecs.readIvecs(cache, queries.length);
            // cheap check that the cache belongs to these vectors: recompute query 0
            if (gt.length == queries.length && java.util.Arrays.equals(gt[0], exactTop(docs, queries[0], GT_K))) {
                System.err.println("[bench] ground truth from cache " + cache);
                return new BenchData(name, source, docs, queries, gt, "computed by brute force (float32 dot products), cached in " + cache.getFileName());
            }
        }
        int[][] gt = new int[queries.length][];
        int threads = Runtime.getRuntime().availableProcessors();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (Progress progress = new Progress("exact ground truth (" + threads + " thr)", queries.length)) {
            List<Future<?>> futures = new ArrayList<>();
            for (int q = 0; q < queries.length; q++) {
                int qi = q;
                futures.add(pool.submit(() -> {
                    gt[qi] = exactTop(docs, queries[qi], GT_K);
                    progress.step();
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } catch (Exception e) {
            throw new IllegalStateException("ground truth failed", e);
        } finally {
            pool.shutdownNow();
        }
        Files.createDirectories(cache.getParent());
        writeIvecs(cache, gt);
        return new BenchData(name, source, docs, queries, gt, "computed by brute force (float32 dot products), cached in " + cache.getFileName());
    }

    /** The {@code k} best documents by dot product, best first; ties by the lower ordinal. */
    static int[] exactTop(float[][] docs, float[] query, int k) {
        k = Math.min(k, docs.length);
        // a min-heap of (score, ordinal) on parallel arrays
        float[] hs = new float[k];
        int[] hi = new int[k];
        int size = 0;
        for (int d = 0; d < docs.length; d++) {
            float s = VectorUtil.dotProduct(query, docs[d]);
            if (size < k) {
                hs[size] = s;
                hi[size] = d;
                siftUp(hs, hi, size++);
            } else if (s > hs[0]) { // equal score: the earlier (lower) ordinal stays
                hs[0] = s;
                hi[0] = d;
                siftDown(hs, hi, size);
            }
        }
        Integer[] order = new Integer[size];
        for (int i = 0; i < size; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> hs[a] != hs[b] ? Float.compare(hs[b], hs[a]) : Integer.compare(hi[a], hi[b]));
        int[] out = new int[size];
        for (int i = 0; i < size; i++) {
            out[i] = hi[order[i]];
        }
        return out;
    }

    // heap order: lower score first; on equal score the higher ordinal is "worse" (evicted first)
    private static boolean worse(float[] hs, int[] hi, int a, int b) {
        return hs[a] < hs[b] || (hs[a] == hs[b] && hi[a] > hi[b]);
    }

    private static void siftUp(float[] hs, int[] hi, int i) {
        while (i > 0) {
            int p = (i - 1) >>> 1;
            if (worse(hs, hi, i, p) == false) {
                break;
            }
            swap(hs, hi, i, p);
            i = p;
        }
    }

    private static void siftDown(float[] hs, int[] hi, int size) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1, r = l + 1, m = i;
            if (l < size && worse(hs, hi, l, m)) {
                m = l;
            }
            if (r < size && worse(hs, hi, r, m)) {
                m = r;
            }
            if (m == i) {
                return;
            }
            swap(hs, hi, i, m);
            i = m;
        }
    }

    private static void swap(float[] hs, int[] hi, int a, int b) {
        float s = hs[a];
        hs[a] = hs[b];
        hs[b] = s;
        int t = hi[a];
        hi[a] = hi[b];
        hi[b] = t;
    }

    /**
     * Reads up to {@code maxRows} rows of a TEXMEX .fvecs file in 8 MB chunks: the heap holds the vectors
     * ({@code rows x dims x 4} bytes, 1.5 GB for 1M x 384) and not also the file, which may exceed 2 GB.
     */
    static float[][] readFvecs(Path path, int maxRows) throws IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(path)) {
            ByteBuffer head = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(head, 0);
            int dims = head.getInt(0);
            long rowBytes = 4L * (dims + 1);
            if (dims <= 0 || ch.size() % rowBytes != 0) {
                throw new IOException(path + ": " + ch.size() + " bytes is not a whole number of " + dims + "-dim rows");
            }
            int rows = (int) Math.min(maxRows, ch.size() / rowBytes);
            float[][] out = new float[rows][];
            int rowsPerChunk = (int) Math.max(1, (8L << 20) / rowBytes);
            ByteBuffer buf = ByteBuffer.allocateDirect((int) (rowsPerChunk * rowBytes)).order(ByteOrder.LITTLE_ENDIAN);
            try (Progress progress = new Progress("read " + path.getFileName(), rows)) {
                for (int r = 0; r < rows; ) {
                    int n = Math.min(rowsPerChunk, rows - r);
                    buf.clear().limit((int) (n * rowBytes));
                    long pos = r * rowBytes;
                    while (buf.hasRemaining()) {
                        if (ch.read(buf, pos + buf.position()) < 0) {
                            throw new IOException(path + ": truncated at row " + r);
                        }
                    }
                    buf.flip();
                    for (int i = 0; i < n; i++, r++) {
                        int length = buf.getInt();
                        if (length != dims) {
                            throw new IOException(path + ": row " + r + " has " + length + " dims, expected " + dims);
                        }
                        float[] v = new float[dims];
                        buf.asFloatBuffer().get(v);
                        buf.position(buf.position() + 4 * dims);
                        out[r] = v;
                    }
                    progress.add(n);
                }
            }
            return out;
        }
    }

    private static void normalise(float[][] vectors) {
        for (float[] v : vectors) {
            double n = 0;
            for (float x : v) {
                n += (double) x * x;
            }
            if (Math.abs(n - 1) > 1e-4 && n > 0) {
                float inv = (float) (1 / Math.sqrt(n));
                for (int i = 0; i < v.length; i++) {
                    v[i] *= inv;
                }
            }
        }
    }

    private static void writeIvecs(Path path, int[][] rows) throws IOException {
        int width = rows[0].length;
        ByteBuffer b = ByteBuffer.allocate(rows.length * 4 * (width + 1)).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] row : rows) {
            b.putInt(row.length);
            for (int x : row) {
                b.putInt(x);
            }
        }
        Files.write(path, b.array());
    }

    Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("documents", docs.length);
        m.put("queries", queries.length);
        m.put("dims", dims());
        m.put("source", source);
        m.put("ground_truth", groundTruthSource);
        return m;
    }
}
