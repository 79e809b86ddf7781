package io.matryoshka.search;

import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.quantization.Rotation;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.elasticsearch.common.logging.LogConfigurator;

/**
 * The funnel is exact when its first stage keeps every document: {@link MatryoshkaKnnQuery} (and a
 * plain {@link KnnFloatVectorQuery} carrying a {@link FunnelSearchStrategy}) return the brute-force
 * float top k computed here from the indexed vectors, for every similarity, with filters, deletes,
 * several segments (one without the field), prefix queries, min scores, explain and timeouts; and
 * malformed funnels are rejected naming the stage.
 */
@LuceneTestCase.SuppressSysoutChecks(bugUrl = "Elasticsearch formats log a native-access warning")
public class FunnelExactnessTests extends LuceneTestCase {
  static {
    LogConfigurator.configureESLogging();
  }

  private static final String FIELD = "v";
  private static final int DIMS = 100;
  private static final int[] NESTED = {8, 64, 100};
  private static final String[] COLORS = {"red", "green", "blue"};

  /** An index with its ground truth: vectors and colors by id, and which ids are live. */
  private static final class Index implements AutoCloseable {
    final Directory dir;
    final DirectoryReader reader;
    final VectorSimilarityFunction similarity;
    final float[][] vectors; // by id, null: no vector
    final String[] colors;
    final boolean[] live;
    final int bits;

    Index(Directory dir, DirectoryReader reader, VectorSimilarityFunction similarity, float[][] vectors, String[] colors, boolean[] live, int bits) {
      this.dir = dir;
      this.reader = reader;
      this.similarity = similarity;
      this.vectors = vectors;
      this.colors = colors;
      this.live = live;
      this.bits = bits;
    }

    int size() {
      return vectors.length;
    }

    @Override
    public void close() throws IOException {
      reader.close();
      dir.close();
    }
  }

  private static float[] randomVector(VectorSimilarityFunction similarity) {
    float[] v = new float[DIMS];
    double norm = 0;
    for (int i = 0; i < DIMS; i++) {
      v[i] = (float) (random().nextGaussian() + 0.3);
      norm += v[i] * v[i];
    }
    if (similarity == VectorSimilarityFunction.DOT_PRODUCT) {
      for (int i = 0; i < DIMS; i++) {
        v[i] /= (float) Math.sqrt(norm);
      }
    }
    return v;
  }

  /**
   * Three to four segments: some documents without vectors, one segment without the field at all,
   * about a tenth of the documents deleted.
   */
  private Index buildIndex(VectorSimilarityFunction similarity) throws IOException {
    int bits = 1 << random().nextInt(3);
    Directory dir = newDirectory();
    IndexWriterConfig iwc = new IndexWriterConfig();
    iwc.setCodec(TestUtil.alwaysKnnVectorsFormat(new MatryoshkaVectorsFormat(NESTED, bits, Rotation.NONE)));
    iwc.setMaxBufferedDocs(100_000);
    iwc.setRAMBufferSizeMB(256);
    // Keep a segment whose few documents all got deleted (the last one may hold a single document):
    // searching it is part of what is tested, and the segment count stays fixed.
    iwc.setMergePolicy(
        new org.apache.lucene.index.FilterMergePolicy(NoMergePolicy.INSTANCE) {
          @Override
          public boolean keepFullyDeletedSegment(
              org.apache.lucene.util.IOSupplier<org.apache.lucene.index.CodecReader> readerIOSupplier) {
            return true;
          }
        });
    int[] segmentSizes = {TestUtil.nextInt(random(), 50, 200), 20, TestUtil.nextInt(random(), 50, 200), TestUtil.nextInt(random(), 1, 30)};
    int total = Arrays.stream(segmentSizes).sum();
    float[][] vectors = new float[total][];
    String[] colors = new String[total];
    boolean[] live = new boolean[total];
    try (IndexWriter writer = new IndexWriter(dir, iwc)) {
      int id = 0;
      for (int segment = 0; segment < segmentSizes.length; segment++) {
        for (int i = 0; i < segmentSizes[segment]; i++, id++) {
          boolean hasVector = segment != 1 && random().nextInt(8) != 0;
          vectors[id] = hasVector ? randomVector(similarity) : null;
          colors[id] = COLORS[random().nextInt(COLORS.length)];
          live[id] = true;
          Document doc = new Document();
          doc.add(new NumericDocValuesField("id", id));
          doc.add(new StringField("idterm", Integer.toString(id), Field.Store.NO));
          doc.add(new StringField("color", colors[id], Field.Store.NO));
          if (hasVector) {
            doc.add(new KnnFloatVectorField(FIELD, vectors[id], similarity));
          }
          writer.addDocument(doc);
        }
        writer.commit();
      }
      for (id = 0; id < total; id++) {
        if (random().nextInt(10) == 0) {
          live[id] = false;
          writer.deleteDocuments(new Term("idterm", Integer.toString(id)));
        }
      }
      writer.commit();
    }
    DirectoryReader reader = DirectoryReader.open(dir);
    assertEquals(segmentSizes.length, reader.leaves().size());
    return new Index(dir, reader, similarity, vectors, colors, live, bits);
  }

