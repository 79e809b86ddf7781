package io.matryoshka.es.mapper;

import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.quantization.Rotation;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.elasticsearch.common.collect.Iterators;
import org.elasticsearch.index.IndexMode;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.IndexVersion;
import org.elasticsearch.index.mapper.DocumentParserContext;
import org.elasticsearch.index.mapper.DocumentParsingException;
import org.elasticsearch.index.mapper.FieldMapper;
import org.elasticsearch.index.mapper.Mapper;
import org.elasticsearch.index.mapper.MapperBuilderContext;
import org.elasticsearch.index.mapper.MapperParsingException;
import org.elasticsearch.index.mapper.SourceLoader;
import org.elasticsearch.index.mapper.vectors.DenseVectorFieldMapper;
import org.elasticsearch.index.mapper.vectors.DenseVectorFieldMapper.VectorSimilarity;
import org.elasticsearch.xcontent.XContentParser.Token;

/**
 * The {@code matryoshka_vector} field: one float vector per document, stored as full floats plus
 * nested binary codes by {@link MatryoshkaVectorsFormat}.
 *
 * <p>Two mappers share the user's field. This one has the user's leaf name, so documents and the
 * mapping (which it serialises as {@code matryoshka_vector}) reach it, but its field type is
 * registered under a hidden name ({@link MatryoshkaVectorFieldType#hiddenName}). A {@code
 * dense_vector} child, built in this field's own builder context with the same leaf name, takes the
 * user's full path: the Lucene vector field is the user's name, Elasticsearch's per-field codec
 * finds the child there (it only asks {@code dense_vector} mappers, by full path) and gets this
 * plugin's format from the child's provider, and Elasticsearch's own {@code knn} (query, search
 * section, retriever) finds a {@code dense_vector} field type under the user's name and runs the
 * funnel through Lucene's kNN query. The child is derived from this field's parameters on every
 * build and never appears in the mapping. Why each piece holds, and what to re-check on an
 * Elasticsearch upgrade: README, "How {@code knn} works on the field".
 */
public final class MatryoshkaVectorFieldMapper extends FieldMapper {
  public static final String CONTENT_TYPE = "matryoshka_vector";

  public static final TypeParser PARSER =
      new TypeParser(
          (name, context) ->
              new Builder(
                  name,
                  context.indexVersionCreated(),
                  context.getIndexSettings().getMode(),
                  IndexSettings.INDEX_MAPPING_EXCLUDE_SOURCE_VECTORS_SETTING.get(
                      context.getIndexSettings().getSettings())),
          notInMultiFields(CONTENT_TYPE));

  private final DenseVectorFieldMapper vectors;
  private final IndexVersion indexVersionCreated;
  private final IndexMode indexMode;
  private final boolean excludeSourceVectorsSetting;

  private MatryoshkaVectorFieldMapper(
      String leafName,
      MatryoshkaVectorFieldType fieldType,
      BuilderParams builderParams,
      DenseVectorFieldMapper vectors,
      IndexVersion indexVersionCreated,
      IndexMode indexMode,
      boolean excludeSourceVectorsSetting) {
    super(leafName, fieldType, builderParams);
    this.vectors = vectors;
    this.indexVersionCreated = indexVersionCreated;
    this.indexMode = indexMode;
    this.excludeSourceVectorsSetting = excludeSourceVectorsSetting;
  }

  /** The user's name for the field (the {@code dense_vector} child's full path). */
  public String userName() {
    return vectors.fullPath();
  }

  @Override
  public MatryoshkaVectorFieldType fieldType() {
    return (MatryoshkaVectorFieldType) super.fieldType();
  }

  @Override
  protected String contentType() {
    return CONTENT_TYPE;
  }

  @Override
  public boolean parsesArrayValue() {
    return true;
  }

  @Override
  public Iterator<Mapper> iterator() {
    return Iterators.concat(super.iterator(), Iterators.single(vectors));
  }

  @Override
  public FieldMapper.Builder getMergeBuilder() {
    return new Builder(leafName(), indexVersionCreated, indexMode, excludeSourceVectorsSetting).init(this);
  }

