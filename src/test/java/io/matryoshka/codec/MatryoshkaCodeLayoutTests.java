package io.matryoshka.codec;

import io.matryoshka.quantization.Binarizer;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.quantization.Rotation;

import io.matryoshka.codec.CodeFiles.FieldMeta;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.LogDocMergePolicy;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.elasticsearch.common.logging.LogConfigurator;

/**
 * Where the codes of each document lie in {@code .veb}, checked against the layout documented on
 * {@link MatryoshkaVectorsFormat} by parsing the files directly: per nested level and bit plane, the
 * bytes of ord {@code i} are the bits {@link Binarizer} computes for the vector of the document at
 * that ord (and plane 0 is independently the sign of {@code x - centroid}); centroids are the mean
 * of the (normalised) vectors; after flushes with sparse fields and index sorting, and after merges
 * of segments with different centroids.
 */
@LuceneTestCase.SuppressSysoutChecks(bugUrl = "Elasticsearch formats log a native-access warning")
public class MatryoshkaCodeLayoutTests extends LuceneTestCase {
  static {
    LogConfigurator.configureESLogging();
  }

  static final String ID = "id";

  private static final VectorSimilarityFunction[] SIMILARITIES = VectorSimilarityFunction.values();

  static Codec codec(int[] nested, int bits) {
    return TestUtil.alwaysKnnVectorsFormat(new MatryoshkaVectorsFormat(nested, bits, Rotation.NONE));
  }

  /** Gaussian coordinates around a non-zero mean, so that the centroid matters. */
  static float[] randomVector(int dims, float shift) {
    float[] v = new float[dims];
    for (int i = 0; i < dims; i++) {
      v[i] = (float) (random().nextGaussian() + shift + 0.3 * Math.sin(i));
    }
    return v;
  }

  static IndexWriterConfig config(Codec codec) {
    IndexWriterConfig iwc = new IndexWriterConfig();
    iwc.setCodec(codec);
    iwc.setUseCompoundFile(false);
    iwc.setMaxBufferedDocs(100_000);
    iwc.setRAMBufferSizeMB(256);
    iwc.setMergePolicy(NoMergePolicy.INSTANCE);
    return iwc;
  }

  static LogDocMergePolicy mergingPolicy() {
    LogDocMergePolicy mp = new LogDocMergePolicy();
    mp.setNoCFSRatio(0.0);
    mp.setMergeFactor(1000); // merges only when forced
    return mp;
  }

  /** The transformed coordinates computed here, independently of {@link Binarizer}. */
  static float[] centred(float[] vector, float[] centroid, VectorSimilarityFunction similarity) {
    float norm = 1f;
    if (similarity == VectorSimilarityFunction.COSINE) {
      double sum = 0;
      for (float v : vector) {
        sum += (double) v * v;
      }
      norm = (float) Math.sqrt(sum);
    }
    float[] y = new float[vector.length];
    for (int i = 0; i < y.length; i++) {
      y[i] = vector[i] / norm - centroid[i];
    }
    return y;
  }

  /** Mean of the (normalised under cosine) vectors, summed in ord order as documented. */
  static float[] expectedCentroid(List<float[]> vectors, VectorSimilarityFunction similarity) {
    int dims = vectors.get(0).length;
    double[] sums = new double[dims];
    for (float[] v : vectors) {
      double scale = 1;
      if (similarity == VectorSimilarityFunction.COSINE) {
        double norm = 0;
        for (float x : v) {
          norm += (double) x * x;
        }
        scale = 1 / Math.sqrt(norm);
      }
      for (int i = 0; i < dims; i++) {
        sums[i] += v[i] * scale;
      }
    }
    float[] centroid = new float[dims];
    for (int i = 0; i < dims; i++) {
      centroid[i] = (float) (sums[i] / vectors.size());
    }
    return centroid;
  }

