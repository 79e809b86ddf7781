package io.matryoshka.search;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.KnnVectorValues;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.QueryTimeout;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnCollector;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TaskExecutor;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.TopKnnCollector;
import org.apache.lucene.search.TotalHits;
import org.apache.lucene.search.join.BitSetProducer;
import org.apache.lucene.search.join.DiversifyingNearestChildrenKnnCollectorManager;
import org.apache.lucene.search.knn.KnnCollectorManager;
import org.apache.lucene.search.knn.KnnSearchStrategy;
import org.apache.lucene.util.BitSet;

/**
 * k nearest neighbours by a Matryoshka funnel. Each segment runs the funnel inside its vectors
 * reader (the {@link FunnelSearchStrategy} carries it there); the segments' top k are then merged by
 * final float score as Lucene's own kNN queries do, optionally cut at a minimum score.
 *
 * <p>A query vector may be a nested prefix of the field's vectors: it is zero-padded to the field's
 * length for Lucene's checks, and every score is computed on the prefix alone.
 *
 * <p>On a field inside nested documents (given the parents' filter), hits are the k best distinct
 * parents, each represented by its best child, as Lucene's {@code
 * DiversifyingChildrenFloatKnnVectorQuery} (and so Elasticsearch's {@code knn}) returns them: the
 * funnel hands every survivor of its last code stage to a collector that keeps one child per
 * parent.
 *
 * <p>Cost: the filter is rewritten once, however deeply {@code matryoshka_knn} queries nest in
 * filters (Lucene's {@code AbstractKnnVectorQuery#rewrite} rewrites a filter twice, so nesting
 * cost 2^depth searches), and every segment's funnel stops when the {@link SearchCancellation}
 * says so.
 *
 * <p>It rewrites to a {@link FunnelHitsQuery}: the hits plus what each segment's funnel did, which
 * Elasticsearch's {@code profile} and {@code explain} show.
 */
public final class MatryoshkaKnnQuery extends KnnFloatVectorQuery {
  private final FunnelSearchStrategy strategy;
  private final float minScore;
  private final SearchCancellation cancellation;
  private final BitSetProducer parents;
  /** The check of the searcher this copy is being rewritten on, or null. */
  private final QueryTimeout stop;
  /** What the funnel did per segment (by leaf ord) in this copy's search. */
  private final Map<Integer, FunnelTrace> traces = new ConcurrentHashMap<>();

  /**
   * @param field the vector field
   * @param queryVector the query: the field's length or one of its nested prefixes (the strategy's
   *     {@link FunnelSearchStrategy#queryDims()}, which is how the length reaches each segment)
   * @param fieldDims the field's full length
   * @param k hits to return
   * @param filter pre-filter: only matching documents are candidates, or null
   * @param strategy the funnel (or defaults) and the query's length
   * @param minScore hits scoring below are dropped; {@link Float#NEGATIVE_INFINITY} keeps all
   */
  public MatryoshkaKnnQuery(
      String field,
      float[] queryVector,
      int fieldDims,
      int k,
      Query filter,
      FunnelSearchStrategy strategy,
      float minScore) {
    this(field, queryVector, fieldDims, k, filter, strategy, minScore, SearchCancellation.NONE, null);
  }

  /**
   * @param cancellation how to learn, per searcher, that the search must stop
   * @param parents for a field inside nested documents: the documents whose children carry the
   *     vectors; hits are then the best child of each of the k best parents. {@code null}: no nesting.
   */
  public MatryoshkaKnnQuery(
      String field,
      float[] queryVector,
      int fieldDims,
      int k,
      Query filter,
      FunnelSearchStrategy strategy,
      float minScore,
      SearchCancellation cancellation,
      BitSetProducer parents) {
    super(field, padded(queryVector, fieldDims), k, filter, strategy);
    if (strategy.queryDims() != queryVector.length) {
      throw new IllegalArgumentException(
          "strategy is for " + strategy.queryDims() + " dims, the query vector has " + queryVector.length);
    }
    this.strategy = strategy;
    this.minScore = minScore;
    this.cancellation = Objects.requireNonNull(cancellation);
    this.parents = parents;
    this.stop = null;
  }

  /** A copy with another filter (already rewritten) or bound to a searcher's check. */
  private MatryoshkaKnnQuery(MatryoshkaKnnQuery from, Query filter, QueryTimeout stop) {
    super(from.field, from.target, from.k, filter, from.strategy);
    this.strategy = from.strategy;
    this.minScore = from.minScore;
    this.cancellation = from.cancellation;
    this.parents = from.parents;
    this.stop = stop;
  }

