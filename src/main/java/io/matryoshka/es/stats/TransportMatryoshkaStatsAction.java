package io.matryoshka.es.stats;

import io.matryoshka.es.mapper.MatryoshkaVectorFieldMapper;
import io.matryoshka.es.mapper.MatryoshkaVectorFieldType;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.index.LeafReaderContext;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.NoShardAvailableActionException;
import org.elasticsearch.action.support.DefaultShardOperationFailedException;
import org.elasticsearch.action.support.TransportActions;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.broadcast.node.TransportBroadcastByNodeAction;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.block.ClusterBlockException;
import org.elasticsearch.cluster.block.ClusterBlockLevel;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.project.ProjectResolver;
import org.elasticsearch.cluster.routing.IndexRoutingTable;
import org.elasticsearch.cluster.routing.IndexShardRoutingTable;
import org.elasticsearch.cluster.routing.PlainShardsIterator;
import org.elasticsearch.cluster.routing.RoutingTable;
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
 * holding copies, and sums them per index and field. A shard with no active copy counts as one
 * failed shard (with a failure naming it), and so does a copy that cannot answer: Elasticsearch's
 * broadcast would count either in {@code total} but in neither {@code successful} nor {@code
 * failed}, so an index whose only shard failed answered {@code failed: 0}.
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

  /** Every active copy, and the primary of each shard that has none (to be counted as failed). */
  @Override
  protected ShardsIterator shards(ClusterState state, MatryoshkaStatsRequest request, String[] concreteIndices) {
    RoutingTable routing = state.routingTable(projectResolver.getProjectId());
    List<ShardRouting> copies = new ArrayList<>();
    for (String index : concreteIndices) {
      IndexRoutingTable table = routing.index(index);
      if (table == null) {
        continue;
      }
      for (int shard = 0; shard < table.size(); shard++) {
        IndexShardRoutingTable group = table.shard(shard);
        if (group.activeShards().isEmpty()) {
          copies.add(group.primaryShard());
        } else {
          copies.addAll(group.activeShards());
        }
      }
    }
    return new PlainShardsIterator(copies);
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
    // The copies the broadcast will not send to (unassigned, or on a node that left): failed.
    List<DefaultShardOperationFailedException> unreachable = new ArrayList<>();
    for (ShardRouting copy : shards(clusterState, request, resolveConcreteIndexNames(clusterState, request))) {
      if (copy.currentNodeId() == null || clusterState.nodes().get(copy.currentNodeId()) == null) {
        unreachable.add(
            new DefaultShardOperationFailedException(
                copy.getIndexName(),
                copy.id(),
                new NoShardAvailableActionException(copy.shardId(), "no active copy of the shard (" + copy.shortSummary() + ")")));
      }
    }
    return (totalShards, successfulShards, failedShards, results, shardFailures) -> {
      List<DefaultShardOperationFailedException> failures = new ArrayList<>(shardFailures);
      failures.addAll(unreachable);
      return new MatryoshkaStatsResponse(totalShards, successfulShards, failures.size(), failures, results);
    };
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
    ActionListener.completeWith(
        listener,
        () -> {
          try {
            return shardStats(shardRouting);
          } catch (Exception e) {
            if (TransportActions.isShardNotAvailableException(e)) {
              // The broadcast drops these silently; this copy was asked because its shard has no
              // active copy, so it is a failure to report.
              throw new IllegalStateException("shard " + shardRouting.shardId() + " is not available: " + e.getMessage(), e);
            }
            throw e;
          }
        });
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
