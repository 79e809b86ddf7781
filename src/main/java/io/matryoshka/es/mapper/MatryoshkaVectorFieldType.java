package io.matryoshka.es.mapper;

import io.matryoshka.quantization.Rotation;
import java.util.Map;
import org.apache.lucene.search.FieldExistsQuery;
import org.apache.lucene.search.Query;
import org.elasticsearch.index.mapper.ArraySourceValueFetcher;
import org.elasticsearch.index.mapper.IndexType;
import org.elasticsearch.index.mapper.MappedFieldType;
import org.elasticsearch.index.mapper.ValueFetcher;
import org.elasticsearch.index.mapper.vectors.DenseVectorFieldMapper.VectorSimilarity;
import org.elasticsearch.index.query.SearchExecutionContext;

/**
 * What {@code matryoshka_knn} needs to know about a {@code matryoshka_vector} field: its code
 * parameters. It is registered under a hidden name ({@link #hiddenName}, the user's name plus
 * {@value #HIDDEN_NAME_SUFFIX}); the user's own name belongs to the {@code dense_vector} child that
 * holds the vectors, so that Elasticsearch's {@code knn} finds a {@code dense_vector} there and the
 * per-field codec finds the child's format provider (see {@link MatryoshkaVectorFieldMapper}).
 */
public final class MatryoshkaVectorFieldType extends MappedFieldType {
  /**
   * Appended to the user's field name to register this type. Starts with a dot and an underscore so
   * that no mapping can declare it (sub-fields of a vector cannot be mapped) and field filters can
   * recognise it.
   */
  public static final String HIDDEN_NAME_SUFFIX = "._matryoshka";

  /** The name this type is registered under for the user's field {@code userName}. */
  public static String hiddenName(String userName) {
    return userName + HIDDEN_NAME_SUFFIX;
  }

  /** Whether {@code name} is a hidden name, which APIs listing fields should not show. */
  public static boolean isHiddenName(String name) {
    return name.endsWith(HIDDEN_NAME_SUFFIX);
  }

  private final int dims;
  private final VectorSimilarity similarity;
  private final int[] nestedDims;
  private final int bits;
  private final Rotation rotation;
  private final String vectorFieldName;

  MatryoshkaVectorFieldType(
      String name,
      int dims,
      VectorSimilarity similarity,
      int[] nestedDims,
      int bits,
      Rotation rotation,
      String vectorFieldName,
      Map<String, String> meta) {
    super(name, IndexType.vectors(), false, meta);
    this.dims = dims;
    this.similarity = similarity;
    this.nestedDims = nestedDims.clone();
    this.bits = bits;
    this.rotation = rotation;
    this.vectorFieldName = vectorFieldName;
  }

  @Override
  public String typeName() {
    return MatryoshkaVectorFieldMapper.CONTENT_TYPE;
  }

  public int dims() {
    return dims;
  }

  public VectorSimilarity similarity() {
    return similarity;
  }

  /** The prefix lengths codes are stored for, ascending, ending at {@link #dims()}. */
  public int[] nestedDims() {
    return nestedDims.clone();
  }

  public int bits() {
    return bits;
  }

  public Rotation rotation() {
    return rotation;
  }

  /**
   * The user's field name, which is also the Lucene field holding the vectors (the {@code
   * dense_vector} child's full path) and the path of the value in {@code _source}.
   */
  public String vectorFieldName() {
    return vectorFieldName;
  }

  @Override
  public ValueFetcher valueFetcher(SearchExecutionContext context, String format) {
    if (format != null) {
      throw new IllegalArgumentException(
          "Field [" + vectorFieldName + "] of type [" + typeName() + "] doesn't support formats.");
    }
    return new ArraySourceValueFetcher(vectorFieldName, context) {
      @Override
      protected Object parseSourceValue(Object value) {
        return value;
      }
    };
  }

  /**
   * Like {@code dense_vector}'s: {@code _source} in responses leaves the vector out unless the
   * request asks for it ({@code "_source": {"exclude_vectors": false}}, an explicit include, or
   * {@code fields}).
   */
  @Override
  public boolean isVectorEmbedding() {
    return true;
  }

  @Override
  public Query existsQuery(SearchExecutionContext context) {
    return new FieldExistsQuery(vectorFieldName);
  }

  @Override
  public Query termQuery(Object value, SearchExecutionContext context) {
    throw new IllegalArgumentException(
        "Field ["
            + vectorFieldName
            + "] of type ["
            + typeName()
            + "] does not support term queries; search it with [matryoshka_knn] or [knn]");
  }
}
