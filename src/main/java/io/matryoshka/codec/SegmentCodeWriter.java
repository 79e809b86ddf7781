package io.matryoshka.codec;

import io.matryoshka.quantization.VectorPasses;

import io.matryoshka.quantization.Binarizer;
import io.matryoshka.quantization.BitKernels;
import io.matryoshka.quantization.CodeLayout;
import io.matryoshka.quantization.PcaRotation;
import io.matryoshka.quantization.Rotation;

import java.io.IOException;
import org.apache.lucene.index.SegmentWriteState;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.IndexOutput;
import org.apache.lucene.util.IOUtils;

/**
 * Computes one field's centroid and codes from its vectors and appends them to the data file.
 * Codes of each level go to a temporary file first, so that the vectors are read in a fixed number
 * of passes however many levels there are (one for the centroid, one more for the rotation's sample
 * with {@code pca}, one for the codes; a merge counts its documents in one more), and each level
 * still ends up contiguous. With {@code pca} the rotation has at most as many rows as the sample
 * has vectors ({@link PcaRotation}), so its cost and size follow the segment's.
 */
final class SegmentCodeWriter {
  private final SegmentWriteState state;
  private final IndexOutput data;
  private final CodeLayout layout;
  private final VectorSimilarityFunction similarity;
  private final Rotation rotation;

  SegmentCodeWriter(
      SegmentWriteState state,
      IndexOutput data,
      CodeLayout layout,
      VectorSimilarityFunction similarity,
      Rotation rotation) {
    this.state = state;
    this.data = data;
    this.layout = layout;
    this.similarity = similarity;
    this.rotation = rotation;
  }

  SegmentCodes write(int count, VectorPasses passes) throws IOException {
    if (count == 0) {
      return new SegmentCodes(new float[layout.dims()], new long[layout.levels()], 0, 0, 0, 0);
    }
    float[] centroid = centroid(count, passes);
    float[][] rotationRows =
        rotation == Rotation.PCA
            ? PcaRotation.learn(
                count, layout.dims(), similarity, centroid, passes, PcaRotation.maxRows(layout.dims(), layout.levelEnd(0)))
            : null;
    Binarizer binarizer = new Binarizer(layout, similarity, centroid, rotationRows);

    int levels = layout.levels();
    int planes = layout.bits();
    // One temp file per (level, plane): the data file keeps each plane of each level contiguous.
    IndexOutput[] planeTemps = new IndexOutput[levels * planes];
    IndexOutput correctivesTemp = null;
    IndexOutput survivorsTemp = null;
    try {
      for (int i = 0; i < planeTemps.length; i++) {
        planeTemps[i] = tempOutput("level" + (i / planes) + "_plane" + (i % planes));
      }
      if (layout.bits() > 1) {
        correctivesTemp = tempOutput("correctives");
      }
      boolean levelBlockIsSurvivorBlock = layout.survivorBlockIsLevelBlock();
      if (levelBlockIsSurvivorBlock == false) {
        survivorsTemp = tempOutput("survivors");
      }
      DocumentWriter documents = new DocumentWriter(binarizer, planeTemps, correctivesTemp, survivorsTemp);
      passes.forEach(documents::add);
      documents.finish();
      long[] levelOffsets = new long[levels];
      for (int level = 0; level < levels; level++) {
        levelOffsets[level] = data.alignFilePointer(MatryoshkaVectorsFormat.BLOCK_ALIGNMENT);
        for (int plane = 0; plane < planes; plane++) {
          append(planeTemps[level * planes + plane]);
          planeTemps[level * planes + plane] = null;
        }
      }
      long correctivesOffset = 0;
      if (correctivesTemp != null) {
        correctivesOffset = data.alignFilePointer(MatryoshkaVectorsFormat.BLOCK_ALIGNMENT);
        append(correctivesTemp);
        correctivesTemp = null;
      }
      long survivorOffset = levelBlockIsSurvivorBlock ? levelOffsets[0] : 0;
      if (survivorsTemp != null) {
        survivorOffset = data.alignFilePointer(MatryoshkaVectorsFormat.BLOCK_ALIGNMENT);
        append(survivorsTemp);
        survivorsTemp = null;
      }
      long rotationOffset = 0;
      if (rotationRows != null) {
        rotationOffset = data.alignFilePointer(MatryoshkaVectorsFormat.BLOCK_ALIGNMENT);
        for (float[] row : rotationRows) {
          for (float value : row) {
            data.writeInt(Float.floatToIntBits(value));
          }
        }
      }
      return new SegmentCodes(
          centroid,
          levelOffsets,
          correctivesOffset,
          rotationOffset,
          rotationRows == null ? 0 : rotationRows.length,
          survivorOffset);
    } finally {
      // On success every temp was appended (and deleted) and set to null.
      for (IndexOutput temp : planeTemps) {
        discard(temp);
      }
      discard(correctivesTemp);
      discard(survivorsTemp);
    }
  }

