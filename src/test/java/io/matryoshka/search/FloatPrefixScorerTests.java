package io.matryoshka.search;

import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.tests.util.LuceneTestCase;

/** The fallback for float scores that are not finite: recomputed in double, kept finite. */
public class FloatPrefixScorerTests extends LuceneTestCase {
  public void testUnderflowedCosineIsRecomputed() {
    // A prefix of 1e-30s: its squares are 0 in float, so Lucene's cosine divides by 0.
    float[] doc = {1e-30f, 1e-30f};
    float[] query = {1, 1};
    assertEquals(1f, FloatPrefixScorer.finiteScore(VectorSimilarityFunction.COSINE, query, doc), 1e-6f);
    assertEquals(0.5f, FloatPrefixScorer.finiteScore(VectorSimilarityFunction.COSINE, new float[] {1, 0}, new float[] {0, 1e-30f}), 1e-6f);
  }

  public void testZeroPrefixScoresZero() {
    assertEquals(0f, FloatPrefixScorer.finiteScore(VectorSimilarityFunction.COSINE, new float[] {1, 1}, new float[2]), 0f);
  }

  public void testOverflowsStayFinite() {
    float[] big = {3e38f, 3e38f};
    for (VectorSimilarityFunction function : VectorSimilarityFunction.values()) {
      float score = FloatPrefixScorer.finiteScore(function, big, big);
      assertTrue(function + ": " + score, Float.isFinite(score));
      assertTrue(function + ": " + score, score >= 0);
    }
    assertEquals(Float.MAX_VALUE, FloatPrefixScorer.finiteScore(VectorSimilarityFunction.MAXIMUM_INNER_PRODUCT, big, big), 0f);
    assertEquals(1f, FloatPrefixScorer.finiteScore(VectorSimilarityFunction.COSINE, big, big), 1e-6f);
    float[] far = {-3e38f, -3e38f};
    assertEquals(0f, FloatPrefixScorer.finiteScore(VectorSimilarityFunction.EUCLIDEAN, big, far), 0f);
  }
}
