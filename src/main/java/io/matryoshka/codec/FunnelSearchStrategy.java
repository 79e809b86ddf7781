package io.matryoshka.codec;

import java.util.Objects;
import org.apache.lucene.search.knn.KnnSearchStrategy;

/**
 * Carries a funnel search's parameters from a query to {@link MatryoshkaVectorsReader} through
 * Lucene's {@code KnnCollector#getSearchStrategy()}, so that a plain {@code KnnFloatVectorQuery}
 * can run the funnel too. A reader that receives any other strategy runs the default funnel.
 */
public final class FunnelSearchStrategy extends KnnSearchStrategy {
  private final Funnel funnel;
  private final float oversample;
  private final int queryDims;
  private final boolean exact;

  /**
   * @param funnel the stages to run, or {@code null} for {@link Funnel#defaultFor}
   * @param oversample used only when {@code funnel} is null
   * @param queryDims the query's own length; the target handed to the reader is zero-padded to the
   *     field's dims when this is a shorter nested prefix
   * @param exact brute-force float scoring of every accepted document (ground truth)
   */
  public FunnelSearchStrategy(Funnel funnel, float oversample, int queryDims, boolean exact) {
    if (queryDims < 1) {
      throw new IllegalArgumentException("queryDims must be >= 1, got " + queryDims);
    }
    this.funnel = funnel;
    this.oversample = oversample;
    this.queryDims = queryDims;
    this.exact = exact;
  }

  public Funnel funnel() {
    return funnel;
  }

  public float oversample() {
    return oversample;
  }

  public int queryDims() {
    return queryDims;
  }

  public boolean exact() {
    return exact;
  }

  /** The stages to run on a segment with the given nested levels and bits. */
  public Funnel resolve(int[] nestedDims, int k, int fieldBits, boolean rotated) {
    return funnel != null ? funnel : Funnel.defaultFor(nestedDims, queryDims, k, oversample, fieldBits, rotated);
  }

  @Override
  public void nextVectorsBlock() {}

  @Override
  public boolean equals(Object o) {
    return o instanceof FunnelSearchStrategy other
        && Objects.equals(funnel, other.funnel)
        && Float.compare(oversample, other.oversample) == 0
        && queryDims == other.queryDims
        && exact == other.exact;
  }

  @Override
  public int hashCode() {
    return Objects.hash(funnel, oversample, queryDims, exact);
  }

  @Override
  public String toString() {
    return "funnel="
        + (funnel == null ? "default(oversample=" + oversample + ")" : funnel)
        + ",queryDims="
        + queryDims
        + (exact ? ",exact" : "");
  }
}
