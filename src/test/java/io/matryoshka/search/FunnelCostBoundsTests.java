package io.matryoshka.search;

import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.quantization.Rotation;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.QueryTimeout;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.Weight;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.elasticsearch.common.logging.LogConfigurator;

/**
 * What bounds a query's cost (issue #10): a filter holding {@code matryoshka_knn} queries is
 * rewritten once per level, not twice (2^depth searches); a funnel has at most {@link
 * Funnel#MAX_STAGES} stages, each strictly narrowing; and every stage asks the searcher's
 * {@link SearchCancellation} whether to stop.
 */
@LuceneTestCase.SuppressSysoutChecks(bugUrl = "Elasticsearch formats log a native-access warning")
public class FunnelCostBoundsTests extends LuceneTestCase {
  static {
    LogConfigurator.configureESLogging();
  }

  private static final String FIELD = "v";
  private static final int DIMS = 16;
  private static final int[] NESTED = {4, 8, 16};
  private static final int DOCS = 3000;

  private Directory dir;
  private DirectoryReader reader;

  @Override
  public void setUp() throws Exception {
    super.setUp();
    dir = newDirectory();
    IndexWriterConfig iwc = new IndexWriterConfig();
    iwc.setCodec(TestUtil.alwaysKnnVectorsFormat(new MatryoshkaVectorsFormat(NESTED, 1, Rotation.NONE)));
    try (IndexWriter writer = new IndexWriter(dir, iwc)) {
      for (int i = 0; i < DOCS; i++) {
        Document doc = new Document();
        doc.add(new KnnFloatVectorField(FIELD, randomVector(), VectorSimilarityFunction.EUCLIDEAN));
        doc.add(new StringField("color", i % 2 == 0 ? "red" : "blue", Field.Store.NO));
        writer.addDocument(doc);
      }
      writer.forceMerge(1);
    }
    reader = DirectoryReader.open(dir);
  }

  @Override
  public void tearDown() throws Exception {
    reader.close();
    dir.close();
    super.tearDown();
  }

  private static float[] randomVector() {
    float[] v = new float[DIMS];
    for (int i = 0; i < DIMS; i++) {
      v[i] = (float) random().nextGaussian();
    }
    return v;
  }

  private static MatryoshkaKnnQuery knn(int k, Query filter, Funnel funnel, SearchCancellation cancellation) {
    return new MatryoshkaKnnQuery(
        FIELD, randomVector(), DIMS, k, filter, new FunnelSearchStrategy(funnel, 30f, DIMS, false), Float.NEGATIVE_INFINITY, cancellation, null);
  }

  /** A filter that counts how often it is rewritten. */
  private static final class CountingQuery extends Query {
    final Query in;
    final AtomicInteger rewrites;

    CountingQuery(Query in, AtomicInteger rewrites) {
      this.in = in;
      this.rewrites = rewrites;
    }

    @Override
    public Query rewrite(IndexSearcher searcher) {
      rewrites.incrementAndGet();
      return this;
    }

    @Override
    public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost) throws IOException {
      return in.createWeight(searcher, scoreMode, boost);
    }

    @Override
    public void visit(QueryVisitor visitor) {
      in.visit(visitor);
    }

    @Override
    public String toString(String field) {
      return "counting(" + in + ")";
    }

