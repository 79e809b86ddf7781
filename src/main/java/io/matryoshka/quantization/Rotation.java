package io.matryoshka.quantization;

import java.util.Locale;

/** Which basis the binary codes are computed in. */
public enum Rotation {
  /** The model's own basis: it is Matryoshka-trained, its leading dimensions matter most. */
  NONE(0),
  /**
   * A PCA basis learned per segment, so that the leading coordinates carry the most variance and
   * prefixes of any model's vectors behave like Matryoshka prefixes.
   */
  PCA(1);

  /** Identifier written to the segment metadata; never reuse or renumber. */
  public final int wireId;

  Rotation(int wireId) {
    this.wireId = wireId;
  }

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Rotation fromWireName(String name) {
    for (Rotation rotation : values()) {
      if (rotation.wireName().equals(name)) {
        return rotation;
      }
    }
    throw new IllegalArgumentException(
        "unknown rotation [" + name + "], expected one of [none, pca]");
  }

  public static Rotation fromWireId(int id) {
    for (Rotation rotation : values()) {
      if (rotation.wireId == id) {
        return rotation;
      }
    }
    throw new IllegalArgumentException("unknown rotation id " + id);
  }

  @Override
  public String toString() {
    return wireName();
  }
}
