package io.matryoshka.codec;

import java.util.List;
import org.apache.lucene.index.VectorSimilarityFunction;

/**
 * The similarity ids {@code .vemb} stores: positions in a list fixed here, never the enum's
 * ordinals, so that a reordering of {@link VectorSimilarityFunction} in a later Lucene can never
 * change what an existing segment means (Lucene's own vector readers keep such a list for the
 * same reason). Append only; never reorder or remove.
 */
final class SimilarityIds {
  static final List<VectorSimilarityFunction> BY_ID =
      List.of(
          VectorSimilarityFunction.EUCLIDEAN,
          VectorSimilarityFunction.DOT_PRODUCT,
          VectorSimilarityFunction.COSINE,
          VectorSimilarityFunction.MAXIMUM_INNER_PRODUCT);

  private SimilarityIds() {}

  static int idOf(VectorSimilarityFunction similarity) {
    int id = BY_ID.indexOf(similarity);
    if (id < 0) {
      throw new IllegalArgumentException("no stored id for similarity " + similarity);
    }
    return id;
  }

  /** The similarity of {@code id}, or null if the id is unknown (a corrupt or newer file). */
  static VectorSimilarityFunction byId(int id) {
    return id >= 0 && id < BY_ID.size() ? BY_ID.get(id) : null;
  }
}
