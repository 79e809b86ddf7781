package io.matryoshka.engine;

import org.apache.lucene.util.ArrayUtil;
import java.util.Arrays;

/**
 * The best {@code capacity} (ord, score) pairs seen so far: a binary min-heap on primitive arrays,
 * so a stage scanning every document allocates nothing per document. On equal scores the
 * candidate offered first stays, which keeps results deterministic.
 */
final class TopCandidates {
  private final int capacity;
  private int[] heapOrds;
  private float[] heapScores;
  private int size;

  TopCandidates(int capacity) {
    this.capacity = capacity;
    // Grown on demand: a huge "keep everything" stage on a small segment allocates little.
    int initial = Math.min(capacity, 1024);
    this.heapOrds = new int[initial];
    this.heapScores = new float[initial];
  }

  void offer(int ord, float score) {
    if (size < capacity) {
      if (size == heapOrds.length) {
        heapOrds = ArrayUtil.growInRange(heapOrds, size + 1, capacity);
        heapScores = ArrayUtil.growExact(heapScores, heapOrds.length);
      }
      heapOrds[size] = ord;
      heapScores[size] = score;
      siftUp(size++);
    } else if (score > heapScores[0]) {
      heapOrds[0] = ord;
      heapScores[0] = score;
      siftDown(0);
    }
  }

  /** The kept ords in ascending order: the order later stages read the files in. */
  int[] ordsAscending() {
    int[] result = Arrays.copyOf(heapOrds, size);
    Arrays.sort(result);
    return result;
  }

  private void siftUp(int index) {
    int ord = heapOrds[index];
    float score = heapScores[index];
    while (index > 0) {
      int parent = (index - 1) >>> 1;
      if (heapScores[parent] <= score) {
        break;
      }
      heapOrds[index] = heapOrds[parent];
      heapScores[index] = heapScores[parent];
      index = parent;
    }
    heapOrds[index] = ord;
    heapScores[index] = score;
  }

  private void siftDown(int index) {
    int ord = heapOrds[index];
    float score = heapScores[index];
    int half = size >>> 1;
    while (index < half) {
      int child = 2 * index + 1;
      int right = child + 1;
      if (right < size && heapScores[right] < heapScores[child]) {
        child = right;
      }
      if (score <= heapScores[child]) {
        break;
      }
      heapOrds[index] = heapOrds[child];
      heapScores[index] = heapScores[child];
      index = child;
    }
    heapOrds[index] = ord;
    heapScores[index] = score;
  }
}
