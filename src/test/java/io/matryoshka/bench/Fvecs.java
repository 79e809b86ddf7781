package io.matryoshka.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads TEXMEX .fvecs / .ivecs files: per row a little-endian int32 length, then the values. */
public final class Fvecs {
  private Fvecs() {}

  public static float[][] readFvecs(Path path, int maxRows) throws IOException {
    return readFvecs(Files.readAllBytes(path), maxRows, path.toString());
  }

  public static float[][] readFvecs(java.io.InputStream in, int maxRows, String name) throws IOException {
    return readFvecs(in.readAllBytes(), maxRows, name);
  }

  private static float[][] readFvecs(byte[] bytes, int maxRows, String path) throws IOException {
    ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int dims = buffer.getInt(0);
    int rows = Math.min(maxRows, buffer.capacity() / (4 * (dims + 1)));
    float[][] out = new float[rows][dims];
    for (int r = 0; r < rows; r++) {
      int length = buffer.getInt();
      if (length != dims) {
        throw new IOException(path + ": row " + r + " has " + length + " dims, expected " + dims);
      }
      buffer.asFloatBuffer().get(out[r]);
      buffer.position(buffer.position() + 4 * dims);
    }
    return out;
  }

  public static int[][] readIvecs(Path path, int maxRows) throws IOException {
    ByteBuffer buffer = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
    int width = buffer.getInt(0);
    int rows = Math.min(maxRows, buffer.capacity() / (4 * (width + 1)));
    int[][] out = new int[rows][width];
    for (int r = 0; r < rows; r++) {
      buffer.getInt();
      buffer.asIntBuffer().get(out[r]);
      buffer.position(buffer.position() + 4 * width);
    }
    return out;
  }
}
