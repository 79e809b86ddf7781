package io.matryoshka.search;

import java.io.IOException;
import java.util.Arrays;
import org.apache.lucene.codecs.lucene95.HasIndexSlice;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.IndexInput;

/**
 * Exact similarity between the query and the first {@code prefix} stored floats of a document,
 * read in place from the flat delegate's memory-mapped file (only the prefix's bytes are touched).
 * Scores are Lucene's similarity scores, as brute-force search computes them. Shared by the
 * funnel's float stages and the query's own exact search, so both score a prefix alike.
 */
public final class FloatPrefixScorer {
  private final FloatVectorValues vectors;
  private final IndexInput slice;
  private final VectorSimilarityFunction similarity;
  private final float[] target;
  private final long bytesPerVector;
  private float[] queryPrefix = new float[0];
  private float[] docPrefix = new float[0];

  public FloatPrefixScorer(FloatVectorValues vectors, float[] target, VectorSimilarityFunction similarity) {
    this.vectors = vectors;
    this.slice = vectors instanceof HasIndexSlice hasSlice ? hasSlice.getSlice() : null;
    this.similarity = similarity;
    this.target = target;
    this.bytesPerVector = (long) vectors.dimension() * Float.BYTES;
  }

  /** The score of {@code ord} on the first {@code prefix} dimensions. */
  public float score(int ord, int prefix) throws IOException {
    if (queryPrefix.length != prefix) {
      queryPrefix = Arrays.copyOf(target, prefix);
      docPrefix = new float[prefix];
    }
    float[] doc;
    if (prefix == target.length && slice == null) {
      doc = vectors.vectorValue(ord);
    } else if (slice != null) {
      slice.seek(ord * bytesPerVector);
      slice.readFloats(docPrefix, 0, prefix);
      doc = docPrefix;
    } else {
      System.arraycopy(vectors.vectorValue(ord), 0, docPrefix, 0, prefix);
      doc = docPrefix;
    }
    float score = similarity.compare(queryPrefix, doc);
    return Float.isFinite(score) ? score : finiteScore(similarity, queryPrefix, doc);
  }

  /**
   * The score of two vectors whose float score is not finite: recomputed in double, then kept
   * finite. Accepted documents and queries never get here on their full length ({@code
   * VectorChecks} in the mapping layer rejects what would); a nested prefix can (its squares may
   * underflow to 0 in float under cosine while its dot product does not), and so can documents
   * indexed before those checks existed. A prefix of zeros has no cosine: it scores 0 and ranks
   * last; an inner product past the float range scores {@link Float#MAX_VALUE}.
   */
  static float finiteScore(VectorSimilarityFunction similarity, float[] query, float[] doc) {
    double dot = 0;
    double queryNorm = 0;
    double docNorm = 0;
    double squareDistance = 0;
    for (int i = 0; i < query.length; i++) {
      double q = query[i];
      double d = doc[i];
      dot += q * d;
      queryNorm += q * q;
      docNorm += d * d;
      squareDistance += (q - d) * (q - d);
    }
    double score =
        switch (similarity) {
          case EUCLIDEAN -> 1 / (1 + squareDistance);
          case DOT_PRODUCT -> Math.max((1 + dot) / 2, 0);
          case COSINE -> Math.max((1 + dot / Math.sqrt(queryNorm * docNorm)) / 2, 0);
          case MAXIMUM_INNER_PRODUCT -> dot < 0 ? 1 / (1 - dot) : dot + 1;
        };
    if (Double.isNaN(score)) {
      return 0f;
    }
    return (float) Math.min(score, Float.MAX_VALUE);
  }
}
