package io.matryoshka.es.query;

import java.io.IOException;
import java.util.Arrays;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParser.NumberType;
import org.elasticsearch.xcontent.XContentParser.Token;

/**
 * Strict readers of {@code matryoshka_knn}'s values, where ObjectParser's would coerce: a JSON
 * number only (no numeric strings, as {@code matryoshka_vector} documents), an integer only where
 * one is due ({@code 1.5} is an error, not 1). Messages name the parameter; the parser adds the
 * location.
 */
final class StrictValues {
  private StrictValues() {}

  static int integer(XContentParser parser, String what) throws IOException {
    Token token = parser.currentToken();
    NumberType type = token == Token.VALUE_NUMBER ? parser.numberType() : null;
    if (type != NumberType.INT && type != NumberType.LONG && type != NumberType.BIG_INTEGER) {
      throw new IllegalArgumentException(what + " must be an integer, got " + describe(parser));
    }
    if (type == NumberType.BIG_INTEGER || parser.longValue() != (int) parser.longValue()) {
      throw new IllegalArgumentException(what + " is out of the integer range, got " + describe(parser));
    }
    return parser.intValue();
  }

  /** A finite JSON number, as a float. */
  static float number(XContentParser parser, String what) throws IOException {
    if (parser.currentToken() != Token.VALUE_NUMBER) {
      throw new IllegalArgumentException(what + " must be a number, got " + describe(parser));
    }
    return parser.floatValue();
  }

  /**
   * A JSON array of at most {@code maxLength} numbers that are finite as floats (checked before
   * narrowing: 1e39 is a finite double but not a finite float).
   */
  static float[] vector(XContentParser parser, String what, int maxLength) throws IOException {
    if (parser.currentToken() != Token.START_ARRAY) {
      throw new IllegalArgumentException(what + " must be an array of numbers, got " + describe(parser));
    }
    float[] values = new float[16];
    int count = 0;
    for (Token token = parser.nextToken(); token != Token.END_ARRAY; token = parser.nextToken()) {
      if (token != Token.VALUE_NUMBER) {
        throw new IllegalArgumentException(what + " expects numbers, got " + describe(parser) + " at index [" + count + "]");
      }
      if (count == maxLength) {
        throw new IllegalArgumentException(what + " has more values than the limit " + maxLength);
      }
      double value = parser.doubleValue();
      float narrowed = (float) value;
      if (Float.isFinite(narrowed) == false) {
        throw new IllegalArgumentException(
            what + " must hold numbers finite as floats, got [" + parser.text() + "] at index [" + count + "]");
      }
      if (count == values.length) {
        values = Arrays.copyOf(values, Math.min(maxLength, values.length * 2));
      }
      values[count++] = narrowed;
    }
    return Arrays.copyOf(values, count);
  }

  static String describe(XContentParser parser) throws IOException {
    Token token = parser.currentToken();
    if (token == Token.VALUE_STRING) {
      return "the string [" + parser.text() + "]";
    }
    return token != null && token.isValue() ? "[" + parser.text() + "]" : String.valueOf(token);
  }
}
