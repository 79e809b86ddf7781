package io.matryoshka.es.stats;

import java.io.IOException;
import org.elasticsearch.common.unit.ByteSizeValue;
import java.util.Map;
import java.util.TreeMap;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.xcontent.ToXContentFragment;
import org.elasticsearch.xcontent.XContentBuilder;

/**
 * Sizes of one {@code matryoshka_vector} field over some segments: vectors stored (live and
 * deleted apart: a deleted document's vector keeps its bytes until a merge drops it), segments
 * holding them, and bytes by file kind (codes per nested level, correctives, floats). Adds up
 * across segments, shards and copies. Bytes are written as Elasticsearch writes sizes: {@code
 * <name>_in_bytes}, plus {@code <name>} as text ({@code "1.2mb"}) with {@code ?human}.
 */
public final class FieldStats implements Writeable, ToXContentFragment {
  private long documents;
  private long liveDocuments;
  private long segments;
  /** Code bytes by the nested dims of the level, ascending. */
  private final TreeMap<Integer, Long> codeBytesByLevel = new TreeMap<>();
  private long correctivesBytes;
  private long floatsBytes;

  public FieldStats() {}

  public FieldStats(StreamInput in) throws IOException {
    documents = in.readVLong();
    liveDocuments = in.readVLong();
    segments = in.readVLong();
    codeBytesByLevel.putAll(in.readMap(StreamInput::readVInt, StreamInput::readVLong));
    correctivesBytes = in.readVLong();
    floatsBytes = in.readVLong();
  }

  @Override
  public void writeTo(StreamOutput out) throws IOException {
    out.writeVLong(documents);
    out.writeVLong(liveDocuments);
    out.writeVLong(segments);
    out.writeMap(codeBytesByLevel, StreamOutput::writeVInt, StreamOutput::writeVLong);
    out.writeVLong(correctivesBytes);
    out.writeVLong(floatsBytes);
  }

  /** Counts one segment's share: all its vectors, and those of live documents. */
  void addSegment(long segmentDocuments, long segmentLiveDocuments, Map<Integer, Long> levelBytes, long correctives, long floats) {
    documents += segmentDocuments;
    liveDocuments += segmentLiveDocuments;
    segments++;
    levelBytes.forEach((dims, bytes) -> codeBytesByLevel.merge(dims, bytes, Long::sum));
    correctivesBytes += correctives;
    floatsBytes += floats;
  }

  void add(FieldStats other) {
    documents += other.documents;
    liveDocuments += other.liveDocuments;
    segments += other.segments;
    other.codeBytesByLevel.forEach((dims, bytes) -> codeBytesByLevel.merge(dims, bytes, Long::sum));
    correctivesBytes += other.correctivesBytes;
    floatsBytes += other.floatsBytes;
  }

  /** Vectors stored, of live and deleted documents. */
  public long documents() {
    return documents;
  }

  public long liveDocuments() {
    return liveDocuments;
  }

  public long deletedDocuments() {
    return documents - liveDocuments;
  }

  public long segments() {
    return segments;
  }

  public Map<Integer, Long> codeBytesByLevel() {
    return Map.copyOf(codeBytesByLevel);
  }

  public long correctivesBytes() {
    return correctivesBytes;
  }

  public long floatsBytes() {
    return floatsBytes;
  }

  public long totalBytes() {
    long sum = correctivesBytes + floatsBytes;
    for (long bytes : codeBytesByLevel.values()) {
      sum += bytes;
    }
    return sum;
  }

  @Override
  public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
    builder.field("documents", documents);
    builder.field("live_documents", liveDocuments);
    builder.field("deleted_documents", deletedDocuments());
    builder.field("segments", segments);
    builder.startObject("bytes");
    builder.startObject("codes_in_bytes");
    for (Map.Entry<Integer, Long> level : codeBytesByLevel.entrySet()) {
      builder.field(Integer.toString(level.getKey()), level.getValue());
    }
    builder.endObject();
    if (builder.humanReadable()) {
      builder.startObject("codes");
      for (Map.Entry<Integer, Long> level : codeBytesByLevel.entrySet()) {
        builder.field(Integer.toString(level.getKey()), ByteSizeValue.ofBytes(level.getValue()).toString());
      }
      builder.endObject();
    }
    builder.humanReadableField("correctives_in_bytes", "correctives", ByteSizeValue.ofBytes(correctivesBytes));
    builder.humanReadableField("floats_in_bytes", "floats", ByteSizeValue.ofBytes(floatsBytes));
    builder.humanReadableField("total_in_bytes", "total", ByteSizeValue.ofBytes(totalBytes()));
    builder.endObject();
    return builder;
  }
}
