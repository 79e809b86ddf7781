package io.matryoshka.es.mapper;

import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.nullValue;

import io.matryoshka.quantization.Rotation;
import io.matryoshka.es.MatryoshkaPlugin;
import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.index.IndexableField;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.core.CheckedConsumer;
import org.elasticsearch.index.mapper.DocumentMapper;
import org.elasticsearch.index.IndexVersion;
import org.elasticsearch.index.mapper.DocumentParsingException;
import org.elasticsearch.index.mapper.MapperParsingException;
import org.elasticsearch.index.mapper.MapperService;
import org.elasticsearch.index.mapper.MapperServiceTestCase;
import org.elasticsearch.index.mapper.ParsedDocument;
import org.elasticsearch.index.mapper.SourceToParse;
import org.elasticsearch.index.mapper.vectors.DenseVectorFieldMapper;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.xcontent.ToXContent;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentFactory;
import org.elasticsearch.xcontent.XContentType;

/** The {@code matryoshka_vector} mapping: parameters, defaults, errors, updates and document values. */
public class MatryoshkaVectorFieldMapperTests extends MapperServiceTestCase {
  @Override
  protected Collection<? extends Plugin> getPlugins() {
    return List.of(new MatryoshkaPlugin());
  }

  private static XContentBuilder embedding(CheckedConsumer<XContentBuilder, IOException> params) throws IOException {
    return mapping(b -> {
      b.startObject("embedding").field("type", "matryoshka_vector");
      params.accept(b);
      b.endObject();
    });
  }

  private static Map<String, Object> fieldMapping(MapperService mapperService, ToXContent.Params params) throws IOException {
    XContentBuilder out = XContentFactory.jsonBuilder();
    out.startObject();
    mapperService.documentMapper().mapping().toXContent(out, params);
    out.endObject();
    Map<String, Object> map = XContentHelper.convertToMap(XContentType.JSON.xContent(), Strings.toString(out), false);
    @SuppressWarnings("unchecked")
    Map<String, Object> properties = (Map<String, Object>) ((Map<String, Object>) map.get("_doc")).get("properties");
    @SuppressWarnings("unchecked")
    Map<String, Object> field = (Map<String, Object>) properties.get("embedding");
    return field;
  }

  public void testMappingShowsOnlyWhatTheUserWrote() throws IOException {
    MapperService mapperService = createMapperService(embedding(b -> b.field("dims", 8)));
    assertThat(fieldMapping(mapperService, ToXContent.EMPTY_PARAMS), equalTo(Map.of("type", "matryoshka_vector", "dims", 8)));
    assertThat(
        fieldMapping(mapperService, INCLUDE_DEFAULTS),
        equalTo(
            Map.of(
                "type", "matryoshka_vector",
                "dims", 8,
                "similarity", "cosine",
                "nested_dims", List.of(8),
                "bits", 1,
                "rotation", "none",
                "meta", Map.of())));
  }

  public void testAllParametersRoundTrip() throws IOException {
    CheckedConsumer<XContentBuilder, IOException> params =
        b -> b.field("dims", 16)
            .field("similarity", "l2_norm")
            .field("nested_dims", List.of(4, 8, 16))
            .field("bits", 4)
            // Elasticsearch leaves a parameter set to its default out of the mapping it returns.
            .field("rotation", "none");
    MapperService mapperService = createMapperService(embedding(params));
    assertThat(
        fieldMapping(mapperService, ToXContent.EMPTY_PARAMS),
        equalTo(
            Map.of(
                "type", "matryoshka_vector",
                "dims", 16,
                "similarity", "l2_norm",
                "nested_dims", List.of(4, 8, 16),
                "bits", 4)));
    // Re-parsing what was serialized gives the same mapping.
    MapperService reparsed = createMapperService(mapperService.documentMapper().mappingSource().string());
    assertThat(fieldMapping(reparsed, ToXContent.EMPTY_PARAMS), equalTo(fieldMapping(mapperService, ToXContent.EMPTY_PARAMS)));
    MatryoshkaVectorFieldType type = (MatryoshkaVectorFieldType) mapperService.fieldType(MatryoshkaVectorFieldType.hiddenName("embedding"));
    assertArrayEquals(new int[] {4, 8, 16}, type.nestedDims());
    assertThat(type.bits(), equalTo(4));
    assertThat(type.similarity(), equalTo(DenseVectorFieldMapper.VectorSimilarity.L2_NORM));
  }

