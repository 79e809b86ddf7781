package io.matryoshka.bench;

import java.util.Random;

/**
 * Deterministic vectors shaped like real embeddings: clustered, with a decaying spectrum (leading
 * dimensions vary more, as after PCA or in Matryoshka-trained models) and L2-normalised.
 */
public final class SyntheticVectors {
  private SyntheticVectors() {}

  public static float[][] generate(int count, int dims, long seed) {
    Random random = new Random(seed);
    int clusters = Math.max(1, Math.min(1000, count / 100));
    float[][] centers = new float[clusters][dims];
    float[] scale = new float[dims];
    for (int d = 0; d < dims; d++) {
      scale[d] = (float) Math.pow(1 + d, -0.5);
    }
    for (float[] center : centers) {
      for (int d = 0; d < dims; d++) {
        center[d] = (float) random.nextGaussian() * scale[d];
      }
    }
    float[][] out = new float[count][dims];
    for (int i = 0; i < count; i++) {
      float[] center = centers[random.nextInt(clusters)];
      double norm = 0;
      for (int d = 0; d < dims; d++) {
        float value = center[d] + 0.6f * (float) random.nextGaussian() * scale[d];
        out[i][d] = value;
        norm += (double) value * value;
      }
      float inverse = (float) (1 / Math.sqrt(norm));
      for (int d = 0; d < dims; d++) {
        out[i][d] *= inverse;
      }
    }
    return out;
  }
}
