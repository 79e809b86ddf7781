package io.matryoshka.quantization;

import io.matryoshka.bench.SyntheticVectors;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.apache.lucene.index.VectorSimilarityFunction;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * What coding one document costs when a segment is written (flush and merge), per call {@link
 * #DOCS} documents of 384 dims with a learned {@code pca} rotation (nested 64, 128, 192, 384):
 * the rotation one document at a time ({@link Binarizer#transform}) against blocks of {@link
 * BitKernels#ROTATE_BLOCK} ({@link Binarizer#transformAll}, production), and the quantization of
 * the rotated coordinates to {@code bits} planes on the production path ({@link
 * Binarizer#quantize}: the Vector API where it runs) against the scalar loop alone.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
public class DocumentCodingBenchmark {
  static final int DIMS = 384;
  static final int DOCS = 64;

  @Param({"1", "4"})
  int bits;

  private CodeLayout layout;
  private Binarizer binarizer;
  private float[][] vectors;
  private float[][] scratch;
  private float[][] coordinates;
  private long[][] codes;

  @Setup(Level.Trial)
  public void setup() throws IOException {
    float[][] sample = SyntheticVectors.generate(4096, DIMS, 7);
    float[] centroid = new float[DIMS];
    for (float[] v : sample) {
      double scale = Binarizer.unitScale(v, VectorSimilarityFunction.COSINE);
      for (int i = 0; i < DIMS; i++) {
        centroid[i] += (float) (v[i] * scale / sample.length);
      }
    }
    VectorPasses passes = consumer -> {
      for (float[] v : sample) {
        consumer.accept(v);
      }
    };
    float[][] rows = PcaRotation.learn(sample.length, DIMS, VectorSimilarityFunction.COSINE, centroid, passes);
    layout = new CodeLayout(DIMS, new int[] {64, 128, 192, DIMS}, bits);
    binarizer = new Binarizer(layout, VectorSimilarityFunction.COSINE, centroid, rows);
    vectors = SyntheticVectors.generate(DOCS, DIMS, 11);
    scratch = new float[DOCS][DIMS];
    coordinates = new float[DOCS][DIMS];
    binarizer.transformAll(vectors, DOCS, scratch, coordinates);
    codes = binarizer.newCodes(bits);
  }

  @Benchmark
  public float rotateOneByOne() {
    float sum = 0;
    for (float[] vector : vectors) {
      sum += binarizer.transform(vector, true)[3];
    }
    return sum;
  }

  @Benchmark
  public float rotateInBlocks() throws IOException {
    binarizer.transformAll(vectors, DOCS, scratch, coordinates);
    return coordinates[DOCS - 1][3];
  }

  @Benchmark
  public long quantize() {
    long folded = 0;
    for (float[] y : coordinates) {
      binarizer.quantize(y, bits, codes);
      folded ^= codes[0][0];
    }
    return folded;
  }

  /** The scalar loop of every level, with the same interval the production path takes. */
  @Benchmark
  public long quantizeScalar() {
    long folded = 0;
    int top = (1 << bits) - 1;
    for (float[] y : coordinates) {
      float amplitude = bits == 1 ? 1f : Binarizer.clippedAmplitude(y, bits, binarizer.activeDims());
      float lower = bits == 1 ? -1f : -amplitude;
      float step = bits == 1 ? 2f : 2f * amplitude / top;
      for (int level = 0; level < layout.levels(); level++) {
        java.util.Arrays.fill(codes[level], 0L);
        BitKernels.scalarQuantizeActive(
            y, layout.levelStart(level), layout.levelEnd(level), layout.levelStart(level), lower, step, bits, codes[level], layout.wordsPerPlane(level));
      }
      folded ^= codes[0][0];
    }
    return folded;
  }
}
