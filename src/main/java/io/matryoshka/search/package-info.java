/**
 * The {@code matryoshka_knn} query in Lucene terms: {@link io.matryoshka.search.MatryoshkaKnnQuery}
 * (a {@code KnnFloatVectorQuery} whose segments' hits are merged by final score), its plan ({@link
 * io.matryoshka.search.Funnel} of {@link io.matryoshka.search.FunnelStage}s, the default funnel
 * and its candidate counts), the {@link io.matryoshka.search.FunnelSearchStrategy} that carries the
 * plan to each segment through Lucene's collector, and {@link io.matryoshka.search.SegmentPlan},
 * what one segment runs for any strategy. Validation of a plan against a field happens once, when
 * the request is turned into a query. As Lucene keeps its {@code search.knn} strategies apart from
 * the codecs that read them.
 *
 * <p>May import Lucene and {@code io.matryoshka.quantization} (for the code shape's limits); never
 * the format, the engine or Elasticsearch.
 */
package io.matryoshka.search;
