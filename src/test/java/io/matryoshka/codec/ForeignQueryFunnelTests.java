package io.matryoshka.codec;

import org.apache.lucene.tests.util.LuceneTestCase;

/**
 * Elasticsearch's {@code knn} reaches the reader with its own strategy and {@code num_candidates}
 * as the collector's k: the exact stage must score {@code max(num_candidates, 300)} candidates, so
 * that {@code knn} (k 10) scores what {@code matryoshka_knn}'s default funnel for k 10 scores.
 */
public class ForeignQueryFunnelTests extends LuceneTestCase {
  private static final int[] ONE_LEVEL = {384};
  private static final int[] PCA_LEVELS = {64, 128, 192, 384};

  public void testUpTo300CandidatesIsMatryoshkaKnnsDefaultFunnelForK10() {
    for (int numCandidates : new int[] {1, 10, 100, 200, 300}) {
      for (int bits : new int[] {1, 4}) {
        for (boolean rotated : new boolean[] {false, true}) {
          int[] levels = rotated ? PCA_LEVELS : ONE_LEVEL;
          Funnel expected = Funnel.defaultFor(levels, 384, 10, Funnel.DEFAULT_OVERSAMPLE, bits, rotated);
          assertEquals(expected, FunnelSearcher.foreignQueryFunnel(levels, 384, numCandidates, bits, rotated));
        }
      }
    }
    // The window the exact stage scores: 300 for a one-level field.
    Funnel funnel = FunnelSearcher.foreignQueryFunnel(ONE_LEVEL, 384, 100, 1, false);
    assertEquals(300, funnel.stages().get(funnel.stages().size() - 2).candidates());
  }

  public void testMoreCandidatesWidenTheExactStage() {
    Funnel funnel = FunnelSearcher.foreignQueryFunnel(ONE_LEVEL, 384, 1000, 1, false);
    assertEquals(1000, funnel.stages().get(funnel.stages().size() - 2).candidates());
    Funnel pca = FunnelSearcher.foreignQueryFunnel(PCA_LEVELS, 384, 1000, 1, true);
    // sign plane of the shortest level keeps 16 x the window, then exact floats
    assertEquals(16_000, pca.stages().get(0).candidates());
    assertEquals(2, pca.stages().size());
  }
}
