package io.matryoshka.es.query;

import static org.elasticsearch.xcontent.ConstructingObjectParser.constructorArg;
import static org.elasticsearch.xcontent.ConstructingObjectParser.optionalConstructorArg;

import io.matryoshka.search.Funnel;
import io.matryoshka.search.FunnelMetric;
import io.matryoshka.search.FunnelSearchStrategy;
import io.matryoshka.search.FunnelStage;
import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.es.mapper.MatryoshkaVectorFieldMapper;
import io.matryoshka.es.mapper.MatryoshkaVectorFieldType;
import io.matryoshka.es.mapper.VectorChecks;
import io.matryoshka.quantization.Rotation;
import io.matryoshka.search.MatryoshkaKnnQuery;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.join.BitSetProducer;
import org.apache.lucene.search.join.ToChildBlockJoinQuery;
import org.elasticsearch.TransportVersion;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.lucene.search.Queries;
import org.elasticsearch.index.mapper.MappedFieldType;
import org.elasticsearch.index.mapper.NestedObjectMapper;
import org.elasticsearch.index.mapper.vectors.DenseVectorFieldMapper.VectorSimilarity;
import org.elasticsearch.index.query.LeafQueryBuilder;
import org.elasticsearch.index.query.MatchNoneQueryBuilder;
import org.elasticsearch.index.query.QueryBuilder;
import org.elasticsearch.index.query.QueryRewriteContext;
import org.elasticsearch.index.query.SearchExecutionContext;
import org.elasticsearch.index.search.NestedHelper;
import org.elasticsearch.xcontent.ConstructingObjectParser;
import org.elasticsearch.xcontent.ObjectParser.ValueType;
import org.elasticsearch.xcontent.ParseField;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;

/**
 * The {@code matryoshka_knn} query: the {@code k} nearest documents of a {@code matryoshka_vector}
 * field per shard, found by a funnel over the field's binary codes and floats. Parameters are
 * checked in two places: what needs no mapping when the request is parsed, the rest (vector
 * length, funnel shape) against the field when the shard builds the Lucene query.
 */
public final class MatryoshkaKnnQueryBuilder extends LeafQueryBuilder<MatryoshkaKnnQueryBuilder> {
  public static final String NAME = "matryoshka_knn";

  public static final int DEFAULT_K = 10;
  /** Same ceiling as Elasticsearch's knn {@code k} and {@code num_candidates}. */
  public static final int MAX_K = 10_000;

  static final ParseField FIELD_FIELD = new ParseField("field");
  static final ParseField QUERY_VECTOR_FIELD = new ParseField("query_vector");
  static final ParseField K_FIELD = new ParseField("k");
  static final ParseField FUNNEL_FIELD = new ParseField("funnel");
  static final ParseField OVERSAMPLE_FIELD = new ParseField("oversample");
  static final ParseField FILTER_FIELD = new ParseField("filter");
  static final ParseField SIMILARITY_FIELD = new ParseField("similarity");
  static final ParseField EXACT_FIELD = new ParseField("exact");
  static final ParseField STAGE_DIMS_FIELD = new ParseField("dims");
  static final ParseField STAGE_METRIC_FIELD = new ParseField("metric");
  static final ParseField STAGE_CANDIDATES_FIELD = new ParseField("candidates");
  static final ParseField STAGE_BITS_FIELD = new ParseField("bits");

  private static final ConstructingObjectParser<FunnelStage, Void> STAGE_PARSER =
      new ConstructingObjectParser<>(
          "funnel_stage",
          false,
          args ->
              new FunnelStage(
                  (Integer) args[0],
                  FunnelMetric.fromWireName((String) args[1]),
                  (Integer) args[2],
                  args[3] == null ? 0 : (Integer) args[3]));

  private static final ConstructingObjectParser<MatryoshkaKnnQueryBuilder, Void> PARSER =
      new ConstructingObjectParser<>(NAME, false, args -> new MatryoshkaKnnQueryBuilder((String) args[0], (float[]) args[1]));

