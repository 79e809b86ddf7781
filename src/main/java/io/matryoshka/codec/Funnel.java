package io.matryoshka.codec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The stages a per-segment search runs, each narrowing the candidates of the one before. The last
 * stage is always a {@link FunnelMetric#FLOAT} stage on the query's own length; its candidates are
 * the hits handed to the collector.
 */
public final class Funnel {
  /** Candidates entering the final float stage per requested hit when no funnel is given. */
  public static final float DEFAULT_OVERSAMPLE = 3.0f;

  private final List<FunnelStage> stages;

  public Funnel(List<FunnelStage> stages) {
    if (stages == null || stages.isEmpty()) {
      throw new IllegalArgumentException("a funnel needs at least one stage");
    }
    this.stages = List.copyOf(stages);
  }

  public List<FunnelStage> stages() {
    return stages;
  }

  public FunnelStage lastStage() {
    return stages.get(stages.size() - 1);
  }

  /**
   * Checks the funnel's shape against a query: stages narrow (candidates never grow), dims never
   * exceed the query's, code stages use stored nested levels, the last stage is a float stage on
   * the query's full length.
   *
   * @throws IllegalArgumentException naming the stage and what is wrong with it
   */
  public void validate(int queryDims, int[] nestedDims) {
    for (int i = 0; i < stages.size(); i++) {
      FunnelStage stage = stages.get(i);
      String where = "funnel stage [" + i + "] (" + stage + ")";
      if (stage.dims() > queryDims) {
        throw new IllegalArgumentException(
            where + ": [dims] " + stage.dims() + " exceeds the query vector's length " + queryDims);
      }
      if (stage.metric().usesCodes() && Arrays.binarySearch(nestedDims, stage.dims()) < 0) {
        throw new IllegalArgumentException(
            where
                + ": binary codes are stored only for the nested dims "
                + Arrays.toString(nestedDims)
                + ", not for "
                + stage.dims());
      }
      if (i > 0 && stage.candidates() > stages.get(i - 1).candidates()) {
        throw new IllegalArgumentException(
            where
                + ": stages must narrow, but [candidates] "
                + stage.candidates()
                + " is more than the previous stage's "
                + stages.get(i - 1).candidates());
      }
    }
    FunnelStage last = lastStage();
    if (last.metric() != FunnelMetric.FLOAT || last.dims() != queryDims) {
      throw new IllegalArgumentException(
          "the last funnel stage must be [float] on the query's "
              + queryDims
              + " dims, got "
              + last);
    }
  }

  /** Checks that the last stage keeps exactly the {@code k} hits a query asks for. */
  public void validateKeeps(int k) {
    FunnelStage last = lastStage();
    if (last.candidates() != k) {
      throw new IllegalArgumentException(
          "the last funnel stage keeps the k hits: [candidates] must be " + k + ", got " + last);
    }
  }

  /**
   * The funnel used when a query gives none. Stage 1 scans the shortest nested code of every
   * document asymmetrically; a float stage on the query's length keeps {@code k} among
   * {@code ceil(k * oversample)} survivors of the code stages. The candidate counts were chosen by
   * measurement on real embeddings (see {@code docs/funnel-defaults.md}).
   *
   * @param nestedDims the field's stored nested levels, ascending
   * @param queryDims the query's length: the field's dims or one of its nested dims
   */
  public static Funnel defaultFor(int[] nestedDims, int queryDims, int k, float oversample) {
    if (!(oversample >= 1f)) {
      throw new IllegalArgumentException("[oversample] must be >= 1, got " + oversample);
    }
    int rerank = Math.max(k, (int) Math.ceil(k * (double) oversample));
    int firstLevel = nestedDims[0];
    List<FunnelStage> stages = new ArrayList<>();
    if (firstLevel <= queryDims) {
      // Shorter first-level codes separate documents less well, so keep more of them.
      int stageOneCandidates = rerank * STAGE_ONE_FACTOR * Math.max(1, queryDims / firstLevel);
      stages.add(new FunnelStage(firstLevel, FunnelMetric.ASYMMETRIC, stageOneCandidates));
    }
    if (stages.isEmpty() || rerank > k) {
      stages.add(new FunnelStage(queryDims, FunnelMetric.FLOAT, rerank));
    }
    if (stages.get(stages.size() - 1).metric() != FunnelMetric.FLOAT
        || stages.get(stages.size() - 1).candidates() != k) {
      stages.add(new FunnelStage(queryDims, FunnelMetric.FLOAT, k));
    }
    return new Funnel(collapseFloatStages(stages, k, queryDims));
  }

  /** Survivors of the first code stage per candidate that reaches the float rerank. */
  static final int STAGE_ONE_FACTOR = 10;

  /** Two float stages on the same dims are one stage keeping the fewer. */
  private static List<FunnelStage> collapseFloatStages(
      List<FunnelStage> stages, int k, int queryDims) {
    List<FunnelStage> out = new ArrayList<>();
    for (FunnelStage stage : stages) {
      FunnelStage previous = out.isEmpty() ? null : out.get(out.size() - 1);
      if (previous != null
          && previous.metric() == FunnelMetric.FLOAT
          && stage.metric() == FunnelMetric.FLOAT
          && previous.dims() == stage.dims()) {
        out.set(out.size() - 1, stage);
      } else {
        out.add(stage);
      }
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Funnel other && stages.equals(other.stages);
  }

  @Override
  public int hashCode() {
    return stages.hashCode();
  }

  @Override
  public String toString() {
    return stages.toString();
  }
}
