package io.matryoshka.engine;

import io.matryoshka.quantization.Binarizer;
import io.matryoshka.quantization.QueryCode;
import io.matryoshka.quantization.QueryCoordinates;
import io.matryoshka.search.FunnelMetric;

/** The query code a code stage's metric calls for. */
final class QueryCodes {
  private QueryCodes() {}

  static QueryCode encode(Binarizer binarizer, float[] target, FunnelMetric metric, int docPlanes) {
    return encode(binarizer, binarizer.queryCoordinates(target), metric, docPlanes);
  }

  /** The same from coordinates the query's other stages in this segment share. */
  static QueryCode encode(Binarizer binarizer, QueryCoordinates target, FunnelMetric metric, int docPlanes) {
    return switch (metric) {
      case ASYMMETRIC -> binarizer.encodeAsymmetricQuery(target, docPlanes);
      case HAMMING -> binarizer.encodeSymmetricQuery(target, docPlanes);
      case FLOAT -> throw new IllegalArgumentException("a [float] stage reads no codes");
    };
  }
}
