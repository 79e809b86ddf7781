package io.matryoshka.es.query;

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
}
