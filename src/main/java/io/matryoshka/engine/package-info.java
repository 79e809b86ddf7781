/**
 * The per-segment engine: runs a resolved funnel over one segment's stored codes and floats. {@link
 * io.matryoshka.engine.SegmentFunnel} runs the stages; {@link io.matryoshka.engine.StageOneScan}
 * is the sequential first pass over a level's bit planes with its selections ({@link
 * io.matryoshka.engine.IntegerScoreSelection}, {@link io.matryoshka.engine.StageOneSelection});
 * {@link io.matryoshka.engine.SurvivorCodeScorer} and {@link io.matryoshka.engine.TopCandidates}
 * re-score survivors; {@link io.matryoshka.engine.ChunkVisits} is how every pass honours the
 * collector's visit limit and early termination. It reads codes only through {@link
 * io.matryoshka.engine.StoredCodes}, which the format implements, so it never sees file offsets.
 *
 * <p>May import Lucene, {@code io.matryoshka.search} (the plan) and {@code
 * io.matryoshka.quantization}; never the format or Elasticsearch.
 */
package io.matryoshka.engine;
