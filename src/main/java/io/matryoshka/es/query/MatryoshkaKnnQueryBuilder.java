package io.matryoshka.es.query;

import static org.elasticsearch.xcontent.ConstructingObjectParser.constructorArg;
import static org.elasticsearch.xcontent.ConstructingObjectParser.optionalConstructorArg;

import io.matryoshka.codec.Funnel;
import io.matryoshka.codec.FunnelMetric;
import io.matryoshka.codec.FunnelSearchStrategy;
import io.matryoshka.codec.FunnelStage;
import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.es.mapper.MatryoshkaVectorFieldMapper;
import io.matryoshka.es.mapper.MatryoshkaVectorFieldType;
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

  @SuppressWarnings("unchecked")
  private static final ConstructingObjectParser<MatryoshkaKnnQueryBuilder, Void> PARSER =
      new ConstructingObjectParser<>(
          NAME, false, args -> new MatryoshkaKnnQueryBuilder((String) args[0], toFloatArray((List<Float>) args[1])));

  static {
    STAGE_PARSER.declareInt(constructorArg(), STAGE_DIMS_FIELD);
    STAGE_PARSER.declareString(constructorArg(), STAGE_METRIC_FIELD);
    STAGE_PARSER.declareInt(constructorArg(), STAGE_CANDIDATES_FIELD);
    STAGE_PARSER.declareInt(optionalConstructorArg(), STAGE_BITS_FIELD);

    PARSER.declareString(constructorArg(), FIELD_FIELD);
    PARSER.declareFloatArray(constructorArg(), QUERY_VECTOR_FIELD);
    PARSER.declareInt(MatryoshkaKnnQueryBuilder::k, K_FIELD);
    PARSER.declareObjectArray(MatryoshkaKnnQueryBuilder::funnel, STAGE_PARSER, FUNNEL_FIELD);
    PARSER.declareFloat(MatryoshkaKnnQueryBuilder::oversample, OVERSAMPLE_FIELD);
    PARSER.declareObject(
        MatryoshkaKnnQueryBuilder::filter, (p, c) -> parseInnerQueryBuilder(p), FILTER_FIELD);
    PARSER.declareFloat(MatryoshkaKnnQueryBuilder::similarity, SIMILARITY_FIELD);
    PARSER.declareBoolean(MatryoshkaKnnQueryBuilder::exact, EXACT_FIELD);
    declareStandardFields(PARSER);
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
    this.funnel = stages == null ? null : List.copyOf(stages);
    return this;
  }

  public MatryoshkaKnnQueryBuilder oversample(Float oversample) {
    if (oversample != null && (oversample >= 1f) == false) {
      throw new IllegalArgumentException("[" + NAME + "] [oversample] must be >= 1, got " + oversample);
    }
    if (oversample != null && Float.isFinite(oversample) == false) {
      throw new IllegalArgumentException("[" + NAME + "] [oversample] must be finite, got " + oversample);
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
    if (queryDims != field.dims() && Arrays.binarySearch(nestedDims, queryDims) < 0) {
      throw invalid(
          "[query_vector] has "
              + queryDims
              + " values, but the field's vectors have "
              + field.dims()
              + " and its nested dims are "
              + Arrays.toString(nestedDims));
    }
    if (field.similarity() == VectorSimilarity.COSINE && isZero(queryVector)) {
      throw invalid("the [cosine] similarity does not support a [query_vector] of zero magnitude");
    }
    Funnel stages = null;
    if (funnel != null) {
      try {
        stages = new Funnel(funnel);
        stages.validate(queryDims, nestedDims, field.bits());
        stages.validateKeeps(k);
      } catch (IllegalArgumentException e) {
        throw invalid(e.getMessage());
      }
    }
    float effectiveOversample = oversample == null ? Funnel.DEFAULT_OVERSAMPLE : oversample;
    FunnelSearchStrategy strategy = new FunnelSearchStrategy(stages, effectiveOversample, queryDims, exact);
    float minScore =
        similarity == null ? Float.NEGATIVE_INFINITY : VectorScores.minScore(field.similarity(), similarity);
    float[] target =
        field.similarity() == VectorSimilarity.COSINE ? VectorScores.normalizedAsKnn(queryVector) : queryVector;
    String userName = field.vectorFieldName();
    String parentPath = context.nestedLookup().getNestedParent(userName);
    if (parentPath == null) {
      return new MatryoshkaKnnQuery(
          userName, target, field.dims(), k, combine(filters(context)), strategy, minScore);
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
        userName, target, field.dims(), k, combine(childFilters), strategy, minScore, parents);
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

  private static boolean isZero(float[] vector) {
    for (float value : vector) {
      if (value != 0f) {
        return false;
      }
    }
    return true;
  }

  private static float[] toFloatArray(List<Float> values) {
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.get(i);
    }
    return out;
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
