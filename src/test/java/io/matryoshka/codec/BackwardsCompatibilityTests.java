package io.matryoshka.codec;

import io.matryoshka.quantization.Binarizer;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.quantization.Rotation;
import io.matryoshka.search.Funnel;
import io.matryoshka.search.FunnelMetric;
import io.matryoshka.search.FunnelSearchStrategy;
import io.matryoshka.search.FunnelStage;
import io.matryoshka.search.MatryoshkaKnnQuery;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene104.Lucene104Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.util.VectorUtil;
import org.elasticsearch.common.logging.LogConfigurator;

/**
 * Reads indices written by earlier versions of the format, committed under {@code
 * src/test/resources/backcompat/}, as Lucene's backward-codecs tests do: every stored vector,
 * every code bit and the search results must come back as written. A change that makes existing
 * segments unreadable or changes what their bytes mean fails here.
 *
 * <p>One index per format version; the current version's is made by {@link #main} (run it, then
 * commit the zip, whenever {@link MatryoshkaVectorsFormat#VERSION_CURRENT} is bumped, keeping the
 * older zips). Each holds one force-merged segment of {@value #DOCS} documents with the fields of
 * {@link #FIELDS}: every similarity, 1, 2 and 4 bits, nested levels and the pca rotation (from
 * version 1 also a pca field with fewer vectors than dims, whose rotation has fewer rows). Vectors
 * are regenerated here from a fixed seed ({@link Random} is specified to give the same sequence on
 * every JVM).
 */
@LuceneTestCase.SuppressSysoutChecks(bugUrl = "Elasticsearch formats log a native-access warning")
public class BackwardsCompatibilityTests extends LuceneTestCase {
  static {
    // Elasticsearch's vectors formats share Lucene's SPI on this classpath and need its logging.
    LogConfigurator.configureESLogging();
  }

  static final int DOCS = 100;
  static final int DIMS = 64;
  static final long SEED = 20261202L;

  /**
   * @param docs the first {@code docs} documents have a vector in this field
   * @param sinceVersion the first format version whose committed index has this field
   */
  record FieldSpec(
      String name, VectorSimilarityFunction similarity, int[] nestedDims, int bits, Rotation rotation, int docs, int sinceVersion) {
    FieldSpec(String name, VectorSimilarityFunction similarity, int[] nestedDims, int bits, Rotation rotation) {
      this(name, similarity, nestedDims, bits, rotation, DOCS, 0);
    }
  }

  static final List<FieldSpec> FIELDS =
      List.of(
          new FieldSpec("cosine_1bit", VectorSimilarityFunction.COSINE, new int[] {32, 64}, 1, Rotation.NONE),
          new FieldSpec("dot_2bit", VectorSimilarityFunction.DOT_PRODUCT, new int[] {64}, 2, Rotation.NONE),
          new FieldSpec("l2_pca_4bit", VectorSimilarityFunction.EUCLIDEAN, new int[] {16, 32, 64}, 4, Rotation.PCA),
          new FieldSpec("mip_1bit", VectorSimilarityFunction.MAXIMUM_INNER_PRODUCT, new int[] {64}, 1, Rotation.NONE),
          // version 1: fewer vectors (40) than dims, so the rotation has fewer rows than dims
          new FieldSpec("cosine_pca_2bit_few", VectorSimilarityFunction.COSINE, new int[] {16, 64}, 2, Rotation.PCA, 40, 1));

  /** Format versions with a committed index; append one per bump of VERSION_CURRENT. */
  static final int[] VERSIONS = {0, 1, 2};

  public void testCurrentVersionHasACommittedIndex() {
    assertEquals(
        "bump VERSION_CURRENT together with a committed index of the new version (run main)",
        MatryoshkaVectorsFormat.VERSION_CURRENT,
        VERSIONS[VERSIONS.length - 1]);
  }

