package io.matryoshka.es.query;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.nullValue;

import io.matryoshka.search.Funnel;
import io.matryoshka.search.FunnelMetric;
import io.matryoshka.search.FunnelStage;
import io.matryoshka.es.MatryoshkaPlugin;
import io.matryoshka.es.mapper.MatryoshkaVectorFieldMapper;
import io.matryoshka.search.MatryoshkaKnnQuery;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.Query;
import org.elasticsearch.common.compress.CompressedXContent;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.common.io.stream.NamedWriteableAwareStreamInput;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.index.IndexVersion;
import org.elasticsearch.index.mapper.MapperService;
import org.elasticsearch.index.query.MatchNoneQueryBuilder;
import org.elasticsearch.index.query.QueryBuilder;
import org.elasticsearch.index.query.QueryBuilders;
import org.elasticsearch.index.query.SearchExecutionContext;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.test.AbstractQueryTestCase;
import org.elasticsearch.xcontent.XContentParseException;

/**
 * Elasticsearch's query-builder suite on random {@code matryoshka_knn} queries: XContent and
 * transport round trips, equals/hashCode, unknown fields, rewriting, and the Lucene query built.
 */
public class MatryoshkaKnnQueryBuilderTests extends AbstractQueryTestCase<MatryoshkaKnnQueryBuilder> {
  private static final String FIELD = "embedding";
  private static final int DIMS = 8;
  private static final int[] NESTED = {4, 8};
  private static final int BITS = 2;

  @Override
  protected Collection<Class<? extends Plugin>> getPlugins() {
    return List.of(MatryoshkaPlugin.class);
  }

  /**
   * The framework picks a random index version, often one from before Elasticsearch 9; an index
   * with a matryoshka_vector field can only have been created by this plugin, on 9.5.3, so the
   * hidden dense_vector child's version-dependent defaults (indexed by default since 8.11) always
   * hold. Older versions would fail on the child's defaults, not on anything of this plugin's.
   */
  @Override
  protected Settings createTestIndexSettings() {
    return Settings.builder().put(IndexMetadata.SETTING_VERSION_CREATED, IndexVersion.current()).build();
  }

  @Override
  protected void initializeAdditionalMappings(MapperService mapperService) throws IOException {
    String mapping =
        """
        {"properties": {"embedding": {"type": "matryoshka_vector", "dims": 8, "nested_dims": [4, 8], "bits": 2, "similarity": "l2_norm"}}}""";
    mapperService.merge("_doc", new CompressedXContent(mapping), MapperService.MergeReason.MAPPING_UPDATE);
  }

  @Override
  protected MatryoshkaKnnQueryBuilder doCreateTestQueryBuilder() {
    int queryDims = randomFrom(4, 8);
    float[] vector = new float[queryDims];
    for (int i = 0; i < queryDims; i++) {
      vector[i] = randomFloat() - 0.5f;
    }
    vector[0] += 1f;
    int k = randomIntBetween(1, 50);
    MatryoshkaKnnQueryBuilder builder = new MatryoshkaKnnQueryBuilder(FIELD, vector).k(k);
    if (randomBoolean()) {
      builder.funnel(randomFunnel(queryDims, k));
    } else if (randomBoolean()) {
      builder.oversample(1f + randomFloat() * 10);
    }
    if (randomBoolean()) {
      builder.filter(QueryBuilders.termQuery(KEYWORD_FIELD_NAME, randomAlphaOfLength(4)));
    }
    if (randomBoolean()) {
      builder.similarity(randomFloat());
    }
    builder.exact(randomBoolean());
    return builder;
  }

  private static List<FunnelStage> randomFunnel(int queryDims, int k) {
    List<FunnelStage> stages = new ArrayList<>();
    // Stages strictly narrow; the last (float, keeping k) may keep as many as the one before.
    int candidates = k + NESTED.length + k * randomIntBetween(0, 100);
    for (int level : NESTED) {
      if (level <= queryDims && candidates >= k && randomBoolean()) {
        FunnelMetric metric = randomFrom(FunnelMetric.HAMMING, FunnelMetric.ASYMMETRIC);
        stages.add(new FunnelStage(level, metric, candidates, randomFrom(0, 1, BITS)));
        candidates = Math.max(k, candidates / randomIntBetween(2, 4)) - 1;
      }
    }
    stages.add(new FunnelStage(queryDims, FunnelMetric.FLOAT, k));
    return stages;
  }

