package io.matryoshka.search;

import java.util.Arrays;
import java.util.Objects;
import org.apache.lucene.search.TaskExecutor;
import org.apache.lucene.search.knn.KnnSearchStrategy;

/**
 * Carries a funnel search's parameters from a query to the format's reader through
 * Lucene's {@code KnnCollector#getSearchStrategy()}, so that a plain {@code KnnFloatVectorQuery}
 * can run the funnel too. A reader that receives any other strategy runs the default funnel.
 */
public final class FunnelSearchStrategy extends KnnSearchStrategy {
  private final Funnel funnel;
  private final float oversample;
  private final int queryDims;
  private final boolean exact;
  /** The field shape the funnel was validated against (nested dims, then bits), or null. */
  private final int[] validatedShape;
  /** Where large segments' first stages may run in parallel; not part of the query's identity. */
  private final TaskExecutor executor;
  /** Where one segment's engine records its stages (one copy per segment), or null. */
  private final FunnelTrace trace;

  /**
   * @param funnel the stages to run, validated against the field, or {@code null} for {@link
   *     Funnel#defaultFor}
   * @param oversample used only when {@code funnel} is null
   * @param queryDims the query's own length; the target handed to the reader is zero-padded to the
   *     field's dims when this is a shorter nested prefix
   * @param exact brute-force float scoring of every accepted document (ground truth)
   */
  public FunnelSearchStrategy(Funnel funnel, float oversample, int queryDims, boolean exact) {
    this(funnel, oversample, queryDims, exact, null, null, null);
  }

  private FunnelSearchStrategy(
      Funnel funnel,
      float oversample,
      int queryDims,
      boolean exact,
      int[] validatedShape,
      TaskExecutor executor,
      FunnelTrace trace) {
    if (queryDims < 1) {
      throw new IllegalArgumentException("queryDims must be >= 1, got " + queryDims);
    }
    if (funnel == null) {
      Funnel.checkOversample(oversample);
    }
    this.funnel = funnel;
    this.oversample = oversample;
    this.queryDims = queryDims;
    this.exact = exact;
    this.validatedShape = validatedShape;
    this.executor = executor;
    this.trace = trace;
  }

  /** This strategy, letting segments run their first stage on {@code executor} (the searcher's). */
  public FunnelSearchStrategy withExecutor(TaskExecutor executor) {
    return new FunnelSearchStrategy(funnel, oversample, queryDims, exact, validatedShape, executor, trace);
  }

  /** This strategy for one segment, whose engine records what it does in {@code trace}. */
  FunnelSearchStrategy withTrace(FunnelTrace trace) {
    return new FunnelSearchStrategy(funnel, oversample, queryDims, exact, validatedShape, executor, trace);
  }

  /** Where this segment's engine records its stages, or null. */
  public FunnelTrace trace() {
    return trace;
  }

  /** The searcher's executor for parallel first stages, or null. */
  public TaskExecutor executor() {
    return executor;
  }

  /**
   * This strategy, checked against a field's shape: the query's length is the field's or one of its
   * nested dims, and the funnel (if any) fits the field ({@link Funnel#validate}). Segments of that
   * shape then check nothing again; a segment of another shape (or any segment, for a strategy never
   * checked, as a plain Lucene caller may build) checks itself.
   *
   * @throws IllegalArgumentException naming what does not fit
   */
  public FunnelSearchStrategy validatedFor(int[] nestedDims, int fieldBits, boolean rotated) {
    validate(queryDims, funnel, nestedDims, fieldBits, rotated);
    int[] shape = Arrays.copyOf(nestedDims, nestedDims.length + 1);
    shape[nestedDims.length] = fieldBits;
    return new FunnelSearchStrategy(funnel, oversample, queryDims, exact, shape, executor, trace);
  }

  /** Whether a segment of this shape must check the strategy itself. */
  boolean needsValidation(int[] nestedDims, int fieldBits) {
    return validatedShape == null
        || validatedShape.length != nestedDims.length + 1
        || Arrays.equals(validatedShape, 0, nestedDims.length, nestedDims, 0, nestedDims.length) == false
        || validatedShape[nestedDims.length] != fieldBits;
  }

  static void validate(int queryDims, Funnel funnel, int[] nestedDims, int fieldBits, boolean rotated) {
    int fieldDims = nestedDims[nestedDims.length - 1];
    if (queryDims != fieldDims && Arrays.binarySearch(nestedDims, queryDims) < 0) {
      throw new IllegalArgumentException(
          "[query_vector] has "
              + queryDims
              + " values, but the field's vectors have "
              + fieldDims
              + " and its nested dims are "
              + Arrays.toString(nestedDims));
    }
    if (queryDims != fieldDims && rotated) {
      throw new IllegalArgumentException(
          "[query_vector] has "
              + queryDims
              + " values, a prefix, but with [rotation] [pca] nested dims are levels of the rotated space, not prefixes of the model's vectors: query with all "
              + fieldDims
              + " values");
    }
    if (funnel != null) {
      funnel.validate(queryDims, nestedDims, fieldBits);
    }
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
