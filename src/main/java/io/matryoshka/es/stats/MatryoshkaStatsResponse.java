package io.matryoshka.es.stats;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.elasticsearch.action.support.DefaultShardOperationFailedException;
import org.elasticsearch.action.support.broadcast.BroadcastResponse;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.xcontent.XContentBuilder;

/**
 * Per index and field: the field's code parameters, and its sizes over primary copies
 * ({@code primaries}) and over all copies ({@code total}), as index stats report them.
 */
public final class MatryoshkaStatsResponse extends BroadcastResponse {
  /** One field of one index, summed over the shard copies that answered. */
  public static final class IndexFieldStats implements Writeable {
    private final FieldShape shape;
    private final FieldStats primaries;
    private final FieldStats total;

    IndexFieldStats(FieldShape shape) {
      this.shape = shape;
      this.primaries = new FieldStats();
      this.total = new FieldStats();
    }

    IndexFieldStats(StreamInput in) throws IOException {
      shape = new FieldShape(in);
      primaries = new FieldStats(in);
      total = new FieldStats(in);
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
      shape.writeTo(out);
      primaries.writeTo(out);
      total.writeTo(out);
    }

    public FieldStats primaries() {
      return primaries;
    }

    public FieldStats total() {
      return total;
    }

    public int dims() {
      return shape.dims();
    }

    public int[] nestedDims() {
      return shape.nestedDims().clone();
    }

    public int bits() {
      return shape.bits();
    }

    public String rotation() {
      return shape.rotation();
    }
  }

  private final Map<String, Map<String, IndexFieldStats>> indices;

  MatryoshkaStatsResponse(
      int totalShards,
      int successfulShards,
      int failedShards,
      List<DefaultShardOperationFailedException> shardFailures,
      List<ShardStats> shards) {
    super(totalShards, successfulShards, failedShards, shardFailures);
    this.indices = new TreeMap<>();
    for (ShardStats shard : shards) {
      Map<String, IndexFieldStats> fields = indices.computeIfAbsent(shard.index(), i -> new TreeMap<>());
      shard.fields().forEach((field, stats) -> {
        IndexFieldStats sum = fields.computeIfAbsent(field, f -> new IndexFieldStats(shard.shapes().get(f)));
        sum.total.add(stats);
        if (shard.primary()) {
          sum.primaries.add(stats);
        }
      });
    }
    // Indices without matryoshka_vector fields have nothing to report.
    indices.values().removeIf(Map::isEmpty);
  }

  public MatryoshkaStatsResponse(StreamInput in) throws IOException {
    super(in);
    indices = new TreeMap<>(in.readMap(i -> new TreeMap<>(i.readMap(IndexFieldStats::new))));
  }

  @Override
  public void writeTo(StreamOutput out) throws IOException {
    super.writeTo(out);
    out.writeMap(indices, (o, fields) -> o.writeMap(fields, StreamOutput::writeWriteable));
  }

  /** Index name to field name to stats. */
  public Map<String, Map<String, IndexFieldStats>> indices() {
    return indices;
  }

  @Override
  protected void addCustomXContentFields(XContentBuilder builder, Params params) throws IOException {
    builder.startObject("indices");
    for (Map.Entry<String, Map<String, IndexFieldStats>> index : indices.entrySet()) {
      builder.startObject(index.getKey());
      builder.startObject("fields");
      for (Map.Entry<String, IndexFieldStats> field : index.getValue().entrySet()) {
        IndexFieldStats stats = field.getValue();
        builder.startObject(field.getKey());
        stats.shape.toXContent(builder, params);
        builder.startObject("primaries");
        stats.primaries.toXContent(builder, params);
        builder.endObject();
        builder.startObject("total");
        stats.total.toXContent(builder, params);
        builder.endObject();
        builder.endObject();
      }
      builder.endObject();
      builder.endObject();
    }
    builder.endObject();
  }
}
