package io.matryoshka.search;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What the funnel did in one segment, for {@code profile} and {@code explain}: per stage, the
 * candidates it scored and kept, the code or float bytes it read, and its time. Filled by the
 * segment's engine as it runs each stage (it knows the code layout and what it read), read by the
 * query once the segments are searched.
 */
public final class FunnelTrace {
  private final int segment;
  /** What each stage did, formatted only when a description is asked for (profile, explain). */
  private final List<Step> steps = new ArrayList<>(4);
  private int segmentDocs = -1;

  FunnelTrace(int segment) {
    this.segment = segment;
  }

  /** The segment's documents with a vector: called once the engine runs on the segment. */
  public void segmentDocs(int docs) {
    this.segmentDocs = docs;
  }

  /**
   * One stage: {@code scored} candidates in, {@code kept} out, {@code bytes} of codes or floats
   * read, {@code nanos} spent.
   */
  public void stage(FunnelStage stage, long scored, long kept, long bytes, long nanos) {
    steps.add(new Step(Kind.STAGE, stage, scored, kept, bytes, nanos));
  }

  /** Every accepted document scored exactly (no code stage first). */
  public void exact(long scored, long floatBytes, long nanos) {
    steps.add(new Step(Kind.EXACT, null, scored, scored, floatBytes, nanos));
  }

  /** Lucene scored this segment by brute force instead (a filter left few documents). */
  void exactFallback(long scored, long floatBytes, long nanos) {
    steps.add(new Step(Kind.EXACT_FALLBACK, null, scored, scored, floatBytes, nanos));
  }

  /** One line for the segment, or null if nothing of the funnel ran there. */
  String describe() {
    if (steps.isEmpty()) {
      return null;
    }
    List<String> stages = new ArrayList<>(steps.size());
    for (Step step : steps) {
      stages.add(step.describe());
    }
    String docs = segmentDocs < 0 ? "" : " (" + segmentDocs + " vectors)";
    return "segment " + segment + docs + ": " + String.join("; ", stages);
  }

  private enum Kind {
    STAGE,
    EXACT,
    EXACT_FALLBACK
  }

  private record Step(Kind kind, FunnelStage stage, long scored, long kept, long bytes, long nanos) {
    String describe() {
      return switch (kind) {
        case STAGE ->
            String.format(
                Locale.ROOT,
                "%s@%d%s scored %d kept %d, read %d %s bytes, %s",
                stage.metric().wireName(),
                stage.dims(),
                stage.bits() == 0 ? "" : "x" + stage.bits() + "b",
                scored,
                kept,
                bytes,
                stage.metric().usesCodes() ? "code" : "float",
                millis(nanos));
        case EXACT -> String.format(Locale.ROOT, "exact: scored %d, read %d float bytes, %s", scored, bytes, millis(nanos));
        case EXACT_FALLBACK ->
            String.format(
                Locale.ROOT,
                "exact (Lucene's fallback for a selective filter): scored %d, read %d float bytes, %s",
                scored,
                bytes,
                millis(nanos));
      };
    }
  }

  private static String millis(long nanos) {
    return String.format(Locale.ROOT, "%.3f ms", nanos / 1e6);
  }
}
