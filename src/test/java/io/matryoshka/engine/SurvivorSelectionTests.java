package io.matryoshka.engine;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.apache.lucene.tests.util.LuceneTestCase;

/**
 * A survivor stage's cut ({@code SegmentFunnel.best}) keeps exactly what sorting every scored
 * candidate by score (ties: the lower ord first) and taking the first {@code keep} keeps, in
 * ascending ord order: with heavy ties, unscored (NaN) positions, signed zeros and any window.
 */
public class SurvivorSelectionTests extends LuceneTestCase {
  public void testKeepsWhatAFullSortKeeps() {
    for (int iter = 0; iter < 500; iter++) {
      int n = random().nextInt(2_000);
      int[] candidates = ascendingOrds(n);
      float[] scores = new float[n];
      int distinct = 1 + random().nextInt(random().nextBoolean() ? 4 : 1_000);
      for (int i = 0; i < n; i++) {
        int pick = random().nextInt(20);
        scores[i] =
            pick == 0 ? Float.NaN : pick == 1 ? (random().nextBoolean() ? 0f : -0f) : random().nextInt(distinct) - distinct / 2f;
      }
      int keep = 1 + random().nextInt(Math.max(1, n + 5));
      assertArrayEquals("n " + n + " keep " + keep, byFullSort(candidates, scores, keep), SegmentFunnel.best(candidates, scores, keep));
    }
  }

  private static int[] ascendingOrds(int n) {
    int[] ords = new int[n];
    int ord = 0;
    for (int i = 0; i < n; i++) {
      ord += 1 + random().nextInt(5);
      ords[i] = ord;
    }
    return ords;
  }

  private static int[] byFullSort(int[] candidates, float[] scores, int keep) {
    return IntStream.range(0, candidates.length)
        .filter(i -> Float.isNaN(scores[i]) == false)
        .boxed()
        // IEEE order, as the stage compares scores (-0 equals 0); ties by position, i.e. by ord
        .sorted(Comparator.comparingDouble((Integer i) -> -(scores[i] + 0.0)).thenComparingInt(i -> i))
        .limit(keep)
        .mapToInt(i -> candidates[i])
        .sorted()
        .toArray();
  }
}
