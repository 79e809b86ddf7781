package io.matryoshka.engine;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.lucene.search.KnnCollector;
import org.apache.lucene.search.TaskExecutor;

/**
 * Splits a large segment's first-stage scan into consecutive ord ranges run on the searcher's
 * executor (Elasticsearch's search worker pool), so one segment no longer keeps one core busy
 * while the others idle. Each range selects its own best; merged in ord order they give exactly
 * what one pass selects, ties included (every selection prefers the lower ord).
 *
 * <p>Survivor stages ({@link #scoreSurvivors}) split the survivors the same way: their random
 * reads wait on memory, and two threads keep twice as many of them in flight.
 *
 * <p>First stages split only when the collector's visit limit cannot be reached (no filter, or a
 * filter matching at least the segment): ranges count visits on their own and the total is added to the collector
 * afterwards, which would otherwise need a shared, contended counter. Timeouts and cancellation
 * still reach every range through {@link KnnCollector#earlyTerminated()}.
 */
final class ParallelRanges {
  /**
   * Code bytes per range below which splitting costs more than it saves. The scan's cost follows
   * the bytes it reads, not the documents: 1 MiB (2^17 one-word codes, 21,845 of 48 bytes) is
   * some hundred microseconds of reads, well above a task's hand-off of some ten microseconds.
   */
  static final long MIN_BYTES_PER_RANGE = 1L << 20;

  /** The production policy. */
  static final ParallelRanges DEFAULT = new ParallelRanges(MIN_BYTES_PER_RANGE, Runtime.getRuntime().availableProcessors());

  private final long minBytesPerRange;
  private final int maxRanges;

  /** Tests split small segments into many ranges with their own policy. */
  ParallelRanges(long minBytesPerRange, int maxRanges) {
    this.minBytesPerRange = minBytesPerRange;
    this.maxRanges = maxRanges;
  }

  /**
   * Bytes of random reads per range worth a task: a survivor read waits on memory (about 200 ns
   * for a 200-byte entry of a 1M segment, measured), so a quarter of the sequential range's bytes
   * already costs as much time.
   */
  private long minRandomBytesPerRange() {
    return Math.max(1, minBytesPerRange / 4);
  }

  @FunctionalInterface
  interface SurvivorRange {
    void score(int from, int to) throws IOException;
  }

  /**
   * Runs {@code score} over survivor positions {@code [0, count)}: in one call on this thread, or,
   * where the random reads ({@code bytesPerSurvivor} each) fill several ranges, in consecutive
   * ranges on the executor. Each range writes only its own positions, so the outcome is the same
   * either way.
   */
  void scoreSurvivors(int count, long bytesPerSurvivor, TaskExecutor executor, SurvivorRange score) throws IOException {
    long bytes = count * Math.max(1, bytesPerSurvivor);
    int ranges =
        executor == null || count < 2 || bytes < 2 * minRandomBytesPerRange()
            ? 1
            : (int) Math.min(Math.min(maxRanges, count), bytes / minRandomBytesPerRange());
    if (ranges <= 1) {
      score.score(0, count);
      return;
    }
    List<Callable<Void>> tasks = new ArrayList<>(ranges);
    for (int r = 0; r < ranges; r++) {
      int from = (int) ((long) count * r / ranges);
      int to = (int) ((long) count * (r + 1) / ranges);
      tasks.add(
          () -> {
            score.score(from, to);
            return null;
          });
    }
    executor.invokeAll(tasks);
  }

  @FunctionalInterface
  interface RangeScan<T> {
    T scan(int from, int to, KnnCollector rangeCollector) throws IOException;
  }

  /**
   * Runs {@code scan} over {@code [0, count)}: in one pass on this thread with the collector itself,
   * or, where {@link #rangesFor} allows, in consecutive ranges on the executor, results in order.
   *
   * @param bytesPerDoc the code bytes the scan reads per document
   */
  <T> List<T> scan(int count, int bytesPerDoc, TaskExecutor executor, KnnCollector collector, RangeScan<T> scan)
      throws IOException {
    int ranges = rangesFor(count, bytesPerDoc, executor, collector);
    return ranges == 1 ? List.of(scan.scan(0, count, collector)) : run(executor, count, ranges, collector, scan);
  }

  /**
   * How many ranges to scan {@code count} documents of {@code bytesPerDoc} code bytes in: 1 means
   * one pass on this thread.
   */
  int rangesFor(int count, int bytesPerDoc, TaskExecutor executor, KnnCollector collector) {
    long bytes = (long) count * Math.max(1, bytesPerDoc);
    if (executor == null || bytes < 2 * minBytesPerRange) {
      return 1;
    }
    if (collector.visitLimit() - collector.visitedCount() < count) {
      return 1;
    }
    return (int) Math.max(1, Math.min(Math.min(maxRanges, count), bytes / minBytesPerRange));
  }

  /** Runs {@code scan} on {@code ranges} consecutive ranges of {@code [0, count)}, results in order. */
  private static <T> List<T> run(TaskExecutor executor, int count, int ranges, KnnCollector collector, RangeScan<T> scan)
      throws IOException {
    List<Callable<T>> tasks = new ArrayList<>(ranges);
    List<RangeCollector> collectors = new ArrayList<>(ranges);
    for (int r = 0; r < ranges; r++) {
      int from = (int) ((long) count * r / ranges);
      int to = (int) ((long) count * (r + 1) / ranges);
      RangeCollector rangeCollector = new RangeCollector(collector);
      collectors.add(rangeCollector);
      tasks.add(() -> scan.scan(from, to, rangeCollector));
    }
    List<T> results = executor.invokeAll(tasks);
    long visited = 0;
    for (RangeCollector rangeCollector : collectors) {
      visited += rangeCollector.visited;
    }
    collector.incVisitedCount((int) Math.min(Integer.MAX_VALUE, visited));
    return results;
  }

  /** One range's view of the collector: its own visit count, the collector's early termination. */
  private static final class RangeCollector extends KnnCollector.Decorator {
    private long visited;

    RangeCollector(KnnCollector collector) {
      super(collector);
    }

    @Override
    public void incVisitedCount(int count) {
      visited += count;
    }

    @Override
    public long visitedCount() {
      return visited;
    }

    @Override
    public long visitLimit() {
      return Long.MAX_VALUE;
    }

    @Override
    public boolean collect(int docId, float similarity) {
      throw new UnsupportedOperationException("a first-stage range only counts visits");
    }
  }
}
