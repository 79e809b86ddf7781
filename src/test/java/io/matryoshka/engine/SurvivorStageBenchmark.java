package io.matryoshka.engine;

import io.matryoshka.bench.SyntheticVectors;
import io.matryoshka.codec.BenchmarkSegments;
import io.matryoshka.codec.CodeFiles;
import io.matryoshka.codec.FieldCodes;
import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.quantization.QueryCode;
import io.matryoshka.quantization.Rotation;
import io.matryoshka.search.Funnel;
import io.matryoshka.search.FunnelMetric;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.SegmentReader;
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
 * The default funnel's survivor stage on a {@code rotation: pca}, 4-bit field (nested 64, 128, 192,
 * 384; force-merged, memory-mapped): the first stage's survivors (the default window for k = 10 on
 * a segment of {@code docs}: 3,000 on 60,594, 11,720 on 1M; random ords, ascending, as the first
 * stage hands them over) re-scored on all 4 planes of all 384 dims down to the exact stage's
 * window. {@code entries}: survivor-block entries read {@link SurvivorCodeScorer#BATCH} at a time
 * (production), {@code oneAtATime}: the same entries read and scored one by one (the previous
 * code's access pattern), {@code planeBlocks}: the 16 level and plane blocks per survivor (segments
 * without the block). {@link #cut}: how the window is cut.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx8g"})
public class SurvivorStageBenchmark {
  static final int DIMS = 384;
  static final int QUERIES = 64;

  @Param({"60594", "1000000"})
  int docs;

  @Param({"entries", "oneAtATime", "planeBlocks"})
  String read;

  /**
   * How the stage cuts its window: {@code selection}, one linear selection of the cut score after
   * scoring every survivor (production, {@code SegmentFunnel.best}), or {@code heap}, a heap of the
   * window offered every survivor as it is scored (the code before 2fe2fda).
   */
  @Param({"selection", "heap"})
  String cut;

  private Path path;
  private MMapDirectory directory;
  private DirectoryReader reader;
  private StoredCodes codes;
  private QueryCode[] queries;
  private int[][] survivors;
  private int keep;
  private int next;

  @Setup(Level.Trial)
  public void setup() throws IOException {
    LogConfigurator.configureESLogging();
    path = Files.createTempDirectory("survivor-stage-bench");
    directory = new MMapDirectory(path);
    BenchmarkSegments.writeForceMerged(
        directory, SyntheticVectors.generate(docs, DIMS, 7), new MatryoshkaVectorsFormat(new int[] {64, 128, 192, DIMS}, 4, Rotation.PCA));
    reader = DirectoryReader.open(directory);
    FieldCodes fieldCodes = CodeFiles.formatReader((SegmentReader) reader.leaves().get(0).reader(), "v").fieldCodes("v");
    codes = read.equals("planeBlocks") ? new WithoutSurvivorBlock(fieldCodes) : fieldCodes;
    // the default funnel as SegmentPlan resolves it: the first window grows with the segment, the
    // survivor stage on all four planes keeps what a reference-sized segment's exact stage takes
    int rerank = Funnel.rerankCandidates(10, Funnel.DEFAULT_OVERSAMPLE, docs);
    int afterFourBits = Funnel.rerankCandidates(10, Funnel.DEFAULT_OVERSAMPLE, Funnel.REFERENCE_SEGMENT_DOCS);
    Funnel funnel = Funnel.defaultFor(new int[] {64, 128, 192, DIMS}, DIMS, 10, rerank, afterFourBits, 4, true, true);
    int window = funnel.stages().get(0).candidates();
    keep = funnel.stages().get(1).candidates();
    float[][] vectors = SyntheticVectors.generate(QUERIES, DIMS, 11);
    queries = new QueryCode[QUERIES];
    survivors = new int[QUERIES][];
    Random random = new Random(13);
    for (int q = 0; q < QUERIES; q++) {
      queries[q] = QueryCodes.encode(fieldCodes.binarizer(), vectors[q], FunnelMetric.ASYMMETRIC, 4);
      survivors[q] = random.ints(0, docs).distinct().limit(window).sorted().toArray();
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    IOUtils.close(reader, directory);
    IOUtils.rm(path);
  }

  @Benchmark
  public int survivorStage() throws IOException {
    int q = next++ & (QUERIES - 1);
    int[] ords = survivors[q];
    SurvivorCodeScorer scorer = new SurvivorCodeScorer(codes, queries[q], 3, 4);
    int batch = read.equals("oneAtATime") ? 1 : SurvivorCodeScorer.BATCH;
    float[] scores = new float[ords.length];
    boolean heap = cut.equals("heap");
    TopCandidates top = heap ? new TopCandidates(keep) : null;
    for (int from = 0; from < ords.length; from += batch) {
      int to = Math.min(ords.length, from + batch);
      scorer.score(ords, from, to, scores);
      if (heap) {
        for (int i = from; i < to; i++) {
          top.offer(ords[i], scores[i]);
        }
      }
    }
    return Arrays.hashCode(heap ? top.ordsAscending() : SegmentFunnel.best(ords, scores, keep));
  }
}
