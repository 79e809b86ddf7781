package io.matryoshka.es.stats;

import org.elasticsearch.action.ActionType;

/** {@code GET [/{index}]/_matryoshka/stats}. An index-monitoring action, like segments and stats. */
public final class MatryoshkaStatsAction {
  public static final String NAME = "indices:monitor/matryoshka/stats";
  public static final ActionType<MatryoshkaStatsResponse> INSTANCE = new ActionType<>(NAME);

  private MatryoshkaStatsAction() {}
}
