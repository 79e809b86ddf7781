package io.matryoshka.bench;

import io.matryoshka.codec.CodeFiles;
import io.matryoshka.codec.FieldCodes;
import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.quantization.Binarizer;
import io.matryoshka.quantization.Rotation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene104.Lucene104Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.LogDocMergePolicy;
import org.apache.lucene.index.SerialMergeScheduler;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.IOUtils;

/**
 * Wall time of flushing and merging a {@code rotation: pca} field (default nested levels: halvings
 * of dims down to 32, 1 bit, cosine), and the rotation's bytes per segment: for each dims and
 * document count, two segments of that many synthetic vectors are flushed one after the other
 * (each flush timed alone, on the calling thread), then merged into one (timed, serial merge
 * scheduler). At the end, the time to code one query against the merged segment (rotation read
 * from the mapped file). Numbers go to README, not to timed tests.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -Xmx6g -cp target/test-classes:target/classes:$(cat /tmp/cp.txt) \
 *   io.matryoshka.bench.PcaFlushTimes 384,768,1536,4096 20,1000,10000
 * </pre>
 */
public final class PcaFlushTimes {
  private PcaFlushTimes() {}

  public static void main(String[] args) throws IOException {
    // Elasticsearch's vectors formats share Lucene's SPI on this classpath and need its logging.
    org.elasticsearch.common.logging.LogConfigurator.configureESLogging();
    int[] dimsList = Arrays.stream(args[0].split(",")).mapToInt(Integer::parseInt).toArray();
    int[] counts = Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray();
    // JIT warm-up on a small shape, not reported
    run(256, 500, false);
    System.out.println("| dims | docs per segment | flush 1 s | flush 2 s | merge s | rotation rows x dims | rotation bytes / segment | merged rotation bytes | query coding ms |");
    System.out.println("|---:|---:|---:|---:|---:|---|---:|---:|---:|");
    for (int dims : dimsList) {
      for (int count : counts) {
        run(dims, count, true);
      }
    }
  }

  private static void run(int dims, int count, boolean report) throws IOException {
    int[] nested = defaultNested(dims);
    MatryoshkaVectorsFormat format = new MatryoshkaVectorsFormat(nested, 1, Rotation.PCA);
    Codec codec =
        new Lucene104Codec() {
          @Override
          public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
            return format;
          }
        };
    float[][] vectors = SyntheticVectors.generate(2 * count, dims, 42L + dims + count);
    Path path = Files.createTempDirectory("pca-flush");
    try (Directory dir = FSDirectory.open(path)) {
      LogDocMergePolicy mergePolicy = new LogDocMergePolicy();
      mergePolicy.setMergeFactor(1000);
      IndexWriterConfig config =
          new IndexWriterConfig()
              .setCodec(codec)
              .setRAMBufferSizeMB(4000)
              .setMaxBufferedDocs(IndexWriterConfig.DISABLE_AUTO_FLUSH)
              .setMergePolicy(mergePolicy)
              .setMergeScheduler(new SerialMergeScheduler())
              .setUseCompoundFile(false);
      double[] flush = new double[2];
      double merge;
      try (IndexWriter writer = new IndexWriter(dir, config)) {
        for (int segment = 0; segment < 2; segment++) {
          for (int i = 0; i < count; i++) {
            Document doc = new Document();
            doc.add(new KnnFloatVectorField("v", vectors[segment * count + i], VectorSimilarityFunction.COSINE));
            writer.addDocument(doc);
          }
          long start = System.nanoTime();
          writer.flush();
          flush[segment] = (System.nanoTime() - start) / 1e9;
        }
        List<Long> segmentBytes = new ArrayList<>();
        String rowsBefore = "";
        try (DirectoryReader reader = DirectoryReader.open(writer)) {
          for (LeafReaderContext leaf : reader.leaves()) {
            FieldCodes codes = CodeFiles.formatReader(CodeFiles.segmentReader(leaf.reader()), "v").fieldCodes("v");
            segmentBytes.add(codes.rotationBytes());
            rowsBefore = codes.rotationBytes() / ((long) dims * Float.BYTES) + " x " + dims;
          }
        }
        long start = System.nanoTime();
        writer.forceMerge(1);
        merge = (System.nanoTime() - start) / 1e9;
        writer.commit();
        try (DirectoryReader reader = DirectoryReader.open(dir)) {
          FieldCodes codes =
              CodeFiles.formatReader(CodeFiles.segmentReader(reader.leaves().get(0).reader()), "v").fieldCodes("v");
          double queryMs = queryCodingMillis(codes, vectors);
          if (report) {
            System.out.printf(
                Locale.ROOT,
                "| %d | %,d | %.3f | %.3f | %.3f | %s | %s | %s | %.3f |%n",
                dims,
                count,
                flush[0],
                flush[1],
                merge,
                rowsBefore,
                segmentBytes,
                String.format(Locale.ROOT, "%,d", codes.rotationBytes()),
                queryMs);
          }
        }
      }
    } finally {
      IOUtils.rm(path);
    }
  }

  /** Mean time to turn a query into its asymmetric first-stage code, over a few hundred queries. */
  private static double queryCodingMillis(FieldCodes codes, float[][] vectors) throws IOException {
    int queries = 200;
    long checksum = 0;
    long start = 0;
    for (int q = -50; q < queries; q++) {
      if (q == 0) {
        start = System.nanoTime();
      }
      Binarizer binarizer = codes.binarizer();
      checksum += binarizer.encodeAsymmetricQuery(vectors[Math.floorMod(q, vectors.length)], 1).hashCode();
    }
    double millis = (System.nanoTime() - start) / 1e6 / queries;
    if (checksum == 42) {
      System.out.print("");
    }
    return millis;
  }

  /** The mapping's default with rotation pca: dims halved while the half is whole and at least 32. */
  static int[] defaultNested(int dims) {
    List<Integer> levels = new ArrayList<>();
    levels.add(dims);
    for (int level = dims; level % 2 == 0 && level / 2 >= 32; ) {
      level /= 2;
      levels.add(0, level);
    }
    return levels.stream().mapToInt(Integer::intValue).toArray();
  }
}