  /**
   * Codes the documents in order, {@link BitKernels#ROTATE_BLOCK} at a time (a rotation is applied
   * to a block per pass over its rows), and appends each one's words to the temp files.
   */
  private final class DocumentWriter {
    private final Binarizer binarizer;
    private final IndexOutput[] planeTemps;
    private final IndexOutput correctivesOut;
    private final IndexOutput survivorsOut;
    private final long[][] codes;
    private final float[][] batch;
    private final float[][] scratch;
    private final float[][] coordinates;
    private int size;

    DocumentWriter(Binarizer binarizer, IndexOutput[] planeTemps, IndexOutput correctivesOut, IndexOutput survivorsOut) {
      this.binarizer = binarizer;
      this.planeTemps = planeTemps;
      this.correctivesOut = correctivesOut;
      this.survivorsOut = survivorsOut;
      this.codes = binarizer.newCodes(layout.bits());
      int dims = layout.dims();
      this.batch = new float[BitKernels.ROTATE_BLOCK][dims];
      this.scratch = new float[BitKernels.ROTATE_BLOCK][dims];
      this.coordinates = new float[BitKernels.ROTATE_BLOCK][dims];
    }

    /** Takes the next document's vector (copied: a pass may reuse its array). */
    void add(float[] vector) throws IOException {
      System.arraycopy(vector, 0, batch[size++], 0, vector.length);
      if (size == batch.length) {
        finish();
      }
    }

    /** Codes and writes the documents taken since the last block. */
    void finish() throws IOException {
      binarizer.transformAll(batch, size, scratch, coordinates);
      for (int i = 0; i < size; i++) {
        write(coordinates[i]);
      }
      size = 0;
    }

    private void write(float[] y) throws IOException {
      int levels = layout.levels();
      int planes = layout.bits();
      float[] correctives = binarizer.quantize(y, planes, codes);
      for (int level = 0; level < levels; level++) {
        int wordsPerPlane = layout.wordsPerPlane(level);
        for (int plane = 0; plane < planes; plane++) {
          IndexOutput out = planeTemps[level * planes + plane];
          for (int w = 0; w < wordsPerPlane; w++) {
            out.writeLong(codes[level][plane * wordsPerPlane + w]);
          }
        }
      }
      if (correctivesOut != null) {
        correctivesOut.writeInt(Float.floatToIntBits(correctives[0]));
        correctivesOut.writeInt(Float.floatToIntBits(correctives[1]));
      }
      if (survivorsOut != null) {
        // The same code again, one document's planes of every level together, so a stage
        // re-scoring survivors reads one contiguous entry instead of levels x bits blocks.
        for (int level = 0; level < levels; level++) {
          for (long word : codes[level]) {
            survivorsOut.writeLong(word);
          }
        }
        if (correctivesOut != null) {
          survivorsOut.writeInt(Float.floatToIntBits(correctives[0]));
          survivorsOut.writeInt(Float.floatToIntBits(correctives[1]));
        }
      }
    }
  }

  private float[] centroid(int count, VectorPasses passes)
      throws IOException {
    int dims = layout.dims();
    double[] sums = new double[dims];
    passes.forEach(
        vector -> {
          double scale = Binarizer.unitScale(vector, similarity);
          for (int i = 0; i < dims; i++) {
            sums[i] += vector[i] * scale;
          }
        });
    float[] centroid = new float[dims];
    for (int i = 0; i < dims; i++) {
      centroid[i] = (float) (sums[i] / count);
    }
    return centroid;
  }

  private IndexOutput tempOutput(String what) throws IOException {
    return state.directory.createTempOutput(state.segmentInfo.name, "mtry_" + what, state.context);
  }

  /** Copies a finished temp file to the end of the data file, then deletes it. */
  private void append(IndexOutput temp) throws IOException {
    String name = temp.getName();
    temp.close();
    try (IndexInput in = state.directory.openInput(name, state.context)) {
      data.copyBytes(in, in.length());
    }
    state.directory.deleteFile(name);
  }

  private void discard(IndexOutput temp) {
    if (temp != null) {
      IOUtils.closeWhileHandlingException(temp);
      IOUtils.deleteFilesIgnoringExceptions(state.directory, temp.getName());
    }
  }
}