  // Numbers are strict, as dense_vector documents are: no numeric strings, no 1.5 where an integer
  // is due (ObjectParser's declareInt would truncate it), a funnel only as an array.
  static {
    STAGE_PARSER.declareField(constructorArg(), p -> StrictValues.integer(p, "funnel stage [dims]"), STAGE_DIMS_FIELD, ValueType.VALUE_OBJECT_ARRAY);
    STAGE_PARSER.declareString(constructorArg(), STAGE_METRIC_FIELD);
    STAGE_PARSER.declareField(
        constructorArg(), p -> StrictValues.integer(p, "funnel stage [candidates]"), STAGE_CANDIDATES_FIELD, ValueType.VALUE_OBJECT_ARRAY);
    STAGE_PARSER.declareField(
        optionalConstructorArg(), p -> StrictValues.integer(p, "funnel stage [bits]"), STAGE_BITS_FIELD, ValueType.VALUE_OBJECT_ARRAY);

    PARSER.declareString(constructorArg(), FIELD_FIELD);
    PARSER.declareField(
        constructorArg(), p -> StrictValues.vector(p, "[" + NAME + "] [query_vector]", MatryoshkaVectorsFormat.MAX_DIMS), QUERY_VECTOR_FIELD, ValueType.VALUE_OBJECT_ARRAY);
    PARSER.declareField(MatryoshkaKnnQueryBuilder::k, p -> StrictValues.integer(p, "[" + NAME + "] [k]"), K_FIELD, ValueType.VALUE_OBJECT_ARRAY);
    PARSER.declareField(MatryoshkaKnnQueryBuilder::funnel, MatryoshkaKnnQueryBuilder::parseFunnel, FUNNEL_FIELD, ValueType.VALUE_OBJECT_ARRAY);
    PARSER.declareField(
        MatryoshkaKnnQueryBuilder::oversample, p -> StrictValues.number(p, "[" + NAME + "] [oversample]"), OVERSAMPLE_FIELD, ValueType.VALUE_OBJECT_ARRAY);
    PARSER.declareObject(
        MatryoshkaKnnQueryBuilder::filter, (p, c) -> parseInnerQueryBuilder(p), FILTER_FIELD);
    PARSER.declareField(
        MatryoshkaKnnQueryBuilder::similarity, p -> StrictValues.number(p, "[" + NAME + "] [similarity]"), SIMILARITY_FIELD, ValueType.VALUE_OBJECT_ARRAY);
    PARSER.declareBoolean(MatryoshkaKnnQueryBuilder::exact, EXACT_FIELD);
    declareStandardFields(PARSER);
  }

  /** A JSON array of stage objects, at most {@link Funnel#MAX_STAGES} (checked while parsing). */
  private static List<FunnelStage> parseFunnel(XContentParser parser) throws IOException {
    if (parser.currentToken() != XContentParser.Token.START_ARRAY) {
      throw new IllegalArgumentException(
          "[" + NAME + "] [funnel] must be an array of stages, got " + StrictValues.describe(parser));
    }
    List<FunnelStage> stages = new ArrayList<>();
    for (XContentParser.Token token = parser.nextToken(); token != XContentParser.Token.END_ARRAY; token = parser.nextToken()) {
      if (token != XContentParser.Token.START_OBJECT) {
        throw new IllegalArgumentException(
            "[" + NAME + "] [funnel] stage [" + stages.size() + "] must be an object, got " + StrictValues.describe(parser));
      }
      try {
        Funnel.checkStageCount(stages.size() + 1);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("[" + NAME + "] [funnel] has more than " + Funnel.MAX_STAGES + " stages");
      }
      stages.add(STAGE_PARSER.apply(parser, null));
    }
    return stages;
  }

  public static MatryoshkaKnnQueryBuilder fromXContent(XContentParser parser) throws IOException {
    MatryoshkaKnnQueryBuilder builder = PARSER.apply(parser, null);
    if (builder.funnel != null && builder.oversample != null) {
      throw new IllegalArgumentException(
          "[" + NAME + "] [" + OVERSAMPLE_FIELD.getPreferredName() + "] applies only when [funnel] is not given");
    }
    return builder;
  }

  private final String fieldName;
  private final float[] queryVector;
  private int k = DEFAULT_K;
  private List<FunnelStage> funnel;
  private Float oversample;
  private QueryBuilder filter;
  private Float similarity;
  private boolean exact;

