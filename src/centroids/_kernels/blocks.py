"""Kernels over fixed blocks of rows, for results that must not depend on partitioning.

A block is ``block_rows`` consecutive rows counted from the first row of the whole data
set (the caller passes arrays that start on a block boundary). Every per-block result
is a sequential sum over the block's rows in row order, so it is the same whichever
partition, worker or thread computes it; blocks run in parallel over numba's threads.
"""

import numpy as np
from numba import prange

from ._compile import chunked_kernel


@chunked_kernel
def block_cluster_sums(
    X,  # IN (n, d) float32/float64, C-ordered
    sample_weight,  # IN (n,) X's dtype
    labels,  # IN (n,) int32
    centers,  # IN (k, d) float64
    block_rows,  # IN int
    spherical,  # IN bool: rows are unit vectors or zero; zero rows cost w, move nowhere
    sums,  # OUT (n_blocks, k, d) float64
    weights,  # OUT (n_blocks, k) float64
    members,  # OUT (n_blocks, k) int64: rows of positive weight
    inertia,  # OUT (n_blocks,) float64
    sq_dist,  # OUT (n,) float64: squared distance to the labelled center, 0 for zero rows
):
    """Per block: weighted sums, weights, positive-weight members and inertia of every
    cluster, with the exact float64 squared distance of each row to its center."""
    n, d = X.shape
    n_blocks = sums.shape[0]
    for b in prange(n_blocks):
        sums[b] = 0.0
        weights[b] = 0.0
        members[b] = 0
        block_inertia = 0.0
        for i in range(b * block_rows, min(n, (b + 1) * block_rows)):
            c = labels[i]
            w = np.float64(sample_weight[i])
            dist = 0.0
            norm = 0.0
            for j in range(d):
                x = np.float64(X[i, j])
                diff = x - centers[c, j]
                dist += diff * diff
                norm += x * x
                sums[b, c, j] += w * x
            weights[b, c] += w
            if w > 0:
                members[b, c] += 1
            if spherical:
                if norm == 0.0:
                    block_inertia += w
                    dist = 0.0
                else:
                    block_inertia += w * dist * 0.5
            else:
                block_inertia += w * dist
            sq_dist[i] = dist
        inertia[b] = block_inertia


@chunked_kernel
def block_totals(
    values,  # IN (n,) float64
    block_rows,  # IN int
    totals,  # OUT (n_blocks,) float64
):
    """Sequential sum of ``values`` over every block."""
    n = values.shape[0]
    for b in prange(totals.shape[0]):
        total = 0.0
        for i in range(b * block_rows, min(n, (b + 1) * block_rows)):
            total += values[i]
        totals[b] = total


@chunked_kernel
def block_column_moments(
    X,  # IN (n, d)
    shift,  # IN (d,) float64: subtracted before squaring (the mean, or zeros)
    block_rows,  # IN int
    first,  # OUT (n_blocks, d) float64: Σ (x - shift)
    second,  # OUT (n_blocks, d) float64: Σ (x - shift)²
):
    """Per block and column, the sums of the shifted values and of their squares."""
    n, d = X.shape
    for b in prange(first.shape[0]):
        first[b] = 0.0
        second[b] = 0.0
        for i in range(b * block_rows, min(n, (b + 1) * block_rows)):
            for j in range(d):
                v = np.float64(X[i, j]) - shift[j]
                first[b, j] += v
                second[b, j] += v * v


@chunked_kernel
def block_candidate_weights(
    closest,  # IN (n,) int64: index of each row's closest candidate
    sample_weight,  # IN (n,) float64
    block_rows,  # IN int
    out,  # OUT (n_blocks, n_candidates) float64
):
    """Per block, the weight of the rows closest to each candidate."""
    n = closest.shape[0]
    for b in prange(out.shape[0]):
        out[b] = 0.0
        for i in range(b * block_rows, min(n, (b + 1) * block_rows)):
            out[b, closest[i]] += sample_weight[i]


@chunked_kernel
def labelled_sq_distances(
    X,  # IN (n, d)
    labels,  # IN (n,) integer
    centers,  # IN (k, d) float64
    out,  # OUT (n,) float64
):
    """Exact float64 squared distance of every row to the center it is labelled with."""
    n, d = X.shape
    for i in prange(n):
        c = labels[i]
        dist = 0.0
        for j in range(d):
            diff = np.float64(X[i, j]) - centers[c, j]
            dist += diff * diff
        out[i] = dist