  /**
   * Checks one field of one segment: metadata, the reader's floats, the centroid, and every ord's
   * bytes of every level and plane (and its correctives) at the documented offsets.
   *
   * @param vectorsById the vector indexed for each id (null where the document has none)
   * @return the parsed metadata
   */
  static FieldMeta assertCodes(
      Directory dir,
      LeafReader leaf,
      String field,
      float[][] vectorsById,
      VectorSimilarityFunction similarity,
      int[] nested,
      int bits)
      throws IOException {
    SegmentReader segment = CodeFiles.segmentReader(leaf);
    FieldMeta meta = CodeFiles.fieldMeta(dir, segment, field);
    FloatVectorValues values = leaf.getFloatVectorValues(field);
    int dims = nested[nested.length - 1];
    assertEquals(similarity, meta.similarity());
    assertEquals(dims, meta.dims());
    assertEquals(values.size(), meta.count());
    assertArrayEquals(nested, meta.nestedDims());
    assertEquals(bits, meta.bits());
    assertEquals(0, meta.rotationId());
    assertEquals(0, meta.rotationOffset());
    assertEquals(meta.count() > 0 ? 0 : -1, meta.rotationRows());
    int count = meta.count();
    int[] ids = CodeFiles.ordToId(leaf, field, ID);
    List<float[]> inOrdOrder = new ArrayList<>();
    for (int ord = 0; ord < count; ord++) {
      float[] indexed = vectorsById[ids[ord]];
      assertNotNull("doc with id " + ids[ord] + " has no vector but ord " + ord, indexed);
      assertArrayEquals(indexed, values.vectorValue(ord), 0f);
      inOrdOrder.add(indexed);
    }
    float[] centroid = expectedCentroid(inOrdOrder, similarity);
    assertArrayEquals(centroid, meta.centroid(), 1e-6f);

    CodeLayout layout = new CodeLayout(dims, nested, bits);
    long previousEnd = 0;
    for (int level = 0; level < nested.length; level++) {
      long offset = meta.levelOffsets()[level];
      assertEquals("level " + level + " block must be 64-byte aligned", 0, offset % 64);
      assertTrue("level blocks must not overlap", offset >= previousEnd);
      previousEnd = offset + (long) count * layout.bytesPerDoc(level);
    }
    if (bits > 1) {
      assertEquals(0, meta.correctivesOffset() % 64);
      assertTrue(meta.correctivesOffset() >= previousEnd);
      previousEnd = meta.correctivesOffset() + 8L * count;
    } else {
      assertEquals(0, meta.correctivesOffset());
    }
    int survivorEntry = layout.survivorBytesPerDoc();
    if (count > 0) {
      // all planes of all levels, then the correctives (multi-bit), per document
      int codeBytes = 0;
      for (int level = 0; level < nested.length; level++) {
        codeBytes += bits * layout.bytesPerPlane(level);
      }
      assertEquals(codeBytes + (bits > 1 ? 8 : 0), survivorEntry);
      if (nested.length == 1 && bits == 1) {
        // one level of one plane is stored document by document already: it is the survivor block
        assertEquals(meta.levelOffsets()[0], meta.survivorOffset());
      } else {
        assertEquals("survivor block must be 64-byte aligned", 0, meta.survivorOffset() % 64);
        assertTrue("blocks must not overlap", meta.survivorOffset() >= previousEnd);
        previousEnd = meta.survivorOffset() + (long) count * survivorEntry;
      }
    } else {
      assertEquals(-1, meta.survivorOffset());
    }
    byte[] data = CodeFiles.allDataBytes(dir, segment);
    assertTrue(previousEnd <= data.length - 16);

    Binarizer binarizer = new Binarizer(layout, similarity, meta.centroid(), null);
    long[][] codes = binarizer.newCodes(bits);
    int top = (1 << bits) - 1;
    for (int ord = 0; ord < count; ord++) {
      float[] vector = inOrdOrder.get(ord);
      float[] correctives = binarizer.quantize(binarizer.transform(vector, true), bits, codes);
      float[] y = centred(vector, meta.centroid(), similarity);
      int[] q = new int[dims];
      for (int level = 0; level < nested.length; level++) {
        int start = layout.levelStart(level);
        int end = layout.levelEnd(level);
        int words = layout.wordsPerPlane(level);
        int planeBytes = words * Long.BYTES;
        for (int plane = 0; plane < bits; plane++) {
          long at = meta.levelOffsets()[level] + ((long) plane * count + ord) * planeBytes;
          byte[] actual = Arrays.copyOfRange(data, (int) at, (int) at + planeBytes);
          String where = "ord " + ord + " level " + level + " plane " + plane;
          assertArrayEquals(where, CodeFiles.littleEndian(codes[level], plane * words, words), actual);
          for (int bit = 0; bit < planeBytes * 8; bit++) {
            int set = (actual[bit >>> 3] >>> (bit & 7)) & 1;
            int d = start + bit;
            if (d >= end) {
              assertEquals(where + ": padding bit " + bit + " must be 0", 0, set);
            } else {
              q[d] |= set << (bits - 1 - plane);
            }
          }
        }
      }
      // independent checks of the quantization: the top plane is the sign, the rest the level
      for (int d = 0; d < dims; d++) {
        int sign = q[d] >>> (bits - 1);
        assertEquals("ord " + ord + " dim " + d + " sign bit, y=" + y[d], y[d] > 0 ? 1 : 0, sign);
      }
      // the survivor entry repeats the document's planes level by level, then its correctives
      long entry = meta.survivorOffset() + (long) ord * survivorEntry;
      int within = 0;
      for (int level = 0; level < nested.length; level++) {
        int words = layout.wordsPerPlane(level);
        byte[] expected = CodeFiles.littleEndian(codes[level], 0, bits * words);
        byte[] actual = Arrays.copyOfRange(data, (int) entry + within, (int) entry + within + expected.length);
        assertArrayEquals("ord " + ord + " level " + level + " survivor entry", expected, actual);
        within += expected.length;
      }
      if (bits > 1) {
        assertEquals(correctives[0], Float.intBitsToFloat(readIntLE(data, (int) entry + within)), 0f);
        assertEquals(correctives[1], Float.intBitsToFloat(readIntLE(data, (int) entry + within + 4)), 0f);
      }
      if (bits > 1) {
        long at = meta.correctivesOffset() + 8L * ord;
        float lower = Float.intBitsToFloat(readIntLE(data, (int) at));
        float step = Float.intBitsToFloat(readIntLE(data, (int) at + 4));
        assertEquals(correctives[0], lower, 0f);
        assertEquals(correctives[1], step, 0f);
        float amplitude = -lower;
        assertEquals(2 * amplitude / top, step, 1e-6f * amplitude);
        for (int d = 0; d < dims; d++) {
          if (Math.abs(y[d]) <= amplitude) {
            float restored = lower + step * q[d];
            assertEquals("ord " + ord + " dim " + d, y[d], restored, step * 0.5f + 1e-5f);
          } else {
            // clipped (2 bits): the extreme level on the right side
            assertEquals(y[d] > 0 ? top : 0, q[d]);
          }
        }
      }
    }
    return meta;
  }

