package io.matryoshka.es.stats;

import io.matryoshka.es.mapper.MatryoshkaVectorFieldType;
import java.io.IOException;
import java.util.Arrays;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.xcontent.ToXContentFragment;
import org.elasticsearch.xcontent.XContentBuilder;

/** A field's code parameters as mapped: what its segments are written with. */
record FieldShape(int dims, String similarity, int[] nestedDims, int bits, String rotation)
    implements Writeable, ToXContentFragment {

  static FieldShape of(MatryoshkaVectorFieldType type) {
    return new FieldShape(
        type.dims(), type.similarity().toString(), type.nestedDims(), type.bits(), type.rotation().wireName());
  }

  FieldShape(StreamInput in) throws IOException {
    this(in.readVInt(), in.readString(), in.readVIntArray(), in.readVInt(), in.readString());
  }

  @Override
  public void writeTo(StreamOutput out) throws IOException {
    out.writeVInt(dims);
    out.writeString(similarity);
    out.writeVIntArray(nestedDims);
    out.writeVInt(bits);
    out.writeString(rotation);
  }

  @Override
  public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
    builder.field("dims", dims);
    builder.field("similarity", similarity);
    builder.array("nested_dims", nestedDims);
    builder.field("bits", bits);
    builder.field("rotation", rotation);
    return builder;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FieldShape other
        && dims == other.dims
        && similarity.equals(other.similarity)
        && Arrays.equals(nestedDims, other.nestedDims)
        && bits == other.bits
        && rotation.equals(other.rotation);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * (31 * (31 * dims + similarity.hashCode()) + Arrays.hashCode(nestedDims)) + bits) + rotation.hashCode();
  }
}
