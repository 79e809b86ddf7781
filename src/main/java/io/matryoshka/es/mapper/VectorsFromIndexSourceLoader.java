package io.matryoshka.es.mapper;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.KnnVectorValues;
import org.apache.lucene.index.LeafReaderContext;
import org.elasticsearch.index.mapper.SourceLoader;

/**
 * Puts a {@code matryoshka_vector} value back into {@code _source} from the floats the index
 * stores, the way {@code dense_vector} does in Elasticsearch 9: the vector is left out of the
 * stored {@code _source} and {@code _recovery_source} (a float array as JSON text takes several
 * times the 4 bytes per dimension the index already keeps), and Elasticsearch asks this loader for
 * it wherever the source is read: GET, search fetch, update, reindex, peer recovery.
 *
 * <p>Values come back as float32, as {@code dense_vector}'s do.
 */
final class VectorsFromIndexSourceLoader implements SourceLoader.SyntheticVectorsLoader {
  private final String sourcePath;
  private final String vectorsField;

  /**
   * @param sourcePath where the value goes in {@code _source}: the {@code matryoshka_vector}
   *     field's own path
   * @param vectorsField the Lucene field holding its floats (the hidden child)
   */
  VectorsFromIndexSourceLoader(String sourcePath, String vectorsField) {
    this.sourcePath = sourcePath;
    this.vectorsField = vectorsField;
  }

  @Override
  public Leaf leaf(LeafReaderContext context) throws IOException {
    FloatVectorValues values = context.reader().getFloatVectorValues(vectorsField);
    if (values == null) {
      return null;
    }
    return new Leaf() {
      private KnnVectorValues.DocIndexIterator iterator = values.iterator();

      @Override
      public void load(int doc, List<SourceLoader.SyntheticVectorPatch> patches) throws IOException {
        if (doc < iterator.docID()) {
          // Recovery may revisit documents out of order: start over rather than miss the vector.
          iterator = values.iterator();
        }
        if (iterator.docID() < doc) {
          iterator.advance(doc);
        }
        if (iterator.docID() == doc) {
          float[] vector = values.vectorValue(iterator.index());
          List<Float> copy = new ArrayList<>(vector.length);
          for (float v : vector) {
            copy.add(v);
          }
          patches.add(new SourceLoader.LeafSyntheticVectorPath(sourcePath, copy));
        }
      }
    };
  }
}
