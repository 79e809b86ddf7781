package io.matryoshka.engine;

import io.matryoshka.bench.SyntheticVectors;
import io.matryoshka.codec.BenchmarkSegments;
import io.matryoshka.codec.CodeFiles;
import io.matryoshka.codec.FieldCodes;
import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.quantization.Binarizer;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.quantization.QueryCode;
import io.matryoshka.quantization.Rotation;
import io.matryoshka.search.FunnelMetric;
import java.io.IOException;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.RandomAccessInput;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.elasticsearch.common.logging.LogConfigurator;

/**
 * A survivor stage scores a document the same from its survivor-block entry (one read) as from the
 * separate blocks of each level and bit plane, for every level a stage can end at.
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
    for (int bits : new int[] {2, 4}) {
      for (Rotation rotation : Rotation.values()) {
        try (Directory directory = newDirectory()) {
          BenchmarkSegments.writeForceMerged(directory, vectors, new MatryoshkaVectorsFormat(nested, bits, rotation));
          try (DirectoryReader reader = DirectoryReader.open(directory)) {
            FieldCodes codes = CodeFiles.formatReader((SegmentReader) reader.leaves().get(0).reader(), "v").fieldCodes("v");
            assertNotNull(codes.survivorInput());
            StoredCodes withoutBlock = new WithoutSurvivorBlock(codes);
            for (float[] query : SyntheticVectors.generate(10, dims, random().nextLong())) {
              for (FunnelMetric metric : new FunnelMetric[] {FunnelMetric.ASYMMETRIC, FunnelMetric.HAMMING}) {
                QueryCode code = QueryCodes.encode(codes.binarizer(), query, metric, bits);
                for (int level = 0; level < nested.length; level++) {
                  SurvivorCodeScorer fromEntry = new SurvivorCodeScorer(codes, code, level, bits);
                  SurvivorCodeScorer fromPlanes = new SurvivorCodeScorer(withoutBlock, code, level, bits);
                  int[] ords = new int[1 + random().nextInt(300)];
                  for (int i = 0; i < ords.length; i++) {
                    ords[i] = random().nextInt(vectors.length);
                  }
                  float[] expected = new float[SurvivorCodeScorer.BATCH];
                  float[] actual = new float[SurvivorCodeScorer.BATCH];
                  for (int from = 0; from < ords.length; ) {
                    int to = Math.min(ords.length, from + 1 + random().nextInt(SurvivorCodeScorer.BATCH));
                    fromPlanes.score(ords, from, to, expected);
                    fromEntry.score(ords, from, to, actual);
                    for (int i = from; i < to; i++) {
                      assertEquals(
                          bits + " bits, " + rotation + ", " + metric + ", level " + level + ", ord " + ords[i],
                          expected[i - from],
                          actual[i - from],
                          0f);
                    }
                    from = to;
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /** The same codes, read as a segment written before the survivor block existed would be. */
  private record WithoutSurvivorBlock(StoredCodes codes) implements StoredCodes {
    @Override
    public CodeLayout layout() {
      return codes.layout();
    }

    @Override
    public int count() {
      return codes.count();
    }

    @Override
    public VectorSimilarityFunction similarity() {
      return codes.similarity();
    }

    @Override
    public Binarizer binarizer() throws IOException {
      return codes.binarizer();
    }

    @Override
    public IndexInput planeInput(int level, int plane) throws IOException {
      return codes.planeInput(level, plane);
    }

    @Override
    public RandomAccessInput planeSlice(int level, int plane) throws IOException {
      return codes.planeSlice(level, plane);
    }

    @Override
    public IndexInput correctivesInput() throws IOException {
      return codes.correctivesInput();
    }

    @Override
    public IndexInput survivorInput() {
      return null;
    }

    @Override
    public RandomAccessInput correctivesSlice() throws IOException {
      return codes.correctivesSlice();
    }
  }
}
