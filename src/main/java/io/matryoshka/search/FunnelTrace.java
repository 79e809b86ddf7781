package io.matryoshka.search;

import io.matryoshka.codec.CodeLayout;
import io.matryoshka.codec.FieldCodes;
import io.matryoshka.codec.Funnel;
import io.matryoshka.codec.FunnelMetric;
import io.matryoshka.codec.FunnelSearchStrategy;
import io.matryoshka.codec.FunnelStage;
import io.matryoshka.codec.MatryoshkaVectorsReader;
import io.matryoshka.codec.Rotation;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
import org.apache.lucene.index.CodecReader;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.search.KnnCollector;

/**
 * What the funnel did in one segment, for {@code profile} and {@code explain}: per stage, the
 * candidates it scored and kept, the code or float bytes it read, and its time.
 *
 * <p>Measured from the outside, through the collector the segment's search reports to (so the
 * codec needs no hooks): the first stage counts every document it scores as visited, chunk by
 * chunk, and the last stage hands every candidate it scores to the collector. So the first stage's
 * input and time (until its last visit), the last stage's input and time (first to last collect)
 * are measured, and the stages between share the time between the two. What a stage keeps is its
 * {@code candidates} bound by its input, as the searcher keeps them; bytes follow from the segment's
 * code layout (a first stage reads its levels' planes of every document in the segment, later code
 * stages those of their input, float stages the first {@code dims} floats of their input).
 */
final class FunnelTrace {
  final int segment;
  private final long started = System.nanoTime();
  private long visited;
  private long lastVisit = -1;
  private long firstCollect = -1;
  private long lastCollect = -1;
  private long collected;
  private boolean exactFallback;
  private long exactScored;
  private long exactNanos;

  FunnelTrace(int segment) {
    this.segment = segment;
  }

  /** The collector the reader fills, wrapped to take the measurements. */
  KnnCollector wrap(KnnCollector collector) {
    return new KnnCollector.Decorator(collector) {
      @Override
      public void incVisitedCount(int count) {
        visited += count;
        lastVisit = System.nanoTime();
        super.incVisitedCount(count);
      }

      @Override
      public boolean collect(int docId, float similarity) {
        long now = System.nanoTime();
        if (firstCollect < 0) {
          firstCollect = now;
        }
        lastCollect = now;
        collected++;
        return super.collect(docId, similarity);
      }
    };
  }

  /** Lucene scored this segment by brute force instead (a filter left few documents). */
  void exact(long scored, long nanos) {
    exactFallback = true;
    exactScored = scored;
    exactNanos = nanos;
  }

  /** One line per segment; {@code null} if the segment has none of this plugin's codes for the field. */
  String describe(LeafReader leaf, String field, FunnelSearchStrategy strategy, int k) {
    if (exactFallback) {
      return String.format(
          Locale.ROOT,
          "segment %d: exact (Lucene's fallback for a selective filter): scored %d documents, read %d float bytes, %s",
          segment,
          exactScored,
          exactScored * strategy.queryDims() * Float.BYTES,
          millis(exactNanos));
    }
    FieldCodes codes = codes(leaf, field);
    if (codes == null) {
      return null;
    }
    CodeLayout layout = codes.layout();
    long end = lastCollect >= 0 ? lastCollect : System.nanoTime();
    if (strategy.exact()) {
      return String.format(
          Locale.ROOT,
          "segment %d (%d vectors): exact: scored %d, read %d float bytes, %s",
          segment,
          codes.count(),
          collected,
          collected * strategy.queryDims() * Float.BYTES,
          millis(end - started));
    }
    Funnel funnel = strategy.resolve(layout.nestedDims(), k, layout.bits(), codes.rotation() != Rotation.NONE);
    List<FunnelStage> stages = funnel.stages();
    List<String> parts = new ArrayList<>();
    if (stages.size() == 1) {
      parts.add(stage(stages.get(0), collected, collected, collected * (long) stages.get(0).dims() * Float.BYTES, "float", end - started));
    } else {
      long input = visited;
      long firstEnd = lastVisit >= 0 ? lastVisit : started;
      long middleStart = firstEnd;
      long middleEnd = firstCollect >= 0 ? firstCollect : end;
      int middleStages = stages.size() - 2;
      for (int i = 0; i < stages.size(); i++) {
        FunnelStage stage = stages.get(i);
        boolean last = i == stages.size() - 1;
        long kept = last ? Math.min(k, input) : (i == stages.size() - 2 ? collected : Math.min(stage.candidates(), input));
        long nanos;
        String time;
        if (i == 0) {
          nanos = firstEnd - started;
        } else if (last) {
          nanos = end - middleEnd;
        } else {
          nanos = (middleEnd - middleStart) / middleStages;
        }
        long bytes;
        String kind;
        if (stage.metric() == FunnelMetric.FLOAT) {
          bytes = input * stage.dims() * Float.BYTES;
          kind = "float";
        } else {
          int level = layout.levelEndingAt(stage.dims());
          int planes = stage.planesOf(layout.bits());
          long perDoc = 0;
          for (int l = 0; l <= level; l++) {
            perDoc += (long) layout.bytesPerPlane(l) * planes;
          }
          if (planes > 1) {
            perDoc += layout.correctiveBytesPerDoc();
          }
          bytes = (i == 0 ? codes.count() : input) * perDoc;
          kind = "code";
        }
        parts.add(stage(stage, input, kept, bytes, kind, nanos) + (i > 0 && last == false && middleStages > 1 ? " (time shared by the middle stages)" : ""));
        input = kept;
      }
    }
    return String.format(Locale.ROOT, "segment %d (%d vectors): %s", segment, codes.count(), String.join("; ", parts));
  }

  private static String stage(FunnelStage stage, long scored, long kept, long bytes, String kind, long nanos) {
    return String.format(
        Locale.ROOT,
        "%s@%d%s scored %d kept %d, read %d %s bytes, %s",
        stage.metric().wireName(),
        stage.dims(),
        stage.bits() == 0 ? "" : "x" + stage.bits() + "b",
        scored,
        kept,
        bytes,
        kind,
        millis(nanos));
  }

  private static String millis(long nanos) {
    return String.format(Locale.ROOT, "%.3f ms", nanos / 1e6);
  }

  /** This plugin's codes for the field in the segment, looking through Elasticsearch's wrappers. */
  static FieldCodes codes(LeafReader leaf, String field) {
    LeafReader unwrapped = FilterLeafReader.unwrap(leaf);
    if (!(unwrapped instanceof CodecReader codecReader)) {
      return null;
    }
    KnnVectorsReader vectors = codecReader.getVectorReader();
    if (vectors instanceof PerFieldKnnVectorsFormat.FieldsReader perField) {
      vectors = perField.getFieldReader(field);
    }
    return vectors instanceof MatryoshkaVectorsReader matryoshka ? matryoshka.fieldCodes(field) : null;
  }
}
