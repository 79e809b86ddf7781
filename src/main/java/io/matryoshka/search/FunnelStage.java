package io.matryoshka.search;

import io.matryoshka.quantization.CodeLayout;

/**
 * One stage of a funnel: score the surviving documents with {@code metric} on the first {@code dims}
 * dimensions and keep the best {@code candidates}.
 *
 * @param dims prefix length the stage compares; for code metrics it must be one of the field's
 *     nested dims (codes are stored per nested level)
 * @param metric how the stage scores
 * @param candidates how many documents survive the stage
 * @param bits for code metrics, how many of the field's bits per dimension to read: {@code 1} reads
 *     only the most significant bit plane (the sign bits: {@code dims / 8} bytes per document),
 *     {@code 0} means all the field's bits
 */
public record FunnelStage(int dims, FunnelMetric metric, int candidates, int bits) {
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
    if (bits != 0) {
      try {
        CodeLayout.checkBits(bits);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("funnel stage [bits] must be 1, 2 or 4, got " + bits);
      }
    }
    if (bits != 0 && metric == FunnelMetric.FLOAT) {
      throw new IllegalArgumentException("funnel stage [bits] applies to code metrics, not [float]");
    }
  }

  /** A stage reading all of the field's bits. */
  public FunnelStage(int dims, FunnelMetric metric, int candidates) {
    this(dims, metric, candidates, 0);
  }

  /** Bit planes this stage reads from a field storing {@code fieldBits} bits per dimension. */
  public int planesOf(int fieldBits) {
    return bits == 0 ? fieldBits : bits;
  }

  @Override
  public String toString() {
    return metric + "@" + dims + (bits == 0 ? "" : "x" + bits + "b") + "->" + candidates;
  }
}
