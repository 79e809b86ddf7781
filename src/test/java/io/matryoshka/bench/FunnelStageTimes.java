package io.matryoshka.bench;

import io.matryoshka.search.Funnel;
import io.matryoshka.search.FunnelSearchStrategy;
import io.matryoshka.search.MatryoshkaKnnQuery;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.MMapDirectory;

/**
 * Where a funnel's time goes, stage by stage, in-process: the median of each stage's own time as
 * the funnel records it for {@code profile} (the query's description), and of the whole search
 * (the rewrite that runs the funnel), over the last three quarters of {@code n} queries. Funnels
 * are interleaved per query (query {@code q} to each funnel in turn, starting at {@code q mod
 * funnels}), so host drift falls on all of them alike. The index is one that {@link FunnelRecall}
 * kept ({@code -Dkeep=DIR} writes it to {@code DIR/<mapping>}). The last query's trace is printed
 * too, so the stages' names and sizes go with their times. {@code -Devict=MB} writes that many
 * megabytes before each search, so the codes are read from memory rather than from a cache kept warm
 * by the previous search (between a node's searches its other work evicts them).
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes:$(cat /tmp/cp.txt) \
 *   -Dthreads=2 -Dn=1500 "-Dfunnels=default;asymmetric@128x1b->20,asymmetric@384->10,float@384->10" \
 *   io.matryoshka.bench.FunnelStageTimes /work/data/fr-1m/b4-pca-_64_128_192_384_ /work/data/mixed-1m
 * </pre>
 */
public final class FunnelStageTimes {
  private static final Pattern MILLIS = Pattern.compile("([0-9.]+) ms");

  private FunnelStageTimes() {}

  public static void main(String[] args) throws Exception {
    org.elasticsearch.common.logging.LogConfigurator.configureESLogging();
    float[][] queries = Fvecs.readFvecs(Path.of(args[1]).resolve("queries.fvecs"), 1000);
    int dims = queries[0].length;
    int threads = Integer.getInteger("threads", 0);
    int n = Integer.getInteger("n", 1500);
    List<Funnel> funnels = FunnelRecall.parseFunnels(System.getProperty("funnels", "default"));
    ExecutorService pool = threads > 0 ? Executors.newFixedThreadPool(threads) : null;
    // -Devict=MB: before each search, write that many megabytes, as a node's other work between
    // searches pushes the segment's codes out of the caches
    int evictMegabytes = Integer.getInteger("evict", 0);
    long[] thrash = evictMegabytes > 0 ? new long[evictMegabytes << 17] : null;
    try (Directory directory = new MMapDirectory(Path.of(args[0])); DirectoryReader reader = DirectoryReader.open(directory)) {
      IndexSearcher searcher = new IndexSearcher(reader, pool);
      List<FunnelSearchStrategy> strategies = new ArrayList<>();
      List<List<List<Double>>> times = new ArrayList<>(); // per funnel, per stage (the last: whole search)
      for (Funnel funnel : funnels) {
        strategies.add(new FunnelSearchStrategy(funnel, Funnel.DEFAULT_OVERSAMPLE, dims, false));
        times.add(new ArrayList<>());
      }
      for (int q = 0; q < n; q++) {
        for (int j = 0; j < strategies.size(); j++) {
          int f = (q + j) % strategies.size();
          if (thrash != null) {
            evictCaches(thrash);
          }
          long started = System.nanoTime();
          Query rewritten =
              searcher.rewrite(
                  new MatryoshkaKnnQuery("v", queries[q % queries.length], dims, 10, null, strategies.get(f), Float.NEGATIVE_INFINITY));
          double whole = (System.nanoTime() - started) / 1e6;
          if (q == n - 1) {
            System.out.println("last query's trace: " + rewritten.toString("v"));
          }
          if (q < n / 4) {
            continue; // warm-up
          }
          List<List<Double>> stages = times.get(f);
          Matcher stage = MILLIS.matcher(rewritten.toString("v"));
          int s = 0;
          for (; stage.find(); s++) {
            at(stages, s).add(Double.parseDouble(stage.group(1)));
          }
          at(stages, s).add(whole);
        }
      }
      for (int f = 0; f < funnels.size(); f++) {
        StringBuilder line = new StringBuilder(funnels.get(f) == null ? "default" : funnels.get(f).toString());
        line.append(": median ms per stage, then the whole search:");
        for (List<Double> stage : times.get(f)) {
          Collections.sort(stage);
          line.append(String.format(Locale.ROOT, " %.3f", stage.get(stage.size() / 2)));
        }
        System.out.println(line);
      }
    } finally {
      if (pool != null) {
        pool.shutdown();
      }
    }
  }

  private static long evictions;

  private static void evictCaches(long[] thrash) {
    for (int i = 0; i < thrash.length; i += 8) { // one write per cache line
      thrash[i] += ++evictions;
    }
  }

  private static List<Double> at(List<List<Double>> stages, int stage) {
    while (stages.size() <= stage) {
      stages.add(new ArrayList<>());
    }
    return stages.get(stage);
  }
}
