package io.matryoshka.es.query;

import org.apache.lucene.util.VectorUtil;
import org.elasticsearch.index.mapper.vectors.DenseVectorFieldMapper.VectorSimilarity;

/**
 * The score a float-vector similarity maps to, exactly as {@code dense_vector}'s knn maps it
 * ({@code DenseVectorFieldMapper.VectorSimilarity#score}, which is not public), so that a
 * {@code similarity} threshold means the same in {@code matryoshka_knn} as in {@code knn}. These are
 * also Lucene's {@code VectorSimilarityFunction} scores, which the query returns.
 */
final class VectorScores {
  private VectorScores() {}

  /**
   * @param similarity for {@code l2_norm} a distance (an upper bound), else a similarity (a lower
   *     bound)
   * @return the lowest score a hit may have
   */
  static float minScore(VectorSimilarity function, float similarity) {
    return switch (function) {
      case L2_NORM -> 1f / (1f + similarity * similarity);
      case COSINE, DOT_PRODUCT -> (1 + similarity) / 2f;
      case MAX_INNER_PRODUCT -> similarity < 0 ? 1 / (1 + -1 * similarity) : similarity + 1;
    };
  }

  /**
   * The query vector as Elasticsearch's {@code knn} hands it to Lucene for a cosine field: divided
   * by its float length unless its squared length is within 1e-3 of 1 ({@code
   * DenseVectorFieldType#createKnnFloatQuery}). Cosine does not depend on the query's length, but
   * float rounding does: dividing the same way keeps {@code matryoshka_knn} and {@code knn} scores
   * equal to the last float bit or two (Elasticsearch sums the squares with its own SIMD code, which
   * plugins cannot call; Lucene's sum may round differently).
   */
  static float[] normalizedAsKnn(float[] vector) {
    float squaredMagnitude = VectorUtil.dotProduct(vector, vector);
    if (Math.abs(squaredMagnitude - 1.0f) < 1e-3f) {
      return vector;
    }
    float length = (float) Math.sqrt(squaredMagnitude);
    float[] normalized = vector.clone();
    for (int i = 0; i < normalized.length; i++) {
      normalized[i] /= length;
    }
    return normalized;
  }
}
