package io.matryoshka.quantization;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One query's transformed coordinates in one segment, centred and uncentred, each computed at most
 * once: a funnel codes the query for several stages (the sign plane wants it centred, multi-bit
 * stages uncentred), and with a rotation each transform is a pass over the segment's rotation
 * matrix. Centring after the rotation uses {@code R (x - c) = R x - R c} with the segment's
 * rotated centroid, so a query costs one rotation however many stages read codes.
 *
 * <p>Not thread-safe: one per query and segment.
 */
public final class QueryCoordinates {
  private final Binarizer binarizer;
  private final float[] query;
  private float[] uncentred;
  private float[] centred;

  QueryCoordinates(Binarizer binarizer, float[] query) {
    this.binarizer = binarizer;
    this.query = query;
  }

  /** {@code R x} ({@code x} normalised under cosine), or {@code R (x - centroid)} if {@code centred}. */
  float[] get(boolean centre) {
    if (uncentred == null) {
      uncentred = binarizer.transform(query, false);
    }
    if (centre == false) {
      return uncentred;
    }
    if (centred == null) {
      float[] shift = binarizer.transformedCentroid();
      centred = new float[uncentred.length];
      for (int i = 0; i < centred.length; i++) {
        centred[i] = uncentred[i] - shift[i];
      }
    }
    return centred;
  }

  static float[] rotate(RotationRows rotation, float[] x, int dims) {
    float[] y = new float[dims];
    try {
      rotation.apply(x, y);
    } catch (IOException e) {
      throw new UncheckedIOException("reading the segment's rotation", e);
    }
    return y;
  }
}
