package io.matryoshka.engine;

import io.matryoshka.quantization.Binarizer;
import io.matryoshka.quantization.CodeLayout;
import java.io.IOException;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.RandomAccessInput;

/**
 * The same codes, read as a segment written before the survivor block existed would be: survivor
 * stages read each level's and plane's block.
 */
record WithoutSurvivorBlock(StoredCodes codes) implements StoredCodes {
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
  public boolean hasSurvivorEntries() {
    return false;
  }

  @Override
  public RandomAccessInput correctivesSlice() throws IOException {
    return codes.correctivesSlice();
  }
}
