package io.matryoshka.bench;

import io.matryoshka.codec.BenchmarkSegments;

import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.quantization.Rotation;
import io.matryoshka.search.Funnel;
import io.matryoshka.search.FunnelMetric;
import io.matryoshka.search.FunnelSearchStrategy;
import io.matryoshka.search.FunnelStage;
import io.matryoshka.search.MatryoshkaKnnQuery;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.IntStream;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.IOUtils;

/**
 * Recall@10 of {@code rotation: pca} (nested 64/128/192/384) on the 4,000-document real slice in
 * test resources, cut into 1 to 40 segments (segments of 100 documents learn rotations of fewer
 * rows than dims), with the default funnel and with code-only funnels over the full length, where
 * coordinates past a short rotation's rows count. Prints a Markdown table.
 */
public final class PcaSegmentRecall {
  private PcaSegmentRecall() {}

  private static final int K = 10;

  public static void main(String[] args) throws IOException {
    org.elasticsearch.common.logging.LogConfigurator.configureESLogging();
    float[][] docs = read("docs.fvecs");
    float[][] queries = read("queries.fvecs");
    int[][] truth = new int[queries.length][];
    for (int q = 0; q < queries.length; q++) {
      float[] query = queries[q];
      truth[q] =
          IntStream.range(0, docs.length)
              .boxed()
              .sorted(Comparator.comparingDouble((Integer d) -> -VectorSimilarityFunction.COSINE.compare(query, docs[d])).thenComparing(d -> d))
              .limit(K)
              .mapToInt(Integer::intValue)
              .toArray();
    }
    int[] nested = {64, 128, 192, 384};
    List<String> funnelNames = List.of("default", "asymmetric@64 keep 800, asymmetric@384 keep 100, float", "asymmetric@384 keep 50, float");
    List<Funnel> funnels =
        Arrays.asList(
            null,
            new Funnel(
                List.of(
                    new FunnelStage(64, FunnelMetric.ASYMMETRIC, 800, 1),
                    new FunnelStage(384, FunnelMetric.ASYMMETRIC, 100),
                    new FunnelStage(384, FunnelMetric.FLOAT, K))),
            new Funnel(List.of(new FunnelStage(384, FunnelMetric.ASYMMETRIC, 50), new FunnelStage(384, FunnelMetric.FLOAT, K))));
    System.out.println("| bits | segments | " + String.join(" | ", funnelNames) + " |");
    System.out.println("|---:|---:|" + "---:|".repeat(funnels.size()));
    for (int bits : new int[] {1, 4}) {
      for (int segments : new int[] {1, 10, 40}) {
        StringBuilder row = new StringBuilder("| " + bits + " | " + segments + " |");
        Path path = Files.createTempDirectory("pca-recall");
        try (Directory dir = FSDirectory.open(path)) {
          BenchmarkSegments.writeSegments(dir, docs, new MatryoshkaVectorsFormat(nested, bits, Rotation.PCA), segments);
          try (DirectoryReader reader = DirectoryReader.open(dir)) {
            IndexSearcher searcher = new IndexSearcher(reader);
            for (Funnel funnel : funnels) {
              double found = 0;
              for (int q = 0; q < queries.length; q++) {
                FunnelSearchStrategy strategy = new FunnelSearchStrategy(funnel, Funnel.DEFAULT_OVERSAMPLE, 384, false);
                TopDocs top = searcher.search(new MatryoshkaKnnQuery("v", queries[q], 384, K, null, strategy, Float.NEGATIVE_INFINITY), K);
                Set<Integer> expected = new HashSet<>();
                Arrays.stream(truth[q]).forEach(expected::add);
                for (ScoreDoc hit : top.scoreDocs) {
                  if (expected.contains(hit.doc)) {
                    found++;
                  }
                }
              }
              row.append(String.format(Locale.ROOT, " %.4f |", found / (queries.length * (double) K)));
            }
          }
        } finally {
          IOUtils.rm(path);
        }
        System.out.println(row);
      }
    }
  }

  private static float[][] read(String name) throws IOException {
    try (InputStream in = PcaSegmentRecall.class.getResourceAsStream("/debian-bge-small-slice/" + name)) {
      return Fvecs.readFvecs(in, Integer.MAX_VALUE, name);
    }
  }
}
