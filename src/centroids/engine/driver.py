"""The driver of a k-means fit: picks the iterations, owns the n_init loop and warnings.

Prior validation of X, sample_weight and init is assumed here (the estimators in
:mod:`centroids.models` do it).
"""

from __future__ import annotations

import sys
import warnings

from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

from .._kernels.labels import count_distinct_labels
from ..settings import (
    AUTO_HAMERLY_MIN_CLUSTERS,
    AUTO_HAMERLY_MIN_ROWS_PER_CLUSTER,
    AUTO_LLOYD_MAX_CLUSTERS,
    AUTO_LLOYD_MAX_FEATURES,
    AUTO_SPARSE_ELKAN_MIN_CLUSTERS,
    SMALL_FIT_MAX_RESTARTS,
    SMALL_FIT_RESTART_BUDGET,
)
from .bounded import elkan, hamerly, yinyang
from .data import CSRData, engine_data
from .lloyd import absolute_tolerance, lloyd
from .refine import refine_fit, refine_mode, sample_rows, seeding_passes
from .seeding import initial_centers, sample_start, sample_start_rows

__all__ = [
    "ALGORITHMS",
    "ITERATIONS",
    "auto_restarts",
    "blas_limited_to_one_thread",
    "choose_algorithm",
    "fit_kmeans",
]

#: The iteration algorithms by name; all give Lloyd's result from the same start.
ITERATIONS = {"lloyd": lloyd, "hamerly": hamerly, "elkan": elkan, "yinyang": yinyang}

ALGORITHMS = ("auto", *ITERATIONS)


def choose_algorithm(data, n_clusters):
    """The iteration algorithm ``algorithm='auto'`` runs on ``data`` with ``n_clusters``.

    Bounds pay when most rows keep their center and a skipped row saves more than
    checking its bounds costs. Dense data: Hamerly's single bound from
    ``AUTO_HAMERLY_MIN_CLUSTERS`` clusters on (the rows of a chunk that fail their
    bounds take their distances through one matrix product, so a pass never costs
    much more than Lloyd's); Lloyd below that (with few clusters too many rows sit
    near a boundary and fail) and for 1 or 2 features (a direct distance costs about
    what checking a bound does), and with fewer than
    ``AUTO_HAMERLY_MIN_ROWS_PER_CLUSTER`` rows per cluster (most rows then sit near a
    boundary and fail their bounds, and the k² distances between centers that every
    pass needs are a larger share of it). Sparse data: Elkan's bounds from
    ``AUTO_SPARSE_ELKAN_MIN_CLUSTERS`` clusters on, Lloyd below (one pass over the
    non-zeros beats single sparse distances). Lloyd for 2 clusters or fewer. The
    thresholds and their measurements are in :mod:`centroids.settings`.
    """
    if n_clusters <= AUTO_LLOYD_MAX_CLUSTERS:
        return "lloyd"
    if isinstance(data, CSRData):
        return "elkan" if n_clusters >= AUTO_SPARSE_ELKAN_MIN_CLUSTERS else "lloyd"
    if data.n_features <= AUTO_LLOYD_MAX_FEATURES:
        return "lloyd"
    if data.n_rows < AUTO_HAMERLY_MIN_ROWS_PER_CLUSTER * n_clusters:
        return "lloyd"
    return "hamerly" if n_clusters >= AUTO_HAMERLY_MIN_CLUSTERS else "lloyd"


