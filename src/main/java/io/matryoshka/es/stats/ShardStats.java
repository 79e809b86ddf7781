package io.matryoshka.es.stats;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;

/** One shard copy's answer: its index, whether it is the primary, and each field's sizes. */
record ShardStats(String index, boolean primary, Map<String, FieldShape> shapes, Map<String, FieldStats> fields)
    implements Writeable {

  ShardStats {
    shapes = new TreeMap<>(shapes);
    fields = new TreeMap<>(fields);
  }

  ShardStats(StreamInput in) throws IOException {
    this(
        in.readString(),
        in.readBoolean(),
        in.readMap(FieldShape::new),
        in.readMap(FieldStats::new));
  }

  @Override
  public void writeTo(StreamOutput out) throws IOException {
    out.writeString(index);
    out.writeBoolean(primary);
    out.writeMap(shapes, StreamOutput::writeWriteable);
    out.writeMap(fields, StreamOutput::writeWriteable);
  }
}