  /** Brute force: {id, score} of the best {@code k} live documents matching the color (null: any). */
  private static List<float[]> bruteForce(Index index, float[] query, int k, String color) {
    int p = query.length;
    List<float[]> all = new ArrayList<>();
    for (int id = 0; id < index.size(); id++) {
      if (index.vectors[id] != null && index.live[id] && (color == null || color.equals(index.colors[id]))) {
        float[] prefix = Arrays.copyOf(index.vectors[id], p);
        all.add(new float[] {id, index.similarity.compare(query, prefix)});
      }
    }
    all.sort(Comparator.comparingDouble((float[] e) -> -e[1]));
    return all.subList(0, Math.min(k, all.size()));
  }

  private static int idOf(DirectoryReader reader, int doc) throws IOException {
    List<LeafReaderContext> leaves = reader.leaves();
    LeafReaderContext ctx = leaves.get(ReaderUtil.subIndex(doc, leaves));
    NumericDocValues ids = ctx.reader().getNumericDocValues("id");
    assertTrue(ids.advanceExact(doc - ctx.docBase));
    return (int) ids.longValue();
  }

  private static void assertHits(String what, Index index, List<float[]> expected, ScoreDoc[] actual) throws IOException {
    assertEquals(what + ": number of hits", expected.size(), actual.length);
    for (int i = 0; i < actual.length; i++) {
      assertEquals(what + ": hit " + i, (int) expected.get(i)[0], idOf(index.reader, actual[i].doc));
      assertScore(what + ": score of hit " + i, expected.get(i)[1], actual[i].score);
    }
  }

  /**
   * Equal to a few ulps (maximum inner product scores reach the tens, where one ulp is 4e-6): the
   * reference and the stages may sum the same products in another order (SIMD lanes, JIT tiers).
   */
  private static void assertScore(String what, float expected, float actual) {
    assertEquals(what, expected, actual, 1e-6f * Math.max(1f, Math.abs(expected)));
  }

  /** Random funnels on the query's length whose non-final stages keep every document. */
  private static Funnel keepAllFunnel(int queryDims, int k, int keepAll) {
    List<FunnelStage> stages = new ArrayList<>();
    switch (random().nextInt(4)) {
      case 0 -> stages.add(new FunnelStage(8, FunnelMetric.ASYMMETRIC, keepAll, 1));
      case 1 -> {
        // Stages strictly narrow: keeping one more than all is still keeping all.
        stages.add(new FunnelStage(8, FunnelMetric.HAMMING, keepAll + 2, 1));
        if (queryDims >= 64) {
          stages.add(new FunnelStage(64, FunnelMetric.ASYMMETRIC, keepAll + 1));
          stages.add(new FunnelStage(64, FunnelMetric.FLOAT, keepAll));
        }
      }
      case 2 -> stages.add(new FunnelStage(queryDims, FunnelMetric.HAMMING, keepAll));
      default -> stages.add(new FunnelStage(8, FunnelMetric.FLOAT, keepAll));
    }
    stages.add(new FunnelStage(queryDims, FunnelMetric.FLOAT, k));
    return new Funnel(stages);
  }

