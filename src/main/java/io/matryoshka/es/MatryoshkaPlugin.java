package io.matryoshka.es;

import io.matryoshka.quantization.BitKernels;
import io.matryoshka.es.mapper.MatryoshkaVectorFieldMapper;
import io.matryoshka.es.mapper.MatryoshkaVectorFieldType;
import io.matryoshka.es.query.MatryoshkaKnnQueryBuilder;
import io.matryoshka.es.stats.MatryoshkaStatsAction;
import io.matryoshka.es.stats.RestMatryoshkaStatsAction;
import io.matryoshka.es.stats.TransportMatryoshkaStatsAction;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.index.mapper.Mapper;
import org.elasticsearch.logging.LogManager;
import org.elasticsearch.logging.Logger;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.FieldPredicate;
import org.elasticsearch.plugins.MapperPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.SearchPlugin;
import org.elasticsearch.rest.RestHandler;

/**
 * Registers the {@code matryoshka_vector} field, the {@code matryoshka_knn} query and the
 * {@code _matryoshka/stats} API. The vectors format itself reaches Lucene through SPI.
 */
public final class MatryoshkaPlugin extends Plugin implements MapperPlugin, SearchPlugin, ActionPlugin {
  private static final Logger LOGGER = LogManager.getLogger(MatryoshkaPlugin.class);

  public MatryoshkaPlugin() {
    // Which first-stage kernels this node runs decides its scan speed; say it once, at startup.
    LOGGER.info(
        "first-stage code kernels: {}",
        BitKernels.VECTOR_KERNELS ? "Vector API, 512-bit (jdk.incubator.vector)" : "scalar (no 512-bit Vector API on this JVM)");
  }
  @Override
  public Map<String, Mapper.TypeParser> getMappers() {
    return Map.of(MatryoshkaVectorFieldMapper.CONTENT_TYPE, MatryoshkaVectorFieldMapper.PARSER);
  }

  /**
   * Hides each {@code matryoshka_vector} field's hidden type name (the user's name plus {@value
   * MatryoshkaVectorFieldType#HIDDEN_NAME_SUFFIX}) from {@code _field_caps}, {@code _mapping/field}
   * and get-mapping responses: users see one field, under their own name (the {@code dense_vector}
   * child's full path).
   */
  @Override
  public Function<String, FieldPredicate> getFieldFilter() {
    return index -> HIDE_HIDDEN_NAMES;
  }

  private static final FieldPredicate HIDE_HIDDEN_NAMES =
      new FieldPredicate() {
        @Override
        public boolean test(String field) {
          return MatryoshkaVectorFieldType.isHiddenName(field) == false;
        }

        @Override
        public String modifyHash(String hash) {
          return hash + ":matryoshka-hidden-names";
        }

        @Override
        public long ramBytesUsed() {
          return 0; // one shared instance
        }

        @Override
        public String toString() {
          return "hide matryoshka_vector hidden names";
        }
      };

  @Override
  public List<QuerySpec<?>> getQueries() {
    return List.of(
        new QuerySpec<>(
            MatryoshkaKnnQueryBuilder.NAME, MatryoshkaKnnQueryBuilder::new, MatryoshkaKnnQueryBuilder::fromXContent));
  }

  @Override
  public Collection<ActionHandler> getActions() {
    return List.of(new ActionHandler(MatryoshkaStatsAction.INSTANCE, TransportMatryoshkaStatsAction.class));
  }

  @Override
  public Collection<RestHandler> getRestHandlers(
      RestHandlersServices services, Supplier<DiscoveryNodes> nodesInCluster, Predicate<NodeFeature> clusterSupportsFeature) {
    return List.of(new RestMatryoshkaStatsAction());
  }
}
