package io.matryoshka.engine;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.apache.lucene.tests.util.LuceneTestCase;

/** The histogram selection keeps exactly what sorting by (score desc, ord asc) would keep. */
public class StageOneSelectionTests extends LuceneTestCase {
  public void testSameAsFullSort() {
    for (int iteration = 0; iteration < 50; iteration++) {
      int n = 1 + random().nextInt(5000);
      float[] scores = new float[n];
      // coarse scores (many ties), negative and positive, sometimes all equal
      int levels = 1 + random().nextInt(random().nextBoolean() ? 3 : 500);
      StageOneSelection selection = new StageOneSelection(random().nextInt(n + 1));
      for (int ord = 0; ord < n; ord++) {
        scores[ord] = (random().nextInt(levels) - levels / 2) * (random().nextBoolean() ? 0.25f : 7f);
        selection.add(ord, scores[ord]);
      }
      int k = 1 + random().nextInt(n + 10);
      int[] expected =
          IntStream.range(0, n)
              .boxed()
              .sorted(Comparator.comparingDouble((Integer o) -> -scores[o]).thenComparing(o -> o))
              .limit(k)
              .mapToInt(Integer::intValue)
              .sorted()
              .toArray();
      int[] actual = selection.topOrdsAscending(k);
      assertArrayEquals("n=" + n + " k=" + k + " levels=" + levels, expected, actual);
    }
  }

  public void testExtremeScores() {
    StageOneSelection selection = new StageOneSelection(4);
    selection.add(0, -Float.MAX_VALUE);
    selection.add(1, Float.MAX_VALUE);
    selection.add(2, 0f);
    selection.add(3, -0f);
    assertArrayEquals(new int[] {1}, selection.topOrdsAscending(1));
    assertArrayEquals(new int[] {1, 2}, selection.topOrdsAscending(2));
    assertEquals(3, selection.topOrdsAscending(3).length);
    assertTrue(Arrays.equals(new int[] {0, 1, 2, 3}, selection.topOrdsAscending(4)));
  }
}
