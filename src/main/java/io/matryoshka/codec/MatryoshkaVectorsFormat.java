package io.matryoshka.codec;

import io.matryoshka.quantization.CodeLayout;

import io.matryoshka.quantization.Rotation;

import java.io.IOException;
import java.util.Arrays;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.KnnVectorsWriter;
import org.apache.lucene.codecs.hnsw.FlatVectorScorerUtil;
import org.apache.lucene.codecs.hnsw.FlatVectorsFormat;
import org.apache.lucene.codecs.lucene99.Lucene99FlatVectorsFormat;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SegmentWriteState;

/**
 * Full float vectors plus nested binary codes per segment, searched by a funnel: a popcount scan of
 * a short code prefix of every document (by default asymmetric: a 4-bit query against the sign
 * bits), then more bits and exact float prefixes for the survivors.
 *
 * <p>Floats are not this format's job: they go to a {@link Lucene99FlatVectorsFormat} delegate
 * ({@code .vec} data, {@code .vemf} metadata), which keeps them memory-mapped so that any prefix of
 * a vector is read in place. Byte vectors are stored by that delegate alone and searched
 * exhaustively. For each float field this format adds two files:
 *
 * <p>Each field below appeared in version 0 unless marked otherwise; a reader accepts versions
 * {@link #VERSION_START} to {@link #VERSION_CURRENT} and both files of a segment must carry the
 * same version. Integers are little-endian, {@code vint}/{@code vlong} Lucene's variable-length
 * encodings, {@code float} an IEEE 754 single as a 4-byte little-endian int. {@code IndexHeader}
 * and {@code Footer} are Lucene's {@code CodecUtil} ones (big-endian): header magic {@code
 * 0x3fd76c17}, the codec name as a string, the version as an int, the 16-byte segment id, the
 * suffix as a length byte and its bytes; footer magic {@code ~0x3fd76c17}, an int 0 and the CRC32 of
 * everything before it as a long.
 *
 * <h2>.vemb: code metadata</h2>
 *
 * <pre>
 * IndexHeader(META_CODEC_NAME, version, segment id, suffix)
 * per float field:
 *   int      field number
 *   int      similarity id: 0 EUCLIDEAN, 1 DOT_PRODUCT, 2 COSINE, 3 MAXIMUM_INNER_PRODUCT (a fixed
 *            list, not the enum's ordinal; must equal the FieldInfo's similarity)
 *   vint     dims
 *   vint     count: documents with a vector (ords 0..count-1, as in the .vec delegate)
 *   vint     number of nested levels L
 *   vint[L]  nested dims, ascending, the last equal to dims
 *   byte     bits per dimension b (1, 2 or 4)
 *   byte     rotation id (0 none, 1 pca)
 *   if count &gt; 0:
 *     float[dims]  centroid (of the L2-normalised vectors under cosine)
 *     vlong[L]     offset in .veb of level l's block
 *     vlong        offset in .veb of the correctives block (0 unless b &gt; 1)
 *     vlong        offset in .veb of the rotation matrix (0 unless rotation is pca)
 *     vint         rotation rows r (version 1+; 0 unless rotation is pca; with pca
 *                  0 &lt;= r &lt;= min(dims, count)). Version 0 has no such field: its r is dims.
 *     vlong        offset in .veb of the survivor block (version 1+; version 1: 0 unless b &gt; 1)
 * int -1 (end of fields)
 * Footer (CRC32)
 * </pre>
 *
 * <h2>.veb: codes</h2>
 *
 * <pre>
 * IndexHeader(DATA_CODEC_NAME, version, segment id, suffix)
 * per float field, each block starting at a 64-byte aligned offset (recorded in .vemb):
 *   level 0 block:  plane 0: count x w(0) longs, plane 1: count x w(0) longs, ... (b planes)
 *   level 1 block:  the same for level 1
 *   ...
 *   correctives (b &gt; 1 only): count x (float lower, float step)
 *   survivor block (version 2+; version 1: b &gt; 1 only; none of its own when L = 1 and b = 1,
 *   see below): count x entry, each entry:
 *     level 0: plane 0: w(0) longs, ..., plane b-1: w(0) longs
 *     ...
 *     level L-1: the same with w(L-1)
 *     b &gt; 1 only: float lower, float step (the correctives again)
 *   rotation (pca only): r x dims float, row-major: rotated[i] = sum_j R[i][j] * x[j] for i &lt; r
 *            (version 0: r = dims; version 1+: r as recorded in .vemb, r * dims * 4 bytes)
 * Footer (CRC32)
 * </pre>
 *
 * <p>Level {@code l} covers dimensions {@code [nested[l-1], nested[l])} (from 0 for level 0) and
 * holds {@code b} bit planes, most significant first, one after the other: plane {@code p} of
 * document {@code ord} lies at {@code levelOffset + (p * count + ord) * 8 * w}, {@code w =
 * ceil(width / 64)} little-endian longs, bit {@code j} of long {@code i} standing for dimension
 * {@code start + 64 i + j}. Plane 0 is the sign bit of every dimension, so a first stage scans
 * {@code nested[0] / 8} bytes per document (sign plane only) or {@code nested[0] / 8 * b} (all
 * planes) from contiguous regions, and later stages read further levels and planes only for
 * survivors. Levels start 64-byte aligned; planes within a level are packed.
 *
 * <p>The survivor block holds the same codes again, document by document: a stage that re-scores a
 * few thousand survivors with all of a field's planes reads one contiguous entry per survivor
 * ({@code sum_l 8 b w(l)} bytes, plus 8 for the correctives when {@code b > 1}: 48 at 384 dims and
 * one bit, 200 with 4 bits) instead of {@code L x b} scattered blocks. Version 0 segments have no
 * survivor block and no offset for it in {@code .vemb}; version 1 segments have it for multi-bit
 * fields only (offset 0 with one bit). Both stay readable; where a segment has no block, its
 * survivor stages read the plane blocks. A field of one level and one bit has nothing to repeat:
 * its level 0 block already holds each document's whole code in one place, and the survivor
 * offset in {@code .vemb} is that block's offset.
 *
 * <p>The coordinates coded are {@code y = R (x - centroid)} ({@code x} L2-normalised first under
 * cosine; {@code R} the identity without rotation). With one bit, bit = {@code y > 0}. With
 * {@code b > 1} bits, each coordinate is quantized uniformly to {@code q} in {@code 0 .. 2^b - 1} on
 * the document's own symmetric interval {@code [-max|y|, max|y|]} (so the top plane is the sign);
 * the correctives restore {@code y ~ lower + step * q}.
 *
 * <p>With rotation {@code pca}, {@code R}'s rows are the principal axes of the segment's centred
 * vectors (a deterministic sample of at most 4,096, at most 512 above 512 dims), most variance
 * first, learned at every flush and merge; nested levels are then prefixes of the rotated
 * coordinates. Floats stay unrotated. From version 1, {@code R} has {@code r} rows, at most the
 * sample's size, and above 512 dims at most {@code max(2^19 / dims, nested[0])} and 512 (128 at
 * 4,096 dims; see {@code PcaRotation}): coordinates {@code r .. dims - 1} of {@code y}
 * are 0 for documents and queries alike. Their codes are constant across documents, so that they
 * add the same amount to every document's score: sign bit 0; with {@code b > 1} bits the document's
 * {@code q} alternates {@code 2^(b-1) - 1} and {@code 2^(b-1)} (coordinate {@code r} first), whose
 * values average exactly 0, and its interval is taken over the first {@code r} coordinates only.
 * Up to 512 dims, and above for a segment no larger than its row bound plus one (129 documents at
 * 4,096 dims), every centred document lies in the span of the axes, so nothing is lost; otherwise
 * above 512 dims the remainder past the {@code r} leading axes is not coded (a first stage reads
 * the first nested level, which {@code r} covers whenever the segment has more vectors than that
 * level has dims, and the exact float stage scores every survivor on all dims).
 *
 * <p>The segment keeps everything it needs to be read: the public no-arg instance (the one
 * Lucene's SPI loads by {@link #NAME}) reads every variant this format wrote.
 */