  static int readIntLE(byte[] bytes, int at) {
    return (bytes[at] & 0xFF)
        | (bytes[at + 1] & 0xFF) << 8
        | (bytes[at + 2] & 0xFF) << 16
        | (bytes[at + 3] & 0xFF) << 24;
  }

  /** Adds a document with id {@code id} and, where non-null, vectors for "v" and "w". */
  static void addDoc(IndexWriter w, int id, float[] v, VectorSimilarityFunction vSim, float[] w2, VectorSimilarityFunction wSim)
      throws IOException {
    Document doc = new Document();
    doc.add(new NumericDocValuesField(ID, id));
    doc.add(new StringField("idterm", Integer.toString(id), Field.Store.NO));
    doc.add(new NumericDocValuesField("sort", random().nextInt(1_000_000)));
    if (v != null) {
      doc.add(new KnnFloatVectorField("v", v, vSim));
    }
    if (w2 != null) {
      doc.add(new KnnFloatVectorField("w", w2, wSim));
    }
    w.addDocument(doc);
  }

  private static final int[][] LAYOUTS = {{8, 64, 100}, {64, 128, 256, 384}, {70}, {1, 65, 130}};

  public void testCodesLieWhereMetadataSays() throws IOException {
    for (int[] nested : LAYOUTS) {
      for (int bits : new int[] {1, 2, 4}) {
        checkOneSegment(nested, bits, null);
      }
    }
  }

  public void testCodesInOrdOrderWithIndexSort() throws IOException {
    for (int bits : new int[] {1, 2, 4}) {
      checkOneSegment(new int[] {8, 64, 100}, bits, new Sort(new SortField("sort", SortField.Type.LONG)));
    }
  }

  /** One flushed segment, two sparse fields of different similarities. */
  private void checkOneSegment(int[] nested, int bits, Sort sort) throws IOException {
    int dims = nested[nested.length - 1];
    VectorSimilarityFunction vSim = SIMILARITIES[random().nextInt(SIMILARITIES.length)];
    VectorSimilarityFunction wSim = SIMILARITIES[random().nextInt(SIMILARITIES.length)];
    int numDocs = TestUtil.nextInt(random(), 100, 300);
    float[][] v = new float[numDocs][];
    float[][] w = new float[numDocs][];
    try (Directory dir = newDirectory()) {
      IndexWriterConfig iwc = config(codec(nested, bits));
      if (sort != null) {
        iwc.setIndexSort(sort);
      }
      try (IndexWriter writer = new IndexWriter(dir, iwc)) {
        for (int id = 0; id < numDocs; id++) {
          v[id] = random().nextInt(5) == 0 ? null : randomVector(dims, 0.5f);
          w[id] = random().nextInt(3) == 0 ? null : randomVector(dims, -1f);
          addDoc(writer, id, v[id], vSim, w[id], wSim);
        }
        writer.commit();
      }
      try (DirectoryReader reader = DirectoryReader.open(dir)) {
        assertEquals(1, reader.leaves().size());
        LeafReader leaf = reader.leaves().get(0).reader();
        assertCodes(dir, leaf, "v", v, vSim, nested, bits);
        assertCodes(dir, leaf, "w", w, wSim, nested, bits);
        if (sort != null) {
          int[] ids = CodeFiles.ordToId(leaf, "v", ID);
          assertFalse("the sort must have reordered the documents", isAscending(ids));
        }
      }
    }
  }