  /**
   * As {@code dense_vector} in Elasticsearch 9 (index setting {@code
   * index.mapping.exclude_source_vectors}, on by default for new indices): the vector stays out of
   * the stored {@code _source} and {@code _recovery_source} and is read back from the index's
   * floats. The child does both: it is built with the setting, so its full path (the user's name) is
   * among the fields Elasticsearch strips from the stored source, and its loader patches the floats
   * back at that path. Elasticsearch asks only an object's direct mappers for loaders, which is this
   * one, so it hands over the child's. No loader with synthetic source, which rebuilds everything.
   */
  @Override
  public SourceLoader.SyntheticVectorsLoader syntheticVectorsLoader() {
    return vectors.syntheticVectorsLoader();
  }

  /**
   * As {@link FieldMapper#parse} but naming the user's field in errors: Elasticsearch's version
   * names {@code fieldType().name()}, which is the hidden name here.
   */
  @Override
  public void parse(DocumentParserContext context) throws IOException {
    try {
      parseCreateField(context);
    } catch (DocumentParsingException e) {
      throw e;
    } catch (Exception e) {
      throw new DocumentParsingException(
          context.parser().getTokenLocation(),
          "failed to parse field ["
              + userName()
              + "] of type ["
              + CONTENT_TYPE
              + "] in "
              + context.documentDescription()
              + ": "
              + e.getMessage(),
          e);
    }
    if (multiFields().iterator().hasNext()) {
      doParseMultiFields(context);
    }
  }

  @Override
  protected void parseCreateField(DocumentParserContext context) throws IOException {
    if (context.parser().currentToken() == Token.VALUE_NULL) {
      return;
    }
    MatryoshkaVectorFieldType type = fieldType();
    String vectorField = type.vectorFieldName();
    if (context.doc().getByKey(vectorField) != null) {
      throw new IllegalArgumentException(
          "Field ["
              + userName()
              + "] of type ["
              + CONTENT_TYPE
              + "] doesn't support indexing multiple values for the same field in the same document");
    }
    float[] vector = VectorValueParser.parse(context.parser(), userName(), type.dims(), type.similarity());
    KnnFloatVectorField field =
        new KnnFloatVectorField(vectorField, vector, luceneSimilarity(type.similarity()));
    context.doc().addWithKey(vectorField, field);
  }

  /**
   * Lucene's function for each similarity. Vectors are stored as given (not normalized as
   * {@code dense_vector} does for cosine), so cosine stays Lucene's cosine: the codes and every
   * prefix score normalize what they compare. Lucene's scores equal Elasticsearch's knn scores for
   * float vectors under every similarity.
   */
  static VectorSimilarityFunction luceneSimilarity(VectorSimilarity similarity) {
    return switch (similarity) {
      case COSINE -> VectorSimilarityFunction.COSINE;
      case DOT_PRODUCT -> VectorSimilarityFunction.DOT_PRODUCT;
      case L2_NORM -> VectorSimilarityFunction.EUCLIDEAN;
      case MAX_INNER_PRODUCT -> VectorSimilarityFunction.MAXIMUM_INNER_PRODUCT;
    };
  }

  /**
   * The default levels under {@code pca}: {@code dims} halved while the half is whole and at least
   * {@value #MIN_DEFAULT_PCA_LEVEL}; a rotated basis puts most variance first, so every halving is
   * a useful prefix. Without rotation only the model knows its Matryoshka prefixes: {@code [dims]}.
   */
  static List<Integer> defaultNestedDims(Integer dims, Rotation rotation) {
    if (dims == null) {
      return null;
    }
    List<Integer> levels = new ArrayList<>();
    levels.add(dims);
    if (rotation == Rotation.PCA) {
      int level = dims;
      while (level % 2 == 0 && level / 2 >= MIN_DEFAULT_PCA_LEVEL) {
        level /= 2;
        levels.add(0, level);
      }
    }
    return List.copyOf(levels);
  }

  static final int MIN_DEFAULT_PCA_LEVEL = 32;