public final class MatryoshkaVectorsFormat extends KnnVectorsFormat {
  /** SPI name, recorded per field in every segment: never change it. */
  public static final String NAME = "MatryoshkaBinaryVectors";

  public static final String META_CODEC_NAME = "MatryoshkaCodesMeta";
  public static final String DATA_CODEC_NAME = "MatryoshkaCodesData";
  /** Extensions Elasticsearch already knows (binarized vector metadata and data). */
  public static final String META_EXTENSION = "vemb";

  public static final String DATA_EXTENSION = "veb";
  /**
   * The first version. From here on, every change to either file's layout bumps {@link
   * #VERSION_CURRENT} and keeps every older version readable; {@code BackwardsCompatibilityTests}
   * reads a committed index of each version.
   */
  public static final int VERSION_START = 0;

  /**
   * Version 1 (both changes in one version: neither was released apart). The rotation has {@code
   * r <= min(count, dims)} rows, recorded in {@code .vemb}, instead of {@code dims}: its size
   * follows the segment's sample ({@code PcaRotation}). Multi-bit fields add the survivor block,
   * its offset recorded in {@code .vemb}.
   */
  public static final int VERSION_BOUNDED_ROTATION = 1;

  /** The version that adds the survivor block: the same as {@link #VERSION_BOUNDED_ROTATION}. */
  public static final int VERSION_SURVIVOR_BLOCK = VERSION_BOUNDED_ROTATION;

