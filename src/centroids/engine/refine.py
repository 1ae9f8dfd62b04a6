"""Refinement after Lloyd: guided swaps that escape the local optima k-means++ leaves.

Lloyd's iterations stop in a local optimum; the typical bad one found by k-means++ has
two centers sharing one true cluster while one center sits between two others. A swap
step moves one center from where it is needed least to where it is needed most, lets
the iterations settle, and keeps the result only when the inertia drops:

1. One pass gives every row its nearest and second-nearest center. A center's *removal
   cost* is ``Σ_{rows of c} w_i (d₂ - d₁)``, the inertia added by deleting it
   (``removal_cost="exact"``, the default). ``removal_cost="merge"`` ranks by the
   cheaper upper bound ``W_c · min_{c'} ||c - c'||²`` instead (no pass of its own; it
   reached CI = 0 in 69 of 70 SIPU runs where "exact" reached 70).
2. The center of lowest removal cost (among those not yet tried since the last
   accepted swap) is deleted; its rows fall back to their second-nearest center.
3. Its replacement is drawn as in greedy k-means++: a few candidate rows sampled with
   probability ∝ ``w · D²`` (distances to the remaining centers), the one that leaves
   the lowest potential kept; that lands in the region of largest cost.
4. A few capped iterations follow (``trial_max_iter``); the swap is accepted only when
   the inertia drops below the current one, else the next-cheapest center is tried.

Refinement stops after ``max_failures`` rejected swaps in a row or ``max_trials`` swaps
in all; when the last accepted trial was cut at its cap, the iterations then run to
convergence from it. The result's inertia is never above the input's.
"""

from __future__ import annotations

import numpy as np

from .._kernels import refine as refine_kernels
from .._kernels import swap as swap_kernels
from ..settings import (
    GEMM_MIN_FEATURES,
    REFINE_AUTO_MAX_WORK,
    REFINE_AUTO_WORK_PASSES,
    REFINE_LOCAL_FIT_SHARE,
    REFINE_LOCAL_ROW_WORK,
    REFINE_SAMPLE_MAX_SHARE,
    REFINE_SAMPLE_MIN_ROWS_PER_CLUSTER,
    REFINE_SAMPLE_WORK,
    REFINE_SPARSE_AUTO_TRIAL_SHARE,
    REFINE_SWAP_FAILURES_PER_CLUSTER,
    REFINE_SWAP_MIN_FAILURES,
    REFINE_SWAP_NEIGHBOURS,
    REFINE_SWAP_TRIALS_PER_CLUSTER,
)
from .data import CSRData, engine_data, gemm_centers, uniform_row_sample
from .lloyd import KMeansRun

#: The ways :func:`refine` can rank the centers to delete.
REMOVAL_COSTS = ("exact", "merge")


def refine_is_on(option, data, n_clusters):
    """Whether to refine a fit on all rows, from the estimator's ``refine`` option.

    ``True``/``False`` as given; ``"auto"`` refines when one assignment pass is small
    enough (``data.row_work × n_clusters ≤ REFINE_AUTO_MAX_WORK``, see :mod:`centroids.settings`).
    Larger dense fits are refined on a subsample instead (:func:`refine_mode`).
    """
    if option is True or option is False:
        return option
    if isinstance(option, str) and option == "auto":
        return data.row_work * n_clusters <= REFINE_AUTO_MAX_WORK
    raise ValueError(f"refine must be 'auto', True or False, got {option!r}.")


def refine_mode(option, data, n_clusters):
    """How a fit is refined: ``"all"`` (every row), ``"sample"``, ``"local"`` or ``None``
    (not at all).

    ``refine=True`` and small ``"auto"`` fits (:func:`refine_is_on`) refine on all rows;
    ``"auto"`` on larger dense fits runs random swap on a subsample
    (:func:`random_swap_on_sample`), whose cost is bounded by ``REFINE_SAMPLE_WORK``
    whatever n, where that sample is at most ``REFINE_SAMPLE_MAX_SHARE`` of the rows;
    where it would be more (many clusters for n, few rows each) random swap runs on
    every row with its trials capped at a share of the fit's own work
    (``"local"``, :func:`local_work_budget`). Larger CSR fits are not refined.
    """
    if refine_is_on(option, data, n_clusters):
        return "all"
    if option is False or isinstance(data, CSRData):
        return None
    # A sample of more than half the rows saves little over refining every row; there
    # the trials are local (few rows a cluster) and budgeted against the fit's own cost.
    if REFINE_SAMPLE_MAX_SHARE * data.n_rows < sample_rows(data, n_clusters):
        return "local"
    return "sample"


