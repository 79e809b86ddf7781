package io.matryoshka.quantization;


import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Learns a segment's rotation: the principal axes of its (normalised, centred) vectors, most
 * variance first, so that the leading rotated coordinates carry most of the ranking and short
 * code prefixes work for models that are not Matryoshka-trained.
 *
 * <p>Deterministic for the same vectors: the sample is every {@code stride}-th vector, the
 * covariance is summed in double, and each axis's sign is fixed (largest component positive).
 */
public final class PcaRotation {
  /** Vectors sampled for the covariance: enough for a stable spectrum, bounded flush cost. */
  public static final int MAX_SAMPLE = 4096;

  private PcaRotation() {}

  /**
   * @return rows of an orthonormal {@code dims x dims} matrix, row {@code i} the axis with the
   *     {@code i}-th largest variance
   */
  public static float[][] learn(
      int count,
      int dims,
      VectorSimilarityFunction similarity,
      float[] centroid,
      VectorPasses passes)
      throws IOException {
    int stride = Math.max(1, (count + MAX_SAMPLE - 1) / MAX_SAMPLE);
    double[] covariance = new double[dims * dims];
    double[] centred = new double[dims];
    int[] ord = {0};
    int[] sampled = {0};
    passes.forEach(
        vector -> {
          if (ord[0]++ % stride != 0) {
            return;
          }
          sampled[0]++;
          double scale = Binarizer.unitScale(vector, similarity);
          for (int i = 0; i < dims; i++) {
            centred[i] = vector[i] * scale - centroid[i];
          }
          for (int i = 0; i < dims; i++) {
            double ci = centred[i];
            int row = i * dims;
            for (int j = i; j < dims; j++) {
              covariance[row + j] += ci * centred[j];
            }
          }
        });
    for (int i = 0; i < dims; i++) {
      for (int j = i; j < dims; j++) {
        double value = covariance[i * dims + j] / Math.max(1, sampled[0]);
        covariance[i * dims + j] = value;
        covariance[j * dims + i] = value;
      }
    }
    return principalAxes(new DMatrixRMaj(dims, dims, true, covariance));
  }

  /** Eigenvectors of a symmetric matrix as rows, by descending eigenvalue, signs fixed. */
  static float[][] principalAxes(DMatrixRMaj symmetric) {
    int dims = symmetric.numRows;
    EigenDecomposition_F64<DMatrixRMaj> eigen = DecompositionFactory_DDRM.eig(dims, true, true);
    if (eigen.decompose(symmetric) == false) {
      throw new IllegalStateException("eigendecomposition of the " + dims + "x" + dims + " covariance did not converge");
    }
    Integer[] order =
        IntStream.range(0, dims)
            .boxed()
            .sorted(Comparator.comparingDouble((Integer i) -> eigen.getEigenvalue(i).real).reversed().thenComparing(i -> i))
            .toArray(Integer[]::new);
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

  public static float[][] rows(float[] flat, int dims) {
    float[][] rows = new float[dims][];
    for (int r = 0; r < dims; r++) {
      rows[r] = Arrays.copyOfRange(flat, r * dims, (r + 1) * dims);
    }
    return rows;
  }
}