  public void testHiddenVectorsChildIsADenseVectorOutsideTheMapping() throws IOException {
    MapperService mapperService = createMapperService(embedding(b -> b.field("dims", 8)));
    // The swap: the dense_vector child holds the user's name, the matryoshka_vector type the hidden one.
    String child = "embedding";
    String hidden = MatryoshkaVectorFieldType.hiddenName("embedding");
    assertThat(mapperService.fieldType(child), instanceOf(DenseVectorFieldMapper.DenseVectorFieldType.class));
    assertThat(mapperService.mappingLookup().getMapper(child), instanceOf(DenseVectorFieldMapper.class));
    DenseVectorFieldMapper.DenseVectorFieldType dense = (DenseVectorFieldMapper.DenseVectorFieldType) mapperService.fieldType(child);
    // Not flat: Elasticsearch's knn would brute-force flat fields without asking the format's reader.
    assertThat(dense.getIndexOptions().isFlat(), equalTo(false));
    assertThat(((MatryoshkaVectorFieldType) mapperService.fieldType(hidden)).vectorFieldName(), equalTo(child));
    assertThat(
        mapperService.documentMapper().mappingSource().string(),
        allOf(containsString("embedding"), org.hamcrest.Matchers.not(containsString(hidden)), org.hamcrest.Matchers.not(containsString("dense_vector"))));
  }

  /** Indices created before 8.11 default dense_vector to index: false; the child is indexed anyway. */
  public void testChildIsIndexedOnIndicesOfEveryVersion() throws IOException {
    IndexVersion old = org.elasticsearch.test.index.IndexVersionUtils.getPreviousVersion(DenseVectorFieldMapper.INDEXED_BY_DEFAULT_INDEX_VERSION);
    for (IndexVersion version : List.of(old, IndexVersion.current())) {
      MapperService mapperService = createMapperService(version, embedding(b -> b.field("dims", 8).field("similarity", "dot_product")));
      DenseVectorFieldMapper.DenseVectorFieldType dense = (DenseVectorFieldMapper.DenseVectorFieldType) mapperService.fieldType("embedding");
      assertThat(version.toString(), dense.indexType().hasVectors(), equalTo(true));
      assertThat(dense.similarity(), equalTo(DenseVectorFieldMapper.VectorSimilarity.DOT_PRODUCT));
    }
  }

  public void testPcaMappingDefaultsToHalvings() throws IOException {
    MapperService mapperService = createMapperService(embedding(b -> b.field("dims", 128).field("rotation", "pca").field("bits", 4)));
    assertThat(
        fieldMapping(mapperService, ToXContent.EMPTY_PARAMS),
        equalTo(Map.of("type", "matryoshka_vector", "dims", 128, "rotation", "pca", "bits", 4)));
    assertThat(fieldMapping(mapperService, INCLUDE_DEFAULTS).get("nested_dims"), equalTo(List.of(32, 64, 128)));
    MatryoshkaVectorFieldType type = (MatryoshkaVectorFieldType) mapperService.fieldType(MatryoshkaVectorFieldType.hiddenName("embedding"));
    assertThat(type.rotation(), equalTo(Rotation.PCA));
    assertArrayEquals(new int[] {32, 64, 128}, type.nestedDims());
  }

  public void testPcaDefaultNestedDimsAreHalvings() {
    assertThat(MatryoshkaVectorFieldMapper.defaultNestedDims(768, Rotation.PCA), equalTo(List.of(48, 96, 192, 384, 768)));
    assertThat(MatryoshkaVectorFieldMapper.defaultNestedDims(100, Rotation.PCA), equalTo(List.of(50, 100)));
    assertThat(MatryoshkaVectorFieldMapper.defaultNestedDims(24, Rotation.PCA), equalTo(List.of(24)));
    assertThat(MatryoshkaVectorFieldMapper.defaultNestedDims(768, Rotation.NONE), equalTo(List.of(768)));
    assertThat(MatryoshkaVectorFieldMapper.defaultNestedDims(null, Rotation.NONE), nullValue());
  }

  private void assertMappingError(CheckedConsumer<XContentBuilder, IOException> params, String... expected) {
    MapperParsingException e = expectThrows(MapperParsingException.class, () -> createMapperService(embedding(params)));
    String message = e.getMessage();
    assertThat(message, containsString("[embedding]"));
    for (String part : expected) {
      assertThat(message, containsString(part));
    }
  }

  public void testBadDims() {
    assertMappingError(b -> {}, "[dims] is required");
    assertMappingError(b -> b.field("dims", 0), "[1, 4096]", "[0]");
    assertMappingError(b -> b.field("dims", 4097), "[1, 4096]", "[4097]");
    assertMappingError(b -> b.field("dims", "many"), "[dims]", "must be an integer");
  }