  public MatryoshkaKnnQueryBuilder(String fieldName, float[] queryVector) {
    if (fieldName == null || fieldName.isEmpty()) {
      throw new IllegalArgumentException("[" + NAME + "] requires a [field]");
    }
    if (queryVector == null || queryVector.length == 0) {
      throw new IllegalArgumentException("[" + NAME + "] requires a non-empty [query_vector]");
    }
    if (queryVector.length > MatryoshkaVectorsFormat.MAX_DIMS) {
      throw new IllegalArgumentException(
          "[" + NAME + "] [query_vector] has " + queryVector.length + " values, more than the limit " + MatryoshkaVectorsFormat.MAX_DIMS);
    }
    for (int i = 0; i < queryVector.length; i++) {
      if (Float.isFinite(queryVector[i]) == false) {
        throw new IllegalArgumentException(
            "[" + NAME + "] [query_vector] must hold finite numbers, got [" + queryVector[i] + "] at index [" + i + "]");
      }
    }
    this.fieldName = fieldName;
    this.queryVector = queryVector.clone();
  }

  public MatryoshkaKnnQueryBuilder(StreamInput in) throws IOException {
    super(in);
    this.fieldName = in.readString();
    this.queryVector = in.readFloatArray();
    this.k = in.readVInt();
    this.funnel = in.readOptionalCollectionAsList(MatryoshkaKnnQueryBuilder::readStage);
    this.oversample = in.readOptionalFloat();
    this.filter = in.readOptionalNamedWriteable(QueryBuilder.class);
    this.similarity = in.readOptionalFloat();
    this.exact = in.readBoolean();
  }

  @Override
  protected void doWriteTo(StreamOutput out) throws IOException {
    out.writeString(fieldName);
    out.writeFloatArray(queryVector);
    out.writeVInt(k);
    out.writeOptionalCollection(funnel, MatryoshkaKnnQueryBuilder::writeStage);
    out.writeOptionalFloat(oversample);
    out.writeOptionalNamedWriteable(filter);
    out.writeOptionalFloat(similarity);
    out.writeBoolean(exact);
  }

  private static FunnelStage readStage(StreamInput in) throws IOException {
    return new FunnelStage(in.readVInt(), in.readEnum(FunnelMetric.class), in.readVInt(), in.readVInt());
  }

  private static void writeStage(StreamOutput out, FunnelStage stage) throws IOException {
    out.writeVInt(stage.dims());
    out.writeEnum(stage.metric());
    out.writeVInt(stage.candidates());
    out.writeVInt(stage.bits());
  }

  public MatryoshkaKnnQueryBuilder k(int k) {
    if (k < 1 || k > MAX_K) {
      throw new IllegalArgumentException("[" + NAME + "] [k] must be in [1, " + MAX_K + "], got " + k);
    }
    this.k = k;
    return this;
  }

  /** The stages to run, or {@code null} for the default funnel. */
  public MatryoshkaKnnQueryBuilder funnel(List<FunnelStage> stages) {
    if (stages != null && stages.isEmpty()) {
      throw new IllegalArgumentException("[" + NAME + "] [funnel] needs at least one stage");
    }
    if (stages != null) {
      try {
        Funnel.checkStageCount(stages.size());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("[" + NAME + "] " + e.getMessage());
      }
    }
    this.funnel = stages == null ? null : List.copyOf(stages);
    return this;
  }

  public MatryoshkaKnnQueryBuilder oversample(Float oversample) {
    if (oversample != null) {
      try {
        Funnel.checkOversample(oversample);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("[" + NAME + "] " + e.getMessage());
      }
    }
    this.oversample = oversample;
    return this;
  }

  public MatryoshkaKnnQueryBuilder filter(QueryBuilder filter) {
    this.filter = filter;
    return this;
  }

  public MatryoshkaKnnQueryBuilder similarity(Float similarity) {
    if (similarity != null && Float.isFinite(similarity) == false) {
      throw new IllegalArgumentException("[" + NAME + "] [similarity] must be finite, got " + similarity);
    }
    this.similarity = similarity;
    return this;
  }

  public MatryoshkaKnnQueryBuilder exact(boolean exact) {
    this.exact = exact;
    return this;
  }

  public String fieldName() {
    return fieldName;
  }

  public float[] queryVector() {
    return queryVector.clone();
  }

  public int k() {
    return k;
  }