    @Override
    public boolean equals(Object o) {
      return o == this;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(this);
    }
  }

  public void testNestedFiltersAreRewrittenOncePerLevel() throws IOException {
    int shallow = rewritesOfInnermostFilter(1);
    // Twice per level was 2^25 rewrites of the innermost filter (and searches of each level).
    long start = System.nanoTime();
    int deep = rewritesOfInnermostFilter(25);
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertEquals("the innermost filter is rewritten as often however deep it is nested", shallow, deep);
    assertTrue("depth 25 took " + millis + " ms", millis < 10_000);
  }

  private int rewritesOfInnermostFilter(int depth) throws IOException {
    AtomicInteger rewrites = new AtomicInteger();
    Query filter = new CountingQuery(new TermQuery(new Term("color", "red")), rewrites);
    for (int level = 0; level < depth; level++) {
      filter = knn(DOCS / 4, filter, null, SearchCancellation.NONE);
    }
    TopDocs top = new IndexSearcher(reader).search(knn(10, filter, null, SearchCancellation.NONE), 10);
    assertEquals(10, top.scoreDocs.length);
    for (ScoreDoc hit : top.scoreDocs) {
      assertEquals("every hit passes the innermost filter", 0, hit.doc % 2);
    }
    return rewrites.get();
  }

  public void testFunnelLength() {
    List<FunnelStage> stages = new ArrayList<>();
    for (int i = 0; i < Funnel.MAX_STAGES; i++) {
      stages.add(new FunnelStage(DIMS, FunnelMetric.FLOAT, 1000 - i));
    }
    new Funnel(stages);
    stages.add(new FunnelStage(DIMS, FunnelMetric.FLOAT, 10));
    IllegalArgumentException e = expectThrows(IllegalArgumentException.class, () -> new Funnel(stages));
    assertTrue(e.getMessage(), e.getMessage().contains("33 stages, more than the limit of 32"));
  }

  public void testStagesStrictlyNarrowButTheLastMayReRank() {
    Funnel equalMiddle =
        new Funnel(
            List.of(
                new FunnelStage(4, FunnelMetric.HAMMING, 100),
                new FunnelStage(8, FunnelMetric.HAMMING, 100),
                new FunnelStage(16, FunnelMetric.FLOAT, 10)));
    IllegalArgumentException e =
        expectThrows(IllegalArgumentException.class, () -> equalMiddle.validate(DIMS, NESTED, 1));
    assertTrue(e.getMessage(), e.getMessage().contains("funnel stage [1] (hamming@8->100): stages must narrow, but [candidates] 100 is as many as the previous stage's 100"));
    new Funnel(List.of(new FunnelStage(4, FunnelMetric.HAMMING, 10), new FunnelStage(16, FunnelMetric.FLOAT, 10)))
        .validate(DIMS, NESTED, 1);
  }

  /** A long funnel asks the cancellation between stages and stops where it throws. */
  public void testEveryStageAsksWhetherToStop() throws IOException {
    List<FunnelStage> stages = new ArrayList<>();
    stages.add(new FunnelStage(4, FunnelMetric.HAMMING, DOCS));
    for (int i = 1; i < Funnel.MAX_STAGES - 1; i++) {
      stages.add(new FunnelStage(i % 2 == 0 ? 8 : 16, i % 3 == 0 ? FunnelMetric.FLOAT : FunnelMetric.ASYMMETRIC, DOCS - i));
    }
    stages.add(new FunnelStage(DIMS, FunnelMetric.FLOAT, 10));
    Funnel funnel = new Funnel(stages);
    funnel.validate(DIMS, NESTED, 1);
    IndexSearcher searcher = new IndexSearcher(reader);

    AtomicInteger checks = new AtomicInteger();
    QueryTimeout counting = () -> {
      checks.incrementAndGet();
      return false;
    };
    TopDocs top = searcher.search(knn(10, null, funnel, s -> counting), 10);
    assertEquals(10, top.scoreDocs.length);
    // At least once between stages and within the first stage's chunks.
    assertTrue("checks: " + checks.get(), checks.get() >= Funnel.MAX_STAGES);

    // Elasticsearch's checks throw: the search stops there, at the stage that asked.
    AtomicInteger calls = new AtomicInteger();
    int stopAt = 10 + random().nextInt(checks.get() - 10);
    QueryTimeout throwing = () -> {
      if (calls.incrementAndGet() == stopAt) {
        throw new IllegalStateException("cancelled at check " + stopAt);
      }
      return false;
    };
    IllegalStateException e =
        expectThrows(IllegalStateException.class, () -> searcher.search(knn(10, null, funnel, s -> throwing), 10));
    assertEquals("cancelled at check " + stopAt, e.getMessage());
    assertEquals(stopAt, calls.get());
  }
}