  public void testReadsEveryCommittedVersion() throws IOException {
    for (int version : VERSIONS) {
      Path dir = createTempDir("backcompat-v" + version);
      unzip("/backcompat/matryoshka-v" + version + ".zip", dir);
      try (Directory directory = FSDirectory.open(dir);
          DirectoryReader reader = DirectoryReader.open(directory)) {
        assertEquals(1, reader.leaves().size());
        LeafReader leaf = reader.leaves().get(0).reader();
        assertEquals(DOCS, leaf.maxDoc());
        for (FieldSpec spec : FIELDS) {
          if (spec.sinceVersion() > version) {
            continue;
          }
          float[][] vectors = vectors(spec);
          checkVectors(leaf, spec, vectors);
          checkCodes(leaf, spec, storedVectors(leaf, spec), version);
          checkSearch(new IndexSearcher(reader), spec, vectors);
        }
      }
    }
  }

  private static void checkVectors(LeafReader leaf, FieldSpec spec, float[][] expected) throws IOException {
    FloatVectorValues values = leaf.getFloatVectorValues(spec.name());
    assertEquals(spec.name(), spec.docs(), values.size());
    for (int ord = 0; ord < spec.docs(); ord++) {
      assertEquals(spec.name() + " doc " + ord, ord, values.ordToDoc(ord));
      // 1e-6: the dot_product field's vectors are normalised by Lucene's SIMD VectorUtil, whose
      // last bit may differ between the JVM that wrote the index and this one (JIT tiers)
      assertArrayEquals(spec.name() + " doc " + ord, expected[ord], values.vectorValue(ord), 1e-6f);
    }
  }

  private static float[][] storedVectors(LeafReader leaf, FieldSpec spec) throws IOException {
    FloatVectorValues values = leaf.getFloatVectorValues(spec.name());
    float[][] stored = new float[values.size()][];
    for (int ord = 0; ord < stored.length; ord++) {
      stored[ord] = values.vectorValue(ord).clone();
    }
    return stored;
  }

  /**
   * Every stored bit plane and corrective equals what the stored centroid and rotation give for
   * the stored vectors.
   */
  private static void checkCodes(LeafReader leaf, FieldSpec spec, float[][] vectors, int version) throws IOException {
    FieldCodes codes = CodeFiles.formatReader((SegmentReader) leaf, spec.name()).fieldCodes(spec.name());
    CodeLayout layout = codes.layout();
    assertArrayEquals(spec.name(), spec.nestedDims(), layout.nestedDims());
    assertEquals(spec.name(), spec.bits(), layout.bits());
    assertEquals(spec.name(), spec.rotation(), codes.rotation());
    assertEquals(spec.name(), spec.similarity(), codes.similarity());
    assertEquals(spec.name(), spec.docs(), codes.count());
    if (spec.rotation() == Rotation.PCA) {
      // as many rows as the field's documents span (count - 1 once centred on their mean), at most dims
      assertEquals(spec.name(), Math.min(DIMS, spec.docs() - 1), codes.rotationRows());
    }
    Binarizer binarizer = codes.binarizer();
    long[][] expected = binarizer.newCodes(layout.bits());
    IndexInput correctives = layout.bits() > 1 ? codes.correctivesInput() : null;
    IndexInput[][] planes = new IndexInput[layout.levels()][layout.bits()];
    for (int level = 0; level < layout.levels(); level++) {
      for (int plane = 0; plane < layout.bits(); plane++) {
        planes[level][plane] = codes.planeInput(level, plane);
      }
    }
    // Without rotation the codes are recomputed bit for bit. A rotation's dot products are summed
    // by the Vector API, whose rounding can differ between the JIT's tiers in the last bit, so a
    // coordinate within rounding of a quantization step may flip: allow one bit in a thousand
    // (a wrongly read rotation or layout flips about half of them).
    boolean exactBits = spec.rotation() == Rotation.NONE;
    long bitsCompared = 0;
    long bitsDiffering = 0;
    IndexInput survivors = codes.survivorInput();
    // the survivor block: multi-bit fields from version 1, every field from version 2
    assertEquals(spec.name() + " v" + version, version >= 2 || (version >= 1 && spec.bits() > 1), survivors != null);
    for (int ord = 0; ord < spec.docs(); ord++) {
      float[] terms = binarizer.quantize(binarizer.transform(vectors[ord], true), layout.bits(), expected);
      for (int level = 0; level < layout.levels(); level++) {
        int words = layout.wordsPerPlane(level);
        for (int plane = 0; plane < layout.bits(); plane++) {
          for (int w = 0; w < words; w++) {
            long stored = planes[level][plane].readLong();
            long recomputed = expected[level][plane * words + w];
            if (exactBits) {
              assertEquals(spec.name() + " doc " + ord + " level " + level + " plane " + plane, recomputed, stored);
            }
            bitsCompared += Long.SIZE;
            bitsDiffering += Long.bitCount(stored ^ recomputed);
          }
        }
      }
      if (survivors != null) {
        // the survivor entry repeats the document's planes, level by level
        for (int level = 0; level < layout.levels(); level++) {
          for (int plane = 0; plane < layout.bits(); plane++) {
            IndexInput planeBlock = codes.planeInput(level, plane);
            int words = layout.wordsPerPlane(level);
            planeBlock.seek((long) ord * words * Long.BYTES);
            for (int w = 0; w < words; w++) {
              assertEquals(spec.name() + " survivor entry of doc " + ord, planeBlock.readLong(), survivors.readLong());
            }
          }
        }
        survivors.skipBytes(layout.correctiveBytesPerDoc());
      }
      if (correctives != null) {
        // To 1e-6 relative (a few ulps): the rotation's dot products (Lucene's SIMD VectorUtil)
        // may sum their lanes in another order once the JIT has compiled them, which moves the
        // last bits of y and so of the interval, here and in the JVM that wrote the index.
        float lower = Float.intBitsToFloat(correctives.readInt());
        float step = Float.intBitsToFloat(correctives.readInt());
        assertEquals(spec.name() + " lower of " + ord, terms[0], lower, 1e-6f * Math.abs(terms[0]));
        assertEquals(spec.name() + " step of " + ord, terms[1], step, 1e-6f * Math.abs(terms[1]));
      }
    }
    assertTrue(spec.name() + ": " + bitsDiffering + " of " + bitsCompared + " code bits differ", bitsDiffering * 1000 <= bitsCompared);
  }

