package io.matryoshka.codec;

import io.matryoshka.search.FunnelSearchStrategy;

import static io.matryoshka.codec.MatryoshkaCodeLayoutTests.ID;
import static io.matryoshka.codec.MatryoshkaCodeLayoutTests.addDoc;
import static io.matryoshka.codec.MatryoshkaCodeLayoutTests.assertCodes;
import static io.matryoshka.codec.MatryoshkaCodeLayoutTests.codec;
import static io.matryoshka.codec.MatryoshkaCodeLayoutTests.config;
import static io.matryoshka.codec.MatryoshkaCodeLayoutTests.mergingPolicy;
import static io.matryoshka.codec.MatryoshkaCodeLayoutTests.randomVector;

import io.matryoshka.codec.CodeFiles.FieldMeta;
import io.matryoshka.search.MatryoshkaKnnQuery;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import io.matryoshka.quantization.Rotation;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.index.CheckIndex;
import org.apache.lucene.index.CodecReader;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FilterMergePolicy;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.IndexFormatTooNewException;
import org.apache.lucene.index.IndexFormatTooOldException;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.IndexOutput;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;
import org.apache.lucene.util.IOSupplier;
import org.elasticsearch.common.logging.LogConfigurator;

/**
 * The format under damage and at the edges: a flipped byte or a truncation in each of its files,
 * 4096 dims, segments where the field has no vectors, fully deleted segments, and reopening.
 */
@LuceneTestCase.SuppressSysoutChecks(bugUrl = "Elasticsearch formats log a native-access warning")
public class MatryoshkaFormatRobustnessTests extends LuceneTestCase {
  static {
    LogConfigurator.configureESLogging();
  }

  private static final int[] NESTED = {8, 64, 100};

  // ---------------------------------------------------------------- corruption

  /**
   * One committed segment in a plain in-memory directory, no compound file; without rotation or,
   * at random, with pca (its rotation block the last of {@code .veb}).
   */
  private Directory corruptibleIndex(int bits) throws IOException {
    return corruptibleIndex(bits, random().nextBoolean() ? Rotation.PCA : Rotation.NONE, 200);
  }

  private Directory corruptibleIndex(int bits, Rotation rotation, int docs) throws IOException {
    Directory dir = new ByteBuffersDirectory();
    Codec codec = TestUtil.alwaysKnnVectorsFormat(new MatryoshkaVectorsFormat(NESTED, bits, rotation));
    try (IndexWriter writer = new IndexWriter(dir, config(codec))) {
      for (int id = 0; id < docs; id++) {
        addDoc(writer, id, randomVector(100, 0.5f), VectorSimilarityFunction.EUCLIDEAN, null, null);
      }
      writer.commit();
    }
    return dir;
  }

  private static String fileEndingWith(Directory dir, String extension) throws IOException {
    List<String> found = new ArrayList<>();
    for (String name : dir.listAll()) {
      if (name.endsWith("." + extension)) {
        found.add(name);
      }
    }
    assertEquals("files ending with ." + extension + ": " + found, 1, found.size());
    return found.get(0);
  }

  /** A copy of {@code dir} where {@code victim} is changed by {@code damage}. */
  private static Directory copyWith(Directory dir, String victim, java.util.function.UnaryOperator<byte[]> damage)
      throws IOException {
    Directory copy = new ByteBuffersDirectory();
    for (String name : dir.listAll()) {
      byte[] bytes;
      try (IndexInput in = dir.openInput(name, IOContext.DEFAULT)) {
        bytes = new byte[Math.toIntExact(in.length())];
        in.readBytes(bytes, 0, bytes.length);
      }
      if (name.equals(victim)) {
        bytes = damage.apply(bytes);
      }
      try (IndexOutput out = copy.createOutput(name, IOContext.DEFAULT)) {
        out.writeBytes(bytes, bytes.length);
      }
    }
    return copy;
  }

