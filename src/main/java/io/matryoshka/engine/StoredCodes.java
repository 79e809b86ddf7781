package io.matryoshka.engine;

import io.matryoshka.quantization.Binarizer;
import io.matryoshka.quantization.CodeLayout;
import java.io.IOException;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.RandomAccessInput;

/**
 * One field's codes in one segment, as the engine reads them: their shape, the binarizer a query
 * must use to meet them, and access to each bit plane and to the corrective terms. The format
 * implements it over its data file; the engine never sees the file layout beyond this.
 */
public interface StoredCodes {
  CodeLayout layout();

  /** Documents with a code (ords {@code 0 .. count - 1}). */
  int count();

  VectorSimilarityFunction similarity();

  /** The binarizer the documents were coded with (centroid, rotation), to code queries alike. */
  Binarizer binarizer() throws IOException;

  /** Sequential access to one bit plane of one level: {@code count x wordsPerPlane} longs. */
  IndexInput planeInput(int level, int plane) throws IOException;

  /** Random access to one bit plane of one level. */
  RandomAccessInput planeSlice(int level, int plane) throws IOException;

  /** Sequential access to the corrective terms: per ord {@code float lower, float step}. */
  IndexInput correctivesInput() throws IOException;

  /**
   * Sequential access to the survivor block: per ord, all planes of all levels (plane-major within
   * a level, levels in order), then, with more than one bit, {@code float lower, float step};
   * {@link CodeLayout#survivorBytesPerDoc()} bytes per ord. Null where the segment has none.
   */
  IndexInput survivorInput() throws IOException;

  /** Whether the segment has the survivor block: {@link #survivorInput} is not null. */
  boolean hasSurvivorEntries();

  /** Random access to the corrective terms. */
  RandomAccessInput correctivesSlice() throws IOException;
}