  public List<FunnelStage> funnel() {
    return funnel;
  }

  public Float oversample() {
    return oversample;
  }

  public QueryBuilder filter() {
    return filter;
  }

  public Float similarity() {
    return similarity;
  }

  public boolean exact() {
    return exact;
  }

  @Override
  public String getWriteableName() {
    return NAME;
  }

  @Override
  public TransportVersion getMinimalSupportedVersion() {
    return TransportVersion.minimumCompatible();
  }

  @Override
  protected void doXContent(XContentBuilder builder, Params params) throws IOException {
    builder.startObject(NAME);
    builder.field(FIELD_FIELD.getPreferredName(), fieldName);
    builder.array(QUERY_VECTOR_FIELD.getPreferredName(), queryVector);
    builder.field(K_FIELD.getPreferredName(), k);
    if (funnel != null) {
      builder.startArray(FUNNEL_FIELD.getPreferredName());
      for (FunnelStage stage : funnel) {
        builder
            .startObject()
            .field(STAGE_DIMS_FIELD.getPreferredName(), stage.dims())
            .field(STAGE_METRIC_FIELD.getPreferredName(), stage.metric().wireName())
            .field(STAGE_CANDIDATES_FIELD.getPreferredName(), stage.candidates());
        if (stage.bits() != 0) {
          builder.field(STAGE_BITS_FIELD.getPreferredName(), stage.bits());
        }
        builder.endObject();
      }
      builder.endArray();
    }
    if (oversample != null) {
      builder.field(OVERSAMPLE_FIELD.getPreferredName(), oversample);
    }
    if (filter != null) {
      builder.field(FILTER_FIELD.getPreferredName(), filter);
    }
    if (similarity != null) {
      builder.field(SIMILARITY_FIELD.getPreferredName(), similarity);
    }
    if (exact) {
      builder.field(EXACT_FIELD.getPreferredName(), true);
    }
    boostAndQueryNameToXContent(builder);
    builder.endObject();
  }

  @Override
  protected QueryBuilder doRewrite(QueryRewriteContext context) throws IOException {
    if (filter == null) {
      return this;
    }
    QueryBuilder rewritten = filter.rewrite(context);
    if (rewritten instanceof MatchNoneQueryBuilder) {
      return rewritten;
    }
    if (rewritten == filter) {
      return this;
    }
    return copyWithFilter(rewritten);
  }

  private MatryoshkaKnnQueryBuilder copyWithFilter(QueryBuilder newFilter) {
    MatryoshkaKnnQueryBuilder copy =
        new MatryoshkaKnnQueryBuilder(fieldName, queryVector)
            .k(k)
            .funnel(funnel)
            .oversample(oversample)
            .filter(newFilter)
            .similarity(similarity)
            .exact(exact);
    return copy.boost(boost).queryName(queryName);
  }

