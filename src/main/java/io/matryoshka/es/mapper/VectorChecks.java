package io.matryoshka.es.mapper;

import org.elasticsearch.index.mapper.vectors.DenseVectorFieldMapper.VectorSimilarity;

/**
 * The one check of a vector's magnitude, for documents ({@link VectorValueParser}) and queries
 * ({@code matryoshka_knn}'s {@code query_vector}) alike. The squared magnitude is summed in float,
 * as {@code dense_vector} sums it and as Lucene's similarity functions accumulate it, so a vector
 * whose squares underflow to 0 or overflow to infinity in float is caught here, not scored.
 *
 * <ul>
 *   <li>every similarity: a NaN or infinite squared magnitude ({@code dense_vector}'s message);
 *   <li>{@code cosine}: a magnitude of 0 (Lucene would divide by it);
 *   <li>{@code dot_product}: not unit length, with {@code dense_vector}'s tolerance
 *       ({@code |squared magnitude - 1| < 1e-3}) and message;
 *   <li>{@code l2_norm} and {@code max_inner_product}: a squared magnitude above {@link
 *       #MAX_UNBOUNDED_SQUARED_MAGNITUDE}, so that no squared distance or inner product of two
 *       accepted vectors overflows a float (they are at most 4 times that, half of {@link
 *       Float#MAX_VALUE}, leaving room for rounding).
 * </ul>
 */
public final class VectorChecks {
  private VectorChecks() {}

  /** {@code Float.MAX_VALUE / 8}, about {@code 4.25e37}: a magnitude of about {@code 6.5e18}. */
  public static final float MAX_UNBOUNDED_SQUARED_MAGNITUDE = Float.MAX_VALUE / 8;

  /** {@code dense_vector}'s tolerance for a unit vector ({@code FloatElement#isUnitVector}). */
  static final float UNIT_TOLERANCE = 1e-3f;

  /** The squared magnitude as Elasticsearch's mapper sums it: in float, element by element. */
  public static float squaredMagnitude(float[] vector) {
    float sum = 0;
    for (float value : vector) {
      sum += value * value;
    }
    return sum;
  }

  /**
   * @return null if {@code vector} may be indexed or searched under {@code similarity}, else what is
   *     wrong with it, ending with a preview of its first values (as {@code dense_vector} words it)
   */
  public static String problem(float[] vector, VectorSimilarity similarity) {
    float squared = squaredMagnitude(vector);
    String problem = null;
    if (Float.isFinite(squared) == false) {
      problem = "NaN or Infinite magnitude detected, this usually means the vector values are too extreme to fit within a float.";
    } else if (similarity == VectorSimilarity.DOT_PRODUCT && Math.abs(squared - 1.0f) >= UNIT_TOLERANCE) {
      problem = "The [dot_product] similarity can only be used with unit-length vectors.";
    } else if (similarity == VectorSimilarity.COSINE && Math.sqrt(squared) == 0.0f) {
      problem = "The [cosine] similarity does not support vectors with zero magnitude.";
    } else if ((similarity == VectorSimilarity.L2_NORM || similarity == VectorSimilarity.MAX_INNER_PRODUCT)
        && squared > MAX_UNBOUNDED_SQUARED_MAGNITUDE) {
      problem =
          "The ["
              + similarity
              + "] similarity needs a squared magnitude of at most ["
              + MAX_UNBOUNDED_SQUARED_MAGNITUDE
              + "], got ["
              + squared
              + "]: distances and inner products of larger vectors overflow a float.";
    }
    return problem == null ? null : problem + preview(vector);
  }

  private static String preview(float[] vector) {
    StringBuilder out = new StringBuilder(" Preview of invalid vector: [");
    for (int i = 0; i < Math.min(5, vector.length); i++) {
      if (i > 0) {
        out.append(", ");
      }
      out.append(vector[i]);
    }
    if (vector.length > 5) {
      out.append(", ...");
    }
    return out.append("]").toString();
  }
}
