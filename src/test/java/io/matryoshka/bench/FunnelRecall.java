package io.matryoshka.bench;

import io.matryoshka.search.Funnel;
import io.matryoshka.search.FunnelMetric;
import io.matryoshka.search.FunnelSearchStrategy;
import io.matryoshka.search.FunnelStage;
import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.quantization.Rotation;
import io.matryoshka.search.MatryoshkaKnnQuery;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene104.Lucene104Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.MMapDirectory;
import org.apache.lucene.util.IOUtils;

/**
 * Recall@10 and per-query latency of funnel shapes on a TEXMEX dataset, one force-merged segment,
 * funnels interleaved per query (paired), one thread, in-process Lucene (no Elasticsearch): the numbers that choose the default funnel.
 *
 * <pre>
 * ./mvnw -q test-compile exec:java -Dexec.classpathScope=test \
 *   -Dexec.mainClass=io.matryoshka.bench.FunnelRecall -Dexec.args="../shared/datasets/debian-bge-small 1000"
 * </pre>
 *
 * <p>Options (system properties): {@code bits} (e.g. {@code 1,4}), {@code rotation} ({@code none},
 * {@code pca}), {@code nested} (e.g. {@code 64,128,192,384}), {@code funnels} (e.g. {@code
 * asymmetric@384->300,float@384->10;asymmetric@64x1b->4800,float@384->10}), {@code threads} (an
 * executor of that many threads for the searcher, as Elasticsearch gives it; none by default),
 * {@code keep} (a folder to keep each mapping's index in and reuse on later runs).
 */
public final class FunnelRecall {
  public static void main(String[] args) throws Exception {
    // Lucene's SPI also loads Elasticsearch's formats from the test classpath; they need its logging.
    org.elasticsearch.common.logging.LogConfigurator.configureESLogging();
    Path dataset = Path.of(args[0]);
    int queries = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
    float[][] docs = Fvecs.readFvecs(dataset.resolve("docs.fvecs"), Integer.MAX_VALUE);
    float[][] query = Fvecs.readFvecs(dataset.resolve("queries.fvecs"), queries);
    int[][] truth = Fvecs.readIvecs(dataset.resolve("groundtruth.ivecs"), queries);
    int dims = docs[0].length;
    System.out.printf(Locale.ROOT, "%d docs x %d dims, %d queries%n", docs.length, dims, query.length);
    int[] bitsToTry = Arrays.stream(System.getProperty("bits", "1,2,4").split(",")).mapToInt(Integer::parseInt).toArray();
    for (int bits : bitsToTry) {
      int[] nested =
          System.getProperty("nested") != null
              ? Arrays.stream(System.getProperty("nested").split(",")).mapToInt(Integer::parseInt).toArray()
              : dims == 384 ? new int[] {64, 128, 192, 384} : new int[] {dims};
      // -Dkeep=DIR keeps the index in DIR/<mapping> and reuses it on the next run
      String keepIn = System.getProperty("keep");
      Rotation rotation = Rotation.fromWireName(System.getProperty("rotation", "none"));
      Path dir =
          keepIn == null
              ? Files.createTempDirectory("funnel-recall")
              : Files.createDirectories(Path.of(keepIn, "b" + bits + "-" + rotation + "-" + Arrays.toString(nested).replaceAll("[^0-9]+", "_")));
      try (Directory directory = new MMapDirectory(dir)) {
        long t0 = System.nanoTime();
        if (keepIn == null || DirectoryReader.indexExists(directory) == false) {
          index(directory, docs, new MatryoshkaVectorsFormat(nested, bits, rotation));
        }
        System.out.printf(Locale.ROOT, "%nbits=%d nested=%s rotation=%s indexed+merged in %.1f s%n", bits, Arrays.toString(nested), rotation, (System.nanoTime() - t0) / 1e9);
        try (DirectoryReader reader = DirectoryReader.open(directory)) {
          // -Dthreads=N: the searcher gets an executor of N threads, as Elasticsearch's search workers
          int threads = Integer.getInteger("threads", 0);
          java.util.concurrent.ExecutorService pool = threads > 0 ? java.util.concurrent.Executors.newFixedThreadPool(threads) : null;
          IndexSearcher searcher = new IndexSearcher(reader, pool);
          boolean layered = rotation != Rotation.NONE || Boolean.getBoolean("layered");
          List<Funnel> funnels =
              System.getProperty("funnels") != null
                  ? parseFunnels(System.getProperty("funnels"))
                  : layered ? rotatedFunnels(nested, dims, bits, docs.length) : funnels(nested, dims, bits, docs.length);
          measure(searcher, funnels, query, truth, dims);
          if (pool != null) {
            pool.shutdown();
          }
        }
      } finally {
        if (keepIn == null) {
          IOUtils.rm(dir);
        }
      }
    }
  }