  /**
   * Exact search, and a funnel whose code stage keeps every document, both equal brute force;
   * the default funnel's hits carry their exact scores.
   */
  private static void checkSearch(IndexSearcher searcher, FieldSpec spec, float[][] vectors) throws IOException {
    Random random = new Random(SEED + 1);
    int k = 10;
    for (int q = 0; q < 5; q++) {
      float[] query = vector(random, spec.similarity());
      int[] truth = bruteForce(spec.similarity(), vectors, query, k);
      Funnel keepAll =
          new Funnel(
              List.of(
                  new FunnelStage(spec.nestedDims()[0], FunnelMetric.ASYMMETRIC, spec.docs(), 1),
                  new FunnelStage(DIMS, FunnelMetric.FLOAT, k)));
      // a survivor stage on all the field's bits (stages must narrow: it drops the one document its
      // codes rank last, never one of these queries' true top 10): reads the survivor block where
      // the segment has one, the plane blocks where not
      Funnel survivorStageKeepsAll =
          new Funnel(
              List.of(
                  new FunnelStage(spec.nestedDims()[0], FunnelMetric.ASYMMETRIC, spec.docs(), 1),
                  new FunnelStage(DIMS, FunnelMetric.ASYMMETRIC, spec.docs() - 1),
                  new FunnelStage(DIMS, FunnelMetric.FLOAT, k)));
      for (FunnelSearchStrategy strategy :
          new FunnelSearchStrategy[] {
            new FunnelSearchStrategy(null, Funnel.DEFAULT_OVERSAMPLE, DIMS, true),
            new FunnelSearchStrategy(keepAll, Funnel.DEFAULT_OVERSAMPLE, DIMS, false),
            new FunnelSearchStrategy(survivorStageKeepsAll, Funnel.DEFAULT_OVERSAMPLE, DIMS, false)
          }) {
        TopDocs top = searcher.search(new MatryoshkaKnnQuery(spec.name(), query, DIMS, k, null, strategy, Float.NEGATIVE_INFINITY), k);
        int[] found = Arrays.stream(top.scoreDocs).mapToInt(hit -> hit.doc).toArray();
        assertArrayEquals(spec.name() + " " + strategy, truth, found);
      }
      TopDocs defaults =
          searcher.search(
              new MatryoshkaKnnQuery(
                  spec.name(), query, DIMS, k, null, new FunnelSearchStrategy(null, Funnel.DEFAULT_OVERSAMPLE, DIMS, false), Float.NEGATIVE_INFINITY),
              k);
      assertEquals(k, defaults.scoreDocs.length);
      for (ScoreDoc hit : defaults.scoreDocs) {
        assertEquals(spec.name(), spec.similarity().compare(query, vectors[hit.doc]), hit.score, 1e-5f);
      }
    }
  }