  private static MatryoshkaKnnQuery query(float[] q, int k, Query filter, Funnel funnel, boolean exact, float minScore) {
    return new MatryoshkaKnnQuery(
        FIELD, q, DIMS, k, filter, new FunnelSearchStrategy(funnel, 30f, q.length, exact), minScore);
  }

  public void testKeepAllFunnelEqualsBruteForce() throws IOException {
    for (VectorSimilarityFunction similarity : VectorSimilarityFunction.values()) {
      try (Index index = buildIndex(similarity)) {
        IndexSearcher searcher = new IndexSearcher(index.reader);
        for (int iter = 0; iter < 10; iter++) {
          float[] q = randomVector(similarity);
          int k = TestUtil.nextInt(random(), 1, 25);
          String color = random().nextBoolean() ? null : COLORS[random().nextInt(COLORS.length)];
          Query filter = color == null ? null : new TermQuery(new Term("color", color));
          List<float[]> expected = bruteForce(index, q, k, color);
          String what = similarity + " bits=" + index.bits + " k=" + k + " color=" + color;
          Funnel funnel = keepAllFunnel(DIMS, k, index.size());
          assertHits(what + " " + funnel, index, expected, searcher.search(query(q, k, filter, funnel, false, Float.NEGATIVE_INFINITY), k).scoreDocs);
          assertHits(what + " exact", index, expected, searcher.search(query(q, k, filter, null, true, Float.NEGATIVE_INFINITY), k).scoreDocs);
          // the same funnel through Lucene's own query
          KnnFloatVectorQuery plain = new KnnFloatVectorQuery(FIELD, q, k, filter, new FunnelSearchStrategy(funnel, 30f, DIMS, false));
          assertHits(what + " plain KnnFloatVectorQuery", index, expected, searcher.search(plain, k).scoreDocs);
        }
      }
    }
  }

  /** A query of a nested prefix length is scored on the prefix alone. */
  public void testPrefixQueryEqualsBruteForceOnPrefix() throws IOException {
    for (VectorSimilarityFunction similarity : VectorSimilarityFunction.values()) {
      try (Index index = buildIndex(similarity)) {
        IndexSearcher searcher = new IndexSearcher(index.reader);
        for (int p : new int[] {8, 64}) {
          for (int iter = 0; iter < 4; iter++) {
            float[] q = Arrays.copyOf(randomVector(similarity), p);
            int k = TestUtil.nextInt(random(), 1, 25);
            String color = random().nextBoolean() ? null : COLORS[random().nextInt(COLORS.length)];
            Query filter = color == null ? null : new TermQuery(new Term("color", color));
            List<float[]> expected = bruteForce(index, q, k, color);
            String what = similarity + " p=" + p + " k=" + k + " color=" + color;
            Funnel funnel = keepAllFunnel(p, k, index.size());
            assertHits(what + " " + funnel, index, expected, searcher.search(query(q, k, filter, funnel, false, Float.NEGATIVE_INFINITY), k).scoreDocs);
            assertHits(what + " exact", index, expected, searcher.search(query(q, k, filter, null, true, Float.NEGATIVE_INFINITY), k).scoreDocs);
          }
        }
      }
    }
  }

