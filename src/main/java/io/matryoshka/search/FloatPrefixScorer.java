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
    // A prefix of zeros has no cosine; rank it last instead of poisoning the collector with NaN.
    return Float.isNaN(score) ? 0f : score;
  }
}