def refine_fit(
    mode,
    option,
    data,
    sample_weight,
    run,
    iterate,
    random_state,
    *,
    max_iter,
    tol,
    seeding_passes=0.0,
):
    """Refine the converged ``run`` as :func:`refine_mode` decided (``mode`` "all",
    "sample" or "local"; ``option`` the estimator's ``refine``).

    Dense X: random swap on every row ("all"; under 'auto' its trials capped at
    :func:`auto_work_budget`, under True uncapped) or on a subsample ("sample"), through
    :func:`random_swap_on_sample`; "local": random swap on every row, its trials capped
    at :func:`local_work_budget` of the fit (``seeding_passes``: what the run's seeding
    cost, in assignment passes; :func:`seeding_passes`). CSR X ("all" only): guided
    swaps (:func:`refine`), whose trials may spend at most
    ``REFINE_SPARSE_AUTO_TRIAL_SHARE`` of the run's own iterations under 'auto'.
    """
    if isinstance(data, CSRData):
        budget = (
            None if option is True else max(1, int(REFINE_SPARSE_AUTO_TRIAL_SHARE * run.n_iter))
        )
        return refine(
            data,
            sample_weight,
            run,
            iterate,
            random_state,
            max_iter=max_iter,
            tol=tol,
            trial_iter_budget=budget,
        )
    if mode == "local":
        budget = local_work_budget(data, run.centers.shape[0], run.n_iter + seeding_passes)
        return random_swap(
            data,
            sample_weight,
            run,
            iterate,
            random_state,
            max_iter=max_iter,
            tol=tol,
            work_budget=budget,
        )
    return random_swap_on_sample(
        data,
        sample_weight,
        run,
        iterate,
        random_state,
        max_iter=max_iter,
        tol=tol,
        n_rows=data.n_rows if mode == "all" else None,
        budgeted=option is not True,
    )


def seeding_passes(init, n_clusters):
    """What a fit's seeding costs, in assignment passes over X: greedy k-means++ weighs
    ``2 + ln k`` candidates for each of the k centers over every row; 'random' and
    given starts cost nothing."""
    if isinstance(init, str) and init == "k-means++":
        return 2.0 + float(np.log(max(int(n_clusters), 1)))
    return 0.0


def local_work_budget(data, n_clusters, fit_passes):
    """The trial work ``refine='auto'`` gives random swap on every row of a fit with many
    clusters for its rows (``"local"`` in :func:`refine_mode`): the smaller of
    ``REFINE_LOCAL_ROW_WORK`` per value of X (a trial over 8 clusters of ``n/k`` rows
    against 8 local centers for 2 steps costs about ``128 · n · d / k`` terms, so this
    buys a few trials per cluster whatever k, a cost that shrinks against the fit's as
    k grows) and ``REFINE_LOCAL_FIT_SHARE`` of the fit's own work, ``fit_passes``
    assignment passes (rows × features × clusters each: its iterations and
    :func:`seeding_passes`), which binds at small k."""
    values = float(data.n_rows) * float(data.n_features)
    fit_work = float(fit_passes) * values * float(n_clusters)
    return min(REFINE_LOCAL_ROW_WORK * values, REFINE_LOCAL_FIT_SHARE * fit_work)


