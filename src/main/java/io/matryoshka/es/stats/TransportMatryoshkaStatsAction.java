package io.matryoshka.es.stats;

import io.matryoshka.es.mapper.MatryoshkaVectorFieldMapper;
import io.matryoshka.es.mapper.MatryoshkaVectorFieldType;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.lucene.index.LeafReaderContext;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.broadcast.node.TransportBroadcastByNodeAction;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.block.ClusterBlockException;
import org.elasticsearch.cluster.block.ClusterBlockLevel;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.project.ProjectResolver;
import org.elasticsearch.cluster.routing.ShardRouting;
import org.elasticsearch.cluster.routing.ShardsIterator;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.index.IndexService;
import org.elasticsearch.index.engine.Engine;
import org.elasticsearch.index.mapper.Mapper;
import org.elasticsearch.index.shard.IndexShard;
import org.elasticsearch.indices.IndicesService;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.threadpool.ThreadPool;
import org.elasticsearch.transport.TransportService;

/**
 * Collects {@code matryoshka_vector} field sizes from every active shard copy, one request per node
 * holding copies, and sums them per index and field.
 */
public final class TransportMatryoshkaStatsAction
    extends TransportBroadcastByNodeAction<MatryoshkaStatsRequest, MatryoshkaStatsResponse, ShardStats, Void> {
  private final IndicesService indicesService;
  private final ProjectResolver projectResolver;

  @Inject
  public TransportMatryoshkaStatsAction(
      ClusterService clusterService,
      TransportService transportService,
      IndicesService indicesService,
      ProjectResolver projectResolver,
      ActionFilters actionFilters,
      IndexNameExpressionResolver indexNameExpressionResolver) {
    super(
        MatryoshkaStatsAction.NAME,
        clusterService,
        transportService,
        actionFilters,
        indexNameExpressionResolver,
        MatryoshkaStatsRequest::new,
        transportService.getThreadPool().executor(ThreadPool.Names.MANAGEMENT));
    this.indicesService = indicesService;
    this.projectResolver = projectResolver;
  }

  @Override
  protected ShardsIterator shards(ClusterState state, MatryoshkaStatsRequest request, String[] concreteIndices) {
    return state.routingTable(projectResolver.getProjectId()).allShards(concreteIndices);
  }

  @Override
  protected ClusterBlockException checkGlobalBlock(ClusterState state, MatryoshkaStatsRequest request) {
    return state.blocks().globalBlockedException(ClusterBlockLevel.METADATA_READ);
  }

  @Override
  protected ClusterBlockException checkRequestBlock(
      ClusterState state, MatryoshkaStatsRequest request, String[] concreteIndices) {
    return state.blocks()
        .indicesBlockedException(projectResolver.getProjectId(), ClusterBlockLevel.METADATA_READ, concreteIndices);
  }

  @Override
  protected ShardStats readShardResult(StreamInput in) throws IOException {
    return new ShardStats(in);
  }

  @Override
  protected ResponseFactory<MatryoshkaStatsResponse, ShardStats> getResponseFactory(
      MatryoshkaStatsRequest request, ClusterState clusterState) {
    return (totalShards, successfulShards, failedShards, results, shardFailures) ->
        new MatryoshkaStatsResponse(totalShards, successfulShards, failedShards, shardFailures, results);
  }

  @Override
  protected MatryoshkaStatsRequest readRequestFrom(StreamInput in) throws IOException {
    return new MatryoshkaStatsRequest(in);
  }

  @Override
  protected void shardOperation(
      MatryoshkaStatsRequest request,
      ShardRouting shardRouting,
      Task task,
      Void nodeContext,
      ActionListener<ShardStats> listener) {
    ActionListener.completeWith(listener, () -> shardStats(shardRouting));
  }

  private ShardStats shardStats(ShardRouting shardRouting) throws IOException {
    IndexService indexService = indicesService.indexServiceSafe(shardRouting.index());
    IndexShard shard = indexService.getShard(shardRouting.id());
    Map<String, FieldShape> shapes = new HashMap<>();
    Map<String, String> vectorFields = new HashMap<>();
    for (Mapper mapper : indexService.mapperService().mappingLookup().fieldMappers()) {
      if (mapper instanceof MatryoshkaVectorFieldMapper field) {
        MatryoshkaVectorFieldType type = field.fieldType();
        // Keyed by the user's name (the type itself is registered under a hidden one).
        shapes.put(type.vectorFieldName(), FieldShape.of(type));
        vectorFields.put(type.vectorFieldName(), type.vectorFieldName());
      }
    }
    Map<String, FieldStats> fields = new HashMap<>();
    vectorFields.keySet().forEach(name -> fields.put(name, new FieldStats()));
    if (vectorFields.isEmpty() == false) {
      try (Engine.Searcher searcher = shard.acquireSearcher("matryoshka_stats")) {
        for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
          for (Map.Entry<String, String> field : vectorFields.entrySet()) {
            SegmentSizes.addTo(fields.get(field.getKey()), leaf.reader(), field.getValue());
          }
        }
      }
    }
    return new ShardStats(shardRouting.getIndexName(), shardRouting.primary(), shapes, fields);
  }
}