  private static MatryoshkaVectorFieldMapper toType(FieldMapper mapper) {
    return (MatryoshkaVectorFieldMapper) mapper;
  }

  /** Parses and checks the field's parameters; builds the field and its hidden vectors child. */
  public static final class Builder extends FieldMapper.Builder {
    private static final List<String> SIMILARITIES =
        Arrays.stream(VectorSimilarity.values()).map(VectorSimilarity::toString).sorted().toList();

    private final IndexVersion indexVersionCreated;
    private final IndexMode indexMode;
    private final boolean excludeSourceVectors;

    private final Parameter<Integer> dims;
    private final Parameter<VectorSimilarity> similarity;
    private final Parameter<List<Integer>> nestedDims;
    private final Parameter<Integer> bits;
    private final Parameter<Rotation> rotation;
    private final Parameter<Map<String, String>> meta = Parameter.metaParam();
    /**
     * {@code dense_vector}'s parameters, so that a {@code dense_vector} mapping with only its type
     * changed is accepted: {@code index: true} and {@code element_type: float} say what this field
     * always is; anything else gets a 400 saying what to use instead.
     */
    private final Parameter<Boolean> index;
    private final Parameter<String> elementType;
    private final Parameter<Object> indexOptions;

    /**
     * @param excludeSourceVectors the index's {@code index.mapping.exclude_source_vectors}
     */
    public Builder(String name, IndexVersion indexVersionCreated, IndexMode indexMode, boolean excludeSourceVectors) {
      super(name);
      this.indexVersionCreated = indexVersionCreated;
      this.indexMode = indexMode;
      this.excludeSourceVectors = excludeSourceVectors;
      this.dims =
          new Parameter<>(
                  "dims",
                  false,
                  () -> null,
                  (field, context, value) -> parseDims(field, value),
                  m -> toType(m).fieldType().dims(),
                  (b, n, v) -> b.field(n, v.intValue()),
                  Objects::toString)
              .setSerializerCheck((includeDefaults, isConfigured, value) -> value != null)
              .addValidator(
                  value -> {
                    if (value == null) {
                      throw new MapperParsingException(
                          "[dims] is required for field [" + leafName() + "] of type [" + CONTENT_TYPE + "]");
                    }
                  });
      this.similarity =
          new Parameter<>(
              "similarity",
              false,
              () -> VectorSimilarity.COSINE,
              (field, context, value) -> parseSimilarity(field, value),
              m -> toType(m).fieldType().similarity(),
              (b, n, v) -> b.field(n, v.toString()),
              Objects::toString);
      this.rotation =
          new Parameter<>(
              "rotation",
              false,
              () -> Rotation.NONE,
              (field, context, value) -> parseRotation(field, value),
              m -> toType(m).fieldType().rotation(),
              (b, n, v) -> b.field(n, v.wireName()),
              Objects::toString);
      this.nestedDims =
          new Parameter<>(
                  "nested_dims",
                  false,
                  () -> defaultNestedDims(this.dims.getValue(), this.rotation.getValue()),
                  (field, context, value) -> parseNestedDims(field, value),
                  m -> intList(toType(m).fieldType().nestedDims()),
                  (b, n, v) -> b.field(n, v),
                  Objects::toString)
              .setSerializerCheck(
                  (includeDefaults, isConfigured, value) ->
                      value != null && (includeDefaults || isConfigured));
      this.bits =
          new Parameter<>(
              "bits",
              false,
              () -> 1,
              (field, context, value) -> parseBits(field, value),
              m -> toType(m).fieldType().bits(),
              (b, n, v) -> b.field(n, v.intValue()),
              Objects::toString);
      this.index =
          new Parameter<>(
              "index",
              false,
              () -> true,
              (field, context, value) -> parseIndex(field, value),
              m -> true,
              (b, n, v) -> b.field(n, v.booleanValue()),
              Objects::toString)
          .setSerializerCheck((includeDefaults, isConfigured, value) -> isConfigured);
      this.elementType =
          new Parameter<>(
              "element_type",
              false,
              () -> "float",
              (field, context, value) -> parseElementType(field, value),
              m -> "float",
              (b, n, v) -> b.field(n, v),
              Objects::toString)
          .setSerializerCheck((includeDefaults, isConfigured, value) -> isConfigured);
      this.indexOptions =
          new Parameter<>(
                  "index_options",
                  false,
                  () -> null,
                  (field, context, value) -> rejectIndexOptions(field, value),
                  m -> null,
                  (b, n, v) -> {},
                  Objects::toString)
              .setSerializerCheck((includeDefaults, isConfigured, value) -> false);
      // Runs after the single-parameter checks (parameters validate in getParameters() order).
      this.rotation.addValidator(ignored -> validateCombination());
    }