  /** k beyond the index returns every live document with a vector (matching the filter). */
  public void testKLargerThanSegments() throws IOException {
    VectorSimilarityFunction similarity = VectorSimilarityFunction.values()[random().nextInt(4)];
    try (Index index = buildIndex(similarity)) {
      IndexSearcher searcher = new IndexSearcher(index.reader);
      int k = 2 * index.size();
      float[] q = randomVector(similarity);
      for (String color : new String[] {null, "red"}) {
        Query filter = color == null ? null : new TermQuery(new Term("color", color));
        List<float[]> expected = bruteForce(index, q, k, color);
        assertTrue(expected.size() < k);
        for (Funnel funnel : new Funnel[] {null, keepAllFunnel(DIMS, k, k)}) {
          assertHits("k=" + k + " " + funnel, index, expected, searcher.search(query(q, k, filter, funnel, false, Float.NEGATIVE_INFINITY), k).scoreDocs);
        }
        assertHits("k=" + k + " exact", index, expected, searcher.search(query(q, k, filter, null, true, Float.NEGATIVE_INFINITY), k).scoreDocs);
      }
    }
  }

  public void testMinScoreDropsHitsBelow() throws IOException {
    VectorSimilarityFunction similarity = VectorSimilarityFunction.values()[random().nextInt(4)];
    try (Index index = buildIndex(similarity)) {
      IndexSearcher searcher = new IndexSearcher(index.reader);
      for (int iter = 0; iter < 5; iter++) {
        float[] q = randomVector(similarity);
        int k = TestUtil.nextInt(random(), 4, 30);
        List<float[]> top = bruteForce(index, q, k, null);
        float minScore = top.get(top.size() / 2)[1];
        List<float[]> expected = new ArrayList<>();
        for (float[] hit : top) {
          if (hit[1] >= minScore) {
            expected.add(hit);
          }
        }
        assertTrue(expected.size() < top.size() || top.size() == 1);
        Funnel funnel = keepAllFunnel(DIMS, k, index.size());
        assertHits("minScore=" + minScore, index, expected, searcher.search(query(q, k, null, funnel, false, minScore), k).scoreDocs);
        assertHits("minScore exact", index, expected, searcher.search(query(q, k, null, null, true, minScore), k).scoreDocs);
        // above every score: nothing
        assertEquals(0, searcher.search(query(q, k, null, funnel, false, Math.nextUp(top.get(0)[1])), k).scoreDocs.length);
      }
    }
  }

  public void testExplainGivesTheHitScore() throws IOException {
    VectorSimilarityFunction similarity = VectorSimilarityFunction.values()[random().nextInt(4)];
    try (Index index = buildIndex(similarity)) {
      IndexSearcher searcher = new IndexSearcher(index.reader);
      float[] q = randomVector(similarity);
      MatryoshkaKnnQuery query = query(q, 10, null, keepAllFunnel(DIMS, 10, index.size()), false, Float.NEGATIVE_INFINITY);
      TopDocs top = searcher.search(query, 10);
      assertEquals(10, top.scoreDocs.length);
      for (ScoreDoc hit : top.scoreDocs) {
        assertEquals(hit.score, searcher.explain(query, hit.doc).getValue().floatValue(), 0f);
      }
      // a live document that is not a hit does not match
      List<float[]> all = bruteForce(index, q, Integer.MAX_VALUE, null);
      int notHit = (int) all.get(all.size() - 1)[0];
      for (int doc = 0; doc < index.reader.maxDoc(); doc++) {
        if (idOf(index.reader, doc) == notHit) {
          assertFalse(searcher.explain(query, doc).isMatch());
        }
      }
    }
  }

