package io.matryoshka.codec;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Stage-1 scan kernels over one code column of 100k documents, next to a plain sequential read of
 * the same bytes (the machine's memory-read baseline, measured in the same run). Each benchmark
 * call scans the whole column once: bytes per second = column bytes / (time per call).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Thread)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
public class StageOneScanBenchmark {
  @Param({"100000"})
  int docs;

  /** Bits per document in the scanned level: 64 (8 bytes) or 384 (48 bytes). */
  @Param({"64", "384"})
  int levelDims;

  private long[] column;
  /** The funnel copies each chunk of codes from the mapped file into such a buffer (readLongs). */
  private long[] chunk;
  private long[] hammingQuery;
  private long[] asymmetricQuery;
  private int words;

  @Setup
  public void setup() {
    Random random = new Random(42);
    words = levelDims / Long.SIZE;
    column = new long[docs * words];
    chunk = new long[FunnelSearcher.SCAN_CHUNK * words];
    for (int i = 0; i < column.length; i++) {
      column[i] = random.nextLong();
    }
    hammingQuery = new long[words];
    asymmetricQuery = new long[4 * words];
    for (int i = 0; i < hammingQuery.length; i++) {
      hammingQuery[i] = random.nextLong();
    }
    for (int i = 0; i < asymmetricQuery.length; i++) {
      asymmetricQuery[i] = random.nextLong();
    }
  }

  /** Baseline: read every long of the column once (XOR so the JIT cannot skip the reads). */
  @Benchmark
  public long sequentialReadBaseline() {
    long acc = 0;
    for (long word : column) {
      acc ^= word;
    }
    return acc;
  }

  /** Symmetric hamming of every document, chunk by chunk as the funnel scans, keep 1000. */
  @Benchmark
  public int hammingScan() {
    TopCandidates top = new TopCandidates(1000);
    int[] distances = new int[FunnelSearcher.SCAN_CHUNK];
    for (int start = 0; start < docs; start += FunnelSearcher.SCAN_CHUNK) {
      int n = Math.min(FunnelSearcher.SCAN_CHUNK, docs - start);
      java.util.Arrays.fill(distances, 0);
      System.arraycopy(column, start * words, chunk, 0, n * words);
      BitKernels.hammingChunk(hammingQuery, chunk, n, words, distances);
      float threshold = top.minCompetitiveScore();
      for (int i = 0; i < n; i++) {
        float score = levelDims - 2f * distances[i];
        if (score > threshold) {
          top.offer(start + i, score);
          threshold = top.minCompetitiveScore();
        }
      }
    }
    return top.size();
  }

  /** Asymmetric (4-bit query planes x 1-bit documents) of every document, keep 300. */
  @Benchmark
  public int asymmetricScan() {
    TopCandidates top = new TopCandidates(300);
    long[] sums = new long[FunnelSearcher.SCAN_CHUNK];
    for (int start = 0; start < docs; start += FunnelSearcher.SCAN_CHUNK) {
      int n = Math.min(FunnelSearcher.SCAN_CHUNK, docs - start);
      java.util.Arrays.fill(sums, 0L);
      System.arraycopy(column, start * words, chunk, 0, n * words);
      BitKernels.fourBitQueryOneBitDocChunk(asymmetricQuery, chunk, n, words, sums);
      float threshold = top.minCompetitiveScore();
      for (int i = 0; i < n; i++) {
        float score = (float) (sums[i] >>> 32) - 0.5f * (sums[i] & 0xFFFFFFFFL);
        if (score > threshold) {
          top.offer(start + i, score);
          threshold = top.minCompetitiveScore();
        }
      }
    }
    return top.size();
  }
}
