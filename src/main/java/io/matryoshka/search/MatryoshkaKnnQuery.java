package io.matryoshka.search;

import io.matryoshka.codec.FunnelSearchStrategy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.KnnVectorValues;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.QueryTimeout;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.TopKnnCollector;
import org.apache.lucene.search.TotalHits;
import org.apache.lucene.search.join.BitSetProducer;
import org.apache.lucene.search.join.DiversifyingNearestChildrenKnnCollectorManager;
import org.apache.lucene.search.knn.KnnCollectorManager;
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
 */
public final class MatryoshkaKnnQuery extends KnnFloatVectorQuery {
  private final FunnelSearchStrategy strategy;
  private final float minScore;
  private final int queryDims;
  private final BitSetProducer parents;
  /** What the funnel did per segment (by leaf ord) during the last rewrite, for profile and explain. */
  private final Map<Integer, FunnelTrace> traces = new ConcurrentHashMap<>();

  /**
   * @param field the vector field
   * @param queryVector the query: the field's length or one of its nested prefixes
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
    this(field, queryVector, fieldDims, k, filter, strategy, minScore, null);
  }

  /**
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
      BitSetProducer parents) {
    super(field, padded(queryVector, fieldDims), k, filter, strategy);
    if (strategy.queryDims() != queryVector.length) {
      throw new IllegalArgumentException(
          "strategy is for " + strategy.queryDims() + " dims, the query vector has " + queryVector.length);
    }
    this.strategy = strategy;
    this.minScore = minScore;
    this.queryDims = queryVector.length;
    this.parents = parents;
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
   * lambda is not {@code isOptimistic()}). With parents, Lucene's diversifying collector keeps the
   * best child of each parent.
   */
  @Override
  protected KnnCollectorManager getKnnCollectorManager(int k, IndexSearcher searcher) {
    KnnCollectorManager collectors;
    if (parents == null) {
      collectors = (visitedLimit, searchStrategy, context) -> new TopKnnCollector(k, visitedLimit, searchStrategy);
    } else {
      collectors = new DiversifyingNearestChildrenKnnCollectorManager(k, parents, searcher)::newCollector;
    }
    return (visitedLimit, searchStrategy, context) -> {
      FunnelTrace trace = new FunnelTrace(context.ord);
      traces.put(context.ord, trace);
      return trace.wrap(collectors.newCollector(visitedLimit, searchStrategy, context));
    };
  }

  /**
   * Runs the search (Lucene's kNN queries search while rewriting) and wraps its hits with what the
   * funnel did in each segment: Elasticsearch's {@code profile} shows the wrapper's description,
   * {@code explain} its explanation.
   */
  @Override
  public Query rewrite(IndexSearcher searcher) throws IOException {
    traces.clear();
    Query hits = super.rewrite(searcher);
    if (hits instanceof MatchNoDocsQuery) {
      return hits;
    }
    List<String> segments = new ArrayList<>();
    for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
      FunnelTrace trace = traces.get(leaf.ord);
      String line = trace == null ? null : trace.describe(leaf.reader(), field, strategy, k);
      if (line != null) {
        segments.add(line);
      }
    }
    String funnel =
        strategy.exact()
            ? "exact"
            : strategy.funnel() != null ? strategy.funnel().toString() : "default (oversample " + strategy.oversample() + ", per segment below)";
    String lastStage = strategy.exact() ? "exact@" + queryDims : "float@" + queryDims;
    return new FunnelHitsQuery(hits, funnel, lastStage, String.join(" | ", segments));
  }

  /**
   * Lucene's fallback when a filter leaves few documents: brute force, but on the query's own
   * length so that prefix queries score as the funnel does.
   */
  @Override
  protected TopDocs exactSearch(
      LeafReaderContext context, DocIdSetIterator acceptIterator, QueryTimeout queryTimeout)
      throws IOException {
    FieldInfo info = context.reader().getFieldInfos().fieldInfo(field);
    FloatVectorValues vectors = context.reader().getFloatVectorValues(field);
    if (info == null || vectors == null) {
      return new TopDocs(new TotalHits(0, TotalHits.Relation.EQUAL_TO), new ScoreDoc[0]);
    }
    long exactStart = System.nanoTime();
    VectorSimilarityFunction similarity = info.getVectorSimilarityFunction();
    float[] query = Arrays.copyOf(target, queryDims);
    float[] docPrefix = new float[queryDims];
    KnnVectorValues.DocIndexIterator vectorDocs = vectors.iterator();
    TopKnnCollector collector = new TopKnnCollector(k, Integer.MAX_VALUE);
    BitSet parentDocs = parents == null ? null : parents.getBitSet(context);
    if (parents != null && parentDocs == null) {
      return new TopDocs(new TotalHits(0, TotalHits.Relation.EQUAL_TO), new ScoreDoc[0]);
    }
    // With parents: children come in doc order, a parent after its children, so the best child of
    // each parent is known when the next child belongs to a later parent.
    int currentParent = -1;
    int bestChild = -1;
    float bestScore = Float.NEGATIVE_INFINITY;
    long visited = 0;
    TotalHits.Relation relation = TotalHits.Relation.EQUAL_TO;
    for (int doc = acceptIterator.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = acceptIterator.nextDoc()) {
      if (queryTimeout != null && (visited & 0xFF) == 0 && queryTimeout.shouldExit()) {
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
      System.arraycopy(vectors.vectorValue(vectorDocs.index()), 0, docPrefix, 0, queryDims);
      float score = similarity.compare(query, docPrefix);
      score = Float.isNaN(score) ? 0f : score;
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
    trace.exact(visited, System.nanoTime() - exactStart);
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
        && queryDims == other.queryDims
        && Objects.equals(parents, other.parents);
  }

  @Override
  public int hashCode() {
    return Objects.hash(super.hashCode(), minScore, queryDims, parents);
  }
}