  /**
   * A timeout returns what was found so far, without error; every hit returned carries its true
   * score.
   */
  public void testTimeoutReturnsPartialResults() throws IOException {
    VectorSimilarityFunction similarity = VectorSimilarityFunction.values()[random().nextInt(4)];
    try (Index index = buildIndex(similarity)) {
      for (int allowedChecks : new int[] {0, 1, 3, 10}) {
        for (String color : new String[] {null, "blue"}) {
          for (boolean exact : new boolean[] {false, true}) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            AtomicInteger checks = new AtomicInteger();
            searcher.setTimeout(() -> checks.incrementAndGet() > allowedChecks);
            float[] q = randomVector(similarity);
            int k = 10;
            Query filter = color == null ? null : new TermQuery(new Term("color", color));
            Funnel funnel = exact ? null : keepAllFunnel(DIMS, k, index.size());
            TopDocs top = searcher.search(query(q, k, filter, funnel, exact, Float.NEGATIVE_INFINITY), k);
            assertTrue(top.scoreDocs.length <= k);
            if (allowedChecks == 0) {
              assertEquals("timed out from the start", 0, top.scoreDocs.length);
            }
            for (ScoreDoc hit : top.scoreDocs) {
              int id = idOf(index.reader, hit.doc);
              assertTrue(index.live[id]);
              assertTrue(color == null || color.equals(index.colors[id]));
              assertScore("score of " + id, index.similarity.compare(q, index.vectors[id]), hit.score);
            }
          }
        }
      }
    }
  }

  public void testInvalidFunnelsNameTheStage() throws IOException {
    try (Index index = buildIndex(VectorSimilarityFunction.EUCLIDEAN)) {
      IndexSearcher searcher = new IndexSearcher(index.reader);
      float[] q = randomVector(VectorSimilarityFunction.EUCLIDEAN);
      int k = 5;
      // stages not narrowing
      assertRejected(searcher, q, k,
          new Funnel(List.of(
              new FunnelStage(8, FunnelMetric.HAMMING, 100),
              new FunnelStage(64, FunnelMetric.HAMMING, 200),
              new FunnelStage(DIMS, FunnelMetric.FLOAT, k))),
          "funnel stage [1] (hamming@64->200)", "must narrow");
      // dims beyond the query's (a 64-dim prefix query)
      float[] prefix = Arrays.copyOf(q, 64);
      assertRejected(searcher, prefix, k,
          new Funnel(List.of(
              new FunnelStage(100, FunnelMetric.HAMMING, 100),
              new FunnelStage(64, FunnelMetric.FLOAT, k))),
          "funnel stage [0] (hamming@100->100)", "exceeds the query vector's length 64");
      // code stage on a prefix that is not a nested level
      assertRejected(searcher, q, k,
          new Funnel(List.of(
              new FunnelStage(8, FunnelMetric.ASYMMETRIC, 100),
              new FunnelStage(50, FunnelMetric.HAMMING, 50),
              new FunnelStage(DIMS, FunnelMetric.FLOAT, k))),
          "funnel stage [1] (hamming@50->50)", "nested dims");
      // last stage not float
      assertRejected(searcher, q, k,
          new Funnel(List.of(
              new FunnelStage(8, FunnelMetric.HAMMING, 100),
              new FunnelStage(DIMS, FunnelMetric.ASYMMETRIC, k))),
          "asymmetric@100->5", "last funnel stage must be [float]");
      // last stage float, but not on the query's length
      assertRejected(searcher, q, k,
          new Funnel(List.of(
              new FunnelStage(8, FunnelMetric.HAMMING, 100),
              new FunnelStage(64, FunnelMetric.FLOAT, k))),
          "float@64->5", "last funnel stage must be [float] on the query's 100 dims");
    }
  }

  private static void assertRejected(IndexSearcher searcher, float[] q, int k, Funnel funnel, String stage, String problem) {
    for (boolean viaPlainQuery : new boolean[] {false, true}) {
      Query query =
          viaPlainQuery && q.length == DIMS
              ? new KnnFloatVectorQuery(FIELD, q, k, null, new FunnelSearchStrategy(funnel, 30f, DIMS, false))
              : query(q, k, null, funnel, false, Float.NEGATIVE_INFINITY);
      IllegalArgumentException e = expectThrows(IllegalArgumentException.class, () -> searcher.search(query, k));
      assertTrue(e.getMessage(), e.getMessage().contains(stage));
      assertTrue(e.getMessage(), e.getMessage().contains(problem));
    }
    // the same from the funnel itself
    IllegalArgumentException e =
        expectThrows(IllegalArgumentException.class, () -> funnel.validate(q.length, NESTED, 1));
    assertTrue(e.getMessage(), e.getMessage().contains(stage));
  }
}