  private static int[] bruteForce(VectorSimilarityFunction similarity, float[][] vectors, float[] query, int k) {
    return IntStream.range(0, vectors.length)
        .boxed()
        .sorted(Comparator.comparingDouble((Integer i) -> -similarity.compare(query, vectors[i])).thenComparing(i -> i))
        .limit(k)
        .mapToInt(Integer::intValue)
        .toArray();
  }

  static float[][] vectors(FieldSpec spec) {
    Random random = new Random(SEED + spec.name().hashCode());
    float[][] vectors = new float[spec.docs()][];
    for (int i = 0; i < spec.docs(); i++) {
      vectors[i] = vector(random, spec.similarity());
    }
    return vectors;
  }

  private static float[] vector(Random random, VectorSimilarityFunction similarity) {
    float[] v = new float[DIMS];
    for (int i = 0; i < DIMS; i++) {
      // decaying variance, as Matryoshka-trained and PCA-rotated vectors have
      v[i] = (float) (random.nextGaussian() / Math.sqrt(1 + i / 8.0));
    }
    return similarity == VectorSimilarityFunction.DOT_PRODUCT ? VectorUtil.l2normalize(v) : v;
  }

  private static void unzip(String resource, Path dir) throws IOException {
    try (InputStream in = BackwardsCompatibilityTests.class.getResourceAsStream(resource)) {
      assertNotNull("missing test resource " + resource, in);
      try (ZipInputStream zip = new ZipInputStream(in)) {
        for (ZipEntry entry = zip.getNextEntry(); entry != null; entry = zip.getNextEntry()) {
          Files.copy(zip, dir.resolve(entry.getName()));
        }
      }
    }
  }

  /**
   * Writes {@code matryoshka-v<VERSION_CURRENT>.zip} into the directory given as the only argument
   * (normally {@code src/test/resources/backcompat}).
   */
  public static void main(String[] args) throws IOException {
    Path out = Paths.get(args[0]);
    Path dir = Files.createTempDirectory("backcompat");
    Map<String, KnnVectorsFormat> formats =
        FIELDS.stream()
            .collect(
                java.util.stream.Collectors.toMap(
                    FieldSpec::name, spec -> (KnnVectorsFormat) new MatryoshkaVectorsFormat(spec.nestedDims(), spec.bits(), spec.rotation())));
    Codec codec =
        new Lucene104Codec() {
          @Override
          public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
            return formats.get(field);
          }
        };
    try (Directory directory = FSDirectory.open(dir);
        IndexWriter writer = new IndexWriter(directory, new IndexWriterConfig().setCodec(codec).setUseCompoundFile(false))) {
      float[][][] vectors = FIELDS.stream().map(BackwardsCompatibilityTests::vectors).toArray(float[][][]::new);
      for (int doc = 0; doc < DOCS; doc++) {
        Document document = new Document();
        for (int f = 0; f < FIELDS.size(); f++) {
          if (doc < vectors[f].length && FIELDS.get(f).sinceVersion() <= MatryoshkaVectorsFormat.VERSION_CURRENT) {
            document.add(new KnnFloatVectorField(FIELDS.get(f).name(), vectors[f][doc], FIELDS.get(f).similarity()));
          }
        }
        writer.addDocument(document);
      }
      writer.forceMerge(1);
    }
    Path zipFile = out.resolve("matryoshka-v" + MatryoshkaVectorsFormat.VERSION_CURRENT + ".zip");
    try (OutputStream file = Files.newOutputStream(zipFile);
        ZipOutputStream zip = new ZipOutputStream(file);
        var files = Files.list(dir)) {
      for (Path path : files.filter(p -> p.getFileName().toString().equals("write.lock") == false).sorted().toList()) {
        zip.putNextEntry(new ZipEntry(path.getFileName().toString()));
        Files.copy(path, zip);
        zip.closeEntry();
      }
    }
    System.out.println("wrote " + zipFile);
  }
}
