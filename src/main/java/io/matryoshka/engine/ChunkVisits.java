package io.matryoshka.engine;

import java.io.IOException;
import org.apache.lucene.search.KnnCollector;
import org.apache.lucene.util.Bits;

/**
 * How every exhaustive pass over a segment's ords honours the collector: documents are visited a
 * chunk at a time, only accepted ords count, visits stop at the collector's visit limit (Lucene's
 * signal to fall back to exact search) and the pass stops where the collector terminates early
 * (timeout, cancellation).
 */
final class ChunkVisits {
  /** Documents one sequential read brings in: large enough to amortise the call. */
  static final int SCAN_CHUNK = 512;

  private ChunkVisits() {}

  @FunctionalInterface
  interface OrdVisitor {
    void visit(int ord) throws IOException;
  }

  /** Visits the accepted ords {@code 0 .. count - 1} in order, chunk by chunk. */
  static void forEachAccepted(int count, Bits acceptOrds, KnnCollector collector, OrdVisitor visitor)
      throws IOException {
    for (int start = 0; start < count && collector.earlyTerminated() == false; start += SCAN_CHUNK) {
      visitChunk(start, Math.min(SCAN_CHUNK, count - start), acceptOrds, collector, visitor);
    }
  }

  /**
   * Visits the accepted ords of {@code [start, start + n)} the visit limit still allows, counts
   * them on the collector and returns how many were visited.
   */
  static int visitChunk(int start, int n, Bits acceptOrds, KnnCollector collector, OrdVisitor visitor)
      throws IOException {
    long allowed = remainingVisits(collector);
    int visited = 0;
    for (int ord = start; ord < start + n && visited < allowed; ord++) {
      if (acceptOrds == null || acceptOrds.get(ord)) {
        visited++;
        visitor.visit(ord);
      }
    }
    collector.incVisitedCount(visited);
    return visited;
  }

  /**
   * Whether the whole chunk of {@code n} documents may be taken without looking at each one: no
   * filter or deletions, and the visit limit allows all of them. The caller then counts the visits
   * with {@link KnnCollector#incVisitedCount}.
   */
  static boolean takesWholeChunk(int n, Bits acceptOrds, KnnCollector collector) {
    return acceptOrds == null && remainingVisits(collector) >= n;
  }

  private static long remainingVisits(KnnCollector collector) {
    return Math.max(0, collector.visitLimit() - collector.visitedCount());
  }
}