def auto_restarts(X, n_clusters):
    """Runs ``n_init='auto'`` makes with a built-in seeding on the validated ``X``.

    As many independent restarts as fit in ``SMALL_FIT_RESTART_BUDGET`` (the summed
    rows × features × k, non-zeros × k for CSR X), capped at ``SMALL_FIT_MAX_RESTARTS``,
    and at least one: a small fit buys its best known optimum with a few milliseconds,
    a large fit keeps its single run (see :mod:`centroids.settings`).
    """
    row_work = X.nnz if hasattr(X, "nnz") else X.shape[0] * X.shape[1]
    per_run = max(int(row_work) * int(n_clusters), 1)
    return max(1, min(SMALL_FIT_MAX_RESTARTS, SMALL_FIT_RESTART_BUDGET // per_run))


_THREADPOOLS = None
_MODULES_SEEN = -1


def blas_limited_to_one_thread():
    """Context in which BLAS runs on one thread, so it never nests inside numba's pool.

    The scan of loaded thread pools is kept while no module has been imported since; an
    import may load another BLAS (faiss, torch bring their own), so it scans again.
    """
    global _THREADPOOLS, _MODULES_SEEN
    if _THREADPOOLS is None or len(sys.modules) != _MODULES_SEEN:
        _THREADPOOLS = ThreadpoolController()
        _MODULES_SEEN = len(sys.modules)
    return _THREADPOOLS.limit(limits=1, user_api="blas")


def _refined_sample_start(
    data, n_clusters, sample_weight, random_state, n_rows, iterate, refine, max_iter, tol
):
    """Centers of a run started on the refinement's subsample of ``n_rows`` rows:
    seeding, iterations and swaps there (:func:`centroids.engine.seeding.sample_start`,
    then :func:`centroids.engine.refine.refine_fit` on every sampled row), so the caller
    converges on every row once from them (not twice)."""
    sample, sample_w, start = sample_start(
        data, n_clusters, sample_weight, random_state, n_rows, iterate, max_iter, tol
    )
    start = refine_fit(
        "all", refine, sample, sample_w, start, iterate, random_state, max_iter=max_iter, tol=tol
    )
    return start.centers


def fit_kmeans(
    X,
    sample_weight,
    *,
    n_clusters,
    init,
    n_init,
    max_iter,
    tol,
    random_state,
    algorithm="auto",
    refine="auto",
    verbose=False,
):
    """Best of ``n_init`` k-means runs on a validated X.

    X is a C-ordered float32/float64 ndarray or a CSR matrix; ``sample_weight`` an
    array of X's dtype; ``init`` 'k-means++', 'random', a callable or a validated
    (k, d) array; ``random_state`` a ``numpy.random.RandomState``. The run with the
    lowest inertia wins. ``algorithm`` is a name of :data:`ALGORITHMS` ('auto': see
    :func:`choose_algorithm`); ``refine`` ('auto', True or False, see
    :func:`centroids.engine.refine.refine_mode`) runs swap refinement after each run:
    random swap with local trials on dense X (:func:`centroids.engine.refine.random_swap`),
    on a subsample for large dense X with 'auto'
    (:func:`centroids.engine.refine.random_swap_on_sample`), on every row under a budget
    bounded by the fit's own cost where that subsample would hold most rows
    (:func:`centroids.engine.refine.local_work_budget`), guided swaps on CSR X
    (:func:`centroids.engine.refine.refine`). A k-means++ run that 'auto' refines on a
    subsample starts on that subsample (:func:`centroids.engine.seeding.sample_start`:
    seeding, iterations and swaps there), then iterates on every row to convergence.
    Warns with ``ConvergenceWarning`` when fewer than ``n_clusters`` distinct clusters
    were found.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    data = engine_data(X)
    if algorithm == "auto":
        algorithm = choose_algorithm(data, n_clusters)
    iterate = ITERATIONS[algorithm]
    # 'auto' leaves a start the caller chose (an array or a callable) to plain iterations.
    mode = refine_mode(refine, data, n_clusters)
    if refine is not True and not isinstance(init, str):
        mode = None
    # A dense k-means++ fit that 'auto' refines on a subsample starts on it.
    start_rows = sample_start_rows(
        data, n_clusters, init, sample_rows(data, n_clusters) if mode == "sample" else 0
    )
    with blas_limited_to_one_thread():
        tol = absolute_tolerance(data, tol)
        best = None
        for _ in range(n_init):
            run_mode = mode
            if start_rows:
                centers = _refined_sample_start(
                    data, n_clusters, sample_weight, random_state, start_rows, iterate,
                    refine, max_iter, tol,
                )  # fmt: skip
                run_mode = None
            else:
                centers = initial_centers(data, X, n_clusters, init, sample_weight, random_state)
            if verbose:
                print("Initialization complete")
            run = iterate(data, sample_weight, centers, max_iter, tol, verbose)
            if run_mode is not None:
                run = refine_fit(
                    run_mode,
                    refine,
                    data,
                    sample_weight,
                    run,
                    iterate,
                    random_state,
                    max_iter=max_iter,
                    tol=tol,
                    seeding_passes=seeding_passes(init, n_clusters),
                )
            if best is None or run.inertia < best.inertia:
                best = run
    n_distinct = count_distinct_labels(best.labels, n_clusters)
    if n_distinct < n_clusters:
        warnings.warn(
            f"Number of distinct clusters ({n_distinct}) found smaller than "
            f"n_clusters ({n_clusters}): X probably has fewer than {n_clusters} distinct "
            "points (duplicate rows). Some centers are duplicates; lower n_clusters.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return best
