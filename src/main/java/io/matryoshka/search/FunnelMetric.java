package io.matryoshka.search;

import java.util.Locale;

/** How a funnel stage compares the query with a document. */
public enum FunnelMetric {
  /**
   * Binary codes against binary codes: the query is binarized exactly like the documents (same
   * centroid, rotation and bits), and documents are ranked by the estimated inner product of the
   * two codes (for 1 bit per dimension this is the hamming distance).
   */
  HAMMING,
  /**
   * Asymmetric: the query is kept at 4 bits per dimension (4 bit planes) and compared with the
   * documents' binary codes by popcounts of plane intersections. Same bytes scanned per document as
   * {@link #HAMMING}, a finer query, measurably better recall.
   */
  ASYMMETRIC,
  /** The exact similarity of the stored floats of the first {@code dims} dimensions. */
  FLOAT;

  /** The name used in requests and in {@link #toString()}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Whether this metric reads binary codes (as opposed to floats). */
  public boolean usesCodes() {
    return this != FLOAT;
  }

  /** Parses a wire name; the message lists the allowed values. */
  public static FunnelMetric fromWireName(String name) {
    for (FunnelMetric metric : values()) {
      if (metric.wireName().equals(name)) {
        return metric;
      }
    }
    throw new IllegalArgumentException(
        "unknown funnel metric [" + name + "], expected one of [hamming, asymmetric, float]");
  }

  @Override
  public String toString() {
    return wireName();
  }
}
