package io.matryoshka.codec;

import io.matryoshka.search.FloatPrefixScorer;
import io.matryoshka.quantization.Rotation;
import io.matryoshka.search.Funnel;
import io.matryoshka.search.FunnelSearchStrategy;

import io.matryoshka.bench.SyntheticVectors;
import io.matryoshka.search.MatryoshkaKnnQuery;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.MMapDirectory;
import org.apache.lucene.util.IOUtils;
import org.elasticsearch.common.logging.LogConfigurator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One whole-segment query on 100k x 384 synthetic embedding-shaped vectors (one force-merged
 * segment, memory-mapped, one thread) for two field settings, and float prefix scoring per
 * candidate read in place.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
public class SegmentQueryBenchmark {
  static final int DOCS = 100_000;
  static final int DIMS = 384;

  /** Prefix length scored per candidate by the float benchmark. */
  @Param({"64", "192", "384"})
  int prefix;

  /**
   * The field: {@code 1bit} (nested 64/128/192/384, one bit, no rotation) or {@code pca4} (the same
   * levels, 4 bits, rotation pca: the 8-byte first stage of src/bench/funnel-defaults.md).
   */
  @Param({"1bit", "pca4"})
  String mapping;

  private Path path;
  private MMapDirectory directory;
  private DirectoryReader reader;
  private IndexSearcher searcher;
  private float[][] queries;
  private int next;
  private FloatPrefixScorer prefixScorer;
  private int[] candidateOrds;

  @Setup(Level.Trial)
  public void setup() throws IOException {
    LogConfigurator.configureESLogging();
    path = Files.createTempDirectory("segment-query-bench");
    directory = new MMapDirectory(path);
    float[][] vectors = SyntheticVectors.generate(DOCS, DIMS, 7);
    KnnVectorsFormat format =
        mapping.equals("pca4")
            ? new MatryoshkaVectorsFormat(new int[] {64, 128, 192, 384}, 4, Rotation.PCA)
            : new MatryoshkaVectorsFormat(new int[] {64, 128, 192, 384}, 1, Rotation.NONE);
    BenchmarkSegments.writeForceMerged(directory, vectors, format);
    reader = DirectoryReader.open(directory);
    searcher = new IndexSearcher(reader);
    queries = SyntheticVectors.generate(256, DIMS, 11);
    LeafReader leaf = reader.leaves().get(0).reader();
    FloatVectorValues values = leaf.getFloatVectorValues("v");
    prefixScorer = new FloatPrefixScorer(values, queries[0], VectorSimilarityFunction.COSINE);
    Random random = new Random(3);
    candidateOrds = new int[1000];
    for (int i = 0; i < candidateOrds.length; i++) {
      candidateOrds[i] = random.nextInt(DOCS);
    }
    java.util.Arrays.sort(candidateOrds);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    IOUtils.close(reader, directory);
    IOUtils.rm(path);
  }

  /** The default funnel (k=10) over the whole segment, as a Lucene query. Not parameterised by prefix. */
  @Benchmark
  public TopDocs defaultFunnelQuery() throws IOException {
    float[] query = queries[next++ & 255];
    FunnelSearchStrategy strategy = new FunnelSearchStrategy(null, Funnel.DEFAULT_OVERSAMPLE, DIMS, false);
    return searcher.search(new MatryoshkaKnnQuery("v", query, DIMS, 10, null, strategy, Float.NEGATIVE_INFINITY), 10);
  }

  /** Exact float scoring of 1,000 candidates (sorted ords, as the funnel reads them) on a prefix. */
  @Benchmark
  public float floatPrefixThousandCandidates() throws IOException {
    float sum = 0;
    for (int ord : candidateOrds) {
      sum += prefixScorer.score(ord, prefix);
    }
    return sum;
  }
}
