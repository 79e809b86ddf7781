package io.matryoshka.engine;

import io.matryoshka.codec.BenchmarkSegments;

import io.matryoshka.codec.CodeFiles;

import io.matryoshka.codec.MatryoshkaVectorsReader;

import io.matryoshka.codec.MatryoshkaVectorsFormat;

import io.matryoshka.codec.FieldCodes;

import io.matryoshka.quantization.QueryCode;
import io.matryoshka.quantization.Rotation;
import io.matryoshka.search.FunnelMetric;

import io.matryoshka.bench.SyntheticVectors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.search.TopKnnCollector;
import org.apache.lucene.store.IndexInput;
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
 * The funnel's stage-1 scan ({@link StageOneScan}, the production code) over one code level of a
 * real force-merged segment of 100k x 384 synthetic embedding-shaped vectors, memory-mapped, next
 * to two baselines over the same bytes measured in the same run: a plain sequential read of them
 * from a heap array (the machine's read bandwidth) and the same read through the mapped file in
 * the scan's chunks. Each call scans the level once: bytes per second = level bytes / time.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
public class StageOneScanBenchmark {
  static final int DOCS = 100_000;
  static final int DIMS = 384;

  /**
   * Bits per document of the scanned level: 64 (8 bytes, the first level of nested dims [64, 384])
   * or 384 (48 bytes, the only level of nested dims [384]).
   */
  @Param({"64", "384"})
  int levelDims;

  private Path path;
  private MMapDirectory directory;
  private DirectoryReader reader;
  private FieldCodes codes;
  private float[][] queries;
  private int next;
  private long[] heapColumn;
  private long[] chunk;
  /** Survivors, as the default funnel keeps on such a level (k = 10, oversample 30). */
  private int keep;

  @Setup(Level.Trial)
  public void setup() throws IOException {
    LogConfigurator.configureESLogging();
    path = Files.createTempDirectory("stage-one-bench");
    directory = new MMapDirectory(path);
    int[] nested = levelDims == 64 ? new int[] {64, DIMS} : new int[] {DIMS};
    keep = levelDims == 64 ? 4800 : 300;
    KnnVectorsFormat format = new MatryoshkaVectorsFormat(nested, 1, Rotation.NONE);
    BenchmarkSegments.writeForceMerged(directory, SyntheticVectors.generate(DOCS, DIMS, 7), format);
    reader = DirectoryReader.open(directory);
    MatryoshkaVectorsReader formatReader =
        CodeFiles.formatReader((SegmentReader) reader.leaves().get(0).reader(), "v");
    codes = formatReader.fieldCodes("v");
    queries = SyntheticVectors.generate(256, DIMS, 11);
    IndexInput level = codes.planeInput(0, 0);
    heapColumn = new long[DOCS * codes.layout().wordsPerPlane(0)];
    level.readLongs(heapColumn, 0, heapColumn.length);
    chunk = new long[ChunkVisits.SCAN_CHUNK * codes.layout().wordsPerPlane(0)];
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    IOUtils.close(reader, directory);
    IOUtils.rm(path);
  }

  /** Baseline: every long of the level once, from a heap array (XOR, so no read is skipped). */
  @Benchmark
  public long sequentialReadBaseline() {
    long acc = 0;
    for (long word : heapColumn) {
      acc ^= word;
    }
    return acc;
  }

  /** Baseline: the same bytes read from the mapped file in the scan's chunks. */
  @Benchmark
  public long mappedChunkReadBaseline() throws IOException {
    IndexInput level = codes.planeInput(0, 0);
    int words = codes.layout().wordsPerPlane(0);
    long acc = 0;
    for (int start = 0; start < DOCS; start += ChunkVisits.SCAN_CHUNK) {
      int n = Math.min(ChunkVisits.SCAN_CHUNK, DOCS - start) * words;
      level.readLongs(chunk, 0, n);
      for (int i = 0; i < n; i++) {
        acc ^= chunk[i];
      }
    }
    return acc;
  }

  /** Symmetric hamming stage over the level, keeping the default funnel's survivors. */
  @Benchmark
  public int hammingScan() throws IOException {
    return scan(FunnelMetric.HAMMING);
  }

  /** Asymmetric stage (4-bit query planes x 1-bit codes), as the default funnel's first stage. */
  @Benchmark
  public int asymmetricScan() throws IOException {
    return scan(FunnelMetric.ASYMMETRIC);
  }

  private int scan(FunnelMetric metric) throws IOException {
    QueryCode query = QueryCodes.encode(codes.binarizer(), queries[next++ & 255], metric, 1);
    return new StageOneScan(codes)
        .scan(query, 0, 1, null, new TopKnnCollector(10, Integer.MAX_VALUE), keep, null)
        .length;
  }
}
