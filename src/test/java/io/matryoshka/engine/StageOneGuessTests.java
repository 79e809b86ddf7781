package io.matryoshka.engine;

import io.matryoshka.bench.SyntheticVectors;
import io.matryoshka.codec.BenchmarkSegments;
import io.matryoshka.codec.CodeFiles;
import io.matryoshka.codec.FieldCodes;
import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.quantization.Binarizer;
import io.matryoshka.quantization.BitKernels;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.quantization.QueryCode;
import io.matryoshka.quantization.Rotation;
import io.matryoshka.search.FunnelMetric;
import java.io.IOException;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.search.TopKnnCollector;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.RandomAccessInput;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.elasticsearch.common.logging.LogConfigurator;

/**
 * A first stage that starts its threshold at a sampled guess selects exactly what selecting from
 * every document's score selects (ties: lower ords), whether the guess holds or is too high and
 * the range is scanned again, and counts each document as visited once.
 */
@LuceneTestCase.SuppressSysoutChecks(bugUrl = "Elasticsearch formats log a native-access warning")
public class StageOneGuessTests extends LuceneTestCase {
  static {
    LogConfigurator.configureESLogging();
  }

  private static final int DOCS = 20_000;
  private static final int DIMS = 128;
  private static final int[] NESTED = {64, 128};

  public void testGuessedThresholdsSelectExactly() throws IOException {
    float[][] vectors = SyntheticVectors.generate(DOCS, DIMS, random().nextLong());
    for (int bits : new int[] {1, 4}) {
      try (Directory directory = newDirectory()) {
        BenchmarkSegments.writeForceMerged(directory, vectors, new MatryoshkaVectorsFormat(NESTED, bits, Rotation.NONE));
        try (DirectoryReader reader = DirectoryReader.open(directory)) {
          FieldCodes codes = CodeFiles.formatReader((SegmentReader) reader.leaves().get(0).reader(), "v").fieldCodes("v");
          for (float[] query : SyntheticVectors.generate(3, DIMS, random().nextLong())) {
            for (FunnelMetric metric : new FunnelMetric[] {FunnelMetric.ASYMMETRIC, FunnelMetric.HAMMING}) {
              QueryCode code = QueryCodes.encode(codes.binarizer(), query, metric, 1);
              for (int level = 0; level < NESTED.length; level++) {
                int keep = 1 + random().nextInt(DOCS / 20);
                int[] expected = referenceSelection(codes, code, level, keep);
                // the production guess, and guesses aimed at a tenth of keep: mostly too high
                for (double margin : new double[] {StageOneScan.GUESS_MARGIN, 0.1}) {
                  TopKnnCollector collector = new TopKnnCollector(10, Integer.MAX_VALUE);
                  int[] actual =
                      new StageOneScan(codes, ParallelRanges.DEFAULT, margin).scan(code, level, 1, null, collector, keep, null);
                  String what = bits + " bits, " + metric + ", level " + level + ", keep " + keep + ", margin " + margin;
                  assertArrayEquals(what, expected, actual);
                  assertEquals(what + ": visits", DOCS, collector.visitedCount());
                }
              }
            }
          }
        }
      }
    }
  }

  /** Every document's integer score, selected with no guess. */
  private static int[] referenceSelection(FieldCodes codes, QueryCode query, int lastLevel, int keep) throws IOException {
    CodeLayout layout = codes.layout();
    int[] range = query.integerScoreRange(lastLevel);
    IntegerScoreSelection selection = new IntegerScoreSelection(keep, range[0], range[1]);
    for (int ord = 0; ord < DOCS; ord++) {
      int score = 0;
      for (int level = 0; level <= lastLevel; level++) {
        int words = layout.wordsPerPlane(level);
        long[] doc = new long[words];
        RandomAccessInput plane = codes.planeSlice(level, 0);
        for (int w = 0; w < words; w++) {
          doc[w] = plane.readLong((long) ord * layout.bytesPerPlane(level) + (long) w * Long.BYTES);
        }
        if (query.isPlainHamming()) {
          score -= BitKernels.hamming(query.levelCode(level), doc, 0, words);
        } else {
          // the asymmetric integer score: 2 sum(q d) - 15 sum(d)
          long sums = BitKernels.planeSums(query.levelCode(level), query.planes(), new long[][] {doc}, 0, 1, words);
          score += (int) (2 * (sums >>> 32) - Binarizer.ASYMMETRIC_QUERY_MAX * (sums & 0xFFFFFFFFL));
        }
      }
      selection.add(ord, score);
    }
    return selection.topOrdsAscending();
  }
}
