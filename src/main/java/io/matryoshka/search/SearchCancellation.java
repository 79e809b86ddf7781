package io.matryoshka.search;

import org.apache.lucene.index.QueryTimeout;
import org.apache.lucene.search.IndexSearcher;

/**
 * How a {@link MatryoshkaKnnQuery} learns that the search running it must stop (a timeout, a
 * cancelled task). Lucene's own {@link IndexSearcher#getTimeout()} already reaches the collector;
 * Elasticsearch instead registers checks on its searcher that throw, and calls them only when a
 * hit is collected, which a funnel's first and middle stages never do. The query asks this for the
 * searcher it is rewritten on, and the funnel asks the answer between stages and every few hundred
 * documents inside them.
 */
@FunctionalInterface
public interface SearchCancellation {
  /** No checks beyond Lucene's own timeout. */
  SearchCancellation NONE = searcher -> null;

  /**
   * @return the check for searches run by {@code searcher}, whose {@link QueryTimeout#shouldExit()}
   *     returns true or throws the searcher's own exception when the search must stop; or null
   */
  QueryTimeout forSearcher(IndexSearcher searcher);
}