  public void testBadSimilarity() {
    assertMappingError(
        b -> b.field("dims", 8).field("similarity", "jaccard"),
        "[similarity]",
        "[cosine, dot_product, l2_norm, max_inner_product]",
        "[jaccard]");
  }

  public void testBadNestedDims() {
    assertMappingError(b -> b.field("dims", 16).field("nested_dims", List.of(8, 4, 16)), "strictly ascending");
    assertMappingError(b -> b.field("dims", 16).field("nested_dims", List.of(4, 8)), "must end at dims [16]");
    assertMappingError(b -> b.field("dims", 16).field("nested_dims", List.of(0, 16)), "out of range");
    assertMappingError(b -> b.field("dims", 16).field("nested_dims", List.of(4, 8, 16, 32)), "must end at dims [16]");
    assertMappingError(b -> b.field("dims", 16).field("nested_dims", List.of()), "non-empty array");
    assertMappingError(b -> b.field("dims", 16).field("nested_dims", 16), "non-empty array");
    assertMappingError(b -> b.field("dims", 16).field("nested_dims", List.of("4", 16)), "array of integers");
  }

  public void testBadBits() {
    for (Object bits : new Object[] {0, 3, 8, "one"}) {
      assertMappingError(b -> b.field("dims", 8).field("bits", bits), "[bits]", "1, 2 or 4");
    }
  }

  public void testBadRotation() {
    assertMappingError(b -> b.field("dims", 8).field("rotation", "random"), "[rotation]", "[none, pca]");
  }

  public void testUnknownParameter() {
    // [index_options] was the example here until dense_vector's own parameters got their own errors
    // (testDenseVectorParameters); [m] is an HNSW option, not a mapping parameter of either type.
    MapperParsingException e =
        expectThrows(MapperParsingException.class, () -> createMapperService(embedding(b -> b.field("dims", 8).field("m", 16))));
    assertThat(e.getMessage(), containsString("unknown parameter [m] on mapper [embedding]"));
  }

  /** A dense_vector mapping with only its type changed is accepted; what cannot hold says what to use. */
  public void testDenseVectorParameters() throws IOException {
    MapperService same =
        createMapperService(
            embedding(b -> b.field("dims", 8).field("index", true).field("element_type", "float").field("similarity", "dot_product")));
    assertThat(
        fieldMapping(same, ToXContent.EMPTY_PARAMS),
        equalTo(Map.of("type", "matryoshka_vector", "dims", 8, "similarity", "dot_product")));
    // They only restate what the field always is: not serialized, not even among the defaults.
    MapperService plain = createMapperService(embedding(b -> b.field("dims", 8)));
    assertThat(fieldMapping(plain, INCLUDE_DEFAULTS).containsKey("index"), equalTo(false));
    assertThat(fieldMapping(plain, INCLUDE_DEFAULTS).containsKey("element_type"), equalTo(false));
    assertMappingError(b -> b.field("dims", 8).field("index", false), "[index] on field [embedding]", "[dense_vector] with [index: false]");
    assertMappingError(b -> b.field("dims", 8).field("element_type", "byte"), "[element_type] on field [embedding]", "can only be [float] but was [byte]", "[bits]");
    assertMappingError(b -> b.field("dims", 8).field("element_type", "bit"), "[element_type] on field [embedding]", "map the field as [dense_vector]");
    assertMappingError(
        b -> b.field("dims", 8).startObject("index_options").field("type", "bbq_hnsw").endObject(),
        "[index_options] on field [embedding]",
        "remove [index_options]",
        "[bits]",
        "[num_candidates]");
  }

  public void testParametersCannotBeUpdated() throws IOException {
    MapperService mapperService =
        createMapperService(embedding(b -> b.field("dims", 8).field("nested_dims", List.of(4, 8))));
    Map<String, CheckedConsumer<XContentBuilder, IOException>> changes =
        Map.of(
            "dims", b -> b.field("dims", 16).field("nested_dims", List.of(4, 16)),
            "similarity", b -> b.field("dims", 8).field("nested_dims", List.of(4, 8)).field("similarity", "l2_norm"),
            "nested_dims", b -> b.field("dims", 8).field("nested_dims", List.of(2, 8)),
            "bits", b -> b.field("dims", 8).field("nested_dims", List.of(4, 8)).field("bits", 2));
    for (Map.Entry<String, CheckedConsumer<XContentBuilder, IOException>> change : changes.entrySet()) {
      IllegalArgumentException e =
          expectThrows(IllegalArgumentException.class, () -> merge(mapperService, embedding(change.getValue())));
      assertThat(e.getMessage(), containsString("Mapper for [embedding] conflicts with existing mapper"));
      assertThat(e.getMessage(), containsString("Cannot update parameter [" + change.getKey() + "]"));
    }
    // Writing the same parameters again is not a change.
    merge(mapperService, embedding(b -> b.field("dims", 8).field("nested_dims", List.of(4, 8))));
  }