  /**
   * Funnels written as in the reports: stages {@code metric@dims->kept} (optionally {@code
   * metric@dimsx1b->kept} for the sign plane only) separated by {@code ,}, funnels by {@code ;};
   * {@code default} for the default funnel the segment resolves (null here).
   */
  static List<Funnel> parseFunnels(String spec) {
    List<Funnel> out = new ArrayList<>();
    for (String funnel : spec.split(";")) {
      if (funnel.trim().equals("default")) {
        out.add(null); // the reader's default funnel for the segment
        continue;
      }
      List<FunnelStage> stages = new ArrayList<>();
      for (String stage : funnel.trim().split(",")) {
        String[] metricRest = stage.trim().split("@");
        String[] dimsKept = metricRest[1].split("->");
        String dims = dimsKept[0];
        int bits = 0;
        if (dims.endsWith("b")) {
          bits = Integer.parseInt(dims.substring(dims.indexOf('x') + 1, dims.length() - 1));
          dims = dims.substring(0, dims.indexOf('x'));
        }
        stages.add(
            new FunnelStage(Integer.parseInt(dims), FunnelMetric.fromWireName(metricRest[0]), Integer.parseInt(dimsKept[1]), bits));
      }
      out.add(new Funnel(stages));
    }
    return out;
  }

  /**
   * With a rotation the leading code levels carry the ranking: a sign-plane first stage on a short
   * level, then all planes of a longer level for the survivors.
   */
  static List<Funnel> rotatedFunnels(int[] nested, int dims, int bits, int segmentDocs) {
    List<Funnel> out = new ArrayList<>();
    out.add(Funnel.defaultFor(nested, dims, 10, Funnel.rerankCandidates(10, Funnel.DEFAULT_OVERSAMPLE, segmentDocs), bits, true, true));
    for (int first : new int[] {nested[0], nested[1]}) {
      for (int keep : new int[] {2000, 5000, 10000}) {
        for (int second : new int[] {nested[nested.length - 2], dims}) {
          for (int secondKeep : new int[] {100, 300}) {
            out.add(new Funnel(List.of(new FunnelStage(first, FunnelMetric.ASYMMETRIC, keep, 1), new FunnelStage(second, FunnelMetric.ASYMMETRIC, secondKeep), new FunnelStage(dims, FunnelMetric.FLOAT, 10))));
          }
        }
      }
    }
    out.add(new Funnel(List.of(new FunnelStage(dims, FunnelMetric.ASYMMETRIC, 300), new FunnelStage(dims, FunnelMetric.FLOAT, 10))));
    // The sign plane of a short level, then exact floats straight away: the survivors' floats are
    // contiguous per document, where their codes lie in one block per level and bit plane.
    for (int first : new int[] {nested[0], nested[1]}) {
      for (int keep : new int[] {1000, 2000, 4800, 10000}) {
        out.add(new Funnel(List.of(new FunnelStage(first, FunnelMetric.ASYMMETRIC, keep, 1), new FunnelStage(dims, FunnelMetric.FLOAT, 10))));
      }
    }
    return out;
  }

