package io.matryoshka.es.mapper;

import io.matryoshka.codec.MatryoshkaVectorsFormat;
import io.matryoshka.quantization.Rotation;
import java.util.concurrent.ExecutorService;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.mapper.vectors.DenseVectorFieldMapper;
import org.elasticsearch.index.mapper.vectors.VectorsFormatProvider;

/**
 * Hands Elasticsearch's per-field codec this plugin's format for one {@code matryoshka_vector}
 * field. Elasticsearch asks only {@code dense_vector} mappers for a field's format, and those ask
 * their providers; so each field's hidden {@code dense_vector} child gets its own provider carrying
 * the field's code parameters (the provider interface is not told which field it serves).
 */
final class MatryoshkaFormatProvider implements VectorsFormatProvider {
  private final int[] nestedDims;
  private final int bits;
  private final Rotation rotation;

  MatryoshkaFormatProvider(int[] nestedDims, int bits, Rotation rotation) {
    this.nestedDims = nestedDims.clone();
    this.bits = bits;
    this.rotation = rotation;
  }

  @Override
  public KnnVectorsFormat getKnnVectorsFormat(
      IndexSettings indexSettings,
      DenseVectorFieldMapper.DenseVectorIndexOptions indexOptions,
      DenseVectorFieldMapper.VectorSimilarity similarity,
      DenseVectorFieldMapper.ElementType elementType,
      ExecutorService mergingExecutorService,
      int maxMergingWorkers) {
    if (elementType != DenseVectorFieldMapper.ElementType.FLOAT) {
      return null;
    }
    return new MatryoshkaVectorsFormat(nestedDims, bits, rotation);
  }
}