  public void testIndexesTheVectorIntoTheHiddenChild() throws IOException {
    DocumentMapper mapper = createDocumentMapper(embedding(b -> b.field("dims", 3).field("similarity", "dot_product")));
    ParsedDocument doc = mapper.parse(source(b -> b.array("embedding", 0.6f, 0.8f, 0f)));
    List<IndexableField> fields = doc.rootDoc().getFields("embedding");
    assertThat(fields.size(), equalTo(1));
    KnnFloatVectorField field = (KnnFloatVectorField) fields.get(0);
    assertArrayEquals(new float[] {0.6f, 0.8f, 0f}, field.vectorValue(), 0f);
    assertThat(field.fieldType().vectorSimilarityFunction(), equalTo(VectorSimilarityFunction.DOT_PRODUCT));
    // A document without the field, or with null, has no vector.
    assertThat(mapper.parse(source(b -> b.nullField("embedding"))).rootDoc().getFields(fields.get(0).name()).size(), equalTo(0));
  }

  private void assertDocumentError(String similarity, String json, String... expected) throws IOException {
    DocumentMapper mapper = createDocumentMapper(embedding(b -> b.field("dims", 3).field("similarity", similarity)));
    DocumentParsingException e =
        expectThrows(DocumentParsingException.class, () -> mapper.parse(new SourceToParse("doc-7", new org.elasticsearch.common.bytes.BytesArray(json), XContentType.JSON)));
    String message = e.getMessage() + " / " + (e.getCause() == null ? "" : e.getCause().getMessage());
    assertThat(message, containsString("[embedding]"));
    assertThat(message, containsString("doc-7"));
    for (String part : expected) {
      assertThat(message, containsString(part));
    }
  }

  public void testBadDocumentValues() throws IOException {
    assertDocumentError("cosine", "{\"embedding\": [1, 2]}", "has [2] values but its dims are [3]");
    assertDocumentError("cosine", "{\"embedding\": [1, 2, 3, 4]}", "more values than its [3] dims");
    assertDocumentError("cosine", "{\"embedding\": [1, \"2\", 3]}", "expects numbers");
    assertDocumentError("cosine", "{\"embedding\": [1, \"NaN\", 3]}", "expects numbers");
    assertDocumentError("cosine", "{\"embedding\": [1, 1e39, 3]}", "finite numbers");
    assertDocumentError("cosine", "{\"embedding\": [1, true, 3]}", "expects numbers");
    assertDocumentError("cosine", "{\"embedding\": [1, [2], 3]}", "expects numbers");
    assertDocumentError("cosine", "{\"embedding\": 5}", "expects an array of [3] numbers");
    assertDocumentError("cosine", "{\"embedding\": [0, 0, 0]}", "zero magnitude");
    // Issue #10: magnitudes as Lucene computes them, in float.
    assertDocumentError("cosine", "{\"embedding\": [1e-30, 1e-30, 1e-30]}", "The [cosine] similarity does not support vectors with zero magnitude.");
    assertDocumentError("cosine", "{\"embedding\": [3e38, 3e38, 3e38]}", "NaN or Infinite magnitude detected", "Preview of invalid vector: [3.0E38, 3.0E38, 3.0E38]");
    assertDocumentError("l2_norm", "{\"embedding\": [1e20, 0, 0]}", "NaN or Infinite magnitude detected");
    assertDocumentError("max_inner_product", "{\"embedding\": [1e19, 0, 0]}", "The [max_inner_product] similarity needs a squared magnitude of at most");
    assertDocumentError("dot_product", "{\"embedding\": [10, 0, 0]}", "The [dot_product] similarity can only be used with unit-length vectors.");
    assertDocumentError("l2_norm", "{\"embedding\": [[1, 2, 3], [1, 2, 3]]}", "expects numbers");
    // Zero vectors are fine where the similarity has no norm to divide by.
    DocumentMapper l2 = createDocumentMapper(embedding(b -> b.field("dims", 3).field("similarity", "l2_norm")));
    l2.parse(source(b -> b.array("embedding", 0f, 0f, 0f)));
  }
}
