/**
 * Quantization, as Lucene's {@code util.quantization}: the {@link io.matryoshka.quantization.Binarizer}
 * (centroid, optional rotation, sign and multi-bit planes of documents, 1- and 4-bit query codes),
 * {@link io.matryoshka.quantization.CodeLayout} (the shape of a code: levels, planes, words; and the
 * one check of nested dims and bits), the learned {@link io.matryoshka.quantization.PcaRotation}
 * (applied through {@link io.matryoshka.quantization.RotationRows}, on heap or from a mapped file),
 * {@link io.matryoshka.quantization.QueryCode} (a query against one level's codes, and the estimate
 * its popcounts stand for) and the popcount kernels ({@link io.matryoshka.quantization.BitKernels},
 * with Vector API versions in {@code PanamaBitKernels}).
 *
 * <p>May import Lucene's utilities and EJML; nothing else of this project.
 */
package io.matryoshka.quantization;