  /**
   * Version 2: one-bit fields have the survivor block too (entries without correctives), so that
   * their survivor stage reads one 48-byte entry per survivor at 384 dims instead of one word or
   * three from each of the L level blocks; on 60,594 real 384-d vectors that stage (3,000
   * survivors, 4 levels) took 0.5-0.75 times as long (src/bench/funnel-defaults.md).
   */
  public static final int VERSION_ONE_BIT_SURVIVOR_BLOCK = 2;

  public static final int VERSION_CURRENT = VERSION_ONE_BIT_SURVIVOR_BLOCK;

  /** Whether a segment of {@code version} stores a survivor block for a field of {@code bits}. */
  public static boolean hasSurvivorBlock(int version, int bits) {
    return version >= VERSION_ONE_BIT_SURVIVOR_BLOCK || (version >= VERSION_SURVIVOR_BLOCK && bits > 1);
  }

  /** Same limit as Elasticsearch's dense_vector. */
  public static final int MAX_DIMS = CodeLayout.MAX_DIMS;

  /** Level blocks start at this alignment so scans start on a cache line. */
  static final int BLOCK_ALIGNMENT = 64;

  private final int[] nestedDims;
  private final int bits;
  private final Rotation rotation;
  private final FlatVectorsFormat floatsFormat =
      new Lucene99FlatVectorsFormat(FlatVectorScorerUtil.getLucene99FlatVectorsScorer());

  /** The SPI instance: one level (the whole vector), 1 bit, no rotation when writing. */
  public MatryoshkaVectorsFormat() {
    this(null, 1, Rotation.NONE);
  }

  /**
   * @param nestedDims ascending prefix lengths to store codes for, the last equal to the field's
   *     dims; {@code null} for one level of the whole vector
   * @param bits bits per dimension: 1, 2 or 4
   */
  public MatryoshkaVectorsFormat(int[] nestedDims, int bits, Rotation rotation) {
    super(NAME);
    CodeLayout.checkBits(bits);
    if (nestedDims != null) {
      CodeLayout.checkNestedDims(nestedDims, nestedDims.length == 0 ? 0 : nestedDims[nestedDims.length - 1]);
    }
    this.nestedDims = nestedDims == null ? null : nestedDims.clone();
    this.bits = bits;
    this.rotation = rotation == null ? Rotation.NONE : rotation;
  }

  /** The nested levels this instance writes for a field of {@code dims} dimensions. */
  int[] nestedDimsFor(int dims) {
    if (nestedDims == null) {
      return new int[] {dims};
    }
    CodeLayout.checkNestedDims(nestedDims, dims);
    return nestedDims.clone();
  }

  int bits() {
    return bits;
  }

  Rotation rotation() {
    return rotation;
  }

  @Override
  public KnnVectorsWriter fieldsWriter(SegmentWriteState state) throws IOException {
    return new MatryoshkaVectorsWriter(state, this, floatsFormat.fieldsWriter(state));
  }

  @Override
  public KnnVectorsReader fieldsReader(SegmentReadState state) throws IOException {
    return new MatryoshkaVectorsReader(state, floatsFormat.fieldsReader(state));
  }

  @Override
  public int getMaxDimensions(String fieldName) {
    return MAX_DIMS;
  }

  @Override
  public String toString() {
    return NAME
        + "(nestedDims="
        + (nestedDims == null ? "[dims]" : Arrays.toString(nestedDims))
        + ", bits="
        + bits
        + ", rotation="
        + rotation
        + ", floats="
        + floatsFormat
        + ")";
  }
}
