/**
 * The Elasticsearch glue and the only package that imports Elasticsearch: {@link
 * io.matryoshka.es.MatryoshkaPlugin} registers the {@code matryoshka_vector} field ({@code mapper}),
 * the {@code matryoshka_knn} query ({@code query}) and the {@code _matryoshka/stats} API ({@code
 * stats}). Requests are parsed and validated here, against the mapping, before any Lucene query
 * exists. May import everything below it: {@code search}, {@code codec}, {@code quantization}.
 */
package io.matryoshka.es;
