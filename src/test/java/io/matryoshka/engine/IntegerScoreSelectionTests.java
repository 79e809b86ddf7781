package io.matryoshka.engine;


import java.util.Comparator;
import java.util.Random;
import java.util.function.IntPredicate;
import java.util.stream.IntStream;
import org.apache.lucene.tests.util.LuceneTestCase;

/** The streaming integer selection keeps exactly what sorting by (score desc, ord asc) keeps. */
public class IntegerScoreSelectionTests extends LuceneTestCase {

  public void testSameAsFullSort() {
    for (int iteration = 0; iteration < 100; iteration++) {
      int n = 1 + random().nextInt(20_000);
      int min = -random().nextInt(2000);
      int max = min + random().nextInt(random().nextBoolean() ? 4 : 3000);
      int[] scores = new int[n];
      for (int ord = 0; ord < n; ord++) {
        // sometimes ascending, the order that keeps raising the threshold
        scores[ord] = random().nextInt(10) == 0
            ? min + (int) ((long) (max - min) * ord / n)
            : min + random().nextInt(max - min + 1);
      }
      int keep = 1 + random().nextInt(random().nextBoolean() ? 50 : n + 10);
      IntegerScoreSelection selection = new IntegerScoreSelection(keep, min, max);
      boolean filtered = random().nextBoolean();
      boolean[] accepted = new boolean[n];
      for (int start = 0; start < n; start += ChunkVisits.SCAN_CHUNK) {
        int chunk = Math.min(ChunkVisits.SCAN_CHUNK, n - start);
        if (filtered) {
          for (int ord = start; ord < start + chunk; ord++) {
            if (random().nextInt(3) > 0) {
              accepted[ord] = true;
              selection.add(ord, scores[ord]);
            }
          }
        } else {
          int[] chunkScores = new int[chunk];
          System.arraycopy(scores, start, chunkScores, 0, chunk);
          java.util.Arrays.fill(accepted, start, start + chunk, true);
          selection.addChunk(start, chunkScores, chunk);
        }
      }
      int[] expected = bestByFullSort(scores, ord -> accepted[ord], keep);
      assertArrayEquals("n=" + n + " keep=" + keep + " range=" + min + ".." + max, expected, selection.topOrdsAscending());
    }
  }

  public void testBufferStaysNearKeepOnRandomOrder() {
    int n = 100_000;
    IntegerScoreSelection selection = new IntegerScoreSelection(300, -5760, 5760);
    int[] chunk = new int[ChunkVisits.SCAN_CHUNK];
    for (int start = 0; start < n; start += chunk.length) {
      for (int i = 0; i < chunk.length; i++) {
        chunk[i] = (int) (random().nextGaussian() * 500);
      }
      selection.addChunk(start, chunk, Math.min(chunk.length, n - start));
    }
    assertEquals(300, selection.topOrdsAscending().length);
    // A heap would hold 300; the streaming threshold buffers what reached it when it came.
    assertTrue("buffered " + selection.buffered(), selection.buffered() < 20 * 300);
  }

  /**
   * Selections of consecutive ord ranges (as parallel ranges scan them), some starting at a guessed
   * threshold, select together exactly what sorting every document selects.
   */
  public void testConsecutiveRangesSelectAsOne() {
    for (int iteration = 0; iteration < 100; iteration++) {
      int n = 1 + random().nextInt(30_000);
      int min = -random().nextInt(500);
      int max = min + random().nextInt(random().nextBoolean() ? 4 : 1000);
      int[] scores = new int[n];
      for (int ord = 0; ord < n; ord++) {
        scores[ord] = min + random().nextInt(max - min + 1);
      }
      int keep = 1 + random().nextInt(random().nextBoolean() ? 100 : n + 10);
      int ranges = 1 + random().nextInt(4);
      java.util.List<IntegerScoreSelection> parts = new java.util.ArrayList<>();
      for (int r = 0; r < ranges; r++) {
        int from = (int) ((long) n * r / ranges);
        int to = (int) ((long) n * (r + 1) / ranges);
        IntegerScoreSelection part = new IntegerScoreSelection(keep, min, max);
        if (random().nextBoolean()) {
          // a guess at most the range's keep-th best: the part stays complete
          int[] sorted = java.util.Arrays.copyOfRange(scores, from, to);
          java.util.Arrays.sort(sorted);
          part.startAt(sorted.length == 0 ? min : sorted[Math.max(0, sorted.length - keep - random().nextInt(50))]);
        }
        for (int start = from; start < to; start += ChunkVisits.SCAN_CHUNK) {
          int chunk = Math.min(ChunkVisits.SCAN_CHUNK, to - start);
          part.addChunk(start, java.util.Arrays.copyOfRange(scores, start, start + chunk), chunk);
        }
        assertTrue(part.isComplete());
        parts.add(part);
      }
      int[] expected = bestByFullSort(scores, ord -> true, keep);
      assertArrayEquals(
          "n=" + n + " keep=" + keep + " ranges=" + ranges + " range=" + min + ".." + max,
          expected,
          IntegerScoreSelection.topOrdsAscending(parts));
    }
  }

  /** The {@code keep} best accepted ords by (score desc, ord asc), ascending: the reference. */
  private static int[] bestByFullSort(int[] scores, IntPredicate accepted, int keep) {
    return IntStream.range(0, scores.length)
        .filter(accepted)
        .boxed()
        .sorted(Comparator.comparingInt((Integer o) -> -scores[o]).thenComparing(o -> o))
        .limit(keep)
        .mapToInt(Integer::intValue)
        .sorted()
        .toArray();
  }
}
