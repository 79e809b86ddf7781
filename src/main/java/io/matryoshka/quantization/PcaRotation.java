package io.matryoshka.quantization;

import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.util.VectorUtil;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Learns a segment's rotation: the principal axes of its (normalised, centred) vectors, most
 * variance first, so that the leading rotated coordinates carry most of the ranking and short
 * code prefixes work for models that are not Matryoshka-trained.
 *
 * <p>The axes come from a deterministic sample of {@code m} vectors (every {@code stride}-th) and
 * are at most {@code r <= min(m, dims, maxRows)}: a sample spans no more than {@code m}
 * directions, so a small segment's rotation is small (for a segment sampled whole with no more
 * than {@code maxRows + 1} vectors, every centred vector lies in the span of its axes). Two ways to the same axes, whichever eigenproblem is
 * smaller:
 *
 * <ul>
 *   <li>{@code m >= dims} (then {@code dims <= MAX_AXES}): the {@code dims x dims} covariance,
 *       {@code O(m dims^2)} to sum and {@code O(dims^3)} to decompose; all {@code dims} axes.
 *   <li>{@code m < dims}: the {@code m x m} Gram matrix {@code X X^T} of the centred sample
 *       {@code X} ({@code O(m^2 dims)}), decomposed in {@code O(m^3)}; its eigenvectors {@code v}
 *       give the axes {@code X^T v / |X^T v|} ({@code O(r m dims)}), the same eigenvalues as the
 *       covariance. Directions of (numerically) zero variance are dropped: they are not axes of the
 *       sample.
 * </ul>
 *
 * <p>Bounds: the eigenproblem is never larger than {@link #MAX_AXES} (EJML's symmetric
 * decomposition is cubic: 0.08 s at 256, 0.28 s at 512, 0.86 s at 768 and 3.0 s at 1024 on a
 * shared 2-core EPYC), so above {@link #MAX_AXES} dims the sample is {@link #MAX_AXES} vectors,
 * and the rotation keeps at most {@link #MAX_ROTATION_FLOATS} floats (but the whole first nested
 * level), so that coding each document at flush and merge, and each query, costs no more than a
 * 724-dim rotation would. The fit then costs at most {@code MAX_AXES^2 dims / 2} multiply-adds for
 * the Gram matrix, a 512 x 512 decomposition and {@code r MAX_AXES dims} for the axes, whatever the
 * segment's size; a segment of {@code m < 512} vectors costs {@code O(m^2 dims)}.
 *
 * <p>Deterministic for the same vectors on the same JVM: the sample is every {@code stride}-th
 * vector, the covariance or Gram matrix is summed in double, and each axis's sign is fixed
 * (largest component positive).
 */
public final class PcaRotation {
  /** Vectors sampled for the covariance: enough for a stable spectrum, bounded flush cost. */
  public static final int MAX_SAMPLE = 4096;

  /**
   * Most axes learned, and largest eigenproblem solved: at and below this many dims the sample is up
   * to {@link #MAX_SAMPLE} vectors and large segments get a full {@code dims x dims} rotation;
   * above it, the sample (and so the rotation's rows) is at most this many.
   */
  public static final int MAX_AXES = 512;

  /**
   * Most floats of a rotation learned above {@link #MAX_AXES} dims: {@code 2^19} (2 MiB, a little
   * less than a 768-dim rotation's 2.25 MiB), so that coding a document or a query costs at most
   * about {@code 2^19} multiply-adds and reads at most 2 MiB of rotation: 256 rows at 2,048 dims,
   * 128 at 4,096. Never fewer rows than the first nested level, which a first stage scans.
   */
  public static final int MAX_ROTATION_FLOATS = 1 << 19;

  /**
   * Eigenvalues below this fraction of the largest are the sample's null space (rounding), not
   * axes, when the axes come from the Gram matrix.
   */
  static final double NULL_VARIANCE = 1e-9;

  private PcaRotation() {}

  /**
   * The most rows a rotation learned for {@code dims} dims keeps: all {@code dims} up to {@link
   * #MAX_AXES}; above, {@code MAX_ROTATION_FLOATS / dims}, but at least {@code firstLevel} (the
   * first nested level's dims), and never more than {@link #MAX_AXES}.
   */
  public static int maxRows(int dims, int firstLevel) {
    if (dims <= MAX_AXES) {
      return dims;
    }
    return Math.min(MAX_AXES, Math.max(MAX_ROTATION_FLOATS / dims, firstLevel));
  }

  /** The sample size learning takes from a segment of {@code count} vectors of {@code dims}. */
  public static int sampleSize(int count, int dims) {
    return Math.min(count, dims <= MAX_AXES ? MAX_SAMPLE : MAX_AXES);
  }

  /**
   * Learns with {@code maxRows(dims, dims)} rows at most (every axis the sample has, up to {@link
   * #MAX_AXES}).
   */
  public static float[][] learn(
      int count, int dims, VectorSimilarityFunction similarity, float[] centroid, VectorPasses passes)
      throws IOException {
    return learn(count, dims, similarity, centroid, passes, maxRows(dims, dims));
  }

  /**
   * @param maxRows most axes to keep ({@link #maxRows})
   * @return {@code r} rows of length {@code dims}, orthonormal, row {@code i} the axis with the
   *     {@code i}-th largest variance; {@code r <= min(sample, dims, maxRows)}, possibly 0 (one
   *     vector, or all equal)
   */
  public static float[][] learn(
      int count,
      int dims,
      VectorSimilarityFunction similarity,
      float[] centroid,
      VectorPasses passes,
      int maxRows)
      throws IOException {
    int target = sampleSize(count, dims);
    int stride = Math.max(1, (count + target - 1) / Math.max(1, target));
    if (target >= dims) {
      float[][] axes = fromCovariance(dims, stride, similarity, centroid, passes);
      return axes.length > maxRows ? Arrays.copyOf(axes, maxRows) : axes;
    }
    float[][] sample = new float[target][];
    int[] ord = {0};
    int[] sampled = {0};
    passes.forEach(
        vector -> {
          if (ord[0]++ % stride != 0 || sampled[0] == sample.length) {
            return;
          }
          double scale = Binarizer.unitScale(vector, similarity);
          float[] centred = new float[dims];
          for (int i = 0; i < dims; i++) {
            centred[i] = (float) (vector[i] * scale) - centroid[i];
          }
          sample[sampled[0]++] = centred;
        });
    return fromGram(Arrays.copyOf(sample, sampled[0]), dims, maxRows);
  }

  private static float[][] fromCovariance(
      int dims, int stride, VectorSimilarityFunction similarity, float[] centroid, VectorPasses passes)
      throws IOException {
    double[] covariance = new double[dims * dims];
    // Sampled vectors are added COVARIANCE_BLOCK at a time: one pass over the upper triangle per
    // block instead of per vector (the matrix, 1.2 MB at 384 dims, does not stay in L2).
    double[][] block = new double[COVARIANCE_BLOCK][dims];
    int[] ord = {0};
    int[] sampled = {0};
    int[] buffered = {0};
    passes.forEach(
        vector -> {
          if (ord[0]++ % stride != 0) {
            return;
          }
          sampled[0]++;
          double scale = Binarizer.unitScale(vector, similarity);
          double[] centred = block[buffered[0]++];
          for (int i = 0; i < dims; i++) {
            centred[i] = vector[i] * scale - centroid[i];
          }
          if (buffered[0] == COVARIANCE_BLOCK) {
            addOuterProducts(covariance, dims, block, buffered[0]);
            buffered[0] = 0;
          }
        });
    addOuterProducts(covariance, dims, block, buffered[0]);
    for (int i = 0; i < dims; i++) {
      for (int j = i; j < dims; j++) {
        double value = covariance[i * dims + j] / Math.max(1, sampled[0]);
        covariance[i * dims + j] = value;
        covariance[j * dims + i] = value;
      }
    }
    return principalAxes(new DMatrixRMaj(dims, dims, true, covariance));
  }

  /** Sampled vectors added to the covariance per pass over it. */
  private static final int COVARIANCE_BLOCK = 8;

  /** Adds {@code sum_v x_v x_v^T} of {@code block[0 .. n)} to the upper triangle of {@code covariance}. */
  private static void addOuterProducts(double[] covariance, int dims, double[][] block, int n) {
    if (n == COVARIANCE_BLOCK) {
      double[] x0 = block[0], x1 = block[1], x2 = block[2], x3 = block[3];
      double[] x4 = block[4], x5 = block[5], x6 = block[6], x7 = block[7];
      for (int i = 0; i < dims; i++) {
        double a0 = x0[i], a1 = x1[i], a2 = x2[i], a3 = x3[i], a4 = x4[i], a5 = x5[i], a6 = x6[i], a7 = x7[i];
        int row = i * dims;
        for (int j = i; j < dims; j++) {
          covariance[row + j] +=
              a0 * x0[j] + a1 * x1[j] + a2 * x2[j] + a3 * x3[j] + a4 * x4[j] + a5 * x5[j] + a6 * x6[j] + a7 * x7[j];
        }
      }
      return;
    }
    for (int v = 0; v < n; v++) {
      double[] x = block[v];
      for (int i = 0; i < dims; i++) {
        double xi = x[i];
        int row = i * dims;
        for (int j = i; j < dims; j++) {
          covariance[row + j] += xi * x[j];
        }
      }
    }
  }

  /** Axes of a centred sample of {@code m < dims} vectors through its {@code m x m} Gram matrix. */
  static float[][] fromGram(float[][] sample, int dims, int maxRows) {
    int m = sample.length;
    if (m == 0) {
      return new float[0][];
    }
    double[] gram = new double[m * m];
    for (int a = 0; a < m; a++) {
      for (int b = a; b < m; b++) {
        double value = dot(sample[a], sample[b]);
        gram[a * m + b] = value;
        gram[b * m + a] = value;
      }
    }
    EigenDecomposition_F64<DMatrixRMaj> eigen = decompose(new DMatrixRMaj(m, m, true, gram));
    Integer[] order = byDescendingEigenvalue(eigen, m);
    double largest = eigen.getEigenvalue(order[0]).real;
    int rows = 0;
    while (rows < m && largest > 0 && eigen.getEigenvalue(order[rows]).real > NULL_VARIANCE * largest) {
      rows++;
    }
    rows = Math.min(rows, Math.min(maxRows, MAX_AXES));
    // Axis r = X^T v_r: component j is the dot product of v_r with column j of the sample.
    float[][] columns = new float[dims][m];
    for (int a = 0; a < m; a++) {
      for (int j = 0; j < dims; j++) {
        columns[j][a] = sample[a][j];
      }
    }
    float[][] axes = new float[rows][dims];
    for (int r = 0; r < rows; r++) {
      DMatrixRMaj v = eigen.getEigenVector(order[r]);
      float[] weights = new float[m];
      for (int a = 0; a < m; a++) {
        weights[a] = (float) v.get(a, 0);
      }
      float[] axis = axes[r];
      for (int j = 0; j < dims; j++) {
        axis[j] = VectorUtil.dotProduct(weights, columns[j]);
      }
      normaliseWithSign(axis);
    }
    return axes;
  }

  private static double dot(float[] a, float[] b) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 3 < a.length; i += 4) {
      s0 += (double) a[i] * b[i];
      s1 += (double) a[i + 1] * b[i + 1];
      s2 += (double) a[i + 2] * b[i + 2];
      s3 += (double) a[i + 3] * b[i + 3];
    }
    for (; i < a.length; i++) {
      s0 += (double) a[i] * b[i];
    }
    return (s0 + s1) + (s2 + s3);
  }

  /** Scales to unit length with the largest component positive. */
  private static void normaliseWithSign(float[] axis) {
    double norm = 0;
    float largest = 0;
    for (float value : axis) {
      norm += (double) value * value;
      if (Math.abs(value) > Math.abs(largest)) {
        largest = value;
      }
    }
    if (norm == 0) {
      return;
    }
    double scale = (largest < 0 ? -1 : 1) / Math.sqrt(norm);
    for (int j = 0; j < axis.length; j++) {
      axis[j] = (float) (axis[j] * scale);
    }
  }

  private static EigenDecomposition_F64<DMatrixRMaj> decompose(DMatrixRMaj symmetric) {
    int n = symmetric.numRows;
    EigenDecomposition_F64<DMatrixRMaj> eigen = DecompositionFactory_DDRM.eig(n, true, true);
    if (eigen.decompose(symmetric) == false) {
      throw new IllegalStateException("eigendecomposition of the " + n + "x" + n + " matrix did not converge");
    }
    return eigen;
  }

  private static Integer[] byDescendingEigenvalue(EigenDecomposition_F64<DMatrixRMaj> eigen, int n) {
    return IntStream.range(0, n)
        .boxed()
        .sorted(Comparator.comparingDouble((Integer i) -> eigen.getEigenvalue(i).real).reversed().thenComparing(i -> i))
        .toArray(Integer[]::new);
  }

  /** Eigenvectors of a symmetric matrix as rows, by descending eigenvalue, signs fixed. */
  static float[][] principalAxes(DMatrixRMaj symmetric) {
    int dims = symmetric.numRows;
    EigenDecomposition_F64<DMatrixRMaj> eigen = decompose(symmetric);
    Integer[] order = byDescendingEigenvalue(eigen, dims);
    float[][] rows = new float[dims][];
    for (int r = 0; r < dims; r++) {
      DMatrixRMaj axis = eigen.getEigenVector(order[r]);
      double largest = 0;
      for (int j = 0; j < dims; j++) {
        if (Math.abs(axis.get(j, 0)) > Math.abs(largest)) {
          largest = axis.get(j, 0);
        }
      }
      double sign = largest < 0 ? -1 : 1;
      double norm = 0;
      for (int j = 0; j < dims; j++) {
        norm += axis.get(j, 0) * axis.get(j, 0);
      }
      double scale = sign / Math.sqrt(norm);
      rows[r] = new float[dims];
      for (int j = 0; j < dims; j++) {
        rows[r][j] = (float) (axis.get(j, 0) * scale);
      }
    }
    return rows;
  }
}
