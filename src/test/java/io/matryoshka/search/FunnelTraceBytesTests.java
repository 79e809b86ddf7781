package io.matryoshka.search;

import io.matryoshka.bench.SyntheticVectors;
import io.matryoshka.codec.BenchmarkSegments;
import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.quantization.Rotation;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.elasticsearch.common.logging.LogConfigurator;

/**
 * The funnel's trace (what {@code profile} shows) states the bytes each stage read, as the engine
 * reads them: the first stage its levels' planes of every document, a survivor stage on all of a
 * field's planes a whole survivor entry per survivor (every level, and the correctives beyond one
 * bit), a sign-plane survivor stage the words it gathers, a float stage its prefix.
 */
@LuceneTestCase.SuppressSysoutChecks(bugUrl = "Elasticsearch formats log a native-access warning")
public class FunnelTraceBytesTests extends LuceneTestCase {
  static {
    LogConfigurator.configureESLogging();
  }

  private static final Pattern BYTES = Pattern.compile("read (\\d+) (code|float) bytes");
  private static final int DOCS = 300;
  private static final int DIMS = 128;

  public void testEachStageStatesTheBytesItRead() throws IOException {
    float[][] vectors = SyntheticVectors.generate(DOCS, DIMS, random().nextLong());
    float[] query = SyntheticVectors.generate(1, DIMS, random().nextLong())[0];
    for (int bits : new int[] {1, 4}) {
      try (Directory directory = newDirectory()) {
        BenchmarkSegments.writeForceMerged(directory, vectors, new MatryoshkaVectorsFormat(new int[] {64, 128}, bits, Rotation.NONE));
        try (DirectoryReader reader = DirectoryReader.open(directory)) {
          IndexSearcher searcher = new IndexSearcher(reader);
          // 64 dims of sign bits for all, then a stage on level 0 only with all planes (reads whole
          // entries), then the sign plane of both levels (gathered with 4 bits; with one bit it is
          // every plane, read as entries of the same 16 bytes), then floats
          Funnel funnel =
              new Funnel(
                  List.of(
                      new FunnelStage(64, FunnelMetric.ASYMMETRIC, 100, 1),
                      new FunnelStage(64, FunnelMetric.ASYMMETRIC, 50, bits),
                      new FunnelStage(128, FunnelMetric.ASYMMETRIC, 20, 1),
                      new FunnelStage(DIMS, FunnelMetric.FLOAT, 10)));
          String trace =
              searcher
                  .rewrite(
                      new MatryoshkaKnnQuery(
                          "v", query, DIMS, 10, null, new FunnelSearchStrategy(funnel, Funnel.DEFAULT_OVERSAMPLE, DIMS, false), Float.NEGATIVE_INFINITY))
                  .toString("v");
          long entry = 2L * bits * Long.BYTES + (bits > 1 ? 8 : 0); // two one-word levels, then the correctives
          long gatheredSignWords = 2L * Long.BYTES;
          assertEquals(
              bits + " bits: " + trace,
              List.of((long) DOCS * Long.BYTES, 100 * entry, 50 * gatheredSignWords, 20L * DIMS * Float.BYTES),
              bytesRead(trace));
        }
      }
    }
  }

  private static List<Long> bytesRead(String trace) {
    List<Long> bytes = new ArrayList<>();
    Matcher matcher = BYTES.matcher(trace);
    while (matcher.find()) {
      bytes.add(Long.parseLong(matcher.group(1)));
    }
    return bytes;
  }
}