    @Override
    protected Parameter<?>[] getParameters() {
      return new Parameter<?>[] {dims, similarity, nestedDims, bits, rotation, index, elementType, indexOptions, meta};
    }

    @Override
    public String contentType() {
      return CONTENT_TYPE;
    }

    /** Checks what single parameters cannot: nested dims against dims, and that the format exists. */
    private void validateCombination() {
      Integer fieldDims = dims.getValue();
      if (fieldDims == null) {
        return;
      }
      int[] levels = toIntArray(nestedDims.getValue());
      try {
        CodeLayout.checkNestedDims(levels, fieldDims);
        new MatryoshkaVectorsFormat(levels, bits.getValue(), rotation.getValue());
      } catch (IllegalArgumentException e) {
        throw new MapperParsingException(
            "invalid parameters for field [" + leafName() + "] of type [" + CONTENT_TYPE + "]: " + e.getMessage());
      }
    }

    @Override
    public MatryoshkaVectorFieldMapper build(MapperBuilderContext context) {
      validate();
      int fieldDims = dims.getValue();
      int[] levels = toIntArray(nestedDims.getValue());
      MatryoshkaFormatProvider formats =
          new MatryoshkaFormatProvider(levels, bits.getValue(), rotation.getValue());
      // The child takes this field's leaf name in this field's own context: its full path is the
      // user's name. It is told the index's exclude_source_vectors setting so that it keeps the
      // values out of the stored _source and loads them back (see syntheticVectorsLoader).
      DenseVectorFieldMapper.Builder vectorsBuilder =
          new DenseVectorFieldMapper.Builder(
              leafName(), indexVersionCreated, indexMode, excludeSourceVectors, false, List.of(formats), false);
      // Indexed whatever dense_vector's default for the index's version (indices created before
      // 8.11 default to index: false, which also forbids a similarity). The builder has no setter:
      // its own parameter parser takes it (with what it validates it against), and needs no parser
      // context for these parameters.
      Map<String, Object> definition = new HashMap<>();
      definition.put("index", true);
      definition.put("element_type", "float");
      definition.put("dims", fieldDims);
      definition.put("similarity", similarity.getValue().toString());
      vectorsBuilder.parse(leafName(), null, definition);
      vectorsBuilder
          // Providers are consulted only for fields with explicit index options; and they must not
          // be flat, or Elasticsearch's knn builds a brute-force query that never reaches the
          // format's reader (DenseVectorFieldType#createKnnFloatQuery). HNSW makes it build Lucene's
          // KnnFloatVectorQuery, which asks the reader, which runs the funnel. The parameters are
          // never used: the provider returns this plugin's format whatever they say.
          .indexOptions(
              DenseVectorFieldMapper.VectorIndexType.HNSW.parseIndexOptions(
                  leafName(), new HashMap<>(), indexVersionCreated, false));
      DenseVectorFieldMapper vectors = vectorsBuilder.build(context);
      MatryoshkaVectorFieldType fieldType =
          new MatryoshkaVectorFieldType(
              MatryoshkaVectorFieldType.hiddenName(vectors.fullPath()),
              fieldDims,
              similarity.getValue(),
              levels,
              bits.getValue(),
              rotation.getValue(),
              vectors.fullPath(),
              meta.getValue());
      return new MatryoshkaVectorFieldMapper(
          leafName(),
          fieldType,
          builderParams(this, context),
          vectors,
          indexVersionCreated,
          indexMode,
          excludeSourceVectors);
    }

