package io.matryoshka.search;

import java.util.List;
import org.apache.lucene.search.knn.KnnSearchStrategy;
import org.apache.lucene.tests.util.LuceneTestCase;

/**
 * Elasticsearch's {@code knn} reaches the reader with its own strategy and {@code num_candidates}
 * as the collector's k: the exact stage must score at least what {@code matryoshka_knn}'s default
 * funnel for k 10 scores on the same segment, so that {@code knn} (k 10) ranks what it ranks.
 */
public class ForeignQueryFunnelTests extends LuceneTestCase {
  private static final int[] ONE_LEVEL = {384};
  private static final int[] PCA_LEVELS = {64, 128, 192, 384};
  private static final KnnSearchStrategy HNSW = new KnnSearchStrategy.Hnsw(60);

  public void testUpTo300CandidatesScoreWhatMatryoshkaKnnsDefaultsScore() {
    FunnelSearchStrategy matryoshkaDefaults = new FunnelSearchStrategy(null, Funnel.DEFAULT_OVERSAMPLE, 384, false);
    for (int segmentDocs : new int[] {1_000, 60_000, 1_000_000}) {
      for (int numCandidates : new int[] {1, 10, 100, 200, 300}) {
        for (int bits : new int[] {1, 4}) {
          for (boolean rotated : new boolean[] {false, true}) {
            int[] levels = rotated ? PCA_LEVELS : ONE_LEVEL;
            SegmentPlan expected = SegmentPlan.resolve(matryoshkaDefaults, 10, segmentDocs, levels, bits, rotated, true);
            SegmentPlan knn = SegmentPlan.resolve(HNSW, numCandidates, segmentDocs, levels, bits, rotated, true);
            assertEquals(expected.queryDims(), knn.queryDims());
            assertEquals(stagesBeforeTheLast(expected.funnel()), stagesBeforeTheLast(knn.funnel()));
          }
        }
      }
    }
    // The window the exact stage scores: 300 for a one-level field of up to 65,536 documents.
    Funnel funnel = SegmentPlan.resolve(HNSW, 100, 60_000, ONE_LEVEL, 1, false, true).funnel();
    assertEquals(300, funnel.stages().get(funnel.stages().size() - 2).candidates());
  }

  public void testMoreCandidatesWidenTheExactStage() {
    Funnel funnel = SegmentPlan.resolve(HNSW, 1000, 60_000, ONE_LEVEL, 1, false, true).funnel();
    assertEquals(1000, funnel.stages().get(funnel.stages().size() - 2).candidates());
    Funnel pca = SegmentPlan.resolve(HNSW, 1000, 60_000, PCA_LEVELS, 1, true, true).funnel();
    // a rotated one-bit field: the 128-dim sign plane keeps 10 x the window, then exact floats
    assertEquals(new FunnelStage(128, FunnelMetric.ASYMMETRIC, 10_000), pca.stages().get(0));
    assertEquals(2, pca.stages().size());
  }

  /**
   * On a 1M-document segment the sign-plane window grows with the segment; after the survivor stage
   * on all 4 bits the exact stage scores k x oversample, as on a small segment.
   */
  public void testAllBitsSurvivorStageKeepsTheUngrownWindow() {
    FunnelSearchStrategy defaults = new FunnelSearchStrategy(null, Funnel.DEFAULT_OVERSAMPLE, 384, false);
    Funnel large = SegmentPlan.resolve(defaults, 10, 1_000_000, PCA_LEVELS, 4, true, true).funnel();
    int grown = Funnel.rerankCandidates(10, Funnel.DEFAULT_OVERSAMPLE, 1_000_000);
    assertEquals(new FunnelStage(128, FunnelMetric.ASYMMETRIC, grown * Funnel.FIRST_STAGE_FACTOR, 1), large.stages().get(0));
    assertEquals(new FunnelStage(384, FunnelMetric.ASYMMETRIC, 300), large.stages().get(1));
    // one-bit fields keep the grown window for the exact stage: their sign bits rank less closely
    Funnel oneBit = SegmentPlan.resolve(defaults, 10, 1_000_000, ONE_LEVEL, 1, false, true).funnel();
    assertEquals(grown, oneBit.stages().get(0).candidates());
    // and a small segment is unchanged
    Funnel small = SegmentPlan.resolve(defaults, 10, 60_000, PCA_LEVELS, 4, true, true).funnel();
    assertEquals(new FunnelStage(384, FunnelMetric.ASYMMETRIC, 300), small.stages().get(1));
    assertEquals(3000, small.stages().get(0).candidates());
  }

  private static List<FunnelStage> stagesBeforeTheLast(Funnel funnel) {
    return funnel.stages().subList(0, funnel.stages().size() - 1);
  }
}
