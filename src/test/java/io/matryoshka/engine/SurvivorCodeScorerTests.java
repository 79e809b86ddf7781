package io.matryoshka.engine;

import io.matryoshka.bench.SyntheticVectors;
import io.matryoshka.codec.BenchmarkSegments;
import io.matryoshka.codec.CodeFiles;
import io.matryoshka.codec.FieldCodes;
import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.quantization.BitKernels;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.quantization.QueryCode;
import io.matryoshka.quantization.Rotation;
import io.matryoshka.search.FunnelMetric;
import java.io.IOException;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.RandomAccessInput;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.elasticsearch.common.logging.LogConfigurator;

/**
 * A survivor stage scores a document the same from its survivor-block entry (one read) as from the
 * separate blocks of each level and bit plane, and both as the level-by-level kernels do, for every
 * level a stage can end at, the sign plane alone or all planes, in batches of any size.
 */
@LuceneTestCase.SuppressSysoutChecks(bugUrl = "Elasticsearch formats log a native-access warning")
public class SurvivorCodeScorerTests extends LuceneTestCase {
  static {
    LogConfigurator.configureESLogging();
  }

  public void testSurvivorEntryScoresLikeThePlaneBlocks() throws IOException {
    int dims = 128;
    int[] nested = {32, 64, 128};
    float[][] vectors = SyntheticVectors.generate(1_500, dims, random().nextLong());
    for (int bits : new int[] {1, 2, 4}) {
      for (Rotation rotation : Rotation.values()) {
        try (Directory directory = newDirectory()) {
          BenchmarkSegments.writeForceMerged(directory, vectors, new MatryoshkaVectorsFormat(nested, bits, rotation));
          try (DirectoryReader reader = DirectoryReader.open(directory)) {
            FieldCodes codes = CodeFiles.formatReader((SegmentReader) reader.leaves().get(0).reader(), "v").fieldCodes("v");
            assertNotNull("every field has the survivor block (format version 2+)", codes.survivorInput());
            StoredCodes withoutBlock = new WithoutSurvivorBlock(codes);
            for (float[] query : SyntheticVectors.generate(4, dims, random().nextLong())) {
              for (FunnelMetric metric : new FunnelMetric[] {FunnelMetric.ASYMMETRIC, FunnelMetric.HAMMING}) {
                for (int planes : new int[] {1, bits}) {
                  QueryCode code = QueryCodes.encode(codes.binarizer(), query, metric, planes);
                  for (int level = 0; level < nested.length; level++) {
                    String what = bits + " bits, " + planes + " planes, " + rotation + ", " + metric + ", level " + level;
                    checkBatches(what, codes, withoutBlock, code, level, planes, vectors.length);
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /**
   * Random survivors in random batches: the survivor-block entries, the gathered plane blocks and a
   * level-by-level reference ({@link BitKernels#planeSums} or hamming per level, as survivor stages
   * computed it before the one-pass kernel) agree exactly.
   */
  private static void checkBatches(
      String what, StoredCodes codes, StoredCodes withoutBlock, QueryCode code, int level, int planes, int docs)
      throws IOException {
    SurvivorCodeScorer fromEntry = new SurvivorCodeScorer(codes, code, level, planes);
    SurvivorCodeScorer fromPlanes = new SurvivorCodeScorer(withoutBlock, code, level, planes);
    int[] ords = new int[1 + random().nextInt(300)];
    for (int i = 0; i < ords.length; i++) {
      ords[i] = random().nextInt(docs);
    }
    float[] gathered = new float[ords.length];
    float[] entries = new float[ords.length];
    for (int from = 0; from < ords.length; ) {
      int to = Math.min(ords.length, from + 1 + random().nextInt(SurvivorCodeScorer.BATCH));
      fromPlanes.score(ords, from, to, gathered);
      fromEntry.score(ords, from, to, entries);
      for (int i = from; i < to; i++) {
        float reference = referenceScore(codes, code, level, planes, ords[i]);
        assertEquals(what + ", ord " + ords[i] + " (planes)", reference, gathered[i], 0f);
        assertEquals(what + ", ord " + ords[i] + " (entry)", reference, entries[i], 0f);
      }
      from = to;
    }
  }

  private static float referenceScore(StoredCodes codes, QueryCode query, int lastLevel, int planes, int ord)
      throws IOException {
    CodeLayout layout = codes.layout();
    long sums = 0;
    int distance = 0;
    for (int level = 0; level <= lastLevel; level++) {
      int words = layout.wordsPerPlane(level);
      long[][] doc = new long[planes][words];
      for (int plane = 0; plane < planes; plane++) {
        RandomAccessInput slice = codes.planeSlice(level, plane);
        for (int w = 0; w < words; w++) {
          doc[plane][w] = slice.readLong((long) ord * layout.bytesPerPlane(level) + (long) w * Long.BYTES);
        }
      }
      if (query.isPlainHamming()) {
        distance += BitKernels.hamming(query.levelCode(level), doc[0], 0, words);
      } else {
        sums += BitKernels.planeSums(query.levelCode(level), query.planes(), doc, 0, planes, words);
      }
    }
    if (query.isPlainHamming()) {
      return query.hammingScore(lastLevel, distance);
    }
    if (planes == 1) {
      return query.estimate(lastLevel, sums, SurvivorCodeScorer.ONE_BIT_LOWER, SurvivorCodeScorer.ONE_BIT_STEP);
    }
    RandomAccessInput correctives = codes.correctivesSlice();
    return query.estimate(
        lastLevel, sums, Float.intBitsToFloat(correctives.readInt(ord * 8L)), Float.intBitsToFloat(correctives.readInt(ord * 8L + 4)));
  }
}
