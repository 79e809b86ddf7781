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

  /**
   * {@link #apply} to {@code xs[0 .. n)}, into {@code outs[0 .. n)}: the same coordinates up to
   * the rounding of the sums (an implementation may sum in another order).
   */
  default void applyAll(float[][] xs, int n, float[][] outs) throws IOException {
    for (int i = 0; i < n; i++) {
      apply(xs[i], outs[i]);
    }
  }

  /**
   * Rows held in memory, each of length {@code dims}. {@link #applyAll} rotates {@link
   * BitKernels#ROTATE_BLOCK} vectors per pass over the rows on the Vector API: one vector at a time
   * reads the whole matrix (590 KB at 384 dims) from the L2 cache per vector, a block reads it
   * once per block.
   */
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

      @Override
      public void applyAll(float[][] xs, int n, float[][] outs) {
        int done = BitKernels.rotateBlocks(rows, xs, n, outs);
        for (int i = done; i < n; i++) {
          apply(xs[i], outs[i]);
        }
      }
    };
  }
}
