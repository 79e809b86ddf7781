/** The {@code matryoshka_knn} query: parsing, validation against the field, the Lucene query. */
package io.matryoshka.es.query;
