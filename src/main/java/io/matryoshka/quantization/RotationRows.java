package io.matryoshka.quantization;

import java.io.IOException;
import org.apache.lucene.util.VectorUtil;

/**
 * The rows of a learned rotation, applied to a vector: {@code rows()} orthonormal axes of length
 * {@code dims}, possibly fewer than {@code dims} (a segment's sample spans at most as many
 * directions as it has vectors). On heap while a segment is written; read in place from the
 * segment's mapped data file when queries are coded.
 */
public interface RotationRows {
  /** Number of axes {@code r}; coordinates {@code r .. dims - 1} of a rotated vector are 0. */
  int rows();

  /** Writes {@code <axis i, x>} to {@code out[i]} for {@code i < rows()}; leaves the rest of {@code out}. */
  void apply(float[] x, float[] out) throws IOException;

  /** Rows held in memory, each of length {@code dims}. */
  static RotationRows onHeap(float[][] rows) {
    return new RotationRows() {
      @Override
      public int rows() {
        return rows.length;
      }

      @Override
      public void apply(float[] x, float[] out) {
        for (int row = 0; row < rows.length; row++) {
          out[row] = VectorUtil.dotProduct(rows[row], x);
        }
      }
    };
  }
}