  /**
   * Rewrites the filter to its end first and searches with that: Lucene's rewrite would rewrite
   * the filter once to test it and again inside a {@code BooleanQuery}, so a filter holding a kNN
   * query ran it twice per level of nesting. Then searches the segments, each funnel checking the
   * searcher's {@link SearchCancellation}.
   */
  @Override
  public Query rewrite(IndexSearcher searcher) throws IOException {
    if (filter != null) {
      Query rewritten = filter;
      for (Query next = rewritten.rewrite(searcher); next != rewritten; next = rewritten.rewrite(searcher)) {
        rewritten = next;
      }
      if (rewritten != filter) {
        return new MatryoshkaKnnQuery(this, rewritten, stop);
      }
    }
    return new MatryoshkaKnnQuery(this, filter, cancellation.forSearcher(searcher)).searchSegments(searcher);
  }

  /**
   * Runs the search (Lucene's kNN queries search while rewriting) and wraps its hits with what the
   * funnel did in each segment.
   */
  private Query searchSegments(IndexSearcher searcher) throws IOException {
    Query hits = super.rewrite(searcher);
    if (hits instanceof MatchNoDocsQuery) {
      return hits;
    }
    List<FunnelTrace> segmentTraces = new ArrayList<>();
    for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
      FunnelTrace trace = traces.get(leaf.ord);
      if (trace != null) {
        segmentTraces.add(trace);
      }
    }
    // Described only when asked for (profile, toString): only those read it, and formatting it on
    // every search cost about 1.4 us per query of three stages per segment (a scratch loop of the
    // same String.format calls on this VM).
    Supplier<String> described =
        () -> {
          List<String> lines = new ArrayList<>();
          for (FunnelTrace trace : segmentTraces) {
            String line = trace.describe();
            if (line != null) {
              lines.add(line);
            }
          }
          return String.join(" | ", lines);
        };
    String funnel =
        strategy.exact()
            ? "exact"
            : strategy.funnel() != null
                ? strategy.funnel().toString()
                : "default (oversample " + strategy.oversample() + ", per segment below)";
    String lastStage = (strategy.exact() ? "exact@" : "float@") + strategy.queryDims();
    return new FunnelHitsQuery(hits, funnel, lastStage, described);
  }

  private static float[] padded(float[] queryVector, int fieldDims) {
    if (queryVector.length > fieldDims) {
      throw new IllegalArgumentException(
          "the query vector has " + queryVector.length + " dims, the field only " + fieldDims);
    }
    return Arrays.copyOf(queryVector, fieldDims);
  }

  public FunnelSearchStrategy strategy() {
    return strategy;
  }

  public float minScore() {
    return minScore;
  }

  /**
   * Every segment collects its own k: no optimistic per-segment cut and second pass (a plain
   * lambda is not {@code isOptimistic()}); with parents, Lucene's diversifying collector keeps the
   * best child of each parent. The collector carries, for its segment, the strategy with the
   * searcher's executor (a large segment's first stage can use the searcher's threads) and a trace
   * for the engine to fill, and terminates early when the searcher's check says so (the funnel asks
   * between stages and every few hundred documents).
   */
  @Override
  protected KnnCollectorManager getKnnCollectorManager(int k, IndexSearcher searcher) {
    QueryTimeout check = stop;
    TaskExecutor executor = searcher.getTaskExecutor();
    KnnCollectorManager collectors =
        parents == null
            ? (visitedLimit, searchStrategy, context) -> new TopKnnCollector(k, visitedLimit, searchStrategy)
            : new DiversifyingNearestChildrenKnnCollectorManager(k, parents, searcher)::newCollector;
    return (visitedLimit, searchStrategy, context) -> {
      KnnSearchStrategy forSegment = searchStrategy;
      if (searchStrategy instanceof FunnelSearchStrategy funnel) {
        FunnelTrace trace = new FunnelTrace(context.ord);
        traces.put(context.ord, trace);
        forSegment = funnel.withExecutor(executor).withTrace(trace);
      }
      KnnCollector collector = collectors.newCollector(visitedLimit, forSegment, context);
      return check == null ? collector : new StoppingCollector(collector, check);
    };
  }

  private static final class StoppingCollector extends KnnCollector.Decorator {
    private final QueryTimeout check;

    StoppingCollector(KnnCollector in, QueryTimeout check) {
      super(in);
      this.check = check;
    }

    @Override
    public boolean earlyTerminated() {
      return check.shouldExit() || super.earlyTerminated();
    }
  }

  /**
   * Lucene's fallback when a filter leaves few documents: brute force, but on the query's own
   * length so that prefix queries score as the funnel does; with parents, the best child of each.
   */
  @Override
  protected TopDocs exactSearch(
      LeafReaderContext context, DocIdSetIterator acceptIterator, QueryTimeout queryTimeout)
      throws IOException {
    FieldInfo info = context.reader().getFieldInfos().fieldInfo(field);
    FloatVectorValues vectors = context.reader().getFloatVectorValues(field);
    BitSet parentDocs = parents == null ? null : parents.getBitSet(context);
    if (info == null || vectors == null || (parents != null && parentDocs == null)) {
      return new TopDocs(new TotalHits(0, TotalHits.Relation.EQUAL_TO), new ScoreDoc[0]);
    }
    long started = System.nanoTime();
    int queryDims = strategy.queryDims();
    FloatPrefixScorer scorer = new FloatPrefixScorer(vectors, target, info.getVectorSimilarityFunction());
    KnnVectorValues.DocIndexIterator vectorDocs = vectors.iterator();
    TopKnnCollector collector = new TopKnnCollector(k, Integer.MAX_VALUE);
    // With parents: children come in doc order, a parent after its children, so the best child of
    // each parent is known when the next child belongs to a later parent.
    int currentParent = -1;
    int bestChild = -1;
    float bestScore = Float.NEGATIVE_INFINITY;
    long visited = 0;
    TotalHits.Relation relation = TotalHits.Relation.EQUAL_TO;
    for (int doc = acceptIterator.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = acceptIterator.nextDoc()) {
      if ((visited & 0xFF) == 0
          && ((queryTimeout != null && queryTimeout.shouldExit()) || (stop != null && stop.shouldExit()))) {
        relation = TotalHits.Relation.GREATER_THAN_OR_EQUAL_TO;
        break;
      }
      if (vectorDocs.docID() < doc) {
        vectorDocs.advance(doc);
      }
      if (vectorDocs.docID() != doc) {
        continue;
      }
      visited++;
      float score = scorer.score(vectorDocs.index(), queryDims);
      if (parentDocs == null) {
        collector.collect(doc, score);
        continue;
      }
      int parent = parentDocs.nextSetBit(doc);
      if (parent != currentParent) {
        if (bestChild >= 0) {
          collector.collect(bestChild, bestScore);
        }
        currentParent = parent;
        bestChild = -1;
        bestScore = Float.NEGATIVE_INFINITY;
      }
      if (score > bestScore) {
        bestChild = doc;
        bestScore = score;
      }
    }
    if (bestChild >= 0) {
      collector.collect(bestChild, bestScore);
    }
    TopDocs top = collector.topDocs();
    FunnelTrace trace = new FunnelTrace(context.ord);
    trace.exactFallback(visited, visited * queryDims * Float.BYTES, System.nanoTime() - started);
    traces.put(context.ord, trace);
    return new TopDocs(new TotalHits(visited, relation), top.scoreDocs);
  }

  @Override
  protected TopDocs mergeLeafResults(TopDocs[] perLeafResults) {
    TopDocs merged = TopDocs.merge(k, perLeafResults);
    if (minScore == Float.NEGATIVE_INFINITY) {
      return merged;
    }
    List<ScoreDoc> kept = new ArrayList<>();
    for (ScoreDoc hit : merged.scoreDocs) {
      if (hit.score >= minScore) {
        kept.add(hit);
      }
    }
    return new TopDocs(merged.totalHits, kept.toArray(ScoreDoc[]::new));
  }

  @Override
  public String toString(String field) {
    return "MatryoshkaKnnQuery[field="
        + this.field
        + ", k="
        + k
        + ", "
        + strategy
        + (minScore == Float.NEGATIVE_INFINITY ? "" : ", minScore=" + minScore)
        + (filter == null ? "" : ", filter=" + filter)
        + (parents == null ? "" : ", parents=" + parents)
        + "]";
  }

  @Override
  public boolean equals(Object o) {
    return super.equals(o)
        && o instanceof MatryoshkaKnnQuery other
        && Float.compare(minScore, other.minScore) == 0
        && Objects.equals(parents, other.parents);
  }

  @Override
  public int hashCode() {
    return Objects.hash(super.hashCode(), minScore, parents);
  }
}
