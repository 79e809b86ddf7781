package io.matryoshka.es.stats;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.xcontent.ToXContentFragment;
import org.elasticsearch.xcontent.XContentBuilder;

/**
 * Sizes of one {@code matryoshka_vector} field over some segments: vectors stored, segments
 * holding them, and bytes by file kind (codes per nested level, correctives, floats). Adds up
 * across segments, shards and copies.
 */
public final class FieldStats implements Writeable, ToXContentFragment {
  private long documents;
  private long segments;
  /** Code bytes by the nested dims of the level, ascending. */
  private final TreeMap<Integer, Long> codeBytesByLevel = new TreeMap<>();
  private long correctivesBytes;
  private long floatsBytes;

  public FieldStats() {}

  public FieldStats(StreamInput in) throws IOException {
    documents = in.readVLong();
    segments = in.readVLong();
    codeBytesByLevel.putAll(in.readMap(StreamInput::readVInt, StreamInput::readVLong));
    correctivesBytes = in.readVLong();
    floatsBytes = in.readVLong();
  }

  @Override
  public void writeTo(StreamOutput out) throws IOException {
    out.writeVLong(documents);
    out.writeVLong(segments);
    out.writeMap(codeBytesByLevel, StreamOutput::writeVInt, StreamOutput::writeVLong);
    out.writeVLong(correctivesBytes);
    out.writeVLong(floatsBytes);
  }

  /** Counts one segment's share. */
  void addSegment(long segmentDocuments, Map<Integer, Long> levelBytes, long correctives, long floats) {
    documents += segmentDocuments;
    segments++;
    levelBytes.forEach((dims, bytes) -> codeBytesByLevel.merge(dims, bytes, Long::sum));
    correctivesBytes += correctives;
    floatsBytes += floats;
  }

  void add(FieldStats other) {
    documents += other.documents;
    segments += other.segments;
    other.codeBytesByLevel.forEach((dims, bytes) -> codeBytesByLevel.merge(dims, bytes, Long::sum));
    correctivesBytes += other.correctivesBytes;
    floatsBytes += other.floatsBytes;
  }

  public long documents() {
    return documents;
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
    builder.field("segments", segments);
    builder.startObject("bytes");
    builder.startObject("codes");
    for (Map.Entry<Integer, Long> level : codeBytesByLevel.entrySet()) {
      builder.field(Integer.toString(level.getKey()), level.getValue());
    }
    builder.endObject();
    builder.field("correctives", correctivesBytes);
    builder.field("floats", floatsBytes);
    builder.field("total", totalBytes());
    builder.endObject();
    return builder;
  }
}