  @Override
  protected void doAssertLuceneQuery(MatryoshkaKnnQueryBuilder builder, Query query, SearchExecutionContext context) {
    assertThat(query, instanceOf(MatryoshkaKnnQuery.class));
    MatryoshkaKnnQuery knn = (MatryoshkaKnnQuery) query;
    assertThat(knn.getField(), equalTo(FIELD));
    assertThat(knn.getK(), equalTo(builder.k()));
    assertThat(knn.strategy().queryDims(), equalTo(builder.queryVector().length));
    assertThat(knn.strategy().exact(), equalTo(builder.exact()));
    if (builder.funnel() == null) {
      assertThat(knn.strategy().funnel(), nullValue());
      float expected = builder.oversample() == null ? Funnel.DEFAULT_OVERSAMPLE : builder.oversample();
      assertThat(knn.strategy().oversample(), equalTo(expected));
    } else {
      assertThat(knn.strategy().funnel().stages(), equalTo(builder.funnel()));
    }
    if (builder.similarity() == null) {
      assertThat(knn.minScore(), equalTo(Float.NEGATIVE_INFINITY));
    } else {
      float distance = builder.similarity();
      assertThat(knn.minScore(), equalTo(1f / (1f + distance * distance)));
    }
    assertThat(knn.getFilter() == null, equalTo(builder.filter() == null));
  }

  /** Transport serialization preserves every parameter, including funnel stage bits. */
  public void testTransportRoundTripOfEveryParameter() throws IOException {
    MatryoshkaKnnQueryBuilder original =
        new MatryoshkaKnnQueryBuilder(FIELD, new float[] {1, 2, 3, 4})
            .k(3)
            .funnel(List.of(new FunnelStage(4, FunnelMetric.HAMMING, 30, 1), new FunnelStage(4, FunnelMetric.FLOAT, 3)))
            .filter(QueryBuilders.termQuery(KEYWORD_FIELD_NAME, "x"))
            .similarity(0.5f)
            .exact(true);
    original.boost(2f).queryName("named");
    try (BytesStreamOutput out = new BytesStreamOutput()) {
      original.writeTo(out);
      try (StreamInput in = new NamedWriteableAwareStreamInput(out.bytes().streamInput(), namedWriteableRegistry())) {
        MatryoshkaKnnQueryBuilder copy = new MatryoshkaKnnQueryBuilder(in);
        assertThat(copy, equalTo(original));
        assertThat(copy.hashCode(), equalTo(original.hashCode()));
        assertThat(copy.funnel().get(0).bits(), equalTo(1));
      }
    }
  }

  public void testParsesTheDocumentedExample() throws IOException {
    String json =
        """
        {"matryoshka_knn": {
          "field": "embedding", "query_vector": [1, 0, 0, 0, 0, 0, 0, 0], "k": 2,
          "funnel": [{"dims": 4, "metric": "hamming", "candidates": 20}, {"dims": 8, "metric": "asymmetric", "candidates": 10, "bits": 2},
                     {"dims": 8, "metric": "float", "candidates": 2}],
          "filter": {"term": {"%s": "en"}}, "similarity": 0.4, "exact": false, "boost": 2, "_name": "q"}}"""
            .formatted(KEYWORD_FIELD_NAME);
    MatryoshkaKnnQueryBuilder parsed = (MatryoshkaKnnQueryBuilder) parseQuery(json);
    assertThat(parsed.k(), equalTo(2));
    assertThat(
        parsed.funnel(),
        equalTo(
            List.of(
                new FunnelStage(4, FunnelMetric.HAMMING, 20),
                new FunnelStage(8, FunnelMetric.ASYMMETRIC, 10, 2),
                new FunnelStage(8, FunnelMetric.FLOAT, 2))));
    assertThat(parsed.similarity(), equalTo(0.4f));
    assertThat(parsed.boost(), equalTo(2f));
    assertThat(parsed.queryName(), equalTo("q"));
    assertThat(parsed.filter(), equalTo(QueryBuilders.termQuery(KEYWORD_FIELD_NAME, "en")));
  }

  public void testDefaults() throws IOException {
    MatryoshkaKnnQueryBuilder parsed =
        (MatryoshkaKnnQueryBuilder) parseQuery("{\"matryoshka_knn\": {\"field\": \"embedding\", \"query_vector\": [1, 2, 3, 4, 5, 6, 7, 8]}}");
    assertThat(parsed.k(), equalTo(10));
    assertThat(parsed.funnel(), nullValue());
    assertThat(parsed.oversample(), nullValue());
    assertFalse(parsed.exact());
    MatryoshkaKnnQuery query = (MatryoshkaKnnQuery) parsed.toQuery(createSearchExecutionContext());
    assertThat(query.strategy().oversample(), equalTo(Funnel.DEFAULT_OVERSAMPLE));
    assertThat(query.getK(), equalTo(10));
  }