  private static java.util.function.UnaryOperator<byte[]> flipByteAt(int position) {
    return bytes -> {
      byte[] copy = bytes.clone();
      copy[position] ^= (byte) (1 + random().nextInt(255));
      return copy;
    };
  }

  private static java.util.function.UnaryOperator<byte[]> truncateTo(int length) {
    return bytes -> Arrays.copyOf(bytes, length);
  }

  private static long fileLength(Directory dir, String name) throws IOException {
    return dir.fileLength(name);
  }

  /** Checksums of every file of every segment, as merges and CheckIndex run them. */
  private static void checkIntegrity(DirectoryReader reader) throws IOException {
    for (LeafReaderContext ctx : reader.leaves()) {
      ((CodecReader) ctx.reader()).checkIntegrity();
    }
  }

  private static boolean checkIndexClean(Directory dir) throws IOException {
    try (CheckIndex checker = new CheckIndex(dir)) {
      checker.setInfoStream(null);
      return checker.checkIndex().clean;
    }
  }

  /**
   * The format's own files, metadata and codes, are checksummed in full when a segment is opened
   * (codes are a few bytes per document): a damaged code can never rank documents silently.
   */
  public void testCorruptMetadataOrCodesFailOnOpen() throws IOException {
    try (Directory dir = corruptibleIndex(1 << random().nextInt(3))) {
      for (String extension : new String[] {"vemf", "vemb", "veb"}) {
        String victim = fileEndingWith(dir, extension);
        int middle = (int) (fileLength(dir, victim) / 2);
        try (Directory damaged = copyWith(dir, victim, flipByteAt(middle))) {
          CorruptIndexException e =
              expectThrows(CorruptIndexException.class, () -> DirectoryReader.open(damaged).close());
          if (extension.equals("veb")) {
            assertTrue(e.getMessage(), e.getMessage().contains("checksum failed"));
          }
          assertFalse(checkIndexClean(damaged));
        }
      }
    }
  }

  /**
   * The floats are Lucene's flat vector storage, too large to checksum on every open: as in
   * Lucene's own formats, their header, footer and length are checked then, their checksum by
   * {@code checkIntegrity} (merges, CheckIndex, Elasticsearch's recoveries and snapshots).
   */
  public void testCorruptFloatsFailIntegrityCheck() throws IOException {
    try (Directory dir = corruptibleIndex(1 << random().nextInt(3))) {
      String victim = fileEndingWith(dir, "vec");
      int middle = (int) (fileLength(dir, victim) / 2);
      try (Directory damaged = copyWith(dir, victim, flipByteAt(middle));
          DirectoryReader reader = DirectoryReader.open(damaged)) {
        CorruptIndexException e = expectThrows(CorruptIndexException.class, () -> checkIntegrity(reader));
        assertTrue(e.getMessage(), e.getMessage().contains("checksum failed"));
        assertFalse(checkIndexClean(damaged));
      }
    }
  }

  /** A truncated file of any of the four is caught when the segment is opened. */
  public void testTruncatedFilesFailOnOpen() throws IOException {
    try (Directory dir = corruptibleIndex(1 << random().nextInt(3))) {
      for (String extension : new String[] {"vec", "vemf", "veb", "vemb"}) {
        String victim = fileEndingWith(dir, extension);
        int length = (int) fileLength(dir, victim);
        for (int newLength : new int[] {length - 1, length / 2, length - 17}) {
          try (Directory damaged = copyWith(dir, victim, truncateTo(newLength))) {
            // the footer is checked on open: a misplaced or mismatching footer
            expectThrows(CorruptIndexException.class, () -> DirectoryReader.open(damaged).close());
            assertFalse(checkIndexClean(damaged));
          }
        }
      }
    }
  }

