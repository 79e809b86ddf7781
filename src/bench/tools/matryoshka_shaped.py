#!/usr/bin/env python3
"""A Matryoshka-shaped synthetic set (TEXMEX .fvecs/.ivecs, like ../shared/datasets): what a
Matryoshka-trained model's embeddings look like to the codes, for checking that a mapping or funnel
loses nothing on such models without having one at hand.

usage: matryoshka_shaped.py OUT_DIR [DOCS] [DIMS] [QUERIES] [SEED]

Documents are unit vectors around 2,000 topic centres. Per dimension, both the centres and the
within-topic spread are scaled by (1 + i / 48) ** -0.75, so the leading dimensions carry most of the
variance and a prefix of the vector ranks neighbours nearly as the whole does: the property
Matryoshka training gives (the first 64, 128, ... dims are usable embeddings themselves). Queries
are noisy copies of random documents (noise of 0.7 times their length, shaped like the documents: cosine about 0.8 to their source). Ground truth: the exact
top 100 by cosine, written as groundtruth.ivecs.
"""
import os
import sys

import numpy as np


def write_fvecs(path, x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows = np.empty((x.shape[0], x.shape[1] + 1), dtype=np.float32)
    rows[:, 0] = np.array([x.shape[1]], dtype=np.int32).view(np.float32)[0]
    rows[:, 1:] = x
    rows.tofile(path)


def write_ivecs(path, x):
    rows = np.empty((x.shape[0], x.shape[1] + 1), dtype=np.int32)
    rows[:, 0] = x.shape[1]
    rows[:, 1:] = x
    rows.tofile(path)


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    dims = int(sys.argv[3]) if len(sys.argv) > 3 else 384
    nq = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    rng = np.random.default_rng(int(sys.argv[5]) if len(sys.argv) > 5 else 42)
    os.makedirs(out, exist_ok=True)
    scale = (1 + np.arange(dims) / 48.0) ** -0.75
    centres = rng.standard_normal((2000, dims)).astype(np.float32)
    topic = rng.integers(0, len(centres), n)
    docs = np.empty((n, dims), dtype=np.float32)
    for start in range(0, n, 100_000):
        end = min(n, start + 100_000)
        noise = rng.standard_normal((end - start, dims)).astype(np.float32)
        docs[start:end] = unit((centres[topic[start:end]] + 0.9 * noise) * scale)
    source = rng.integers(0, n, nq)
    queries = unit(docs[source] + 0.7 * unit(rng.standard_normal((nq, dims)).astype(np.float32) * scale))
    truth = np.empty((nq, 100), dtype=np.int32)
    for start in range(0, nq, 100):
        sims = queries[start:start + 100] @ docs.T
        top = np.argpartition(-sims, 100, axis=1)[:, :100]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
        truth[start:start + 100] = np.take_along_axis(top, order, axis=1)
    write_fvecs(os.path.join(out, "docs.fvecs"), docs)
    write_fvecs(os.path.join(out, "queries.fvecs"), queries)
    write_ivecs(os.path.join(out, "groundtruth.ivecs"), truth)
    for prefix in (64, 128, 192):
        p = unit(queries[:, :prefix]) @ unit(docs[:, :prefix]).T
        hits = np.mean([len(set(np.argsort(-p[i])[:10]) & set(truth[i, :10])) / 10 for i in range(min(nq, 200))])
        print(f"prefix {prefix}: exact top 10 by the prefix alone finds {hits:.3f} of the true top 10")
    print(f"query-source cosine mean {np.mean(np.sum(queries * docs[source], axis=1)):.3f}; wrote {n} x {dims} and {nq} queries to {out}")


if __name__ == "__main__":
    main()