  static List<Funnel> funnels(int[] nested, int dims, int bits, int segmentDocs) {
    List<Funnel> out = new ArrayList<>();
    out.add(Funnel.defaultFor(nested, dims, 10, Funnel.rerankCandidates(10, Funnel.DEFAULT_OVERSAMPLE, segmentDocs), bits, false, true));
    for (FunnelMetric metric : new FunnelMetric[] {FunnelMetric.HAMMING, FunnelMetric.ASYMMETRIC}) {
      if (bits > 1 && metric == FunnelMetric.HAMMING) {
        continue;
      }
      for (int keep : new int[] {100, 300, 1000, 2000}) {
        out.add(new Funnel(List.of(new FunnelStage(dims, metric, keep), new FunnelStage(dims, FunnelMetric.FLOAT, 10))));
      }
      for (int keep : new int[] {1000, 2000}) {
        out.add(new Funnel(List.of(new FunnelStage(dims, metric, keep), new FunnelStage(dims / 2, FunnelMetric.FLOAT, 100), new FunnelStage(dims, FunnelMetric.FLOAT, 10))));
        out.add(new Funnel(List.of(new FunnelStage(dims, metric, keep), new FunnelStage(dims / 2, FunnelMetric.FLOAT, 30), new FunnelStage(dims, FunnelMetric.FLOAT, 10))));
      }
      for (int first : nested) {
        if (first == dims) {
          continue;
        }
        out.add(new Funnel(List.of(new FunnelStage(first, metric, 3000), new FunnelStage(dims, metric, 300), new FunnelStage(dims, FunnelMetric.FLOAT, 10))));
      }
    }
    return out;
  }

  static void index(Directory directory, float[][] docs, KnnVectorsFormat format) throws IOException {
    IndexWriterConfig config = new IndexWriterConfig().setCodec(codec(format)).setRAMBufferSizeMB(256);
    try (IndexWriter writer = new IndexWriter(directory, config)) {
      for (int i = 0; i < docs.length; i++) {
        Document doc = new Document();
        doc.add(new StoredField("ord", i));
        doc.add(new KnnFloatVectorField("v", docs[i], VectorSimilarityFunction.COSINE));
        writer.addDocument(doc);
      }
      writer.forceMerge(1);
    }
  }

  static Codec codec(KnnVectorsFormat format) {
    return new Lucene104Codec() {
      @Override
      public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
        return format;
      }
    };
  }

  /**
   * Every funnel on every query, paired as the end-to-end tool pairs systems: query {@code q} goes
   * to each funnel in turn, starting at funnel {@code q mod funnels}, so host drift (this machine is
   * shared) falls on all funnels alike. One warm-up round of up to 200 queries first. Prints each
   * funnel's recall@10, p50 and p99, and its p50 relative to the first funnel's.
   */
  static void measure(IndexSearcher searcher, List<Funnel> funnels, float[][] queries, int[][] truth, int dims) throws IOException {
    int n = funnels.size();
    List<FunnelSearchStrategy> strategies = new ArrayList<>();
    for (Funnel funnel : funnels) {
      strategies.add(new FunnelSearchStrategy(funnel, Funnel.DEFAULT_OVERSAMPLE, dims, false));
    }
    for (int i = 0; i < Math.min(200, queries.length); i++) {
      for (FunnelSearchStrategy strategy : strategies) {
        searcher.search(new MatryoshkaKnnQuery("v", queries[i], dims, 10, null, strategy, Float.NEGATIVE_INFINITY), 10);
      }
    }
    long[][] nanos = new long[n][queries.length];
    double[] recall = new double[n];
    for (int q = 0; q < queries.length; q++) {
      Set<Integer> expected = new HashSet<>();
      for (int i = 0; i < 10; i++) {
        expected.add(truth[q][i]);
      }
      for (int j = 0; j < n; j++) {
        int f = (q + j) % n;
        long t0 = System.nanoTime();
        TopDocs top =
            searcher.search(new MatryoshkaKnnQuery("v", queries[q], dims, 10, null, strategies.get(f), Float.NEGATIVE_INFINITY), 10);
        nanos[f][q] = System.nanoTime() - t0;
        int hits = 0;
        for (ScoreDoc sd : top.scoreDocs) {
          // single segment, docs added in order: doc id == ordinal
          if (expected.contains(sd.doc)) {
            hits++;
          }
        }
        recall[f] += hits / 10.0;
      }
    }
    double firstP50 = 0;
    for (int f = 0; f < n; f++) {
      long[] sorted = nanos[f].clone();
      Arrays.sort(sorted);
      double p50 = sorted[sorted.length / 2] / 1e6;
      if (f == 0) {
        firstP50 = p50;
      }
      Funnel funnel = funnels.get(f);
      System.out.printf(
          Locale.ROOT,
          "  %-70s recall@10=%.4f  p50=%.3f ms  p99=%.3f ms  p50/first=%.2f%n",
          funnel == null ? "default" : funnel,
          recall[f] / queries.length,
          p50,
          sorted[(int) (sorted.length * 0.99)] / 1e6,
          p50 / firstP50);
    }
  }
}
