/**
 * The Lucene format (storage): {@link io.matryoshka.codec.MatryoshkaVectorsFormat} (SPI entry,
 * names, versions and the byte-by-byte layout of {@code .vemb} and {@code .veb}), its writer (flush
 * and merge: centroid, rotation and codes of each field, {@code SegmentCodeWriter}), its reader
 * (open, verify, search) and {@link io.matryoshka.codec.FieldCodes}, one field's metadata entry,
 * which the engine reads as {@code StoredCodes}. Floats go to Lucene's flat vectors format.
 *
 * <p>May import Lucene, {@code io.matryoshka.engine}, {@code io.matryoshka.quantization} and
 * {@code io.matryoshka.search}; never Elasticsearch.
 */
package io.matryoshka.codec;