  private static boolean isAscending(int[] ids) {
    for (int i = 1; i < ids.length; i++) {
      if (ids[i] < ids[i - 1]) {
        return false;
      }
    }
    return true;
  }

  public void testMergeRecomputesCentroidAndCodes() throws IOException {
    for (int bits : new int[] {1, 2, 4}) {
      checkMerge(new int[] {8, 64, 100}, bits, null);
    }
  }

  public void testMergeWithIndexSort() throws IOException {
    checkMerge(new int[] {64, 128, 256, 384}, 1 << random().nextInt(3), new Sort(new SortField("sort", SortField.Type.LONG)));
  }

  /**
   * Segments from differently shifted distributions (so their centroids differ), some documents
   * deleted: the merged centroid is the mean of the live vectors, the codes are recomputed against it.
   */
  private void checkMerge(int[] nested, int bits, Sort sort) throws IOException {
    int dims = nested[nested.length - 1];
    VectorSimilarityFunction sim = SIMILARITIES[random().nextInt(SIMILARITIES.length)];
    float[] shifts = {2f, -2f, 0.5f};
    int perSegment = TestUtil.nextInt(random(), 60, 150);
    int numDocs = perSegment * shifts.length;
    float[][] v = new float[numDocs][];
    float[][] live = new float[numDocs][];
    try (Directory dir = newDirectory()) {
      IndexWriterConfig iwc = config(codec(nested, bits));
      iwc.setMergePolicy(mergingPolicy());
      if (sort != null) {
        iwc.setIndexSort(sort);
      }
      try (IndexWriter writer = new IndexWriter(dir, iwc)) {
        int id = 0;
        for (float shift : shifts) {
          for (int i = 0; i < perSegment; i++, id++) {
            v[id] = random().nextInt(6) == 0 ? null : randomVector(dims, shift);
            addDoc(writer, id, v[id], sim, null, null);
          }
          writer.commit();
        }
        List<float[]> centroids = new ArrayList<>();
        try (DirectoryReader reader = DirectoryReader.open(writer)) {
          assertEquals(shifts.length, reader.leaves().size());
          for (LeafReaderContext ctx : reader.leaves()) {
            centroids.add(assertCodes(dir, ctx.reader(), "v", v, sim, nested, bits).centroid());
          }
        }
        for (id = 0; id < numDocs; id++) {
          if (random().nextInt(5) == 0) {
            writer.deleteDocuments(new Term("idterm", Integer.toString(id)));
          } else {
            live[id] = v[id];
          }
        }
        writer.forceMerge(1);
        writer.commit();
        try (DirectoryReader reader = DirectoryReader.open(writer)) {
          assertEquals(1, reader.leaves().size());
          LeafReader leaf = reader.leaves().get(0).reader();
          assertNull(leaf.getLiveDocs());
          FieldMeta merged = assertCodes(dir, leaf, "v", live, sim, nested, bits);
          // the merged centroid is not one of the segments' centroids
          for (float[] old : centroids) {
            assertTrue(maxAbsDiff(old, merged.centroid()) > 1e-3f);
          }
          // and codes against the first segment's centroid would differ for some documents
          Binarizer stale = new Binarizer(new CodeLayout(dims, nested, bits), sim, centroids.get(0), null);
          Binarizer fresh = new Binarizer(new CodeLayout(dims, nested, bits), sim, merged.centroid(), null);
          FloatVectorValues values = leaf.getFloatVectorValues("v");
          int differing = 0;
          for (int ord = 0; ord < values.size(); ord++) {
            long[][] a = stale.newCodes(bits);
            long[][] b = fresh.newCodes(bits);
            stale.quantize(stale.transform(values.vectorValue(ord), true), bits, a);
            fresh.quantize(fresh.transform(values.vectorValue(ord), true), bits, b);
            if (Arrays.deepEquals(a, b) == false) {
              differing++;
            }
          }
          assertTrue("test is vacuous: centroids do not change codes", differing > 0);
        }
      }
    }
  }

  static float maxAbsDiff(float[] a, float[] b) {
    float max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }
}
