package io.matryoshka.quantization;

import java.io.IOException;

/**
 * A field's vectors replayed in ord order, once per call: what learning a centroid or a rotation
 * and writing codes need from a segment being flushed or merged, without holding its vectors twice.
 */
@FunctionalInterface
public interface VectorPasses {
  void forEach(VectorConsumer consumer) throws IOException;

  /** Receives one vector of a pass; the array may be reused after the call returns. */
  @FunctionalInterface
  interface VectorConsumer {
    void accept(float[] vector) throws IOException;
  }
}
