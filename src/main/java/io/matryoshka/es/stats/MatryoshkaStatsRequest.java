package io.matryoshka.es.stats;

import java.io.IOException;
import java.util.Map;
import org.elasticsearch.action.support.broadcast.BroadcastRequest;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.tasks.CancellableTask;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.tasks.TaskId;

/** Stats of the {@code matryoshka_vector} fields of some indices (all when none are named). */
public final class MatryoshkaStatsRequest extends BroadcastRequest<MatryoshkaStatsRequest> {
  public MatryoshkaStatsRequest(String... indices) {
    super(indices);
  }

  public MatryoshkaStatsRequest(StreamInput in) throws IOException {
    super(in);
  }

  @Override
  public Task createTask(long id, String type, String action, TaskId parentTaskId, Map<String, String> headers) {
    return new CancellableTask(id, type, action, "", parentTaskId, headers);
  }
}
