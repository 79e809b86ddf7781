package io.matryoshka.demo;

import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.bgesmallenv15q.BgeSmallEnV15QuantizedEmbeddingModel;

/**
 * Turns typed text into a query vector with the model the sample was embedded with:
 * bge-small-en-v1.5, int8 ONNX, CLS pooling, L2-normalised, no query instruction (as the shared
 * dataset's README describes), run in-process by ONNX Runtime through langchain4j. The model
 * quantizes activations per call, so a text embedded here differs slightly from the same text in
 * the sample (cosine ~0.999, measured when the dataset was built).
 */
final class TextQueries {
  private final EmbeddingModel model;

  TextQueries() {
    this.model = new BgeSmallEnV15QuantizedEmbeddingModel();
  }

  float[] embed(String text) {
    return model.embed(text).content().vector();
  }
}