def sample_rows(data, n_clusters):
    """Rows of the subsample :func:`random_swap_on_sample` draws: one assignment pass
    over them costs ``REFINE_SAMPLE_WORK`` (rows × features × clusters), and every
    cluster gets ``REFINE_SAMPLE_MIN_ROWS_PER_CLUSTER`` rows on average at least."""
    per_row = max(int(data.n_features) * int(n_clusters), 1)
    return max(REFINE_SAMPLE_WORK // per_row, REFINE_SAMPLE_MIN_ROWS_PER_CLUSTER * n_clusters)


def two_nearest_centers(data, centers):
    """Labels and the squared distances to the nearest and second-nearest center.

    Returns ``(labels, min_sq_dist, second_sq_dist)``; ``second_sq_dist`` is ``inf``
    when there is a single center. Dense or CSR ``data`` (an engine adapter).
    """
    n = data.n_rows
    labels = np.empty(n, dtype=np.int32)
    min_sq_dist = np.empty(n)
    second_sq_dist = np.empty(n)
    centers = np.ascontiguousarray(centers, dtype=data.dtype)
    work = data.row_work * centers.shape[0]
    if isinstance(data, CSRData):
        refine_kernels.sparse_two_nearest_centers.for_work(work)(
            data.X.data,
            data.X.indices,
            data.X.indptr,
            data.x_sq_norms,
            centers,
            labels,
            min_sq_dist,
            second_sq_dist,
        )
    elif data.n_features >= GEMM_MIN_FEATURES:
        refine_kernels.two_nearest_centers_gemm.for_work(work)(
            data.X,
            data.x_sq_norms,
            gemm_centers(centers),
            labels,
            min_sq_dist,
            second_sq_dist,
        )
    else:
        refine_kernels.two_nearest_centers.for_work(work)(
            data.X, centers, labels, min_sq_dist, second_sq_dist
        )
    return labels, min_sq_dist, second_sq_dist


def removal_costs(sample_weight, labels, min_sq_dist, second_sq_dist, n_clusters):
    """Inertia added by deleting each center: ``Σ_{labels[i]=c} w_i (d₂ᵢ - d₁ᵢ)``.

    Summed in row order (deterministic). A center with no rows costs 0.
    """
    gain = np.asarray(sample_weight, dtype=np.float64) * (second_sq_dist - min_sq_dist)
    return np.bincount(labels, weights=gain, minlength=n_clusters)


def merge_costs(weights, labels, centers):
    """Upper bound of each center's removal cost: ``W_c · min_{c' ≠ c} ||c - c'||²``.

    The inertia added if all rows of cluster ``c`` (total weight ``W_c``, mean ``c``)
    moved to the nearest other center; rows going to their own second-nearest center
    add at most that. O(k² d), no pass over X.
    """
    n_clusters = centers.shape[0]
    cluster_weight = np.bincount(labels, weights=weights, minlength=n_clusters)
    C = np.asarray(centers, dtype=np.float64)
    sq_norms = np.einsum("ij,ij->i", C, C)
    between = sq_norms[:, None] + sq_norms[None, :] - 2.0 * (C @ C.T)
    np.maximum(between, 0.0, out=between)
    np.fill_diagonal(between, np.inf)
    return cluster_weight * between.min(axis=1)


def _without_center(data, sample_weight, labels, min_sq_dist, centers, removed):
    """Every row's squared distance to its nearest center once ``removed`` is deleted.

    Only the removed cluster's rows change; they are reassigned among the other centers
    (a pass over those rows alone).
    """
    closest_sq_dist = min_sq_dist.copy()
    members = np.flatnonzero(labels == removed)
    if members.size:
        others = np.ascontiguousarray(np.delete(centers, removed, axis=0), dtype=data.dtype)
        subset = engine_data(data.X[members])
        _, member_sq_dist, _ = subset.assign_labels(sample_weight[members], others)
        closest_sq_dist[members] = member_sq_dist
    return closest_sq_dist


def _replacement_center(data, weights, closest_sq_dist, n_candidates, random_state):
    """Greedy k-means++ step: the best of ``n_candidates`` rows drawn ∝ ``w · D²``.

    Returns the row (X's dtype) and the potential it leaves, or ``None`` when every row
    already coincides with a center (no mass to draw from).
    """
    mass = weights * closest_sq_dist
    cumulative = np.cumsum(mass)
    total = cumulative[-1]
    if not total > 0:
        return None
    draws = random_state.uniform(size=n_candidates) * total
    last_with_mass = mass.size - 1 - int(np.argmax(mass[::-1] > 0))
    candidates = np.minimum(np.searchsorted(cumulative, draws, side="right"), last_with_mass)
    candidate_rows = np.ascontiguousarray(data.rows(candidates), dtype=data.dtype)
    potentials = data.candidate_potentials(weights, closest_sq_dist, candidate_rows)
    best = int(np.argmin(potentials))
    return candidate_rows[best], float(potentials[best])


def refine(
    data,
    sample_weight,
    run,
    iterate,
    random_state,
    *,
    max_iter=300,
    tol=0.0,
    max_trials=None,
    max_failures=3,
    trial_max_iter=10,
    n_candidates=None,
    removal_cost="exact",
    trial_iter_budget=None,
):
    """Improve a converged run by guided swap steps, each accepted only if inertia drops.

    Parameters
    ----------
    data : DenseData or CSRData
        The engine's adapter over X.
    sample_weight : ndarray of shape (n,)
        Row weights, X's dtype.
    run : KMeansRun
        The converged run to refine (its labels are the assignment to its centers).
    iterate : callable
        ``iterate(data, sample_weight, centers_init, max_iter, tol) -> KMeansRun``, the
        iterations to use (:func:`centroids.engine.lloyd.lloyd` or a faster twin).
    random_state : numpy.random.RandomState
        Source of the candidate draws.
    max_iter : int, default=300
        Iteration cap of the final convergence run (see below).
    tol : float, default=0.0
        Absolute tolerance passed to ``iterate`` (as the fit uses).
    max_trials : int or None, default=None
        Most swap steps in all; ``None`` means ``2 · n_clusters``.
    max_failures : int, default=3
        Stop after this many rejected swaps in a row.
    trial_max_iter : int, default=10
        Iteration cap of each trial before its accept test.
    n_candidates : int or None, default=None
        Rows drawn per swap for the new center; ``None`` means ``2 + ln(n_clusters)``,
        as greedy k-means++.
    removal_cost : {"exact", "merge"}, default="exact"
        How the center to delete is chosen: exact removal costs from each row's two
        nearest centers (one pass over X per accepted swap), or the merge upper bound
        from the centers alone (see the module docstring).
    trial_iter_budget : int or None, default=None
        Most iterations all trials may spend together (each trial then gets at most what
        is left); ``None``: no limit beyond ``max_trials`` and ``trial_max_iter``.

    Returns
    -------
    KMeansRun
        Centers, labels (the assignment to those centers) and inertia ≤ ``run.inertia``;
        ``n_iter`` counts every iteration spent: ``run.n_iter`` plus those of all trials,
        accepted or not, and of the final convergence run. When no swap is accepted, the
        input's centers, labels and inertia come back (with the trials' iterations
        counted); when none is possible (one cluster, zero inertia, n ≤ k) the input run
        itself is returned.
    """
    if removal_cost not in REMOVAL_COSTS:
        raise ValueError(
            f"refine: removal_cost must be one of {REMOVAL_COSTS}, got {removal_cost!r}."
        )
    centers = run.centers
    n_clusters = centers.shape[0]
    if n_clusters < 2 or not run.inertia > 0 or data.n_rows <= n_clusters:
        return run
    if max_trials is None:
        max_trials = 2 * n_clusters
    if n_candidates is None:
        n_candidates = 2 + int(np.log(n_clusters))
    weights = np.asarray(sample_weight, dtype=np.float64)

    best = run
    n_iter_spent = 0
    accepted_any = False
    best_is_converged = True
    tried = np.zeros(n_clusters, dtype=bool)  # removed without success since last accept
    failures = 0
    costs_of = None  # the run whose centers `costs` ranks
    for _ in range(max_trials):
        if costs_of is not best:  # the centers changed: rank them again
            if removal_cost == "exact":
                labels, min_sq_dist, second_sq_dist = two_nearest_centers(data, best.centers)
                costs = removal_costs(weights, labels, min_sq_dist, second_sq_dist, n_clusters)
            else:
                labels, min_sq_dist, _ = data.assign_labels(sample_weight, best.centers)
                costs = merge_costs(weights, labels, best.centers)
            costs_of = best
        costs[tried] = np.inf
        removed = int(np.argmin(costs))
        if not np.isfinite(costs[removed]):
            break
        if removal_cost == "exact":
            closest_sq_dist = np.where(labels == removed, second_sq_dist, min_sq_dist)
        else:
            closest_sq_dist = _without_center(
                data, sample_weight, labels, min_sq_dist, best.centers, removed
            )
        replacement = _replacement_center(
            data, weights, closest_sq_dist, n_candidates, random_state
        )
        if replacement is None:
            break
        trial_centers = best.centers.copy()
        trial_centers[removed] = replacement[0]
        trial_iter = trial_max_iter
        if trial_iter_budget is not None:
            trial_iter = min(trial_iter, trial_iter_budget - n_iter_spent)
            if trial_iter < 1:
                break
        trial = iterate(data, sample_weight, trial_centers, trial_iter, tol)
        n_iter_spent += trial.n_iter
        if trial.inertia < best.inertia:
            best = trial
            accepted_any = True
            best_is_converged = trial.n_iter < trial_iter
            tried[:] = False
            failures = 0
        else:
            tried[removed] = True
            failures += 1
            if failures >= max_failures:
                break
    if not accepted_any:
        return KMeansRun(run.centers, run.labels, run.inertia, run.n_iter + n_iter_spent)
    if not best_is_converged:
        final = iterate(data, sample_weight, best.centers, max_iter, tol)
        n_iter_spent += final.n_iter
        if final.inertia <= best.inertia:
            best = final
    return KMeansRun(best.centers, best.labels, best.inertia, run.n_iter + n_iter_spent)


def random_swap(
    data,
    sample_weight,
    run,
    iterate,
    random_state,
    *,
    max_iter=300,
    tol=0.0,
    max_failures=None,
    max_trials=None,
    n_neighbours=None,
    trial_steps=2,
    removal_draws=5,
    target_draws=3,
    work_budget=None,
):
    """Random swap (Fränti 2018) with trials evaluated locally, then Lloyd to convergence.

    Each trial moves a random center onto a row of a cluster drawn in proportion to its
    inertia, runs ``trial_steps`` k-means steps on the rows of the clusters it touches
    (see :mod:`centroids._kernels.swap`) and is kept when the inertia drops. After the
    trials, ``iterate`` runs from the swapped centers over all the data until it
    converges, so the result is a fixed point of the iterations.

    Parameters
    ----------
    data : DenseData
        The engine's adapter over dense X.
    sample_weight : ndarray of shape (n,)
        Row weights, X's dtype.
    run : KMeansRun
        The converged run to refine.
    iterate : callable
        ``iterate(data, sample_weight, centers_init, max_iter, tol) -> KMeansRun``.
    random_state : numpy.random.RandomState
        Source of the trials' draws (taken all at once: the result does not depend on
        the number of threads).
    max_iter, tol
        Of the final convergence run.
    max_failures : int or None, default=None
        Stop after this many rejected trials in a row; None: ``REFINE_SWAP_FAILURES_PER_CLUSTER
        × n_clusters`` (at least ``REFINE_SWAP_MIN_FAILURES``).
    max_trials : int or None, default=None
        Most trials in all; None: ``REFINE_SWAP_TRIALS_PER_CLUSTER × n_clusters``.
    n_neighbours : int or None, default=None
        Neighbouring centers taken into a trial around the moved center and around the
        target; None: ``REFINE_SWAP_NEIGHBOURS``.
    trial_steps : int, default=2
        k-means steps of a trial.
    removal_draws : int, default=5
        The center moved is the one of lowest utility (approximate removal cost)
        among this many drawn uniformly.
    target_draws : int, default=3
        The target cluster is the one of largest inertia among this many drawn in
        proportion to their inertia; the center moves onto a uniform row of it.
    work_budget : float or None, default=None
        Stop once the trials' work (rows × local centers × features × steps) exceeds
        it; None: no limit.

    Returns
    -------
    KMeansRun
        Inertia ≤ ``run.inertia``; ``n_iter`` adds the final run's iterations to
        ``run.n_iter``. The input run itself when no trial is possible or none was
        accepted.
    """
    centers = run.centers
    n_clusters = centers.shape[0]
    if n_clusters < 2 or not run.inertia > 0 or data.n_rows <= n_clusters:
        return run
    if max_failures is None:
        max_failures = max(REFINE_SWAP_MIN_FAILURES, REFINE_SWAP_FAILURES_PER_CLUSTER * n_clusters)
    if max_trials is None:
        max_trials = max(max_failures, REFINE_SWAP_TRIALS_PER_CLUSTER * n_clusters)
    if n_neighbours is None:
        n_neighbours = REFINE_SWAP_NEIGHBOURS
    if n_neighbours < 1 or trial_steps < 1 or removal_draws < 1 or target_draws < 1:
        raise ValueError(
            "random_swap: n_neighbours, trial_steps, removal_draws and target_draws "
            "must each be at least 1."
        )
    if work_budget is None:
        work_budget = np.inf
    draws = random_state.uniform(size=(max_trials, removal_draws + target_draws + 1))
    gains = np.full(max_trials, np.nan)
    X = data.X
    swapped = np.array(centers, dtype=np.float64, order="C")
    labels = np.array(run.labels, dtype=np.int32, copy=True)
    weights = np.asarray(sample_weight, dtype=np.float64)
    min_sq_dist = own_center_sq_dist(X, swapped, labels)
    _, n_accepted, _, _ = swap_kernels.random_swap(
        X,
        weights,
        swapped,
        labels,
        min_sq_dist,
        draws,
        int(removal_draws),
        int(n_neighbours),
        int(trial_steps),
        int(max_failures),
        float(work_budget),
        gains,
    )
    if n_accepted == 0:
        return run
    final = iterate(data, sample_weight, swapped.astype(data.dtype), max_iter, tol)
    if not final.inertia <= run.inertia:  # rounding only: the swaps lowered the inertia
        return run
    return KMeansRun(final.centers, final.labels, final.inertia, run.n_iter + final.n_iter)


def auto_work_budget(data, n_clusters):
    """The trial work ``refine='auto'`` allows random swap on ``data``:
    ``REFINE_AUTO_WORK_PASSES`` assignment passes (rows × clusters × features), and never
    more than the largest fit refined on all its rows gets (``REFINE_AUTO_MAX_WORK`` a
    pass). The trials run on one thread in scalar code, so on a subsample of large k and
    d (200,000 × 64, k = 256: 76,800 rows) ten of its passes took 11 s, where the fit's
    own passes take 2 s."""
    passes = min(data.n_rows * data.n_features * n_clusters, REFINE_AUTO_MAX_WORK)
    return float(REFINE_AUTO_WORK_PASSES) * passes


def random_swap_on_sample(
    data,
    sample_weight,
    run,
    iterate,
    random_state,
    *,
    max_iter=300,
    tol=0.0,
    n_rows=None,
    budgeted=True,
):
    """Random swap on a uniform subsample of the rows, then Lloyd on all rows.

    The converged ``run``'s centers are refined by :func:`random_swap` on ``n_rows``
    rows drawn without replacement (None: :func:`sample_rows`); when a swap is kept
    there (the trials capped at :func:`auto_work_budget` of the sample when
    ``budgeted``), ``iterate`` runs from the swapped centers over all rows until it converges,
    and that run is returned if its inertia (on all rows) is below ``run.inertia``.
    A local optimum of the kind k-means++ leaves at small k (two centers in one group,
    one center across two) shows as plainly on a few thousand rows per cluster as on
    all of them, so the trials cost a bounded work whatever n; the result is always a
    fixed point of the iterations on the whole data. ``n_iter`` adds the iterations
    on all rows spent by the final run (the sample's are not counted).
    """
    n_clusters = run.centers.shape[0]
    if n_clusters < 2 or not run.inertia > 0:
        return run
    if n_rows is None:
        n_rows = sample_rows(data, n_clusters)
    n = data.n_rows
    if n_rows >= n:
        budget = auto_work_budget(data, n_clusters) if budgeted else None
        return random_swap(
            data,
            sample_weight,
            run,
            iterate,
            random_state,
            max_iter=max_iter,
            tol=tol,
            work_budget=budget,
        )
    sample, sample_w = uniform_row_sample(data, sample_weight, n_rows, random_state)
    labels, _, inertia = sample.assign_labels(sample_w, run.centers)
    sample_run = KMeansRun(run.centers, labels, float(inertia), 0)
    swapped = random_swap(
        sample,
        sample_w,
        sample_run,
        iterate,
        random_state,
        max_iter=max_iter,
        tol=tol,
        work_budget=auto_work_budget(sample, n_clusters) if budgeted else None,
    )
    if swapped is sample_run or not swapped.inertia < sample_run.inertia:
        return run
    final = iterate(data, sample_weight, swapped.centers.astype(data.dtype), max_iter, tol)
    if not final.inertia < run.inertia:
        return KMeansRun(run.centers, run.labels, run.inertia, run.n_iter + final.n_iter)
    return KMeansRun(final.centers, final.labels, final.inertia, run.n_iter + final.n_iter)


def own_center_sq_dist(X, centers, labels):
    """Every row's squared distance to its own center, in float64 (O(n·d))."""
    diff = np.asarray(X, dtype=np.float64) - centers[labels]
    return np.einsum("ij,ij->i", diff, diff)
