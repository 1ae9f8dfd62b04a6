"""K-Means on Dask: the engine's kernels run on the partitions of a Dask collection.

``KMeans``, ``MiniBatchKMeans`` and ``SphericalKMeans`` send a ``dask.array.Array`` or
a ``dask.dataframe.DataFrame`` here (:func:`fit_dask`); the work runs on the current
``distributed.Client``, or on dask's local scheduler when there is none.

The fit is exact and deterministic:

* The rows are cut into fixed blocks of ``DASK_BLOCK_ROWS`` rows counted from the first
  row; partition boundaries are moved onto block boundaries once, when the data are
  persisted. Every sum (cluster sums, weights, inertia, candidate weights, column
  moments) is taken block by block in row order by a kernel of
  :mod:`centroids._kernels.blocks`, and the blocks are combined over one fixed binary
  tree: each partition returns the largest whole subtrees it holds, the merge joins
  siblings only. So the sums are bit-identical for any partitioning of the same rows,
  any number of workers and of threads per worker.
* Randomness (k-means|| oversampling, 'random' seeding) is drawn per block from a
  generator seeded by ``(seed, round, block index)``, the seed coming from
  ``random_state``: never from a worker or a partition.
* Seeding is k-means|| (Bahmani et al., 2012): the distances to the candidates are kept
  on the workers; the candidates, weighted by the rows closest to them, are reduced to
  ``n_clusters`` on the client. Euclidean fits recluster them (the reduction Bahmani et
  al. propose): the in-memory engine's k-means on the weighted candidates, greedy
  k-means++ starts, Lloyd and swap refinement, best of ``DASK_RECLUSTER_STARTS``; the
  candidates are a few thousand rows, so this costs a fraction of one pass over X and
  starts the Lloyd passes near a good optimum rather than one k-means++ draw.
  Spherical fits reduce them by weighted greedy k-means++.
* Refinement (Euclidean fits, ``refine`` True, or 'auto' with a seeding by name): the
  start is refined on the client by the in-memory engine's Lloyd and random swap
  (:func:`centroids.engine.refine.random_swap`) over a sample of the rows, each kept
  with one probability, the uniforms drawn per block from ``(seed, block index)``: every
  row where one pass over X is as small as the in-memory ``refine='auto'`` refines (so
  the whole data is refined, as in memory), else about
  ``REFINE_AUTO_MAX_WORK / (features × k)`` rows, at least
  ``DASK_REFINE_ROWS_PER_CLUSTER`` a cluster. One pass draws it.
* Lloyd passes: each partition assigns its rows with the engine's kernels (exact
  nearest centers) and returns per-cluster sums, weights, member counts and inertia.
  Empty clusters take the farthest rows, as in memory
  (:func:`centroids.engine.relocate_empty_clusters`); convergence is on the total
  squared center shift relative to the mean variance of the features, as in memory.
* A pass whose data the cluster lost (a worker died, ``client.restart``) is run again
  from the source collection, up to ``DASK_PASS_RETRIES`` times: a pass is a pure
  function of the data and the centers, so the result is the same; after that the fit
  fails with a :class:`DaskFitError`.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
import warnings

import numba
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._kernels import blocks as kernels
from .._kernels.dense import first_nonfinite
from .._utils.validation import reject_non_numeric_columns, unchanged_on_error
from ..settings import (
    DASK_BLOCK_ROWS,
    DASK_PASS_RETRIES,
    DASK_RECLUSTER_STARTS,
    DASK_REFINE_MAX_VALUES,
    DASK_REFINE_ROWS_PER_CLUSTER,
    REFINE_AUTO_MAX_WORK,
)
from .data import DenseData
from .lloyd import centers_from_sums
from .seeding import kmeans_plusplus_centers

__all__ = [
    "DaskFitError",
    "fit_dask",
    "is_dask_collection",
    "predict_dask",
    "require_dask",
    "score_dask",
    "transform_dask",
]

INSTALL_HINT = "pip install 'centroids[dask]'"


class DaskFitError(RuntimeError):
    """A Dask fit could not complete: the cluster kept losing the data of a pass."""


def is_dask_collection(X):
    """Whether X is a Dask collection (checked without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "__dask_graph__")


def require_dask():
    """Import dask.array and dask.dataframe, or say what to install."""
    try:
        import dask
        import dask.array
        import dask.dataframe
    except ImportError as error:
        raise ImportError(
            f"Fitting or predicting on a Dask collection needs dask[array,dataframe] and "
            f"distributed: {INSTALL_HINT} ({error})."
        ) from error
    return dask


# -- the data: a validated, block-aligned dask array ------------------------------------


def _as_dask_array(estimator, X, *, reset, where):
    """(float dask array of X, its dtype): checks the type, the columns and the features,
    and sets (``reset``) or checks ``n_features_in_`` / ``feature_names_in_``."""
    require_dask()
    import dask.array as da
    import dask.dataframe as dd
    from sklearn.utils.validation import _check_feature_names

    name = type(estimator).__name__
    if isinstance(X, dd.DataFrame):
        meta = X._meta
        reject_non_numeric_columns(meta, name)
        _check_feature_names(estimator, meta, reset=reset)
        floats32 = len(meta.dtypes) and all(dtype == np.float32 for dtype in meta.dtypes)
        dtype = np.dtype(np.float32 if floats32 else np.float64)
        array = X.to_dask_array(lengths=True if reset else None).astype(dtype)
    elif isinstance(X, da.Array):
        if X.ndim != 2:
            raise ValueError(
                f"{name}.{where} needs a 2-D dask array (rows × features); got {X.ndim}-D "
                f"shape {X.shape}. Reshape it, e.g. X.reshape(-1, 1) for one feature."
            )
        if X.dtype.kind not in "fiub":
            raise TypeError(
                f"{name}.{where} needs a numeric dask array; got dtype {X.dtype}. Convert it "
                "with X.astype(float) or encode the non-numeric values."
            )
        if reset:
            _check_feature_names(estimator, X, reset=True)
        dtype = np.dtype(np.float32 if X.dtype == np.float32 else np.float64)
        array = X.astype(dtype)
    else:
        raise TypeError(
            f"{name}.{where} takes a dask.array.Array or a dask.dataframe.DataFrame; got "
            f"{type(X).__name__}. Convert it, e.g. with .to_dask_array() or .to_frame()."
        )
    n_features = array.shape[1]
    if reset:
        estimator.n_features_in_ = n_features
    elif n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    if array.chunks[1] != (n_features,):
        array = array.rechunk({1: -1})
    return array, dtype


