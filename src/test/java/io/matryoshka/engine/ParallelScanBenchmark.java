package io.matryoshka.engine;

import io.matryoshka.bench.SyntheticVectors;
import io.matryoshka.codec.BenchmarkSegments;
import io.matryoshka.codec.CodeFiles;
import io.matryoshka.codec.FieldCodes;
import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.quantization.QueryCode;
import io.matryoshka.quantization.Rotation;
import io.matryoshka.search.FunnelMetric;
import java.io.IOException;
import org.apache.lucene.store.IndexInput;
import java.util.List;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.search.TaskExecutor;
import org.apache.lucene.search.TopKnnCollector;
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
 * The default first stage (asymmetric on the one level of nested dims [384], keeping the survivors
 * the default funnel keeps on a 1M segment) over a force-merged 1M x 384 segment, memory-mapped:
 * one pass on the calling thread against the same scan split into ord ranges on a pool of
 * {@code threads} threads ({@link ParallelRanges}), as a searcher with an executor runs it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx8g"})
public class ParallelScanBenchmark {
  static final int DIMS = 384;

  /** Documents in the segment: the shared Debian set's size and a million. */
  @Param({"60594", "1000000"})
  int docs;

  @Param({"1", "2"})
  int threads;

  private Path path;
  private MMapDirectory directory;
  private DirectoryReader reader;
  private FieldCodes codes;
  private float[][] queries;
  private int next;
  private ExecutorService pool;
  private TaskExecutor executor;
  private int keep;

  @Setup(Level.Trial)
  public void setup() throws IOException {
    LogConfigurator.configureESLogging();
    path = Files.createTempDirectory("parallel-scan-bench");
    directory = new MMapDirectory(path);
    BenchmarkSegments.writeForceMerged(
        directory, SyntheticVectors.generate(docs, DIMS, 7), new MatryoshkaVectorsFormat(new int[] {DIMS}, 1, Rotation.NONE));
    reader = DirectoryReader.open(directory);
    codes = CodeFiles.formatReader((SegmentReader) reader.leaves().get(0).reader(), "v").fieldCodes("v");
    queries = SyntheticVectors.generate(256, DIMS, 11);
    keep = io.matryoshka.search.Funnel.rerankCandidates(10, io.matryoshka.search.Funnel.DEFAULT_OVERSAMPLE, docs);
    if (threads > 1) {
      pool = Executors.newFixedThreadPool(threads);
      executor = new TaskExecutor(pool);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    if (pool != null) {
      pool.shutdown();
    }
    IOUtils.close(reader, directory);
    IOUtils.rm(path);
  }

  @Benchmark
  public int asymmetricScan() throws IOException {
    QueryCode query = QueryCodes.encode(codes.binarizer(), queries[next++ & 255], FunnelMetric.ASYMMETRIC, 1);
    return new StageOneScan(codes, new ParallelRanges(ParallelRanges.MIN_BYTES_PER_RANGE, Math.max(1, threads)))
        .scan(query, 0, 1, null, new TopKnnCollector(10, Integer.MAX_VALUE), keep, executor)
        .length;
  }

  /**
   * Baseline: the same level's bytes read as the scan reads them (512-document chunks copied out of
   * the mapped file, XOR-folded so that no read is skipped), in the same ranges on the same pool:
   * the scan's memory floor on this machine.
   */
  @Benchmark
  public long mappedReadBaseline() throws IOException {
    int words = codes.layout().wordsPerPlane(0);
    List<Long> parts =
        new ParallelRanges(ParallelRanges.MIN_BYTES_PER_RANGE, Math.max(1, threads))
            .scan(
                codes.count(),
                codes.layout().bytesThrough(0, 1),
                executor,
                new TopKnnCollector(10, Integer.MAX_VALUE),
                (from, to, collector) -> {
                  IndexInput in = codes.planeInput(0, 0);
                  in.seek((long) from * words * Long.BYTES);
                  long[] chunk = new long[ChunkVisits.SCAN_CHUNK * words];
                  long folded = 0;
                  for (int start = from; start < to; start += ChunkVisits.SCAN_CHUNK) {
                    int longs = Math.min(ChunkVisits.SCAN_CHUNK, to - start) * words;
                    in.readLongs(chunk, 0, longs);
                    for (int i = 0; i < longs; i++) {
                      folded ^= chunk[i];
                    }
                  }
                  return folded;
                });
    long folded = 0;
    for (long part : parts) {
      folded ^= part;
    }
    return folded;
  }
}
