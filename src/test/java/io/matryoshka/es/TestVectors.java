package io.matryoshka.es;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.apache.lucene.index.VectorSimilarityFunction;

/** Random vectors and brute-force answers for the Elasticsearch-level tests. */
public final class TestVectors {
  private TestVectors() {}

  public static float[][] gaussian(Random random, int count, int dims) {
    float[][] vectors = new float[count][dims];
    for (float[] vector : vectors) {
      for (int i = 0; i < dims; i++) {
        vector[i] = (float) random.nextGaussian();
      }
    }
    return vectors;
  }

  public static float[] unit(float[] vector) {
    double norm = 0;
    for (float v : vector) {
      norm += v * v;
    }
    float[] out = new float[vector.length];
    for (int i = 0; i < vector.length; i++) {
      out[i] = (float) (vector[i] / Math.sqrt(norm));
    }
    return out;
  }

  /** Indexes of the {@code k} best-scoring vectors, best first, compared on the query's prefix. */
  public static List<Integer> topK(float[][] vectors, float[] query, int k, VectorSimilarityFunction function) {
    float[] scores = new float[vectors.length];
    for (int i = 0; i < vectors.length; i++) {
      float[] prefix = java.util.Arrays.copyOf(vectors[i], query.length);
      scores[i] = function.compare(query, prefix);
    }
    return IntStream.range(0, vectors.length)
        .boxed()
        .sorted(Comparator.comparingDouble((Integer i) -> -scores[i]))
        .limit(k)
        .collect(ArrayList::new, ArrayList::add, ArrayList::addAll);
  }

  public static String json(float[] vector) {
    StringBuilder out = new StringBuilder("[");
    for (int i = 0; i < vector.length; i++) {
      out.append(i == 0 ? "" : ",").append(vector[i]);
    }
    return out.append(']').toString();
  }
}
