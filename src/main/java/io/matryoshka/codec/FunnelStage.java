package io.matryoshka.codec;

/**
 * One stage of a funnel: score the surviving documents with {@code metric} on the first {@code dims}
 * dimensions and keep the best {@code candidates}.
 *
 * @param dims prefix length the stage compares; for code metrics it must be one of the field's
 *     nested dims (codes are stored per nested level)
 * @param metric how the stage scores
 * @param candidates how many documents survive the stage
 */
public record FunnelStage(int dims, FunnelMetric metric, int candidates) {
  public FunnelStage {
    if (dims < 1) {
      throw new IllegalArgumentException("funnel stage [dims] must be >= 1, got " + dims);
    }
    if (candidates < 1) {
      throw new IllegalArgumentException(
          "funnel stage [candidates] must be >= 1, got " + candidates);
    }
    if (metric == null) {
      throw new IllegalArgumentException("funnel stage [metric] is required");
    }
  }

  @Override
  public String toString() {
    return metric + "@" + dims + "->" + candidates;
  }
}
