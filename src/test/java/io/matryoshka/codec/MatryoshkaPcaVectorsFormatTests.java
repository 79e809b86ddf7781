package io.matryoshka.codec;

import io.matryoshka.quantization.Rotation;

import org.apache.lucene.codecs.Codec;
import org.elasticsearch.common.logging.LogConfigurator;
import org.apache.lucene.tests.index.BaseKnnVectorsFormatTestCase;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.apache.lucene.tests.util.TestUtil;

/** Lucene's peer suite for vectors formats, run against this format with a learned pca rotation and random bits. */
// Lucene's SPI also instantiates Elasticsearch's formats (the server jar is on the test classpath),
// which log once that native access is unavailable in a unit test JVM.
@LuceneTestCase.SuppressSysoutChecks(bugUrl = "Elasticsearch formats log a native-access warning")
public class MatryoshkaPcaVectorsFormatTests extends BaseKnnVectorsFormatTestCase {
  static {
    // The Elasticsearch server jar is on the test classpath, and Lucene's SPI instantiates its
    // vectors formats too; they need Elasticsearch's logging wired up first.
    LogConfigurator.configureESLogging();
  }

  @Override
  protected Codec getCodec() {
    // The peer suite picks random dims per field, so nested levels are left to the default
    // (the whole vector); multi-level layouts are covered by the format's own tests.
    int bits = new int[] {1, 2, 4}[random().nextInt(3)];
    return TestUtil.alwaysKnnVectorsFormat(new MatryoshkaVectorsFormat(null, bits, Rotation.PCA));
  }

  /** Floats are always kept: there is no quantized-only fallback to test. */
  @Override
  protected boolean supportsFloatVectorFallback() {
    return false;
  }
}
