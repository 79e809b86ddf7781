package io.matryoshka.es.stats;

import static org.elasticsearch.rest.RestRequest.Method.GET;

import java.util.List;
import org.elasticsearch.action.support.IndicesOptions;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.common.Strings;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.action.RestCancellableNodeClient;
import org.elasticsearch.rest.action.RestToXContentListener;

/** {@code GET /_matryoshka/stats} and {@code GET /{index}/_matryoshka/stats}. */
public final class RestMatryoshkaStatsAction extends BaseRestHandler {
  @Override
  public String getName() {
    return "matryoshka_stats_action";
  }

  @Override
  public List<Route> routes() {
    return List.of(new Route(GET, "/_matryoshka/stats"), new Route(GET, "/{index}/_matryoshka/stats"));
  }

  @Override
  protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
    MatryoshkaStatsRequest statsRequest =
        new MatryoshkaStatsRequest(Strings.splitStringByCommaToArray(request.param("index")));
    statsRequest.indicesOptions(IndicesOptions.fromRequest(request, statsRequest.indicesOptions()));
    return channel ->
        new RestCancellableNodeClient(client, request.getHttpChannel())
            .execute(MatryoshkaStatsAction.INSTANCE, statsRequest, new RestToXContentListener<>(channel));
  }
}
