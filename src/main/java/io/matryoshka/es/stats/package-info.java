/** The {@code _matryoshka/stats} API: per-shard sizes and shapes of the fields' codes. */
package io.matryoshka.es.stats;
