package io.matryoshka.search;

import java.io.IOException;
import java.util.Objects;
import java.util.function.Supplier;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.FilterWeight;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Weight;

/**
 * What a {@link MatryoshkaKnnQuery} rewrites to: Lucene's query over the hits it found, plus what
 * the funnel did. Its description (which Elasticsearch's {@code profile} shows for the query) lists
 * each segment's stages with candidates scored and kept, bytes read and time; {@code explain} names
 * the stages a hit survived.
 */
final class FunnelHitsQuery extends Query {
  private final Query hits;
  private final String funnel;
  private final String lastStage;
  /** The segments' traces, described (formatted) only when the query is (profile, toString). */
  private final Supplier<String> trace;

  /**
   * @param hits Lucene's rewritten kNN query (the hits and their scores)
   * @param funnel the stages, as a text
   * @param lastStage the final stage, which scores the hits
   * @param trace one line per segment, see {@link FunnelTrace}
   */
  FunnelHitsQuery(Query hits, String funnel, String lastStage, Supplier<String> trace) {
    this.hits = hits;
    this.funnel = funnel;
    this.lastStage = lastStage;
    this.trace = trace;
  }

  @Override
  public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost) throws IOException {
    Weight inner = hits.createWeight(searcher, scoreMode, boost);
    return new FilterWeight(this, inner) {
      @Override
      public Explanation explain(LeafReaderContext context, int doc) throws IOException {
        Explanation explanation = in.explain(context, doc);
        if (explanation.isMatch() == false) {
          return Explanation.noMatch("not among the k hits of the funnel " + funnel, explanation);
        }
        return Explanation.match(
            explanation.getValue(),
            "survived every stage of the funnel " + funnel + "; scored by its last stage " + lastStage + " (exact similarity)",
            explanation);
      }
    };
  }

  @Override
  public void visit(QueryVisitor visitor) {
    hits.visit(visitor);
  }

  @Override
  public String toString(String field) {
    return "MatryoshkaFunnelHits[funnel " + funnel + "; " + trace.get() + "]";
  }

  @Override
  public boolean equals(Object o) {
    return sameClassAs(o) && hits.equals(((FunnelHitsQuery) o).hits) && funnel.equals(((FunnelHitsQuery) o).funnel);
  }

  @Override
  public int hashCode() {
    return Objects.hash(classHash(), hits, funnel);
  }
}
