/**
 * The {@code matryoshka_vector} field: mapping parameters, document values and the hidden
 * {@code dense_vector} child through which Elasticsearch writes the vectors with this plugin's
 * format.
 */
package io.matryoshka.es.mapper;