  /**
   * Bit flips anywhere in the format's two files are detected: opening fails (header, metadata) or
   * the checksum does. What each position may do is not pinned, only that it is detected.
   */
  public void testRandomBitFlipsAreDetected() throws IOException {
    try (Directory dir = corruptibleIndex(1 << random().nextInt(3))) {
      for (String extension : new String[] {"veb", "vemb"}) {
        String victim = fileEndingWith(dir, extension);
        int length = (int) fileLength(dir, victim);
        for (int i = 0; i < 20; i++) {
          int position = random().nextInt(length);
          try (Directory damaged = copyWith(dir, victim, flipByteAt(position))) {
            Exception e =
                expectThrows(
                    Exception.class,
                    () -> {
                      try (DirectoryReader reader = DirectoryReader.open(damaged)) {
                        checkIntegrity(reader);
                      }
                    });
            assertTrue(
                extension + " byte " + position + " of " + length + ": " + e,
                e instanceof CorruptIndexException
                    || e instanceof EOFException
                    || e instanceof IndexFormatTooNewException
                    || e instanceof IndexFormatTooOldException);
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- the rotation block

  /** The bytes of a {@code .veb} or {@code .vemb} before its footer, with a fresh valid footer. */
  private static java.util.function.UnaryOperator<byte[]> rewriteBody(java.util.function.UnaryOperator<byte[]> body) {
    return bytes -> {
      byte[] newBody = body.apply(Arrays.copyOf(bytes, bytes.length - CodecUtil.footerLength()));
      try (ByteBuffersDirectory scratch = new ByteBuffersDirectory()) {
        try (IndexOutput out = scratch.createOutput("f", IOContext.DEFAULT)) {
          out.writeBytes(newBody, newBody.length);
          CodecUtil.writeFooter(out);
        }
        try (IndexInput in = scratch.openInput("f", IOContext.DEFAULT)) {
          byte[] rewritten = new byte[Math.toIntExact(in.length())];
          in.readBytes(rewritten, 0, rewritten.length);
          return rewritten;
        }
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    };
  }

  /**
   * A {@code .vemb} body of one field whose entry ends with {@code vlong rotation offset, vint
   * rotation rows, vlong survivor offset} (the documented layout, version 1+), given new values
   * for the three.
   */
  private static java.util.function.UnaryOperator<byte[]> withTail(FieldMeta meta, long rotationOffset, int rows, long survivorOffset) {
    return body -> {
      int tail =
          vLongLength(meta.rotationOffset()) + vLongLength(meta.rotationRows()) + vLongLength(meta.survivorOffset()) + Integer.BYTES;
      org.apache.lucene.store.ByteBuffersDataOutput out = new org.apache.lucene.store.ByteBuffersDataOutput();
      out.writeBytes(body, 0, body.length - tail);
      try {
        out.writeVLong(rotationOffset);
        out.writeVInt(rows);
        out.writeVLong(survivorOffset);
        out.writeInt(-1);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return out.toArrayCopy();
    };
  }

  private static java.util.function.UnaryOperator<byte[]> withRotation(FieldMeta meta, long offset, int rows) {
    return withTail(meta, offset, rows, meta.survivorOffset());
  }

  private static int vLongLength(long value) {
    int length = 1;
    while ((value & ~0x7FL) != 0) {
      value >>>= 7;
      length++;
    }
    return length;
  }

  private static FieldMeta onlyFieldMeta(Directory dir) throws IOException {
    try (DirectoryReader reader = DirectoryReader.open(dir)) {
      List<FieldMeta> fields = CodeFiles.readMeta(dir, CodeFiles.segmentReader(reader.leaves().get(0).reader()));
      assertEquals(1, fields.size());
      return fields.get(0);
    }
  }

  /**
   * A rotation block that does not fit the data file (cut short, rows past it, an offset past it)
   * or a row count out of range, each with valid checksums, fails to open: never a rotation read
   * short or from the wrong bytes.
   */
  public void testRotationBlockOutOfRangeFailsOnOpen() throws IOException {
    int docs = 2 + random().nextInt(60); // fewer than the 100 dims: the rotation has docs - 1 rows
    try (Directory dir = corruptibleIndex(1 << random().nextInt(3), Rotation.PCA, docs)) {
      FieldMeta meta = onlyFieldMeta(dir);
      assertEquals(1, meta.rotationId());
      assertEquals(docs - 1, meta.rotationRows());
      String veb = fileEndingWith(dir, "veb");
      String vemb = fileEndingWith(dir, "vemb");
      long rotationEnd = meta.rotationOffset() + (long) meta.rotationRows() * meta.dims() * Float.BYTES;
      assertEquals("the rotation is the last block", fileLength(dir, veb) - CodecUtil.footerLength(), rotationEnd);
      try (DirectoryReader reader = DirectoryReader.open(dir)) {
        FieldCodes codes = CodeFiles.formatReader(CodeFiles.segmentReader(reader.leaves().get(0).reader()), "v").fieldCodes("v");
        assertEquals(docs - 1, codes.rotationRows());
        assertEquals((long) (docs - 1) * 100 * Float.BYTES, codes.rotationBytes());
      }
      int cut = 1 + random().nextInt(Math.max(1, meta.rotationRows() * meta.dims() * Float.BYTES));
      List<Directory> damaged = new ArrayList<>();
      damaged.add(copyWith(dir, veb, rewriteBody(body -> Arrays.copyOf(body, body.length - cut))));
      damaged.add(copyWith(dir, vemb, rewriteBody(withRotation(meta, meta.rotationOffset(), meta.rotationRows() + 1))));
      damaged.add(copyWith(dir, vemb, rewriteBody(withRotation(meta, meta.rotationOffset(), docs + 1))));
      // one row ending a byte past the data, and an empty block starting past it
      damaged.add(copyWith(dir, vemb, rewriteBody(withRotation(meta, rotationEnd - (long) meta.dims() * Float.BYTES + 1, 1))));
      damaged.add(copyWith(dir, vemb, rewriteBody(withRotation(meta, fileLength(dir, veb), 0))));
      for (int i = 0; i < damaged.size(); i++) {
        try (Directory copy = damaged.get(i)) {
          CorruptIndexException e =
              expectThrows(CorruptIndexException.class, () -> DirectoryReader.open(copy).close());
          assertTrue(
              e.getMessage(),
              e.getMessage().contains("lies outside the data file") || e.getMessage().contains("invalid number of rotation rows"));
          assertFalse(checkIndexClean(copy));
        }
      }
    }
  }

  /**
   * A survivor block that does not fit the data file (an entry past its end, an offset past it),
   * with valid checksums, fails to open, for one bit as for several: never survivors scored from
   * the wrong bytes. The untouched tail rewritten opens as before.
   */
  public void testSurvivorBlockOutOfRangeFailsOnOpen() throws IOException {
    int bits = 1 << random().nextInt(3);
    try (Directory dir = corruptibleIndex(bits, Rotation.NONE, 200)) {
      FieldMeta meta = onlyFieldMeta(dir);
      String veb = fileEndingWith(dir, "veb");
      String vemb = fileEndingWith(dir, "vemb");
      long blockBytes;
      try (DirectoryReader reader = DirectoryReader.open(dir)) {
        FieldCodes codes = CodeFiles.formatReader(CodeFiles.segmentReader(reader.leaves().get(0).reader()), "v").fieldCodes("v");
        assertTrue(codes.hasSurvivorEntries());
        blockBytes = 200L * codes.layout().survivorBytesPerDoc();
      }
      long dataEnd = fileLength(dir, veb) - CodecUtil.footerLength();
      try (Directory same = copyWith(dir, vemb, rewriteBody(withTail(meta, meta.rotationOffset(), meta.rotationRows(), meta.survivorOffset())));
          DirectoryReader reader = DirectoryReader.open(same)) {
        assertEquals(200, reader.maxDoc());
      }
      for (long offset : new long[] {dataEnd - blockBytes + 1, fileLength(dir, veb)}) {
        try (Directory copy = copyWith(dir, vemb, rewriteBody(withTail(meta, meta.rotationOffset(), meta.rotationRows(), offset)))) {
          CorruptIndexException e = expectThrows(CorruptIndexException.class, () -> DirectoryReader.open(copy).close());
          assertTrue(e.getMessage(), e.getMessage().contains("lies outside the data file"));
          assertFalse(checkIndexClean(copy));
        }
      }
    }
  }

  // ---------------------------------------------------------------- 4096 dims

  public void testMaxDims() throws IOException {
    int dims = MatryoshkaVectorsFormat.MAX_DIMS;
    int[] nested = {256, 1024, dims};
    int bits = 1 << random().nextInt(3);
    VectorSimilarityFunction sim = randomSimilarity();
    int numDocs = 60;
    float[][] v = new float[numDocs][];
    try (Directory dir = newDirectory()) {
      List<ScoreDoc[]> before = new ArrayList<>();
      float[][] queries = new float[3][];
      for (int i = 0; i < queries.length; i++) {
        queries[i] = randomVector(dims, 0.2f);
      }
      try (IndexWriter writer = new IndexWriter(dir, config(codec(nested, bits)))) {
        for (int id = 0; id < numDocs; id++) {
          v[id] = randomVector(dims, 0.2f);
          addDoc(writer, id, v[id], sim, null, null);
          if (id == numDocs / 2) {
            writer.commit();
          }
        }
        writer.commit();
        try (DirectoryReader reader = DirectoryReader.open(writer)) {
          assertEquals(2, reader.leaves().size());
          for (float[] query : queries) {
            before.add(assertSearchIsExact(reader, "v", query, 5, v, sim));
          }
        }
      }
      try (DirectoryReader reader = DirectoryReader.open(dir)) {
        for (LeafReaderContext ctx : reader.leaves()) {
          assertCodes(dir, ctx.reader(), "v", v, sim, nested, bits);
        }
        checkIntegrity(reader);
        for (int i = 0; i < queries.length; i++) {
          assertSameHits(before.get(i), assertSearchIsExact(reader, "v", queries[i], 5, v, sim));
        }
      }
    }
  }

  // ---------------------------------------------------------------- field without vectors

  /** A segment where no document has the field, next to one where some do. */
  public void testSegmentWithoutTheField() throws IOException {
    VectorSimilarityFunction sim = randomSimilarity();
    float[][] v = new float[120][];
    try (Directory dir = newDirectory()) {
      try (IndexWriter writer = new IndexWriter(dir, config(codec(NESTED, 1 << random().nextInt(3))))) {
        for (int id = 0; id < 60; id++) {
          addDoc(writer, id, null, sim, null, null);
        }
        writer.commit();
        for (int id = 60; id < 120; id++) {
          v[id] = random().nextBoolean() ? randomVector(100, 0.5f) : null;
          addDoc(writer, id, v[id], sim, null, null);
        }
        writer.commit();
      }
      try (DirectoryReader reader = DirectoryReader.open(dir)) {
        assertEquals(2, reader.leaves().size());
        LeafReader empty = reader.leaves().get(0).reader();
        assertNull(empty.getFieldInfos().fieldInfo("v"));
        assertNull(empty.getFloatVectorValues("v"));
        // no vectors field in the segment: the format wrote no files for it
        for (String file : CodeFiles.segmentReader(empty).getSegmentInfo().files()) {
          assertFalse(file, file.endsWith(".vemb") || file.endsWith(".veb") || file.endsWith(".vec"));
        }
        checkIntegrity(reader);
        assertSearchIsExact(reader, "v", randomVector(100, 0.5f), 7, v, sim);
        assertSearchIsExact(reader, "v", randomVector(100, 0.5f), 500, v, sim);
      }
    }
  }

  /**
   * A merged segment whose field has no vector left (every document with one deleted): the .vemb
   * entry has count 0 and nothing else; search finds nothing.
   */
  public void testFieldWithNoVectorsAfterMerge() throws IOException {
    VectorSimilarityFunction sim = randomSimilarity();
    float[][] v = new float[80][];
    try (Directory dir = newDirectory()) {
      IndexWriterConfig iwc = config(codec(NESTED, 1 << random().nextInt(3)));
      iwc.setMergePolicy(mergingPolicy());
      try (IndexWriter writer = new IndexWriter(dir, iwc)) {
        // segment 1: 40 documents with vectors and 5 without; segment 2: none with vectors
        for (int id = 0; id < 80; id++) {
          v[id] = id < 40 ? randomVector(100, 0.5f) : null;
          addDoc(writer, id, v[id], sim, null, null);
          if (id == 44) {
            writer.commit();
          }
        }
        writer.commit();
        for (int id = 0; id < 40; id++) {
          writer.deleteDocuments(new Term("idterm", Integer.toString(id)));
        }
        writer.forceMerge(1);
        writer.commit();
      }
      try (DirectoryReader reader = DirectoryReader.open(dir)) {
        assertEquals(1, reader.leaves().size());
        LeafReader leaf = reader.leaves().get(0).reader();
        assertEquals(40, leaf.numDocs());
        assertNotNull(leaf.getFieldInfos().fieldInfo("v"));
        FieldMeta meta = CodeFiles.fieldMeta(dir, CodeFiles.segmentReader(leaf), "v");
        assertEquals(0, meta.count());
        assertNull(meta.centroid());
        FloatVectorValues values = leaf.getFloatVectorValues("v");
        assertTrue(values == null || values.size() == 0);
        FieldCodes codes = CodeFiles.formatReader(CodeFiles.segmentReader(leaf), "v").fieldCodes("v");
        assertEquals(0, codes.count());
        assertEquals(0, codes.totalBytes());
        checkIntegrity(reader);
        assertTrue(checkIndexClean(dir));
        IndexSearcher searcher = new IndexSearcher(reader);
        assertEquals(0, searcher.search(query("v", randomVector(100, 0.5f), 10, null, false), 10).scoreDocs.length);
        assertEquals(0, searcher.search(query("v", randomVector(100, 0.5f), 10, null, true), 10).scoreDocs.length);
      }
    }
  }

  // ---------------------------------------------------------------- fully deleted segment

  public void testFullyDeletedSegment() throws IOException {
    VectorSimilarityFunction sim = randomSimilarity();
    int[] nested = {8, 64, 100};
    int bits = 1 << random().nextInt(3);
    float[][] v = new float[150][];
    float[][] live = new float[150][];
    try (Directory dir = newDirectory()) {
      IndexWriterConfig iwc = config(codec(nested, bits));
      iwc.setMergePolicy(
          new FilterMergePolicy(NoMergePolicy.INSTANCE) {
            @Override
            public boolean keepFullyDeletedSegment(IOSupplier<org.apache.lucene.index.CodecReader> reader) {
              return true;
            }
          });
      try (IndexWriter writer = new IndexWriter(dir, iwc)) {
        for (int id = 0; id < 150; id++) {
          v[id] = randomVector(100, id < 75 ? 1f : -1f);
          addDoc(writer, id, v[id], sim, null, null);
          if (id == 74) {
            writer.commit();
          }
        }
        writer.commit();
        for (int id = 0; id < 75; id++) {
          writer.deleteDocuments(new Term("idterm", Integer.toString(id)));
        }
        for (int id = 75; id < 150; id++) {
          live[id] = v[id];
        }
        writer.commit();
        try (DirectoryReader reader = DirectoryReader.open(writer)) {
          assertEquals(2, reader.leaves().size());
          assertEquals(0, reader.leaves().get(0).reader().numDocs());
          for (int i = 0; i < 3; i++) {
            float[] q = randomVector(100, 1f); // close to the deleted documents
            assertSearchIsExact(reader, "v", q, 10, live, sim);
            assertSearchIsExact(reader, "v", q, 200, live, sim);
            // filtered to deleted documents only: nothing
            IndexSearcher searcher = new IndexSearcher(reader);
            Query onlyDeleted = new TermQuery(new Term("idterm", "3"));
            assertEquals(0, searcher.search(query("v", q, 10, onlyDeleted, false), 10).scoreDocs.length);
          }
        }
        writer.getConfig().setMergePolicy(mergingPolicy());
        writer.forceMerge(1);
        writer.commit();
        try (DirectoryReader reader = DirectoryReader.open(writer)) {
          assertEquals(1, reader.leaves().size());
          assertEquals(75, reader.numDocs());
          assertCodes(dir, reader.leaves().get(0).reader(), "v", live, sim, nested, bits);
          assertSearchIsExact(reader, "v", randomVector(100, 1f), 10, live, sim);
        }
      }
    }
  }

  // ---------------------------------------------------------------- reopen

  /** After closing the writer, a new reader sees the same floats, codes and search results. */
  public void testReopenReadsIdenticalVectorsAndCodes() throws IOException {
    int[] nested = {64, 128, 256, 384};
    int bits = 1 << random().nextInt(3);
    VectorSimilarityFunction sim = randomSimilarity();
    float[][] v = new float[200][];
    float[] q = randomVector(384, 0.3f);
    try (Directory dir = newDirectory()) {
      List<float[][]> vectorsBefore = new ArrayList<>();
      List<byte[]> codesBefore = new ArrayList<>();
      List<FieldMeta> metaBefore = new ArrayList<>();
      ScoreDoc[] hitsBefore;
      try (IndexWriter writer = new IndexWriter(dir, config(codec(nested, bits)))) {
        for (int id = 0; id < 200; id++) {
          v[id] = random().nextInt(10) == 0 ? null : randomVector(384, 0.3f);
          addDoc(writer, id, v[id], sim, null, null);
          if (id == 99) {
            writer.flush();
          }
        }
        try (DirectoryReader reader = DirectoryReader.open(writer)) {
          assertEquals(2, reader.leaves().size());
          for (LeafReaderContext ctx : reader.leaves()) {
            vectorsBefore.add(allVectors(ctx.reader()));
            SegmentReader segment = CodeFiles.segmentReader(ctx.reader());
            codesBefore.add(CodeFiles.allDataBytes(dir, segment));
            FieldMeta meta = assertCodes(dir, ctx.reader(), "v", v, sim, nested, bits);
            assertReaderAgrees(segment, meta);
            metaBefore.add(meta);
          }
          hitsBefore = assertSearchIsExact(reader, "v", q, 10, v, sim);
        }
      }
      try (DirectoryReader reader = DirectoryReader.open(dir)) {
        assertEquals(2, reader.leaves().size());
        for (int i = 0; i < 2; i++) {
          LeafReader leaf = reader.leaves().get(i).reader();
          assertArrayEquals(vectorsBefore.get(i), allVectors(leaf));
          SegmentReader segment = CodeFiles.segmentReader(leaf);
          assertArrayEquals(codesBefore.get(i), CodeFiles.allDataBytes(dir, segment));
          FieldMeta meta = CodeFiles.fieldMeta(dir, segment, "v");
          assertArrayEquals(metaBefore.get(i).centroid(), meta.centroid(), 0f);
          assertArrayEquals(metaBefore.get(i).levelOffsets(), meta.levelOffsets());
          assertReaderAgrees(segment, meta);
        }
        assertSameHits(hitsBefore, assertSearchIsExact(reader, "v", q, 10, v, sim));
      }
    }
  }

  /** The reader's view of a field's codes matches the documented metadata. */
  private static void assertReaderAgrees(SegmentReader segment, FieldMeta meta) {
    FieldCodes codes = CodeFiles.formatReader(segment, "v").fieldCodes("v");
    assertEquals(meta.count(), codes.count());
    assertEquals(meta.similarity(), codes.similarity());
    assertArrayEquals(meta.nestedDims(), codes.layout().nestedDims());
    assertEquals(meta.bits(), codes.layout().bits());
    assertArrayEquals(meta.centroid(), codes.centroid(), 0f);
    for (int level = 0; level < meta.nestedDims().length; level++) {
      assertEquals(meta.levelOffsets()[level], codes.levelOffset(level));
    }
    assertEquals(meta.correctivesOffset(), codes.correctivesOffset());
  }

  private static float[][] allVectors(LeafReader leaf) throws IOException {
    FloatVectorValues values = leaf.getFloatVectorValues("v");
    float[][] all = new float[values.size()][];
    for (int ord = 0; ord < all.length; ord++) {
      all[ord] = values.vectorValue(ord).clone();
    }
    return all;
  }

  // ---------------------------------------------------------------- helpers

  private static VectorSimilarityFunction randomSimilarity() {
    // DOT_PRODUCT needs unit vectors; these tests index unnormalised ones
    VectorSimilarityFunction[] sims = {
      VectorSimilarityFunction.COSINE, VectorSimilarityFunction.EUCLIDEAN, VectorSimilarityFunction.MAXIMUM_INNER_PRODUCT
    };
    return sims[random().nextInt(sims.length)];
  }

  private static MatryoshkaKnnQuery query(String field, float[] target, int k, Query filter, boolean exact) {
    return new MatryoshkaKnnQuery(
        field, target, target.length, k, filter, new FunnelSearchStrategy(null, 30f, target.length, exact), Float.NEGATIVE_INFINITY);
  }

  /**
   * Searches with the default funnel (which keeps every document of these small segments) and
   * exactly, and checks both against brute force over the live vectors given by id.
   */
  static ScoreDoc[] assertSearchIsExact(
      DirectoryReader reader, String field, float[] q, int k, float[][] liveById, VectorSimilarityFunction sim)
      throws IOException {
    List<float[]> expected = new ArrayList<>(); // {id, score}
    for (int id = 0; id < liveById.length; id++) {
      if (liveById[id] != null) {
        expected.add(new float[] {id, sim.compare(q, liveById[id])});
      }
    }
    expected.sort(Comparator.comparingDouble((float[] e) -> -e[1]));
    int n = Math.min(k, expected.size());
    IndexSearcher searcher = new IndexSearcher(reader);
    ScoreDoc[] first = null;
    for (boolean exact : new boolean[] {false, true}) {
      TopDocs top = searcher.search(query(field, q, k, null, exact), Math.max(1, k));
      assertEquals("exact=" + exact, n, top.scoreDocs.length);
      for (int i = 0; i < n; i++) {
        ScoreDoc hit = top.scoreDocs[i];
        // 1e-6 relative: unnormalised 4096-dim vectors score in the hundreds, where one float ulp
        // is already 3e-5 and the accumulation order of SIMD dot products may differ by an ulp.
        float want = expected.get(i)[1];
        assertEquals(want, hit.score, 1e-6f * Math.max(1f, Math.abs(want)));
        assertEquals("hit " + i + " exact=" + exact, (int) expected.get(i)[0], idOf(reader, hit.doc));
      }
      first = first == null ? top.scoreDocs : first;
    }
    return first;
  }

  static int idOf(DirectoryReader reader, int doc) throws IOException {
    List<LeafReaderContext> leaves = reader.leaves();
    LeafReaderContext ctx = leaves.get(org.apache.lucene.index.ReaderUtil.subIndex(doc, leaves));
    NumericDocValues ids = ctx.reader().getNumericDocValues(ID);
    assertTrue(ids.advanceExact(doc - ctx.docBase));
    return (int) ids.longValue();
  }

  private static void assertSameHits(ScoreDoc[] a, ScoreDoc[] b) {
    assertEquals(a.length, b.length);
    for (int i = 0; i < a.length; i++) {
      assertEquals(a[i].doc, b[i].doc);
      // Same documents; scores to 1e-6 relative: Lucene's SIMD dot product may sum lanes in another
      // order once the JIT has compiled it, which moves the last bit.
      assertEquals(a[i].score, b[i].score, 1e-6f * Math.max(1f, Math.abs(a[i].score)));
    }
  }
}
