package io.matryoshka.engine;

import io.matryoshka.bench.SyntheticVectors;
import io.matryoshka.codec.BenchmarkSegments;
import io.matryoshka.codec.CodeFiles;
import io.matryoshka.codec.FieldCodes;
import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.quantization.Rotation;
import io.matryoshka.search.Funnel;
import io.matryoshka.search.FunnelMetric;
import io.matryoshka.search.FunnelStage;
import io.matryoshka.search.SegmentPlan;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TaskExecutor;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.TopKnnCollector;
import org.apache.lucene.store.Directory;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.FixedBitSet;
import org.elasticsearch.common.logging.LogConfigurator;

/**
 * A first stage split into ord ranges run in parallel returns exactly what one pass returns (the
 * same survivors, the same visit count; so the same hits), for integer-scored and estimate-scored
 * first stages, with and without a filter, however many ranges.
 */
@LuceneTestCase.SuppressSysoutChecks(bugUrl = "Elasticsearch formats log a native-access warning")
public class ParallelScanTests extends LuceneTestCase {
  static {
    LogConfigurator.configureESLogging();
  }

  private static final int DOCS = 6_000;
  private static final int DIMS = 64;

  public void testParallelRangesEqualOnePass() throws IOException {
    ExecutorService threads = Executors.newFixedThreadPool(3);
    try {
      TaskExecutor executor = new TaskExecutor(threads);
      float[][] vectors = SyntheticVectors.generate(DOCS, DIMS, random().nextLong());
      float[][] queries = SyntheticVectors.generate(20, DIMS, random().nextLong());
      for (int bits : new int[] {1, 4}) {
        for (Rotation rotation : Rotation.values()) {
          int[] nested = {16, 32, DIMS};
          try (Directory directory = newDirectory()) {
            BenchmarkSegments.writeForceMerged(directory, vectors, new MatryoshkaVectorsFormat(nested, bits, rotation));
            try (DirectoryReader reader = DirectoryReader.open(directory)) {
              LeafReader leaf = reader.leaves().get(0).reader();
              FieldCodes codes = CodeFiles.formatReader((SegmentReader) leaf, "v").fieldCodes("v");
              FloatVectorValues floats = leaf.getFloatVectorValues("v");
              List<Funnel> funnels =
                  List.of(
                      Funnel.defaultFor(nested, DIMS, 10, 300, bits, rotation != Rotation.NONE, true),
                      new Funnel(List.of(new FunnelStage(DIMS, FunnelMetric.HAMMING, 500, 1), new FunnelStage(DIMS, FunnelMetric.FLOAT, 10))),
                      // all planes in the first stage: the float-estimate path
                      new Funnel(List.of(new FunnelStage(32, FunnelMetric.ASYMMETRIC, 700), new FunnelStage(DIMS, FunnelMetric.FLOAT, 10))));
              for (Funnel funnel : funnels) {
                for (float[] query : queries) {
                  Bits filter = random().nextBoolean() ? null : randomFilter();
                  int ranges = 2 + random().nextInt(6);
                  TopDocs onePass = run(new SegmentFunnel(codes, floats), funnel, null, query, filter);
                  TopDocs split =
                      run(new SegmentFunnel(codes, floats, new ParallelRanges(1, ranges)), funnel, executor, query, filter);
                  String what = "bits " + bits + ", " + rotation + ", " + funnel + ", ranges " + ranges;
                  assertEquals(what, onePass.totalHits.value(), split.totalHits.value());
                  assertEquals(what, onePass.scoreDocs.length, split.scoreDocs.length);
                  for (int i = 0; i < onePass.scoreDocs.length; i++) {
                    ScoreDoc expected = onePass.scoreDocs[i];
                    ScoreDoc actual = split.scoreDocs[i];
                    assertEquals(what + " hit " + i, expected.doc, actual.doc);
                    // the same float computation; only the JIT's state differs between the runs
                    assertEquals(what + " hit " + i, expected.score, actual.score, 1e-6f);
                  }
                  FunnelStage first = funnel.stages().get(0);
                  int planes = first.planesOf(bits);
                  var code = QueryCodes.encode(codes.binarizer(), query, first.metric(), planes);
                  int level = codes.layout().levelIndexOf(first.dims());
                  TopKnnCollector serial = new TopKnnCollector(10, Integer.MAX_VALUE);
                  TopKnnCollector parallel = new TopKnnCollector(10, Integer.MAX_VALUE);
                  int[] serialOrds = new StageOneScan(codes).scan(code, level, planes, filter, serial, first.candidates(), null);
                  int[] parallelOrds =
                      new StageOneScan(codes, new ParallelRanges(1, ranges))
                          .scan(code, level, planes, filter, parallel, first.candidates(), executor);
                  assertArrayEquals(what + ": first-stage survivors", serialOrds, parallelOrds);
                  assertEquals(what + ": visits", serial.visitedCount(), parallel.visitedCount());
                }
              }
            }
          }
        }
      }
    } finally {
      threads.shutdown();
    }
  }

  private static TopDocs run(SegmentFunnel segment, Funnel funnel, TaskExecutor executor, float[] query, Bits filter)
      throws IOException {
    TopKnnCollector collector = new TopKnnCollector(10, Integer.MAX_VALUE);
    segment.run(new SegmentPlan(DIMS, funnel, executor, null), query, filter, collector);
    TopDocs top = collector.topDocs();
    assertEquals(collector.visitedCount(), top.totalHits.value());
    return top;
  }

  private static Bits randomFilter() {
    FixedBitSet bits = new FixedBitSet(DOCS);
    for (int i = 0; i < DOCS; i++) {
      if (random().nextInt(4) != 0) {
        bits.set(i);
      }
    }
    return bits;
  }
}
