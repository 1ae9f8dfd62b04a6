"""The demo behind `make demo`: cluster a generated data set and describe the result."""

import time

import numpy as np
from sklearn.datasets import make_blobs

from centroids import KMeans


def main():
    X, truth = make_blobs(
        n_samples=100_000, n_features=6, centers=5, cluster_std=1.5, random_state=7
    )
    X = X.astype(np.float32)
    print(f"Clustering {X.shape[0]:,} rows × {X.shape[1]} features ({X.dtype}) into 5 clusters")
    started = time.perf_counter()
    model = KMeans(n_clusters=5, random_state=0).fit(X)
    elapsed = time.perf_counter() - started
    print(f"fit: {elapsed:.2f} s (includes compiling the kernels on the very first run)")
    print(f"iterations: {model.n_iter_}   inertia: {model.inertia_:,.1f}")
    sizes = np.bincount(model.labels_, minlength=model.n_clusters)
    header = "cluster  size     " + "  ".join(f"{'x' + str(j):>7}" for j in range(X.shape[1]))
    print(header)
    for c, (center, size) in enumerate(zip(model.cluster_centers_, sizes, strict=True)):
        coordinates = "  ".join(f"{value:7.2f}" for value in center)
        print(f"{c:>7}  {size:<7,}  {coordinates}")
    agreement = _best_match_accuracy(model.labels_, truth, model.n_clusters)
    print(f"rows in the cluster that matches their generating blob: {agreement:.1%}")


def _best_match_accuracy(labels, truth, k):
    from scipy.optimize import linear_sum_assignment

    table = np.zeros((k, k), dtype=np.int64)
    np.add.at(table, (labels, truth), 1)
    rows, cols = linear_sum_assignment(-table)
    return table[rows, cols].sum() / labels.size


if __name__ == "__main__":
    main()