  private void assertParseError(String body, String... expected) {
    Exception e = expectThrows(Exception.class, () -> parseQuery("{\"matryoshka_knn\": {" + body + "}}"));
    StringBuilder messages = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      messages.append(t.getMessage()).append(" | ");
    }
    for (String part : expected) {
      assertThat(messages.toString(), containsString(part));
    }
  }

  public void testParseErrors() {
    String vector = "\"field\": \"embedding\", \"query_vector\": [1, 2, 3, 4]";
    // Unknown fields are reported with line and column.
    XContentParseException unknown =
        expectThrows(XContentParseException.class, () -> parseQuery("{\"matryoshka_knn\": {" + vector + ", \"num_candidates\": 5}}"));
    assertThat(unknown.getMessage(), containsString("[1:"));
    assertThat(unknown.getMessage(), containsString("unknown field [num_candidates]"));
    assertParseError(vector + ", \"funnel\": [{\"dims\": 4, \"metric\": \"float\", \"candidates\": 10, \"size\": 1}]", "unknown field [size]");
    assertParseError("\"query_vector\": [1, 2]", "Required [field]");
    assertParseError("\"field\": \"embedding\"", "Required [query_vector]");
    assertParseError("\"field\": \"embedding\", \"query_vector\": []", "non-empty [query_vector]");
    assertParseError(vector + ", \"k\": 0", "[k] must be in [1, 10000]");
    assertParseError(vector + ", \"k\": 10001", "[k] must be in [1, 10000]");
    assertParseError(vector + ", \"oversample\": 0.5", "[oversample] must be >= 1");
    assertParseError(vector + ", \"funnel\": []", "[funnel] needs at least one stage");
    assertParseError(vector + ", \"funnel\": [{\"dims\": 4, \"metric\": \"cosine\", \"candidates\": 10}]", "unknown funnel metric [cosine]", "[hamming, asymmetric, float]");
    assertParseError(vector + ", \"funnel\": [{\"dims\": 0, \"metric\": \"float\", \"candidates\": 10}]", "[dims] must be >= 1");
    assertParseError(vector + ", \"funnel\": [{\"dims\": 4, \"metric\": \"float\"}]", "Required [candidates]");
    assertParseError(
        vector + ", \"oversample\": 2, \"funnel\": [{\"dims\": 4, \"metric\": \"float\", \"candidates\": 10}]",
        "[oversample] applies only when [funnel] is not given");
  }

  /** Issue #10: numbers are strict where Elasticsearch is strict, and the funnel is bounded. */
  public void testStrictValues() {
    String field = "\"field\": \"embedding\", ";
    String vector = field + "\"query_vector\": [1, 2, 3, 4]";
    assertParseError(field + "\"query_vector\": [1, \"2\", 3, 4]", "[matryoshka_knn] [query_vector] expects numbers, got the string [2] at index [1]");
    assertParseError(field + "\"query_vector\": \"1,2,3,4\"", "[query_vector] must be an array of numbers");
    assertParseError(field + "\"query_vector\": [1, 1e39, 3, 4]", "[query_vector] must hold numbers finite as floats, got [1e39] at index [1]");
    assertParseError(vector + ", \"k\": 1.5", "[matryoshka_knn] [k] must be an integer, got [1.5]");
    assertParseError(vector + ", \"k\": \"5\"", "[k] must be an integer, got the string [5]");
    assertParseError(vector + ", \"k\": 5000000000", "[k] is out of the integer range");
    assertParseError(vector + ", \"oversample\": \"2\"", "[oversample] must be a number");
    assertParseError(vector + ", \"similarity\": \"0.5\"", "[similarity] must be a number");
    assertParseError(
        vector + ", \"funnel\": {\"dims\": 4, \"metric\": \"float\", \"candidates\": 10}",
        "[matryoshka_knn] [funnel] must be an array of stages, got START_OBJECT");
    assertParseError(vector + ", \"funnel\": [4]", "[funnel] stage [0] must be an object");
    assertParseError(vector + ", \"funnel\": [{\"dims\": 4, \"metric\": \"float\", \"candidates\": 9.5}]", "funnel stage [candidates] must be an integer, got [9.5]");
    assertParseError(vector + ", \"funnel\": [{\"dims\": \"4\", \"metric\": \"float\", \"candidates\": 10}]", "funnel stage [dims] must be an integer");
    StringBuilder long_ = new StringBuilder();
    for (int i = 0; i < 40_000; i++) {
      long_.append(i == 0 ? "" : ", ").append("{\"dims\": 4, \"metric\": \"float\", \"candidates\": 10}");
    }
    assertParseError(vector + ", \"funnel\": [" + long_ + "]", "[matryoshka_knn] [funnel] has more than 32 stages");
    List<FunnelStage> stages = new ArrayList<>();
    for (int i = 0; i < 33; i++) {
      stages.add(new FunnelStage(4, FunnelMetric.FLOAT, 100 - i));
    }
    IllegalArgumentException e =
        expectThrows(IllegalArgumentException.class, () -> new MatryoshkaKnnQueryBuilder(FIELD, new float[4]).funnel(stages));
    assertThat(e.getMessage(), containsString("[matryoshka_knn] [funnel] has 33 stages, more than the limit of 32"));
  }

  public void testQueryMagnitudes() {
    // The mapping is l2_norm: only the float range is at stake.
    assertQueryError(new MatryoshkaKnnQueryBuilder(FIELD, new float[] {1e20f, 0, 0, 0}), "[query_vector]: NaN or Infinite magnitude detected");
    assertQueryError(new MatryoshkaKnnQueryBuilder(FIELD, new float[] {1e19f, 0, 0, 0}), "[query_vector]: The [l2_norm] similarity needs a squared magnitude of at most");
  }

  public void testFunnelStagesMustStrictlyNarrow() {
    List<FunnelStage> equal =
        List.of(new FunnelStage(4, FunnelMetric.HAMMING, 50), new FunnelStage(8, FunnelMetric.ASYMMETRIC, 50), new FunnelStage(8, FunnelMetric.FLOAT, 10));
    assertQueryError(new MatryoshkaKnnQueryBuilder(FIELD, new float[8]).k(10).funnel(equal), "is as many as the previous stage's 50");
  }

  private void assertQueryError(MatryoshkaKnnQueryBuilder builder, String... expected) {
    IllegalArgumentException e = expectThrows(IllegalArgumentException.class, () -> builder.toQuery(createSearchExecutionContext()));
    assertThat(e.getMessage(), containsString("[matryoshka_knn] query on field [embedding]"));
    for (String part : expected) {
      assertThat(e.getMessage(), containsString(part));
    }
  }

  public void testErrorsAgainstTheMapping() {
    assertQueryError(new MatryoshkaKnnQueryBuilder(FIELD, new float[] {1, 2, 3}), "[query_vector] has 3 values", "[4, 8]");
    List<FunnelStage> widening =
        List.of(new FunnelStage(4, FunnelMetric.HAMMING, 10), new FunnelStage(8, FunnelMetric.HAMMING, 20), new FunnelStage(8, FunnelMetric.FLOAT, 10));
    assertQueryError(new MatryoshkaKnnQueryBuilder(FIELD, new float[8]).k(10).funnel(widening), "stages must narrow");
    List<FunnelStage> tooLong = List.of(new FunnelStage(8, FunnelMetric.HAMMING, 100), new FunnelStage(4, FunnelMetric.FLOAT, 10));
    assertQueryError(new MatryoshkaKnnQueryBuilder(FIELD, new float[4]).k(10).funnel(tooLong), "exceeds the query vector's length 4");
    List<FunnelStage> notFloatLast = List.of(new FunnelStage(8, FunnelMetric.HAMMING, 10));
    assertQueryError(new MatryoshkaKnnQueryBuilder(FIELD, new float[8]).k(10).funnel(notFloatLast), "last funnel stage must be [float]");
    List<FunnelStage> keepsWrong = List.of(new FunnelStage(8, FunnelMetric.FLOAT, 5));
    assertQueryError(new MatryoshkaKnnQueryBuilder(FIELD, new float[8]).k(10).funnel(keepsWrong), "[candidates] must be 10");
    List<FunnelStage> unstoredLevel = List.of(new FunnelStage(6, FunnelMetric.HAMMING, 50), new FunnelStage(8, FunnelMetric.FLOAT, 10));
    assertQueryError(new MatryoshkaKnnQueryBuilder(FIELD, new float[8]).k(10).funnel(unstoredLevel), "nested dims [4, 8]");
  }

  public void testFieldOfAnotherType() {
    IllegalArgumentException e =
        expectThrows(
            IllegalArgumentException.class,
            () -> new MatryoshkaKnnQueryBuilder(KEYWORD_FIELD_NAME, new float[] {1, 2}).toQuery(createSearchExecutionContext()));
    assertThat(e.getMessage(), containsString("only supported on [matryoshka_vector] fields"));
    assertThat(e.getMessage(), containsString("[" + KEYWORD_FIELD_NAME + "]"));
  }

  public void testUnmappedFieldMatchesNothing() throws IOException {
    Query query = new MatryoshkaKnnQueryBuilder("missing", new float[] {1}).toQuery(createSearchExecutionContext());
    assertThat(query, instanceOf(MatchNoDocsQuery.class));
  }

  public void testFilterThatMatchesNothingRewritesToMatchNone() throws IOException {
    MatryoshkaKnnQueryBuilder builder = new MatryoshkaKnnQueryBuilder(FIELD, new float[8]).filter(new MatchNoneQueryBuilder());
    QueryBuilder rewritten = rewriteAndFetch(builder, createSearchExecutionContext());
    assertThat(rewritten, instanceOf(MatchNoneQueryBuilder.class));
  }
}