    private static Integer parseDims(String field, Object value) {
      if (value instanceof Integer == false) {
        throw new MapperParsingException(
            "[dims] on field [" + field + "] must be an integer but got [" + value + "]");
      }
      int dims = (Integer) value;
      if (dims < 1 || dims > MatryoshkaVectorsFormat.MAX_DIMS) {
        throw new MapperParsingException(
            "[dims] on field ["
                + field
                + "] must be in the range [1, "
                + MatryoshkaVectorsFormat.MAX_DIMS
                + "] but was ["
                + dims
                + "]");
      }
      return dims;
    }

    private static VectorSimilarity parseSimilarity(String field, Object value) {
      for (VectorSimilarity similarity : VectorSimilarity.values()) {
        if (similarity.toString().equals(value)) {
          return similarity;
        }
      }
      throw new MapperParsingException(
          "[similarity] on field [" + field + "] must be one of " + SIMILARITIES + " but was [" + value + "]");
    }

    private static Rotation parseRotation(String field, Object value) {
      try {
        return Rotation.fromWireName(String.valueOf(value));
      } catch (IllegalArgumentException e) {
        throw new MapperParsingException("[rotation] on field [" + field + "]: " + e.getMessage());
      }
    }

    private static Boolean parseIndex(String field, Object value) {
      if (Boolean.TRUE.equals(value) || "true".equals(value)) {
        return true;
      }
      throw new MapperParsingException(
          "[index] on field ["
              + field
              + "] of type ["
              + CONTENT_TYPE
              + "] can only be [true] (the field exists to be searched) but was ["
              + value
              + "]; to store vectors without an index, map the field as [dense_vector] with [index: false]");
    }

    private static String parseElementType(String field, Object value) {
      if ("float".equals(value)) {
        return "float";
      }
      throw new MapperParsingException(
          "[element_type] on field ["
              + field
              + "] of type ["
              + CONTENT_TYPE
              + "] can only be [float] but was ["
              + value
              + "]: the field stores float vectors and derives its own binary codes from them (set [bits] for more bits"
              + " per dimension); for byte or bit vectors, map the field as [dense_vector]");
    }

    private static Object rejectIndexOptions(String field, Object value) {
      throw new MapperParsingException(
          "[index_options] on field ["
              + field
              + "] of type ["
              + CONTENT_TYPE
              + "] is not supported: the field always stores full floats plus nested binary codes and searches them"
              + " with a funnel; remove [index_options] and set [bits] (1, 2 or 4), [nested_dims] or [rotation] on the"
              + " mapping, and [num_candidates] on knn or [oversample] on matryoshka_knn at query time");
    }

    private static Integer parseBits(String field, Object value) {
      try {
        if (value instanceof Integer == false) {
          throw new IllegalArgumentException("bits must be 1, 2 or 4");
        }
        CodeLayout.checkBits((Integer) value);
      } catch (IllegalArgumentException e) {
        throw new MapperParsingException(
            "[bits] on field [" + field + "] must be 1, 2 or 4 but was [" + value + "]");
      }
      return (Integer) value;
    }

    private static List<Integer> parseNestedDims(String field, Object value) {
      if (!(value instanceof List<?> list) || list.isEmpty()) {
        throw new MapperParsingException(
            "[nested_dims] on field [" + field + "] must be a non-empty array of integers but was [" + value + "]");
      }
      List<Integer> levels = new ArrayList<>(list.size());
      for (Object level : list) {
        if (level instanceof Integer == false) {
          throw new MapperParsingException(
              "[nested_dims] on field [" + field + "] must be an array of integers but contains [" + level + "]");
        }
        levels.add((Integer) level);
      }
      return List.copyOf(levels);
    }
  }

  private static List<Integer> intList(int[] values) {
    return Arrays.stream(values).boxed().toList();
  }

  private static int[] toIntArray(List<Integer> values) {
    return values.stream().mapToInt(Integer::intValue).toArray();
  }
}
