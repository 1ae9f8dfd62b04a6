"""Initial centers: greedy k-means++ (pruned), k-means||, AFK-MC², random rows, or given.

Every seeding keeps, for every point, its closest chosen center and the squared
distance to it (D²), updated by the kernels of :mod:`centroids._kernels.seeding`.
Randomness comes only from the ``random_state`` passed in (a ``RandomState``); the
kernels combine per-chunk results in chunk order, so the same seed gives the same
centers on any number of threads.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._kernels import seeding as kernels
from ..settings import (
    SEEDING_CHUNK_BOXES_MIN_ROWS,
    SEEDING_GEMM_MIN_FEATURES,
    SEEDING_PRODUCT_MIN_ROWS,
    SEEDING_PRODUCT_MIN_SHARE,
    SEEDING_PRODUCT_MIN_WORK,
    SEEDING_Z_ORDER_MAX_FEATURES,
    SEEDING_Z_ORDER_MIN_ROWS,
    SEEDING_Z_ORDER_MIN_SPREAD,
)
from .data import product_error_bound, uniform_row_sample
from .lloyd import KMeansRun

#: The names ``initial_centers`` accepts for ``init``.
SEEDING_METHODS = ("k-means++", "random", "k-means||", "afk-mc2")


#: Filtered candidate passes pad the candidates to a multiple of this many (zero rows):
#: the product and the per-pair loop then run on whole SIMD vectors (measured: 8
#: float32 columns multiply faster than 7). A multiple of 8: the pass marks the rows near
#: each candidate in bits, a byte for 8 candidates.
_PRODUCT_WIDTH = 8


#: When the chunk boxes leave more than this share of (chunk, candidate) pairs in reach,
#: the next ``_REACH_REST_CALLS`` requests take every chunk as in reach without
#: computing (always valid): on rows in random order the boxes cost about 5 % of the
#: seeding of W4 (300,000 × 32, k = 1024) and rule nothing out.
_REACH_USEFUL_SHARE = 0.95
_REACH_REST_CALLS = 15


class _SeedingState:
    """D², closest center and per-center bounds of the points, over dense or CSR X.

    ``centers`` holds the chosen centers (rows of X's dtype); ``n_centers`` how many.
    ``distance_count`` counts the point-to-center distances computed over X.

    Dense X with ``SEEDING_GEMM_MIN_FEATURES`` features or more (and
    ``SEEDING_PRODUCT_MIN_ROWS`` rows, or ``SEEDING_PRODUCT_MIN_WORK`` rows × features
    × capacity) is *filtered*: the
    candidate distances of busy chunks come from a matrix product in X's dtype (float32
    for float32 X), whose error against the direct float64 distance is bounded. The
    product only decides which rows a candidate may bring closer and estimates the
    potentials within a known bound; D² is always updated with direct float64
    distances, and candidates whose potentials are not told apart by the bounds are
    compared on exact ones. The choices are those of direct float64 arithmetic.

    Dense X also keeps the bounding box of every chunk of rows and the largest D² in
    each chunk: a chunk whose box is at that distance or further from a candidate is
    skipped whole for it (see ``chunks_in_reach``). The boxes cost one pass over X;
    they pay where rows close in the array are close in space (sorted data).
    """

    def __init__(self, data, capacity):
        self.data = data
        self.sparse = sp.issparse(data.X)
        n = data.n_rows
        self.work_per_center = data.row_work
        if self.sparse:
            X = data.X
            self.x_arrays = (X.data, X.indices, X.indptr, data.x_sq_norms)
        else:
            self.x_arrays = (data.X,)
        self.candidate_gemm = not self.sparse and data.n_features >= SEEDING_GEMM_MIN_FEATURES
        self.filtered = False
        if self.candidate_gemm:
            self.error_scale, self.error_floor = product_error_bound(data.dtype, data.n_features)
            # Work of the whole seeding: ``capacity`` candidate passes over X.
            large = n >= SEEDING_PRODUCT_MIN_ROWS or data.row_work * capacity >= (
                SEEDING_PRODUCT_MIN_WORK
            )
            self.filtered = self.error_scale < 1e-3 and large
        self.closest_sq_dist = np.full(n, np.inf)
        self.closest_center = np.zeros(n, dtype=np.int32)
        self.centers = np.empty((capacity, data.n_features), dtype=data.dtype)
        self.group_max_sq = np.full(capacity, np.inf)
        self.n_centers = 0
        self.distance_count = 0
        # Work of the last pruned pass (distances × features, at least one per row): the
        # next pass is likely alike, so it picks the serial or parallel kernel form.
        self._recent_work = None
        # The form of the filtered candidate kernel, chosen by the first pass (the
        # largest: no pruning yet) and kept for the run: one form compiled per fit, not
        # both (its parallel form alone takes numba seconds to compile; the two give
        # bit-identical results).
        self._filtered_form = None
        n_chunks = kernels.seeding_chunks(n)
        self._chunk_counts = np.empty(n_chunks, dtype=np.int64)
        self._block_max_sq = np.empty((kernels.seeding_blocks(n), capacity))
        # Dense X: per-chunk largest D² (the chunks' boxes are the data's own).
        self._chunk_max_sq = np.full(n_chunks, np.inf)
        self._reach_rest = 0
        self._group_active = np.empty(capacity, dtype=np.uint8)
        # Filtered candidate passes: per-chunk scratch, and for the last candidates the
        # rows each may bring closer (``near``) and how many.
        self._scratch = None
        # chunk_reach of the last candidates, and the candidates it was made for.
        self._last_reach = None
        self._reach_for = None
        self._near_for = None
        self._recent_near = None

    def _kernel(self, dense_kernel, sparse_kernel, work):
        kernel = sparse_kernel if self.sparse else dense_kernel
        return kernel.for_work(work)

    def chunk_reach(self, points):
        """(n_chunks, t) uint8: whether dense rows ``points`` may bring a row of each
        chunk closer (0 rules the chunk out; see ``chunks_in_reach``)."""
        n_chunks = self._chunk_max_sq.shape[0]
        if self.data.n_rows < SEEDING_CHUNK_BOXES_MIN_ROWS:
            return np.ones((n_chunks, points.shape[0]), dtype=np.uint8)
        if self._reach_rest > 0:  # the boxes ruled out next to nothing lately
            self._reach_rest -= 1
            return np.ones((n_chunks, points.shape[0]), dtype=np.uint8)
        out = np.empty((n_chunks, points.shape[0]), dtype=np.uint8)
        kernels.chunks_in_reach.for_work(out.size * self.data.n_features)(
            *self.data.chunk_boxes(), self._chunk_max_sq, points, out
        )
        if np.count_nonzero(out) > _REACH_USEFUL_SHARE * out.size:
            # Rows in no spatial order: every box spans the data. Check again later.
            self._reach_rest = _REACH_REST_CALLS
        return out

    def center_distances(self, points):
        """(t, n_centers) float64 squared distances of dense rows to the chosen centers."""
        out = np.empty((points.shape[0], max(self.n_centers, 1)))
        kernels.points_to_centers_sq(points, self.centers, self.n_centers, out)
        return out

    def add_center(self, row, row_center_sq=None, reach=None):
        """Choose ``row`` (dense, (d,)) as the next center; update D² with pruning.

        ``row_center_sq`` : its squared distances to the chosen centers, if known;
        ``reach`` : its column of :meth:`chunk_reach` (dense X), if known.
        """
        new = self.n_centers
        self.centers[new] = row
        if row_center_sq is None:
            row_center_sq = self.center_distances(self.centers[new : new + 1])[0]
        new_center_sq = np.zeros(new + 1)
        new_center_sq[:new] = row_center_sq[:new]
        work = self.work_per_center if self._recent_work is None else self._recent_work
        if self.sparse:
            kernels.sparse_add_center.for_work(work)(
                *self.x_arrays,
                self.centers,
                new,
                new_center_sq,
                self.closest_sq_dist,
                self.closest_center,
                self._block_max_sq,
                self._chunk_counts,
            )
        else:
            kernels.dense_add_center.for_work(work)(
                self.data.X,
                self.centers,
                new,
                new_center_sq,
                self.chunk_reach(self.centers[new : new + 1])[:, 0].copy()
                if reach is None
                else reach,
                self.closest_sq_dist,
                self.closest_center,
                self._block_max_sq,
                self._chunk_max_sq,
                self._chunk_counts,
            )
        self._center_added()

    def _center_added(self):
        new = self.n_centers
        kernels.combine_group_max(self._block_max_sq, new + 1, self.group_max_sq)
        self.distance_count += int(self._chunk_counts.sum())
        self.n_centers = new + 1

    def add_candidate(self, candidates, best, cand_center_sq):
        """Choose ``candidates[best]`` after :meth:`best_candidate` on these candidates.

        Filtered, only the rows the candidate pass marked near it are computed (directly);
        D² and the closest centers come out as :meth:`add_center` leaves them.
        """
        if not (self.filtered and self._near_for is candidates):
            reach = None
            if self._reach_for is candidates:  # from the candidate pass just made
                reach = self._last_reach[:, best].copy()
            self.add_center(candidates[best], cand_center_sq[best], reach)
            return
        near = self._scratch[0]
        new = self.n_centers
        self.centers[new] = candidates[best]
        work = self._near_work()
        kernels.dense_add_near_center.for_work(work)(
            self.data.X,
            self.centers,
            new,
            near,
            best,
            self._last_reach[:, best].copy(),
            self.closest_sq_dist,
            self.closest_center,
            self._block_max_sq,
            self._chunk_max_sq,
            self._chunk_counts,
        )
        self._near_for = None
        self._recent_near = int(self._chunk_counts.sum())
        self._center_added()

    def candidate_deltas(self, sample_weight, candidates):
        """Change of the potential Σ w D² from adding each candidate (dense rows (t, d)).

        Returns the deltas (t,), bounds (t,) on their error (exact where 0) and the
        candidate-to-center squared distances. Only filtered passes have errors: a
        delta there is within its bound of the exact one, up to float64 rounding of the
        sums (see :meth:`best_candidate`).
        """
        n_cand = candidates.shape[0]
        if not self.sparse:
            candidates = np.ascontiguousarray(candidates, dtype=self.data.dtype)
        cand_center_sq = self.center_distances(candidates)
        kernels.active_groups(cand_center_sq, self.n_centers, self.group_max_sq, self._group_active)
        if self._recent_work is None:
            work = self.work_per_center * n_cand
        else:  # the last pass computed about a (t+1)-th of what this one will
            work = self._recent_work * (n_cand + 1)
        if self.filtered:
            deltas, bounds, n_distances = self._filtered_deltas(
                sample_weight, candidates, cand_center_sq, work
            )
        else:
            chunk_deltas = np.empty((self._chunk_counts.shape[0], n_cand))
            reach = ()
            if not self.sparse:
                self._last_reach, self._reach_for = self.chunk_reach(candidates), candidates
                reach = (self._last_reach,)
            self._kernel(kernels.dense_candidate_deltas, kernels.sparse_candidate_deltas, work)(
                *self.x_arrays,
                sample_weight,
                self.closest_sq_dist,
                self.closest_center,
                candidates,
                cand_center_sq,
                self._group_active,
                *reach,
                chunk_deltas,
                self._chunk_counts,
            )
            deltas = chunk_deltas.sum(axis=0)
            bounds = np.zeros(n_cand)
            n_distances = int(self._chunk_counts.sum())
        self.distance_count += n_distances
        self._recent_work = self._row_work(n_distances) // (n_cand + 1)
        return deltas, bounds, cand_center_sq

    def _filtered_deltas(self, sample_weight, candidates, cand_center_sq, work):
        n_cand = candidates.shape[0]
        width = -(-n_cand // _PRODUCT_WIDTH) * _PRODUCT_WIDTH
        n_chunks = self._chunk_counts.shape[0]
        if self._scratch is None or self._scratch[0].shape[1] != width:
            self._scratch = (
                np.empty((self.data.n_rows, width // 8), dtype=np.uint8),
                np.empty((n_chunks, width)),
                np.empty((n_chunks, width)),
            )
        near, chunk_deltas, chunk_bounds = self._scratch
        self._last_reach, self._reach_for = self.chunk_reach(candidates), candidates
        candidates_T = np.zeros((self.data.n_features, width), dtype=self.data.dtype)
        candidates_T[:, :n_cand] = candidates.T
        cand_sq_norms = np.zeros(width)
        cand_sq_norms[:n_cand] = kernels.dense_sq_norms(candidates)
        if self._filtered_form is None:
            self._filtered_form = kernels.dense_candidate_deltas_filtered.for_work(work)
        self._filtered_form(
            self.data.X,
            self.data.x_sq_norms,
            sample_weight,
            self.closest_sq_dist,
            self.closest_center,
            candidates,
            candidates_T,
            cand_sq_norms,
            self.error_scale,
            self.error_floor,
            np.ascontiguousarray(cand_center_sq[:, : max(self.n_centers, 1)].T),
            self._group_active,
            self._last_reach,
            SEEDING_PRODUCT_MIN_SHARE,
            float(np.finfo(self.data.dtype).max),
            near,
            chunk_deltas,
            chunk_bounds,
            self._chunk_counts,
        )
        self._near_for = candidates
        deltas = chunk_deltas.sum(axis=0)[:n_cand]
        bounds = chunk_bounds.sum(axis=0)[:n_cand]
        return deltas, bounds, int(self._chunk_counts.sum())

    def _near_work(self, n_candidates=1):
        """Work of a pass over the rows marked near ``n_candidates`` candidates, by the
        rows the last such pass computed (all of them at first)."""
        near = self.data.n_rows if self._recent_near is None else self._recent_near
        return self.data.n_rows + n_candidates * near * self.data.n_features

    def best_candidate(self, sample_weight, candidates):
        """Index of the candidate (dense rows (t, d)) that leaves the lowest potential.

        The lowest exact delta, first on ties. Filtered, a candidate whose delta
        interval (delta ± bound, widened by the rounding of the sums) overlaps that of
        the lowest delta is a contender; when more than one distinct point contends,
        their exact deltas are computed over the rows marked near them.
        Returns the index and the candidate-to-center squared distances.
        """
        if not self.sparse:
            candidates = np.ascontiguousarray(candidates, dtype=self.data.dtype)
        deltas, bounds, cand_center_sq = self.candidate_deltas(sample_weight, candidates)
        best = int(np.argmin(deltas))
        if not np.any(bounds > 0):
            return best, cand_center_sq
        # Each sum adds at most n terms of one sign (w (d² - D²) ≤ 0, w e ≥ 0).
        rounding = (self.data.n_rows + 8) * 2.0**-52 * (np.abs(deltas) + bounds)
        width = np.where(bounds > 0, bounds + rounding, 0.0)
        contenders = np.flatnonzero(deltas - width <= deltas[best] + width[best])
        # A repeated point has the same exact delta: its first copy stands for it.
        contenders = [
            t
            for m, t in enumerate(contenders)
            if not any(np.array_equal(candidates[t], candidates[s]) for s in contenders[:m])
        ]
        if len(contenders) > 1:
            which = np.asarray(contenders, dtype=np.int64)
            exact = self._exact_deltas(sample_weight, candidates, which)
            best = int(which[np.argmin(exact)])
        return best, cand_center_sq

    def _exact_deltas(self, sample_weight, candidates, which):
        """Exact deltas of ``candidates[which]`` over the rows the last pass marked."""
        chunk_deltas = np.empty((self._chunk_counts.shape[0], which.shape[0]))
        kernels.dense_near_candidate_deltas.for_work(self._near_work(which.shape[0]))(
            self.data.X,
            sample_weight,
            self.closest_sq_dist,
            candidates,
            which,
            self._scratch[0],
            chunk_deltas,
        )
        return chunk_deltas.sum(axis=0)

    def _row_work(self, n_distances):
        """Work of ``n_distances`` distances plus one check per row."""
        per_distance = self.work_per_center // max(self.data.n_rows, 1)
        return self.data.n_rows + n_distances * max(per_distance, 1)

    def add_centers(self, rows):
        """Choose the dense rows (m, d) as centers at once (no pruning)."""
        first = self.n_centers
        stop = first + rows.shape[0]
        self.centers[first:stop] = rows
        x_arrays = self.x_arrays
        dense_kernel = kernels.dense_add_centers
        if self.candidate_gemm:
            x_arrays = (self.data.X, self.data.x_sq_norms)
            dense_kernel = kernels.dense_add_centers_gemm
        self._kernel(
            dense_kernel,
            kernels.sparse_add_centers,
            self.work_per_center * rows.shape[0],
        )(*x_arrays, self.centers[:stop], first, self.closest_sq_dist, self.closest_center)
        self.distance_count += self.data.n_rows * rows.shape[0]
        self.n_centers = stop
        self._chunk_max_sq[:] = np.inf  # not tracked here: no chunk is ruled out


def draw_row_by_weight(weights, random_state):
    """One row drawn with probability ∝ ``weights`` (float64, non-negative, positive sum):
    for a ``RandomState`` the very row, and the same use of its stream, as
    ``random_state.choice(n, p=weights / weights.sum())``, without that call's three
    n-length arrays (see ``draw_by_weight``)."""
    if type(random_state) is not np.random.RandomState:
        return int(random_state.choice(weights.shape[0], p=weights / weights.sum()))
    return int(kernels.draw_by_weight(weights, float(weights.sum()), random_state.random_sample()))


def _draw_rows_by_mass(weights, closest_sq_dist, uniforms, position=None):
    """Rows drawn ∝ w·D² at ``uniforms`` (see ``draw_by_mass``, also for ``position``);
    None when Σ w·D² = 0."""
    rows = np.empty(uniforms.shape[0], dtype=np.int64)
    total = kernels.draw_by_mass(weights, closest_sq_dist, uniforms, rows, position)
    return rows if total > 0 else None


def _spatial_order(data):
    """The order in which greedy k-means++ visits dense rows: None, their own order, or
    a permutation, Z order, for few features and rows in no spatial order (see
    ``SEEDING_Z_ORDER_MAX_FEATURES``)."""
    if (
        sp.issparse(data.X)
        or data.n_features > SEEDING_Z_ORDER_MAX_FEATURES
        or data.n_rows < SEEDING_Z_ORDER_MIN_ROWS
    ):
        return None
    if data.chunk_spread() > SEEDING_Z_ORDER_MIN_SPREAD:
        return kernels.z_order(data.X)
    return None


def kmeans_plusplus_centers(data, n_clusters, sample_weight, random_state, n_local_trials=None):
    """Greedy k-means++ (Arthur & Vassilvitskii 2007, greedy form as in scikit-learn).

    Each new center is the best of ``n_local_trials`` candidates (default ``2 + ln k``)
    drawn with probability proportional to ``w_i · D(x_i)²``; the best candidate is
    the one that leaves the lowest potential ``Σ w_i min(D(x_i)², ||x_i - cand||²)``.
    The same rows as :func:`sklearn.cluster.kmeans_plusplus` for the same RandomState
    (but for near-ties of potentials), with far fewer distances computed: a point is
    skipped for a candidate y when ``||y - c|| ≥ 2 D(x)``, c its closest center
    (triangle inequality; Raff, IJCAI 2021), and a whole chunk of rows when its
    bounding box is out of reach. Dense X with at most ``SEEDING_Z_ORDER_MAX_FEATURES``
    features whose rows are in no spatial order is seeded through a copy in Z order
    (O(n): at most 3 values a row, with the permutation), which makes the chunk boxes
    small; the draws still follow the rows' own order.

    Returns the centers, (k, d) of the data's dtype, and the row indices they came from.
    """
    centers, indices, _ = _pruned_kmeans_plusplus(
        data, n_clusters, sample_weight, random_state, n_local_trials
    )
    return centers, indices


def _pruned_kmeans_plusplus(data, n_clusters, sample_weight, random_state, n_local_trials=None):
    """:func:`kmeans_plusplus_centers`, also returning the number of distances computed."""
    n = data.n_rows
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    weights = np.asarray(sample_weight, dtype=np.float64)

    # Rows in no spatial order with few features are seeded in Z order (a copy); the
    # draws still run over the rows in their own order, so they pick the same rows.
    order = _spatial_order(data)
    if order is None:
        state = _SeedingState(data, n_clusters)
        state_weights, position = weights, None
    else:
        state = _SeedingState(type(data)(np.ascontiguousarray(data.X[order])), n_clusters)
        state_weights = weights[order]
        index_type = np.int32 if n < 2**31 else np.int64
        position = np.empty(n, dtype=index_type)
        position[order] = np.arange(n, dtype=index_type)
        del order
    indices = np.empty(n_clusters, dtype=np.int64)
    indices[0] = draw_row_by_weight(weights, random_state)
    state.add_center(data.rows([indices[0]])[0])
    for c in range(1, n_clusters):
        uniforms = random_state.uniform(size=n_local_trials)
        candidates = _draw_rows_by_mass(weights, state.closest_sq_dist, uniforms, position)
        if candidates is None:
            # Every point coincides with a chosen center (fewer distinct points than
            # n_clusters): any further center duplicates one; the driver warns.
            candidates = random_state.choice(n, size=n_local_trials, p=weights / weights.sum())
        candidate_points = np.ascontiguousarray(data.rows(candidates), dtype=data.dtype)
        best, cand_center_sq = state.best_candidate(state_weights, candidate_points)
        indices[c] = candidates[best]
        state.add_candidate(candidate_points, best, cand_center_sq)
    return state.centers, indices, state.distance_count


def kmeans_parallel_centers(
    data, n_clusters, sample_weight, random_state, n_rounds=5, oversampling_factor=2.0
):
    """k-means|| (Bahmani et al., 2012): oversample in a few rounds, then reduce.

    The first candidate is a row drawn ∝ w. Each of ``n_rounds`` rounds keeps every
    row independently with probability ``min(1, ℓ w_i D_i² / φ)``, ``ℓ =
    oversampling_factor · k`` and ``φ = Σ w D²``, and adds the kept rows as candidates
    (about ℓ per round). While fewer than k candidates exist (and some row is away
    from every candidate), rows drawn ∝ w·D² top them up. Every candidate is weighted
    by the sample weight of the rows closest to it; weighted greedy k-means++ over the
    candidates picks the k centers.

    Returns the centers, (k, d) of the data's dtype, and the rows of X they are.
    """
    n = data.n_rows
    weights = np.asarray(sample_weight, dtype=np.float64)
    ell = oversampling_factor * n_clusters
    capacity = 1 + max(int(np.ceil(n_rounds * ell * 1.5)) + 16, n_clusters)
    capacity = min(capacity, n + n_clusters)
    state = _SeedingState(data, capacity)
    candidates = [draw_row_by_weight(weights, random_state)]
    state.add_centers(data.rows(candidates).astype(data.dtype, copy=False))
    for _ in range(n_rounds):
        mass = weights * state.closest_sq_dist
        potential = float(mass.sum())
        if not potential > 0:
            break
        keep = random_state.uniform(size=n) * potential < ell * mass
        new_rows = np.flatnonzero(keep)
        room = capacity - state.n_centers
        if new_rows.size > room:  # unlikely (mean ℓ per round): keep the first ones
            new_rows = new_rows[:room]
        if new_rows.size:
            state.add_centers(data.rows(new_rows).astype(data.dtype, copy=False))
            candidates.extend(new_rows.tolist())
    while state.n_centers < min(n_clusters, capacity):
        missing = n_clusters - state.n_centers
        new_rows = _draw_rows_by_mass(
            weights, state.closest_sq_dist, random_state.uniform(size=missing)
        )
        if new_rows is None:
            break
        new_rows = np.unique(new_rows)
        state.add_centers(data.rows(new_rows).astype(data.dtype, copy=False))
        candidates.extend(new_rows.tolist())
    candidates = np.asarray(candidates, dtype=np.int64)
    candidate_weights = np.bincount(
        state.closest_center, weights=weights, minlength=candidates.shape[0]
    )
    candidate_data = type(data)(data.X[candidates])
    _, chosen = kmeans_plusplus_centers(candidate_data, n_clusters, candidate_weights, random_state)
    indices = candidates[chosen]
    return np.ascontiguousarray(data.rows(indices), dtype=data.dtype), indices


def afkmc2_centers(data, n_clusters, sample_weight, random_state, chain_length=200):
    """AFK-MC² (Bachem et al., NeurIPS 2016): k-means++ approximated by Markov chains.

    The first center is a row drawn ∝ w. Each next center is the last state of a
    Metropolis chain of ``chain_length`` proposals from the fixed distribution
    ``q(x) = ½ w D(x, c₁)² / Σ w D(·, c₁)² + ½ w / Σ w`` with target ∝ ``w D(x)²``
    (D to the centers chosen so far): a step from x to y is accepted with probability
    ``min(1, (w_y D_y² q(x)) / (w_x D_x² q(y)))``. One pass over X in all; each
    proposal costs the distances to the chosen centers only.

    Returns the centers, (k, d) of the data's dtype, and the rows of X they are.
    """
    n = data.n_rows
    weights = np.asarray(sample_weight, dtype=np.float64)
    state = _SeedingState(data, 1)
    first = draw_row_by_weight(weights, random_state)
    state.add_centers(data.rows([first]).astype(data.dtype, copy=False))
    mass = weights * state.closest_sq_dist
    mass_total = mass.sum()
    proposal = 0.5 * weights / weights.sum()
    if mass_total > 0:
        proposal += 0.5 * mass / mass_total
    cumulative = np.cumsum(proposal)
    last_with_mass = n - 1 - int(np.argmax(proposal[::-1] > 0))

    centers = np.empty((n_clusters, data.n_features), dtype=data.dtype)
    indices = np.empty(n_clusters, dtype=np.int64)
    centers[0] = data.rows([first])[0]
    indices[0] = first
    for c in range(1, n_clusters):
        draws = random_state.uniform(size=chain_length) * cumulative[-1]
        chain = np.minimum(np.searchsorted(cumulative, draws, side="right"), last_with_mass)
        accept = random_state.uniform(size=chain_length - 1)
        chain_sq_dist = np.empty(chain_length)
        kernels.min_sq_dist_to_centers.for_work(chain_length * c * data.n_features)(
            np.ascontiguousarray(data.rows(chain), dtype=data.dtype), centers, c, chain_sq_dist
        )
        target = weights[chain] * chain_sq_dist
        q = proposal[chain]
        state_at = 0
        for step in range(1, chain_length):
            # Accept y from x when u · π(x) q(y) < π(y) q(x): never a NaN, and a state
            # at distance 0 (a chosen center) is always left for one away from them.
            if accept[step - 1] * target[state_at] * q[step] < target[step] * q[state_at]:
                state_at = step
        indices[c] = chain[state_at]
        centers[c] = data.rows([indices[c]])[0]
    return centers, indices


def random_centers(data, n_clusters, sample_weight, random_state):
    """n_clusters distinct rows drawn with probability proportional to their weight."""
    weights = np.asarray(sample_weight, dtype=np.float64)
    indices = random_state.choice(
        data.n_rows, size=n_clusters, replace=False, p=weights / weights.sum()
    )
    return data.rows(indices).astype(data.dtype, copy=False)


def sample_start_rows(data, n_clusters, init, refine_rows):
    """Rows of the uniform subsample a run starts from (:func:`sample_start`), or 0 for
    a start on every row.

    Only for the built-in ``'k-means++'`` on dense X that ``refine='auto'`` refines on a
    subsample of ``refine_rows`` rows (0: it does not): the run seeds, iterates and
    swaps on those rows and iterates on every row once, from there. Greedy k-means++
    over every row costs ``2 + ln k`` candidate passes over X a center; but where no
    swaps follow, a start seeded on a subsample ends in a worse optimum (1-2.5 % above
    the one from every row on blobs of 150,000 × 32, k = 512, with 32-128 sampled rows
    per cluster, and as much when only the candidates' potentials are summed over the
    subsample: see docs/benchmarks.md), so there the start stays on every row.
    """
    if not (isinstance(init, str) and init == "k-means++") or sp.issparse(data.X):
        return 0
    return int(min(refine_rows, data.n_rows))


def sample_start(data, n_clusters, sample_weight, random_state, n_rows, iterate, max_iter, tol):
    """Greedy k-means++ and ``iterate`` to convergence on ``n_rows`` uniform rows.

    The rows are drawn without replacement from ``random_state`` (kept in their order,
    with their weights); k-means++ (:func:`kmeans_plusplus_centers`) seeds on them and
    ``iterate`` (an iteration of :data:`centroids.engine.driver.ITERATIONS`) runs there
    until it converges under ``tol``. The caller then iterates on every row from the
    returned centers, so the fit still ends at a fixed point of Lloyd on the whole data;
    from a start near it, few of those costly passes are needed (the subsample's
    passes cost ``n_rows / n`` of one each).

    Returns ``(sample, sample_weight, run)``: the sample as engine data, its weights and
    the converged :class:`~centroids.engine.lloyd.KMeansRun` on it.
    """
    sample, sample_w = uniform_row_sample(data, sample_weight, n_rows, random_state)
    centers, _ = kmeans_plusplus_centers(sample, n_clusters, sample_w, random_state)
    run = iterate(sample, sample_w, centers, max_iter, tol)
    return sample, sample_w, KMeansRun(run.centers, run.labels, run.inertia, 0)


def initial_centers(data, X, n_clusters, init, sample_weight, random_state):
    """Centers to start a run from: by name (``SEEDING_METHODS``), a callable, or an array."""
    if isinstance(init, str):
        if init == "k-means++":
            return kmeans_plusplus_centers(data, n_clusters, sample_weight, random_state)[0]
        if init == "random":
            return random_centers(data, n_clusters, sample_weight, random_state)
        if init == "k-means||":
            return kmeans_parallel_centers(data, n_clusters, sample_weight, random_state)[0]
        if init == "afk-mc2":
            return afkmc2_centers(data, n_clusters, sample_weight, random_state)[0]
        raise ValueError(
            f"init must be one of {SEEDING_METHODS}, an array or a callable; got {init!r}"
        )
    if callable(init):
        return init(X, n_clusters, random_state=random_state)
    return np.array(init, dtype=data.dtype, order="C", copy=True)