def aligned_row_chunks(row_chunks, block_rows=DASK_BLOCK_ROWS):
    """Row chunks with every boundary moved down onto a multiple of ``block_rows``
    (partitions smaller than a block join their neighbour)."""
    bounds = np.cumsum(row_chunks)
    n_rows = int(bounds[-1]) if len(bounds) else 0
    cuts = sorted({int(b) - int(b) % block_rows for b in bounds[:-1]} - {0})
    edges = [0, *cuts, n_rows]
    return tuple(int(b - a) for a, b in itertools.pairwise(edges) if b > a)


def _checked_block(block, where, feature_names, block_info=None):
    """The block, C-ordered; ValueError at the first NaN or infinity, by global row."""
    block = np.ascontiguousarray(block)
    row, column = first_nonfinite(block)
    if row >= 0:
        start = block_info[0]["array-location"][0][0] if block_info else 0
        label = (
            f"column {feature_names[column]!r}" if feature_names is not None else f"column {column}"
        )
        kind = "NaN" if np.isnan(block[row, column]) else "infinity (inf)"
        raise ValueError(
            f"X passed to {where} contains {kind} in {label}, first at row {start + row}. "
            "K-Means needs finite numbers: drop those rows or impute them."
        )
    return block


def _checked_weights(block, block_info=None):
    """The weights block as float64; ValueError at a negative or non-finite weight."""
    weights = np.asarray(block, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if bad.size:
        start = block_info[0]["array-location"][0][0] if block_info else 0
        raise ValueError(
            f"sample_weight contains {weights[bad[0]]} at index {start + bad[0]}; weights "
            "must be finite numbers >= 0."
        )
    return weights


def _unit_rows(block):
    """Rows scaled to unit norm (rows of zeros stay zero)."""
    norms = np.sqrt(np.einsum("ij,ij->i", block, block, dtype=np.float64))
    scale = np.zeros_like(norms)
    np.divide(1.0, norms, out=scale, where=norms > 0)
    return np.ascontiguousarray(block * scale.astype(block.dtype)[:, None])


class DaskRows:
    """X (and its weights) as dask arrays whose row chunks start on block boundaries.

    ``lazy_*`` are the validated graphs from the source collection; ``X`` and ``weights``
    their persisted form (on the cluster's workers, or in memory with the local
    scheduler), made again by :meth:`persist` after the cluster lost them.
    """

    def __init__(self, estimator, X, sample_weight, where, spherical=False):
        import dask.array as da

        array, self.dtype = _as_dask_array(estimator, X, reset=True, where=where)
        if any(math.isnan(c) for c in array.chunks[0]):
            array = array.compute_chunk_sizes()
        self.n_rows, self.n_features = array.shape
        if self.n_rows == 0:
            raise ValueError(f"X passed to {where} has no rows; give at least one.")
        chunks = aligned_row_chunks(array.chunks[0])
        names = getattr(estimator, "feature_names_in_", None)
        array = array.rechunk({0: chunks, 1: -1}).map_blocks(
            _checked_block, f"{type(estimator).__name__}.{where}", names, dtype=self.dtype
        )
        if spherical:
            array = array.map_blocks(_unit_rows, dtype=self.dtype)
        self.lazy_X = array
        self.lazy_weights = None
        if sample_weight is not None:
            if not is_dask_collection(sample_weight):
                sample_weight = np.asarray(sample_weight)
                if sample_weight.ndim == 0:
                    sample_weight = np.full(self.n_rows, float(sample_weight))
                sample_weight = da.from_array(sample_weight, chunks=(chunks,))
            elif hasattr(sample_weight, "to_dask_array"):
                sample_weight = sample_weight.to_dask_array(lengths=True)
            if sample_weight.ndim != 1 or sample_weight.shape[0] != self.n_rows:
                raise ValueError(
                    f"sample_weight must be 1-D with one weight per row of X ({self.n_rows} "
                    f"rows); got shape {sample_weight.shape}."
                )
            self.lazy_weights = sample_weight.rechunk((chunks,)).map_blocks(
                _checked_weights, dtype=np.float64
            )
        self.chunks = chunks
        self.starts = np.concatenate([[0], np.cumsum(chunks)[:-1]]).astype(np.int64)
        self.first_blocks = self.starts // DASK_BLOCK_ROWS
        self.n_blocks = -(-self.n_rows // DASK_BLOCK_ROWS)
        self.persist()

    def persist(self, fresh_keys=False):
        """Persist the rows (and weights). ``fresh_keys`` gives the persisted blocks, and
        so every task of the passes built on them, names never used before: after the
        cluster lost data, a Future of an earlier attempt that is still referenced (by a
        traceback, say) keeps its key's cancelled state in the client, and a task of the
        same name would fail again at once. The values, and so the fit, do not change."""
        import dask

        X, weights = self.lazy_X, self.lazy_weights
        if fresh_keys:
            X = _renamed(X)
            weights = None if weights is None else _renamed(weights)
        if weights is None:
            (self.X,) = dask.persist(X)
            self.weights = None
        else:
            self.X, self.weights = dask.persist(X, weights)

    def release(self):
        self.X = self.weights = None

    def partitions(self):
        """(X block, weights block or None, first block index, first row) per partition."""
        x_parts = self.X.to_delayed().ravel()
        w_parts = (
            self.weights.to_delayed().ravel() if self.weights is not None else [None] * len(x_parts)
        )
        return list(
            zip(x_parts, w_parts, self.first_blocks.tolist(), self.starts.tolist(), strict=True)
        )


def _same_block(block):
    return block


def _renamed(array):
    """``array`` under block names never used before (same values)."""
    import uuid

    name = f"centroids-rows-{uuid.uuid4().hex}"
    return array.map_blocks(_same_block, dtype=array.dtype, name=name)


def _weights_of(weights, X):
    """The weights of a partition in X's dtype (ones when none were given)."""
    if weights is None:
        return np.ones(X.shape[0], dtype=X.dtype)
    return np.asarray(weights, dtype=X.dtype)


# -- the fixed tree over blocks ------------------------------------------------------


def _add(a, b):
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _tree_value(level, index, known, n_blocks):
    """Value of tree node (level, index): the blocks [index·2^level, (index+1)·2^level)
    within n_blocks, as its two children added (left + right), or its left child when
    the right one holds no block; ``known`` holds nodes already computed."""
    node = known.get((level, index))
    if node is not None:
        return node
    if level == 0:
        raise KeyError(f"block {index} is missing from the partial results")
    left = _tree_value(level - 1, 2 * index, known, n_blocks)
    if (2 * index + 1) << (level - 1) >= n_blocks:
        return left
    return _add(left, _tree_value(level - 1, 2 * index + 1, known, n_blocks))


def _root_level(n_blocks):
    return max(0, math.ceil(math.log2(n_blocks))) if n_blocks > 1 else 0


def subtree_nodes(first_block, leaves, n_blocks):
    """The largest whole tree nodes over the blocks [first_block, first_block +
    len(leaves)), each with its value: what one partition contributes."""
    stop = first_block + len(leaves)
    known = {(0, first_block + i): leaf for i, leaf in enumerate(leaves)}
    nodes = {}
    start = first_block
    while start < stop:
        level = 0
        while True:
            size = 1 << (level + 1)
            if start % size or min(start + size, n_blocks) > stop or start + size // 2 >= n_blocks:
                break
            level += 1
        nodes[(level, start >> level)] = _tree_value(level, start >> level, known, n_blocks)
        start = min(start + (1 << level), n_blocks)
    return nodes


def merge_nodes(n_blocks, *parts):
    """Union of partial results, siblings joined into their parent where both (or the
    only child holding blocks) are present. Gives the same node values in any grouping."""
    known = {}
    for part in parts:
        known.update(part)
    changed = True
    while changed:
        changed = False
        for level, index in sorted(known):
            if (level, index) not in known or level >= _root_level(n_blocks):
                continue
            parent = (level + 1, index >> 1)
            left, right = (level, index & ~1), (level, index | 1)
            right_empty = (right[1] << level) >= n_blocks
            if left in known and (right_empty or right in known):
                value = known.pop(left) if right_empty else _add(known.pop(left), known.pop(right))
                known[parent] = value
                changed = True
    return known


def _tree_reduce(parts, n_blocks, fan_in=8):
    """Delayed merge of the partitions' nodes, adjacent partitions first, fan-in 8."""
    import dask

    merge = dask.delayed(merge_nodes, pure=True)
    while len(parts) > 1:
        parts = [merge(n_blocks, *parts[i : i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0] if parts else None


def _root(nodes, n_blocks):
    return _tree_value(_root_level(n_blocks), 0, nodes, n_blocks)


# -- running a pass, again after a lost worker --------------------------------------


def _lost_data_errors():
    errors = [OSError]
    try:
        from distributed import KilledWorker
        from distributed.client import FutureCancelledError

        errors += [KilledWorker, FutureCancelledError]
    except ImportError:  # pragma: no cover - distributed is part of the extra
        pass
    import asyncio
    import concurrent.futures

    errors += [asyncio.CancelledError, concurrent.futures.CancelledError]
    return tuple(errors)


class _DataLost(Exception):
    """The cluster lost data a pass needed (kept inside this module)."""


def _run_pass(rows, build):
    """``dask.compute(build())``; ``_DataLost`` when the cluster lost the data."""
    import dask

    try:
        return dask.compute(build())[0]
    except _lost_data_errors() as error:
        raise _DataLost(error) from error


def _retrying(rows, attempt_once, restore=None):
    """``attempt_once()``, again from the source data each time the cluster lost data,
    up to ``DASK_PASS_RETRIES`` times (``restore`` resets what the attempt consumed)."""
    for attempt in range(DASK_PASS_RETRIES + 1):
        try:
            return attempt_once()
        except _DataLost as lost:
            # No exception object outlives its except block: its traceback holds the
            # attempt's futures, and with them their cancelled state in the client.
            if attempt == DASK_PASS_RETRIES:
                error = lost.__cause__ or lost
                raise DaskFitError(
                    f"The Dask cluster lost the data of a k-means pass {attempt + 1} times "
                    f"({type(error).__name__}: {error}); no result was produced. Check the "
                    "workers' memory and logs and fit again: the same random_state gives "
                    "the same centers."
                ) from error
        if restore is not None:
            restore()
        rows.persist(fresh_keys=True)
    raise AssertionError("unreachable")  # pragma: no cover


def _compute(rows, build):
    """One pass that depends on the persisted data only, run again after a loss."""
    return _retrying(rows, lambda: _run_pass(rows, build))


def _delayed(function):
    import dask

    return dask.delayed(function, pure=True)


# -- partition tasks (run on the workers) --------------------------------------------
#
# Dask runs partitions in parallel on its worker threads; each task runs numba's kernels
# on its own thread only (numba's thread count is per calling thread), since a thread
# pool nested in every task oversubscribes the cores: measured on the shared 2-core
# machine, one 7,000 × 4 block-sums call took 24 ms over the pool against 0.04 ms on
# its thread.


def _on_one_thread(function):
    """Run ``function`` with numba limited to the calling thread."""

    @functools.wraps(function)
    def on_one_thread(*args):
        previous = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            return function(*args)
        finally:
            numba.set_num_threads(previous)

    return on_one_thread


def _zero_rows(X):
    return np.einsum("ij,ij->i", X, X, dtype=np.float64) == 0


def _assign(X, weights, centers, spherical):
    """Exact nearest-center labels of a partition (zero rows: label 0 when spherical)."""
    data = DenseData(X)
    labels, _, _ = data.assign_labels(weights, np.ascontiguousarray(centers, dtype=X.dtype))
    if spherical:
        labels[_zero_rows(X)] = 0
    return labels


def _n_blocks_in(n_rows):
    return -(-n_rows // DASK_BLOCK_ROWS)


@_on_one_thread
def lloyd_partition(X, weights, first_block, centers, n_blocks, spherical):
    """One partition's share of a Lloyd pass: tree nodes of (sums, weights, members,
    inertia) per cluster."""
    weights = _weights_of(weights, X)
    labels = _assign(X, weights, centers, spherical)
    k, d = centers.shape
    nb = _n_blocks_in(X.shape[0])
    sums = np.empty((nb, k, d))
    cluster_weights = np.empty((nb, k))
    members = np.empty((nb, k), dtype=np.int64)
    inertia = np.empty(nb)
    sq_dist = np.empty(X.shape[0])
    kernels.block_cluster_sums.serial(
        X,
        weights,
        labels,
        np.ascontiguousarray(centers, dtype=np.float64),
        DASK_BLOCK_ROWS,
        spherical,
        sums,
        cluster_weights,
        members,
        inertia,
        sq_dist,
    )
    leaves = [(sums[b], cluster_weights[b], members[b], inertia[b : b + 1]) for b in range(nb)]
    return subtree_nodes(first_block, leaves, n_blocks)


@_on_one_thread
def farthest_partition(X, weights, start, centers, n_wanted, spherical):
    """The partition's ``n_wanted`` rows of positive weight farthest from their centers:
    (squared distance, global row, label, weight, row), farthest first, lowest row first
    among equals."""
    weights = _weights_of(weights, X)
    labels = _assign(X, weights, centers, spherical)
    distance = np.empty(X.shape[0])
    kernels.labelled_sq_distances.serial(
        X, labels, np.ascontiguousarray(centers, dtype=np.float64), distance
    )
    if spherical:
        distance[_zero_rows(X)] = 0.0
    distance[weights <= 0] = -1.0
    order = np.lexsort((np.arange(X.shape[0]), -distance))[:n_wanted]
    order = order[distance[order] > 0]
    return (
        distance[order],
        order.astype(np.int64) + start,
        labels[order],
        weights[order].astype(np.float64),
        X[order].astype(np.float64),
    )


@_on_one_thread
def moments_partition(X, first_block, shift, n_blocks):
    """Tree nodes of the per-column Σ(x - shift) and Σ(x - shift)² and the row count."""
    nb = _n_blocks_in(X.shape[0])
    first = np.empty((nb, X.shape[1]))
    second = np.empty((nb, X.shape[1]))
    kernels.block_column_moments.serial(X, shift, DASK_BLOCK_ROWS, first, second)
    leaves = [(first[b], second[b]) for b in range(nb)]
    return subtree_nodes(first_block, leaves, n_blocks)


def block_mass(values):
    """Sequential per-block totals of a partition's values (float64)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    totals = np.empty(_n_blocks_in(values.shape[0]))
    kernels.block_totals.serial(values, DASK_BLOCK_ROWS, totals)
    return totals


@_on_one_thread
def weight_mass_partition(X, weights, seed_mask_spherical):
    """Per-block totals of the seeding weights, and the number of rows of positive one."""
    weights = _weights_of(weights, X).astype(np.float64)
    if seed_mask_spherical:
        weights[_zero_rows(X)] = 0.0
    return block_mass(weights), int(np.count_nonzero(weights > 0))


def seed_weights(X, weights, spherical):
    weights = _weights_of(weights, X).astype(np.float64)
    if spherical:
        weights[_zero_rows(X)] = 0.0
    return weights


@_on_one_thread
def mass_partition(X, weights, closest, spherical):
    """Per-block totals of w·D² (D² to the closest candidate)."""
    return block_mass(seed_weights(X, weights, spherical) * closest[:, 0])


@_on_one_thread
def pick_rows_partition(X, weights, closest, spherical, start, picks):
    """Rows drawn ∝ mass within blocks: ``picks`` lists (local block, residual); for each,
    the first row of the block whose running sum of mass exceeds the residual."""
    mass = seed_weights(X, weights, spherical)
    if closest is not None:
        mass = mass * closest[:, 0]
    rows = []
    for block, residual in picks:
        lo = block * DASK_BLOCK_ROWS
        hi = min(X.shape[0], lo + DASK_BLOCK_ROWS)
        running = np.cumsum(mass[lo:hi])
        i = int(np.searchsorted(running, residual, side="right"))
        positive = np.flatnonzero(mass[lo:hi] > 0)
        i = min(i, int(positive[-1])) if positive.size else min(i, hi - lo - 1)
        rows.append(lo + i)
    rows = np.asarray(rows, dtype=np.int64)
    return rows + start, X[rows]


@_on_one_thread
def closest_init(X, candidate):
    """(n, 2) float64: exact squared distance to the first candidate, and its index 0."""
    out = np.zeros((X.shape[0], 2))
    kernels.labelled_sq_distances.serial(
        X, np.zeros(X.shape[0], dtype=np.int64), candidate.astype(np.float64), out[:, 0]
    )
    return out


@_on_one_thread
def closest_update(X, closest, candidates, first_index):
    """Closest-candidate state after adding ``candidates`` (indices from ``first_index``):
    a row moves to a new candidate only when strictly closer (lower index among equals)."""
    data = DenseData(X)
    ones = np.ones(X.shape[0], dtype=X.dtype)
    labels, _, _ = data.assign_labels(ones, np.ascontiguousarray(candidates, dtype=X.dtype))
    distance = np.empty(X.shape[0])
    kernels.labelled_sq_distances.serial(X, labels, candidates.astype(np.float64), distance)
    out = closest.copy()
    closer = distance < closest[:, 0]
    out[closer, 0] = distance[closer]
    out[closer, 1] = labels[closer] + first_index
    return out


@_on_one_thread
def oversample_partition(X, weights, closest, spherical, first_block, start, phi, ell, seed, rnd):
    """Rows kept by one k-means|| round: each with probability min(1, ℓ w D² / φ), the
    uniforms drawn per block from (seed, round, block)."""
    mass = seed_weights(X, weights, spherical) * closest[:, 0]
    uniforms = np.empty(X.shape[0])
    for b in range(_n_blocks_in(X.shape[0])):
        lo, hi = b * DASK_BLOCK_ROWS, min(X.shape[0], (b + 1) * DASK_BLOCK_ROWS)
        generator = np.random.default_rng([seed, rnd, first_block + b])
        uniforms[lo:hi] = generator.random(hi - lo)
    kept = np.flatnonzero(uniforms * phi < ell * mass)
    return kept.astype(np.int64) + start, X[kept]


@_on_one_thread
def candidate_weights_partition(X, weights, closest, spherical, first_block, n_cand, n_blocks):
    """Tree nodes of the weight of the rows closest to each candidate."""
    w = seed_weights(X, weights, spherical)
    nb = _n_blocks_in(X.shape[0])
    out = np.empty((nb, n_cand))
    kernels.block_candidate_weights.serial(closest[:, 1].astype(np.int64), w, DASK_BLOCK_ROWS, out)
    return subtree_nodes(first_block, [(out[b],) for b in range(nb)], n_blocks)


@_on_one_thread
def random_keys_partition(X, weights, spherical, first_block, start, n_clusters, seed):
    """The partition's ``n_clusters`` rows of largest key u^(1/w) (weighted sampling
    without replacement, Efraimidis & Spirakis 2006), u drawn per block from the seed."""
    w = seed_weights(X, weights, spherical)
    keys = np.full(X.shape[0], -np.inf)
    for b in range(_n_blocks_in(X.shape[0])):
        lo, hi = b * DASK_BLOCK_ROWS, min(X.shape[0], (b + 1) * DASK_BLOCK_ROWS)
        u = np.random.default_rng([seed, 0, first_block + b]).random(hi - lo)
        positive = w[lo:hi] > 0
        block_keys = np.full(hi - lo, -np.inf)
        block_keys[positive] = np.log(u[positive]) / w[lo:hi][positive]
        keys[lo:hi] = block_keys
    order = np.lexsort((np.arange(X.shape[0]), -keys))[:n_clusters]
    order = order[np.isfinite(keys[order])]
    return keys[order], order.astype(np.int64) + start, X[order]


@_on_one_thread
def sample_partition(X, weights, first_block, fraction, seed):
    """The partition's rows of positive weight kept with probability ``fraction`` (all
    of them at 1), the uniforms drawn per block from (seed, block): (rows, weights)."""
    weights = _weights_of(weights, X)
    keep = weights > 0
    if fraction < 1:
        uniforms = np.empty(X.shape[0])
        for b in range(_n_blocks_in(X.shape[0])):
            lo, hi = b * DASK_BLOCK_ROWS, min(X.shape[0], (b + 1) * DASK_BLOCK_ROWS)
            uniforms[lo:hi] = np.random.default_rng([seed, 1 << 20, first_block + b]).random(
                hi - lo
            )
        keep &= uniforms < fraction
    kept = np.flatnonzero(keep)
    return X[kept], weights[kept]


# -- the fit, on the client -----------------------------------------------------------


class _Fit:
    """One Dask fit: the data, the geometry and the passes over the partitions."""

    def __init__(self, rows, spherical, verbose):
        self.rows = rows
        self.spherical = spherical
        self.verbose = verbose

    def _parts(self):
        return self.rows.partitions()

    # seeding ---------------------------------------------------------------------

    def seed_totals(self):
        """(per-block seeding weight totals, rows of positive seeding weight)."""
        task = _delayed(weight_mass_partition)

        def build():
            return [task(x, w, self.spherical) for x, w, _, _ in self._parts()]

        results = _compute(self.rows, build)
        return np.concatenate([r[0] for r in results]), sum(r[1] for r in results)

    def _draw(self, block_totals, uniforms, closest):
        """Rows drawn ∝ mass at ``uniforms``: (global rows, the rows themselves)."""
        cumulative = np.cumsum(block_totals)
        total = cumulative[-1]
        targets = uniforms * total
        blocks = np.minimum(np.searchsorted(cumulative, targets, side="right"), len(cumulative) - 1)
        positive = np.flatnonzero(block_totals > 0)
        blocks = np.where(block_totals[blocks] > 0, blocks, positive[-1])
        residuals = targets - np.where(blocks > 0, cumulative[blocks - 1], 0.0)
        by_partition = {}
        for draw, (block, residual) in enumerate(zip(blocks, residuals, strict=True)):
            part = int(np.searchsorted(self.rows.first_blocks, block, side="right") - 1)
            local = int(block - self.rows.first_blocks[part])
            by_partition.setdefault(part, []).append((draw, local, float(residual)))
        task = _delayed(pick_rows_partition)

        def build():
            parts = self._parts()
            closest_parts = closest.to_delayed().ravel() if closest is not None else None
            out = {}
            for part, picks in by_partition.items():
                x, w, _, start = parts[part]
                c = closest_parts[part] if closest_parts is not None else None
                out[part] = task(x, w, c, self.spherical, start, [(b, r) for _, b, r in picks])
            return out

        results = _run_pass(self.rows, build)
        indices = np.empty(len(uniforms), dtype=np.int64)
        points = np.empty((len(uniforms), self.rows.n_features), dtype=self.rows.dtype)
        for part, picks in by_partition.items():
            rows, values = results[part]
            for (draw, _, _), row, value in zip(picks, rows, values, strict=True):
                indices[draw] = row
                points[draw] = value
        return indices, points

    def _persist_closest(self, closest):
        import dask

        (closest,) = dask.persist(closest)
        return closest

    def kmeans_parallel(self, n_clusters, weight_totals, random_state, n_rounds=5, factor=2.0):
        """k-means|| seeding (see :func:`centroids.engine.seeding.kmeans_parallel_centers`,
        whose rules it follows); returns (k, d) centers."""
        rows = self.rows
        seed = int(random_state.randint(np.iinfo(np.int32).max))
        ell = factor * n_clusters
        capacity = 1 + max(int(np.ceil(n_rounds * ell * 1.5)) + 16, n_clusters)
        capacity = min(capacity, rows.n_rows + n_clusters)
        _, first = self._draw(weight_totals, np.array([random_state.random_sample()]), None)
        candidates = [first]

        def closest_from(candidate):
            return rows.X.map_blocks(
                closest_init, candidate, dtype=np.float64, chunks=(rows.chunks, (2,))
            )

        closest = self._persist_closest(closest_from(first))
        n_candidates = 1
        mass_task = _delayed(mass_partition)
        over_task = _delayed(oversample_partition)
        for rnd in range(n_rounds):

            def build_mass(closest=closest):
                parts = zip(self._parts(), closest.to_delayed().ravel(), strict=True)
                return [mass_task(x, w, c, self.spherical) for (x, w, _, _), c in parts]

            totals = np.concatenate(_run_pass(rows, build_mass))
            phi = float(np.sum(totals))
            if not phi > 0:
                break

            def build_over(closest=closest, phi=phi, rnd=rnd):
                parts = zip(self._parts(), closest.to_delayed().ravel(), strict=True)
                return [
                    over_task(x, w, c, self.spherical, fb, s, phi, ell, seed, rnd + 1)
                    for (x, w, fb, s), c in parts
                ]

            kept = _run_pass(rows, build_over)
            new_points = np.concatenate([points for _, points in kept])
            room = capacity - n_candidates
            new_points = new_points[:room]
            if new_points.shape[0]:
                closest = self._add_candidates(closest, new_points, n_candidates)
                candidates.append(new_points)
                n_candidates += new_points.shape[0]
        while n_candidates < min(n_clusters, capacity):
            totals = np.concatenate(
                _run_pass(
                    rows,
                    lambda closest=closest: [
                        mass_task(x, w, c, self.spherical)
                        for (x, w, _, _), c in zip(
                            self._parts(), closest.to_delayed().ravel(), strict=True
                        )
                    ],
                )
            )
            if not np.sum(totals) > 0:
                break
            missing = n_clusters - n_candidates
            indices, points = self._draw(totals, random_state.uniform(size=missing), closest)
            _, unique = np.unique(indices, return_index=True)
            points = points[np.sort(unique)]
            closest = self._add_candidates(closest, points, n_candidates)
            candidates.append(points)
            n_candidates += points.shape[0]
        candidate_points = np.ascontiguousarray(np.concatenate(candidates), dtype=rows.dtype)
        weight_task = _delayed(candidate_weights_partition)

        def build_weights(closest=closest):
            parts = zip(self._parts(), closest.to_delayed().ravel(), strict=True)
            nodes = [
                weight_task(x, w, c, self.spherical, fb, n_candidates, rows.n_blocks)
                for (x, w, fb, _), c in parts
            ]
            return _tree_reduce(nodes, rows.n_blocks)

        (cand_weights,) = _root(_run_pass(rows, build_weights), rows.n_blocks)
        return self._reduce_candidates(candidate_points, cand_weights, n_clusters, random_state)

    def _reduce_candidates(self, points, weights, n_clusters, random_state):
        """``n_clusters`` centers from the weighted k-means|| candidates (see the module's
        docstring)."""
        weights = np.asarray(weights, dtype=points.dtype)
        if self.spherical or np.count_nonzero(weights) <= n_clusters:
            centers, _ = kmeans_plusplus_centers(
                DenseData(points), n_clusters, weights, random_state
            )
            return centers
        from .driver import fit_kmeans

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            run = fit_kmeans(
                points,
                weights,
                n_clusters=n_clusters,
                init="k-means++",
                n_init=DASK_RECLUSTER_STARTS,
                max_iter=300,
                tol=1e-4,
                random_state=random_state,
                refine=True,
            )
        return np.ascontiguousarray(run.centers, dtype=points.dtype)

    def _add_candidates(self, closest, points, first_index):
        updated = self.rows.X.map_blocks(
            closest_update,
            closest,
            np.ascontiguousarray(points),
            first_index,
            dtype=np.float64,
            chunks=closest.chunks,
        )
        return self._persist_closest(updated)

    def random_centers(self, n_clusters, weight_totals, random_state):
        """``n_clusters`` distinct rows drawn ∝ weight without replacement."""
        seed = int(random_state.randint(np.iinfo(np.int32).max))
        task = _delayed(random_keys_partition)

        def build():
            return [
                task(x, w, self.spherical, fb, s, n_clusters, seed) for x, w, fb, s in self._parts()
            ]

        results = _run_pass(self.rows, build)
        keys = np.concatenate([r[0] for r in results])
        indices = np.concatenate([r[1] for r in results])
        points = np.concatenate([r[2] for r in results])
        order = np.lexsort((indices, -keys))[:n_clusters]
        return np.ascontiguousarray(points[order], dtype=self.rows.dtype)

    # refinement on a sample ------------------------------------------------------

    def refine_sample_rows(self, n_clusters, n_weighted):
        """Rows of the sample the start is refined on (see
        :data:`centroids.settings.DASK_REFINE_ROWS_PER_CLUSTER`)."""
        d = self.rows.n_features
        if self.rows.n_rows * d * n_clusters <= REFINE_AUTO_MAX_WORK:
            return n_weighted
        wanted = max(
            REFINE_AUTO_MAX_WORK // (d * n_clusters), DASK_REFINE_ROWS_PER_CLUSTER * n_clusters
        )
        return min(n_weighted, wanted, max(DASK_REFINE_MAX_VALUES // d, n_clusters))

    def refined_on_sample(self, centers, n_weighted, random_state, tol):
        """``centers`` refined by the in-memory engine (Lloyd, then random swap) on a
        seeded sample of the rows, drawn per block (so the same for any partitioning and
        any workers): the swaps reach optima that exact passes from the k-means|| start
        cannot, and the Lloyd passes over all rows then finish from there."""
        from .driver import fit_kmeans

        k = centers.shape[0]
        rows = self.rows
        wanted = self.refine_sample_rows(k, n_weighted)
        fraction = 1.0 if wanted >= n_weighted else wanted / n_weighted
        seed = int(random_state.randint(np.iinfo(np.int32).max))
        task = _delayed(sample_partition)

        def build():
            return [task(x, w, fb, fraction, seed) for x, w, fb, _ in self._parts()]

        parts = _compute(rows, build)
        points = np.ascontiguousarray(np.concatenate([p[0] for p in parts]), dtype=rows.dtype)
        weights = np.concatenate([p[1] for p in parts]).astype(rows.dtype)
        if points.shape[0] <= k:
            return centers
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            run = fit_kmeans(
                points,
                weights,
                n_clusters=k,
                init=np.ascontiguousarray(centers, dtype=rows.dtype),
                n_init=1,
                max_iter=300,
                tol=tol,
                random_state=random_state,
                refine=True,
            )
        return np.ascontiguousarray(run.centers, dtype=rows.dtype)

    # Lloyd -----------------------------------------------------------------------

    def column_variance_mean(self):
        """Mean over the features of their variance (two passes: mean, then deviations)."""
        rows = self.rows
        task = _delayed(moments_partition)

        def build(shift):
            def make():
                nodes = [task(x, fb, shift, rows.n_blocks) for x, _, fb, _ in self._parts()]
                return _tree_reduce(nodes, rows.n_blocks)

            return make

        zero = np.zeros(rows.n_features)
        first, _ = _root(_compute(rows, build(zero)), rows.n_blocks)
        mean = first / rows.n_rows
        _, second = _root(_compute(rows, build(mean)), rows.n_blocks)
        return float(np.mean(second / rows.n_rows))

    def lloyd_pass(self, centers):
        """(sums, weights, members, inertia) of the assignment to ``centers``."""
        rows = self.rows
        task = _delayed(lloyd_partition)
        centers = np.ascontiguousarray(centers)

        def build():
            nodes = [
                task(x, w, fb, centers, rows.n_blocks, self.spherical)
                for x, w, fb, _ in self._parts()
            ]
            return _tree_reduce(nodes, rows.n_blocks)

        sums, weights, members, inertia = _root(_compute(rows, build), rows.n_blocks)
        return sums.copy(), weights.copy(), members.copy(), float(inertia[0])

    def relocate_empty_clusters(self, centers, sums, weights, members):
        """:func:`centroids.engine.relocate_empty_clusters` over the whole data: every
        empty cluster takes the farthest row of positive weight, in place."""
        empty = np.flatnonzero(weights == 0)
        if empty.size == 0:
            return 0
        task = _delayed(farthest_partition)
        centers = np.ascontiguousarray(centers)

        def build():
            return [
                task(x, w, s, centers, empty.size, self.spherical) for x, w, _, s in self._parts()
            ]

        results = _compute(self.rows, build)
        distance, index, labels, row_weights, points = (
            np.concatenate([r[i] for r in results]) for i in range(5)
        )
        order = np.lexsort((index, -distance))[: empty.size]
        n_moved = 0
        for new_cluster, i in zip(empty, order, strict=False):
            old_cluster = labels[i]
            w, x = row_weights[i], points[i]
            members[old_cluster] -= 1
            if members[old_cluster] == 0:
                sums[old_cluster] = 0.0
                weights[old_cluster] = 0.0
            else:
                sums[old_cluster] -= w * x
                weights[old_cluster] -= w
            sums[new_cluster] = w * x
            weights[new_cluster] = w
            n_moved += 1
        return n_moved

    def new_centers(self, sums, weights, centers):
        if self.spherical:
            norms = np.sqrt(np.einsum("ij,ij->i", sums, sums))
            out = centers.astype(np.float64)
            nonzero = norms > 0
            out[nonzero] = sums[nonzero] / norms[nonzero, None]
            return out.astype(self.rows.dtype)
        return centers_from_sums(sums, weights, centers)

    def lloyd(self, centers, max_iter, tol):
        """Lloyd passes from ``centers`` until the total squared shift is at most ``tol``
        (absolute) or ``max_iter`` passes; returns (centers, inertia, n_iter)."""
        centers = np.array(centers, dtype=self.rows.dtype, order="C", copy=True)
        center_shift = np.inf
        iteration = 0
        for iteration in range(max_iter):
            sums, weights, members, inertia = self.lloyd_pass(centers)
            assigned = members.copy()  # of the assignment to ``centers``
            self.relocate_empty_clusters(centers, sums, weights, members)
            new_centers = self.new_centers(sums, weights, centers)
            center_shift = float(((new_centers.astype(np.float64) - centers) ** 2).sum())
            if self.verbose:
                print(f"Iteration {iteration}, inertia {inertia}.")
            centers = new_centers
            if center_shift <= tol:
                if self.verbose:
                    print(
                        f"Converged at iteration {iteration}: center shift {center_shift} "
                        f"within tolerance {tol}."
                    )
                break
        if center_shift != 0:  # the last assignment was to the previous centers
            _, _, assigned, inertia = self.lloyd_pass(centers)
        return centers, inertia, iteration + 1, self.distinct_clusters(weights), assigned

    def distinct_clusters(self, weights):
        return int(np.count_nonzero(weights > 0))


def _resolved_init(estimator, n_features, dtype):
    """(init kind 'k-means||' / 'random' / an array, n_init) for a Dask fit."""
    init = estimator.init
    n_init = getattr(estimator, "n_init", 1)
    if isinstance(init, str):
        kind = "random" if init == "random" else "k-means||"
        if n_init == "auto":
            n_init = 10 if init == "random" else 1
        return kind, n_init
    if callable(init):
        raise TypeError(
            f"{type(estimator).__name__}: a callable init is not supported on Dask input (it "
            "would need all of X in memory); pass 'k-means||', 'random' or an array of "
            "initial centers."
        )
    centers, n_init = estimator._resolved_init(n_features, dtype)
    return np.asarray(centers, dtype=dtype), 1


def fit_dask(estimator, X, sample_weight=None):
    """Fit ``estimator`` (KMeans, MiniBatchKMeans, SphericalKMeans) on a Dask collection.

    Sets ``cluster_centers_``, ``inertia_``, ``n_iter_`` and a lazy ``labels_`` (a dask
    array). On bad input the estimator is left as it was.
    """
    require_dask()
    with unchanged_on_error(estimator):
        _fit(estimator, X, sample_weight)
    return estimator


def _fit(estimator, X, sample_weight):
    from sklearn.utils import check_random_state

    from ..models.minibatch import MiniBatchKMeans
    from ..models.spherical import SphericalKMeans

    estimator._validate_params()
    if getattr(estimator, "missing", "error") != "error":
        raise ValueError(
            f"missing={estimator.missing!r} is not available for a Dask collection: its "
            "rows are read block by block and k-POD/masked fits need every hole at once. "
            "Fill or drop the missing values first, or fit a NumPy array."
        )
    spherical = isinstance(estimator, SphericalKMeans)
    rows = DaskRows(estimator, X, sample_weight, "fit", spherical=spherical)
    try:
        k = estimator.n_clusters
        if rows.n_rows < k:
            raise ValueError(
                f"n_samples={rows.n_rows} should be >= n_clusters={k}: X has fewer rows "
                "than clusters. Lower n_clusters or pass more rows."
            )
        fit = _Fit(rows, spherical, bool(estimator.verbose))
        weight_totals, n_weighted = fit.seed_totals()
        if n_weighted < k:
            what = (
                "a positive sample_weight and a non-zero vector"
                if spherical
                else ("a positive sample_weight")
            )
            raise ValueError(
                f"Only {n_weighted} rows have {what}, fewer than n_clusters={k}; lower "
                "n_clusters or give more rows weight."
            )
        init, n_init = _resolved_init(estimator, rows.n_features, rows.dtype)
        random_state = check_random_state(estimator.random_state)
        if spherical:
            tol = float(estimator.tol)
        else:
            tol = fit.column_variance_mean() * float(estimator.tol) if estimator.tol else 0.0
        refine = getattr(estimator, "refine", False)
        refining = not spherical and (
            refine is True or (refine == "auto" and isinstance(init, str))
        )
        best = None
        for _ in range(n_init):
            if isinstance(init, np.ndarray):
                centers = init
            else:
                seeding = fit.random_centers if init == "random" else fit.kmeans_parallel
                state = random_state.get_state()
                centers = _retrying(
                    rows,
                    lambda seeding=seeding: seeding(k, weight_totals, random_state),
                    restore=lambda state=state: random_state.set_state(state),
                )
            if estimator.verbose:
                print("Initialization complete")
            if refining:  # a lost pass is run again by _compute, from the same seed
                centers = fit.refined_on_sample(
                    centers, n_weighted, random_state, float(estimator.tol)
                )
            run = fit.lloyd(centers, estimator.max_iter, tol)
            if best is None or run[1] < best[1]:
                best = run
        centers, inertia, n_iter, n_distinct, members = best
        if n_distinct < k:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than n_clusters "
                f"({k}): X probably has fewer than {k} distinct points (duplicate rows). "
                "Some centers are duplicates; lower n_clusters.",
                ConvergenceWarning,
                stacklevel=4,
            )
    finally:
        rows.release()
    estimator.cluster_centers_ = centers
    estimator.inertia_ = inertia
    estimator.n_iter_ = n_iter
    # rows of positive weight nearest each center (the last pass's counts): a caller
    # that needs the cluster sizes need not assign every row again
    estimator._dask_cluster_members = members
    if isinstance(estimator, MiniBatchKMeans):
        estimator.n_steps_ = n_iter
    estimator.labels_ = _labels(estimator, rows.lazy_X, spherical)


def _labels(estimator, lazy_X, spherical):
    """The lazy labels of the (validated, aligned) training rows."""
    centers = estimator.cluster_centers_
    return lazy_X.map_blocks(_predict_block, centers, spherical, drop_axis=1, dtype=np.int32)


@_on_one_thread
def _predict_block(X, centers, spherical):
    X = np.ascontiguousarray(X)
    return _assign(X, np.ones(X.shape[0], dtype=X.dtype), centers, spherical)


# -- predict, transform, score on Dask input -----------------------------------------


def _block_estimator(estimator):
    """A shallow copy of the fitted estimator that takes plain array blocks: no feature
    names (the columns were checked on the collection) and no training labels."""
    clone = copy.copy(estimator)
    for attribute in ("feature_names_in_", "labels_"):
        clone.__dict__.pop(attribute, None)
    return clone


@_on_one_thread
def _method_block(block, estimator, method):
    return getattr(estimator, method)(np.ascontiguousarray(block))


@_on_one_thread
def _score_block(block, weights, estimator):
    return np.array([estimator.score(np.ascontiguousarray(block), sample_weight=weights)])


def _test_array(estimator, X, where):
    from sklearn.utils.validation import check_is_fitted

    require_dask()
    check_is_fitted(estimator)
    array, _ = _as_dask_array(estimator, X, reset=False, where=where)
    return array


def predict_dask(estimator, X):
    """Lazy labels (a dask array of int32) of the rows of a Dask collection."""
    array = _test_array(estimator, X, "predict")
    return array.map_blocks(
        _method_block, _block_estimator(estimator), "predict", drop_axis=1, dtype=np.int32
    )


def transform_dask(estimator, X):
    """Lazy distances to the centers (a dask array, one column per center)."""
    array = _test_array(estimator, X, "transform")
    k = estimator.cluster_centers_.shape[0]
    return array.map_blocks(
        _method_block,
        _block_estimator(estimator),
        "transform",
        chunks=(array.chunks[0], (k,)),
        dtype=array.dtype,
    )


def score_dask(estimator, X, sample_weight=None):
    """Lazy score (a 0-d dask array): the opposite of the inertia of the rows."""
    import dask.array as da

    array = _test_array(estimator, X, "score")
    clone = _block_estimator(estimator)
    if sample_weight is None:
        parts = array.map_blocks(
            lambda block: _score_block(block, None, clone),
            drop_axis=1,
            chunks=((1,) * array.numblocks[0],),
            dtype=np.float64,
        )
        return parts.sum()
    if any(math.isnan(c) for c in array.chunks[0]):
        array = array.compute_chunk_sizes()
    if not is_dask_collection(sample_weight):
        sample_weight = da.from_array(np.asarray(sample_weight), chunks=(array.chunks[0],))
    weights = sample_weight.rechunk((array.chunks[0],))
    parts = da.map_blocks(
        lambda block, w: _score_block(block, w[:, 0], clone),
        array,
        weights[:, None],
        drop_axis=1,
        chunks=((1,) * array.numblocks[0],),
        dtype=np.float64,
    )
    return parts.sum()