  @Override
  protected Query doToQuery(SearchExecutionContext context) throws IOException {
    MappedFieldType mapped = context.getFieldType(fieldName);
    if (mapped == null) {
      // As knn: an index that does not map the field has no hits for it.
      return new MatchNoDocsQuery("field [" + fieldName + "] is not mapped");
    }
    // The user's name belongs to the field's dense_vector child; the code parameters live in the
    // matryoshka_vector type registered under the hidden name (see MatryoshkaVectorFieldMapper).
    MappedFieldType own =
        mapped instanceof MatryoshkaVectorFieldType
            ? mapped
            : context.getFieldType(MatryoshkaVectorFieldType.hiddenName(fieldName));
    if (own instanceof MatryoshkaVectorFieldType == false) {
      throw new IllegalArgumentException(
          "["
              + NAME
              + "] queries are only supported on ["
              + MatryoshkaVectorFieldMapper.CONTENT_TYPE
              + "] fields, but field ["
              + fieldName
              + "] is of type ["
              + mapped.typeName()
              + "]");
    }
    MatryoshkaVectorFieldType field = (MatryoshkaVectorFieldType) own;
    int[] nestedDims = field.nestedDims();
    int queryDims = queryVector.length;
    String magnitude = VectorChecks.problem(queryVector, field.similarity());
    if (magnitude != null) {
      throw invalid("[query_vector]: " + magnitude);
    }
    float effectiveOversample = oversample == null ? Funnel.DEFAULT_OVERSAMPLE : oversample;
    FunnelSearchStrategy strategy;
    try {
      Funnel stages = funnel == null ? null : new Funnel(funnel);
      if (stages != null) {
        stages.validateKeeps(k);
      }
      strategy =
          new FunnelSearchStrategy(stages, effectiveOversample, queryDims, exact)
              .validatedFor(nestedDims, field.bits(), field.rotation() != Rotation.NONE);
    } catch (IllegalArgumentException e) {
      throw invalid(e.getMessage());
    }
    float minScore =
        similarity == null ? Float.NEGATIVE_INFINITY : VectorScores.minScore(field.similarity(), similarity);
    float[] target =
        field.similarity() == VectorSimilarity.COSINE ? VectorScores.normalizedAsKnn(queryVector) : queryVector;
    String userName = field.vectorFieldName();
    String parentPath = context.nestedLookup().getNestedParent(userName);
    if (parentPath == null) {
      return new MatryoshkaKnnQuery(
          userName,
          target,
          field.dims(),
          k,
          combine(filters(context)),
          strategy,
          minScore,
          SearcherCancellation.INSTANCE,
          null);
    }
    // A field inside nested objects: as Elasticsearch's knn, the k best distinct parents, each
    // represented by its best child, and filters on parent fields joined down to the children.
    Query parentFilter = parentFilter(context);
    BitSetProducer parents = context.bitsetFilter(parentFilter);
    List<Query> childFilters = new ArrayList<>();
    for (Query f : filters(context)) {
      if (NestedHelper.mightMatchNonNestedDocs(f, parentPath, context)) {
        f = new ToChildBlockJoinQuery(Queries.filtered(f, parentFilter), parents);
      }
      childFilters.add(f);
    }
    return new MatryoshkaKnnQuery(
        userName,
        target,
        field.dims(),
        k,
        combine(childFilters),
        strategy,
        minScore,
        SearcherCancellation.INSTANCE,
        parents);
  }

  /**
   * The documents whose children the nested field's documents are: those of the enclosing
   * {@code nested} query's parent level, or the root documents (as {@code KnnVectorQueryBuilder}
   * decides).
   */
  private static Query parentFilter(SearchExecutionContext context) {
    NestedObjectMapper current = context.nestedScope().getObjectMapper();
    if (current == null) {
      return Queries.newNonNestedFilter(context.indexVersionCreated());
    }
    try {
      context.nestedScope().previousLevel();
      NestedObjectMapper parent = context.nestedScope().getObjectMapper();
      return parent == null ? Queries.newNonNestedFilter(context.indexVersionCreated()) : parent.nestedTypeFilter();
    } finally {
      context.nestedScope().nextLevel(current);
    }
  }

  /** The pre-filters: the request's filter and the alias filter, if any. */
  private List<Query> filters(SearchExecutionContext context) throws IOException {
    List<Query> filters = new ArrayList<>(2);
    if (filter != null) {
      filters.add(filter.toQuery(context));
    }
    if (context.getAliasFilter() != null) {
      filters.add(context.getAliasFilter().toQuery(context));
    }
    return filters;
  }

  private static Query combine(List<Query> filters) {
    if (filters.isEmpty()) {
      return null;
    }
    if (filters.size() == 1) {
      return filters.get(0);
    }
    BooleanQuery.Builder all = new BooleanQuery.Builder();
    for (Query query : filters) {
      all.add(query, BooleanClause.Occur.FILTER);
    }
    return all.build();
  }

  private IllegalArgumentException invalid(String message) {
    return new IllegalArgumentException("[" + NAME + "] query on field [" + fieldName + "]: " + message);
  }

  @Override
  protected boolean doEquals(MatryoshkaKnnQueryBuilder other) {
    return fieldName.equals(other.fieldName)
        && Arrays.equals(queryVector, other.queryVector)
        && k == other.k
        && Objects.equals(funnel, other.funnel)
        && Objects.equals(oversample, other.oversample)
        && Objects.equals(filter, other.filter)
        && Objects.equals(similarity, other.similarity)
        && exact == other.exact;
  }

  @Override
  protected int doHashCode() {
    return Objects.hash(fieldName, Arrays.hashCode(queryVector), k, funnel, oversample, filter, similarity, exact);
  }
}
