package io.matryoshka.es.mapper;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.nullValue;

import org.elasticsearch.index.mapper.vectors.DenseVectorFieldMapper.VectorSimilarity;
import org.elasticsearch.test.ESTestCase;

/**
 * The magnitude checks shared by documents and queries, in float as Lucene scores: each of issue
 * #10's degenerate vectors is named, and what dense_vector accepts is accepted.
 */
public class VectorChecksTests extends ESTestCase {
  private static float[] filled(int dims, float value) {
    float[] v = new float[dims];
    java.util.Arrays.fill(v, value);
    return v;
  }

  public void testCosineZeroMagnitudeInFloat() {
    // Squares of 1e-30 underflow to 0 in float (not in double): Lucene's cosine divides by 0.
    assertThat(VectorChecks.problem(filled(4, 1e-30f), VectorSimilarity.COSINE), containsString("does not support vectors with zero magnitude"));
    assertThat(VectorChecks.problem(new float[4], VectorSimilarity.COSINE), containsString("zero magnitude"));
    // 1e-20 squares to a subnormal float: still a magnitude, as dense_vector accepts.
    assertThat(VectorChecks.problem(filled(4, 1e-20f), VectorSimilarity.COSINE), nullValue());
    assertThat(VectorChecks.problem(new float[] {1, 0, 0, 0}, VectorSimilarity.COSINE), nullValue());
  }

  public void testInfiniteMagnitudeUnderEverySimilarity() {
    for (VectorSimilarity similarity : VectorSimilarity.values()) {
      String problem = VectorChecks.problem(filled(4, 3e38f), similarity);
      assertThat(similarity.toString(), problem, containsString("NaN or Infinite magnitude detected"));
      assertThat(problem, containsString("Preview of invalid vector: [3.0E38, 3.0E38, 3.0E38, 3.0E38]"));
      assertThat(VectorChecks.problem(new float[] {1e20f, 0, 0, 0}, similarity), containsString("NaN or Infinite magnitude"));
    }
  }

  public void testDotProductNeedsUnitLengthWithDenseVectorsTolerance() {
    assertThat(
        VectorChecks.problem(new float[] {10, 0, 0, 0}, VectorSimilarity.DOT_PRODUCT),
        containsString("The [dot_product] similarity can only be used with unit-length vectors."));
    assertThat(VectorChecks.problem(new float[] {0.6f, 0.8f, 0, 0}, VectorSimilarity.DOT_PRODUCT), nullValue());
    // |squared magnitude - 1| < 1e-3, as DenseVectorFieldMapper's FloatElement#isUnitVector.
    assertThat(VectorChecks.problem(new float[] {(float) Math.sqrt(1.0009), 0}, VectorSimilarity.DOT_PRODUCT), nullValue());
    assertThat(VectorChecks.problem(new float[] {(float) Math.sqrt(1.0011), 0}, VectorSimilarity.DOT_PRODUCT), containsString("unit-length"));
    assertThat(VectorChecks.problem(new float[4], VectorSimilarity.DOT_PRODUCT), containsString("unit-length"));
  }

  public void testUnboundedSimilaritiesStayWithinTheFloatRange() {
    for (VectorSimilarity similarity : new VectorSimilarity[] {VectorSimilarity.L2_NORM, VectorSimilarity.MAX_INNER_PRODUCT}) {
      // 1e19 squared is 1e38, finite, but the squared distance to -1e19 (4e38) is not.
      assertThat(VectorChecks.problem(new float[] {1e19f, 0}, similarity), containsString("overflow a float"));
      assertThat(VectorChecks.problem(new float[] {6e18f, 0}, similarity), nullValue());
      // Zero vectors are fine where nothing is divided by the norm.
      assertThat(VectorChecks.problem(new float[3], similarity), nullValue());
      assertThat(VectorChecks.problem(filled(4, 1e-30f), similarity), nullValue());
    }
    // Two accepted vectors at the bound: their distance and inner product are finite floats.
    float bound = (float) Math.sqrt(VectorChecks.MAX_UNBOUNDED_SQUARED_MAGNITUDE) * 0.999f;
    float[] a = {bound, 0};
    float[] b = {-bound, 0};
    assertThat(VectorChecks.problem(a, VectorSimilarity.L2_NORM), nullValue());
    assertTrue(Float.isFinite(org.apache.lucene.index.VectorSimilarityFunction.EUCLIDEAN.compare(a, b)));
    assertTrue(Float.isFinite(org.apache.lucene.index.VectorSimilarityFunction.MAXIMUM_INNER_PRODUCT.compare(a, a)));
  }

  public void testSquaredMagnitudeIsSummedInFloat() {
    assertEquals(0f, VectorChecks.squaredMagnitude(filled(4, 1e-30f)), 0f);
    assertEquals(Float.POSITIVE_INFINITY, VectorChecks.squaredMagnitude(filled(4, 3e38f)), 0f);
    assertEquals(25f, VectorChecks.squaredMagnitude(new float[] {3, 4}), 0f);
  }
}
