"""Better fits for choose_k from the fits of the neighbouring K.

One k-means fit per K can stop in a local optimum: two true clusters under one center and
another cluster cut in two. At the true K that fit misleads every criterion computed from
its labels (measured: a 10^6-row draw of 6 blobs whose fit at K = 6 had 43% more inertia
than the optimum, so that the vote picked 5). The fits of K - 1 and K + 1 often hold the
answer: split one cluster of the K - 1 fit in two, or drop one center of the K + 1 fit,
and Lloyd from there reaches the optimum. Every such start is first polished on a sample
of the rows and costs one assignment pass over X to compare with the fit in hand; only a
start that beats it is refitted on all rows, and kept when its inertia is lower.
"""

from __future__ import annotations

import numpy as np

from ..models.kmeans import KMeans
from ..vq import vq


def _inertia(X, centers, sample_weight):
    """Weighted sum of squared distances of X's rows to their nearest center."""
    _, distances = vq(X, centers.astype(X.dtype, copy=False), check_finite=False)
    squared = distances.astype(np.float64) ** 2
    return float(squared.sum() if sample_weight is None else sample_weight @ squared)


def _split_start(S, w, centers, seed):
    """centers plus one: the cluster whose 2-means split lowers the sample's inertia most,
    replaced by the two halves' centers (None when no cluster has 2 distinct rows)."""
    labels, distances = vq(S, centers.astype(S.dtype, copy=False), check_finite=False)
    squared = distances.astype(np.float64) ** 2
    best, start = 0.0, None
    for c in range(centers.shape[0]):
        members = np.flatnonzero(labels == c)
        if members.size < 2:
            continue
        weights = None if w is None else w[members]
        halves = KMeans(2, n_init=1, refine=False, random_state=seed).fit(
            S[members], sample_weight=weights
        )
        own = squared[members].sum() if weights is None else weights @ squared[members]
        gain = own - halves.inertia_
        if gain > best:
            best = gain
            start = np.vstack([np.delete(centers, c, axis=0), halves.cluster_centers_])
    return start


def _merge_start(S, w, centers):
    """centers less one: the center whose removal raises the sample's inertia least."""
    S = S.astype(np.float64, copy=False)
    squared = (S * S).sum(axis=1)[:, None] - 2.0 * (S @ centers.T) + (centers**2).sum(axis=1)
    order = np.argsort(squared, axis=1)[:, :2]
    rows = np.arange(S.shape[0])
    extra = squared[rows, order[:, 1]] - squared[rows, order[:, 0]]
    if w is not None:
        extra = extra * w
    cost = np.bincount(order[:, 0], weights=extra, minlength=centers.shape[0])
    return np.delete(centers, int(np.argmin(cost)), axis=0)


class NeighbourStarts:
    """Improves a dict ``k -> fitted KMeans`` with starts from ``k - 1`` and ``k + 1``.

    ``sample_rows`` rows, drawn once from ``seed``, polish every start; ``kmeans_params``
    (less ``n_init`` and ``init``) are those of the fits on all rows.
    """

    def __init__(self, X, sample_weight, kmeans_params, sample_rows, seed):
        self.X, self.sample_weight = X, sample_weight
        self.params = {
            name: value
            for name, value in kmeans_params.items()
            if name not in ("n_init", "init", "refine")
        }
        rng = np.random.RandomState(seed)
        n = X.shape[0]
        rows = np.sort(rng.permutation(n)[:sample_rows]) if n > sample_rows else None
        self.S = X if rows is None else X[rows]
        self.w = sample_weight if rows is None or sample_weight is None else sample_weight[rows]
        self.seed = int(rng.randint(2**31 - 1))

    def _polished(self, start):
        k = start.shape[0]
        model = KMeans(k, init=start, n_init=1, refine=False, **self.params)
        return model.fit(self.S, sample_weight=self.w).cluster_centers_

    def _try(self, models, k, start):
        """Replaces models[k] by a fit from ``start`` when that lowers the inertia."""
        if start is None:
            return False
        centers = self._polished(start)
        if not _inertia(self.X, centers, self.sample_weight) < models[k].inertia_:
            return False
        model = KMeans(k, init=centers, n_init=1, refine=False, **self.params)
        model.fit(self.X, sample_weight=self.sample_weight)
        if not model.inertia_ < models[k].inertia_:
            return False
        models[k] = model
        return True

    def improve(self, models):
        """One sweep up (splits of k - 1) and one down (merges of k + 1); returns the
        set of k whose model was replaced (``models`` is changed in place)."""
        changed = set()
        ks = sorted(models)
        for k in ks:
            if k - 1 in models and k - 1 >= 1:
                start = _split_start(self.S, self.w, models[k - 1].cluster_centers_, self.seed)
                if self._try(models, k, start):
                    changed.add(k)
        for k in reversed(ks):
            if k + 1 in models and k >= 2:
                start = _merge_start(self.S, self.w, models[k + 1].cluster_centers_)
                if self._try(models, k, start):
                    changed.add(k)
        return changed
