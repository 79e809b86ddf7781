package io.matryoshka.es.mapper;

import java.io.IOException;
import org.elasticsearch.index.mapper.vectors.DenseVectorFieldMapper.VectorSimilarity;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParser.Token;

/**
 * Reads one document's vector: a JSON array of exactly {@code dims} finite numbers (no numeric
 * strings) whose magnitude passes {@link VectorChecks} for the field's similarity. Messages name
 * the field; Elasticsearch adds the document.
 */
final class VectorValueParser {
  private VectorValueParser() {}

  static float[] parse(XContentParser parser, String field, int dims, VectorSimilarity similarity)
      throws IOException {
    if (parser.currentToken() != Token.START_ARRAY) {
      throw new IllegalArgumentException(
          "field [" + field + "] of type [matryoshka_vector] expects an array of [" + dims + "] numbers, got " + describe(parser));
    }
    float[] vector = new float[dims];
    int count = 0;
    for (Token token = parser.nextToken(); token != Token.END_ARRAY; token = parser.nextToken()) {
      if (token != Token.VALUE_NUMBER) {
        throw new IllegalArgumentException(
            "field [" + field + "] of type [matryoshka_vector] expects numbers, got " + describe(parser) + " at index [" + count + "]");
      }
      if (count == dims) {
        throw new IllegalArgumentException(
            "field [" + field + "] of type [matryoshka_vector] has more values than its [" + dims + "] dims");
      }
      // The double is checked before narrowing: 1e39 is finite as a double but not as a float.
      double value = parser.doubleValue();
      float narrowed = (float) value;
      if (Float.isFinite(narrowed) == false) {
        throw new IllegalArgumentException(
            "field [" + field + "] of type [matryoshka_vector] needs finite numbers, got [" + value + "] at index [" + count + "]");
      }
      vector[count++] = narrowed;
    }
    if (count != dims) {
      throw new IllegalArgumentException(
          "field [" + field + "] of type [matryoshka_vector] has [" + count + "] values but its dims are [" + dims + "]");
    }
    String problem = VectorChecks.problem(vector, similarity);
    if (problem != null) {
      throw new IllegalArgumentException("field [" + field + "] of type [matryoshka_vector]: " + problem);
    }
    return vector;
  }

  private static String describe(XContentParser parser) throws IOException {
    Token token = parser.currentToken();
    return token != null && token.isValue() ? "[" + parser.text() + "]" : String.valueOf(token);
  }
}
