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
 * What queries need to know about a {@code matryoshka_vector} field. The vectors themselves live in
 * the hidden {@code dense_vector} child {@link #vectorFieldName()}; this type is searched only
 * through {@code matryoshka_knn} (and {@code exists}).
 */
public final class MatryoshkaVectorFieldType extends MappedFieldType {
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

  /** The Lucene field holding the vectors (the hidden child), which the query searches. */
  public String vectorFieldName() {
    return vectorFieldName;
  }

  @Override
  public ValueFetcher valueFetcher(SearchExecutionContext context, String format) {
    if (format != null) {
      throw new IllegalArgumentException(
          "Field [" + name() + "] of type [" + typeName() + "] doesn't support formats.");
    }
    return new ArraySourceValueFetcher(name(), context) {
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
            + name()
            + "] of type ["
            + typeName()
            + "] does not support term queries; search it with [matryoshka_knn]");
  }
}
