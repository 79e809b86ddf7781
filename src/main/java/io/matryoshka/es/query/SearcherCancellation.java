package io.matryoshka.es.query;

import io.matryoshka.search.SearchCancellation;
import org.apache.lucene.index.QueryTimeout;
import org.apache.lucene.search.IndexSearcher;
import org.elasticsearch.search.internal.ContextIndexSearcher;

/**
 * Elasticsearch's search timeout and task cancellation for the funnel. Elasticsearch registers
 * them on its {@link ContextIndexSearcher} as checks that throw ({@code TimeExceededException},
 * which it turns into {@code timed_out: true}; {@code TaskCancelledException}), and runs them only
 * when a hit is collected: a funnel's first and middle stages collect nothing, so without this a
 * long funnel ran to its end past its timeout and after its client had gone.
 */
final class SearcherCancellation implements SearchCancellation {
  static final SearcherCancellation INSTANCE = new SearcherCancellation();

  private SearcherCancellation() {}

  @Override
  public QueryTimeout forSearcher(IndexSearcher searcher) {
    if (searcher instanceof ContextIndexSearcher elasticsearch) {
      return () -> {
        elasticsearch.checkCancelled();
        return false;
      };
    }
    return searcher.getTimeout();
  }
}
