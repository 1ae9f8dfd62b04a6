"""Mini-batch K-Means with scikit-learn's estimator API over centroids' own kernels."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.random import sample_without_replacement

from .._kernels import minibatch as kernels
from .._utils.validation import (
    check_features,
    check_initial_centers,
    check_sample_weight,
    unchanged_on_error,
)
from ..engine import (
    absolute_tolerance,
    blas_limited_to_one_thread,
    engine_data,
    fit_kmeans,
    initial_centers,
)
from ..engine import missing as with_holes
from ..engine.dask import fit_dask, is_dask_collection
from ._backend import (
    BACKEND_CONSTRAINTS,
    fit_backend,
    host_array,
    minibatch_data_on_torch,
)
from ._centers import EuclideanCentersMixin

#: Row indices drawn at once for the steps of :meth:`MiniBatchKMeans.fit` (the kernels
#: run the batches of one draw in a single call).
ROWS_PER_DRAW = 1 << 16

#: Most passes of filling the holes from the current centers and one epoch of steps
#: after the first fit of X with holes (``missing``); they stop earlier once no row with
#: holes changes center.
FILL_ROUNDS = 10

#: Iterations of the Lloyd polish of the seeds on the init subsample (``refine``).
INIT_POLISH_MAX_ITER = 100


class MiniBatchSteps:
    """The state of a mini-batch fit between calls of the step kernels.

    Float64 centers and per-center counts (the weight each center absorbed, whose
    inverse is its learning rate), the EWA convergence state and the reassignment
    counter; :meth:`run` feeds it batches of rows. Prior validation is assumed.
    """

    def __init__(self, centers, reassignment_ratio, reassign_after=0):
        self.centers = np.array(centers, dtype=np.float64, order="C", copy=True)
        n_clusters = self.centers.shape[0]
        self.counts = np.zeros(n_clusters)
        self.ewa_state = np.array([np.nan, np.nan, 0.0])
        self.reassign_state = np.zeros(2, dtype=np.int64)
        self.reassignment_ratio = float(reassignment_ratio)
        self.reassign_after = int(reassign_after)
        self.last_batch_inertia = np.nan

    @property
    def ewa_inertia(self):
        """The EWA of the batch inertia per unit weight (the last batch's before the second)."""
        ewa = self.ewa_state[kernels.EWA_INERTIA]
        return float(self.last_batch_inertia if np.isnan(ewa) else ewa)

    def run(
        self,
        data,
        sample_weight,
        use_weights,
        indices,
        batch_starts,
        random_state,
        *,
        step_offset=0,
        convergence=None,
        verbose=False,
    ):
        """Run the batches ``indices[batch_starts[s]:batch_starts[s + 1]]`` in order.

        ``data`` is the engine adapter of X (dense or CSR); rows count with their
        ``sample_weight`` when ``use_weights``, else 1 each. ``convergence``: None (run
        every batch) or (alpha, tol, max_no_improvement) for early stopping, with
        ``step_offset`` the fit-wide number of the first batch. Returns (exit state, batches run);
        the exit state is one of the kernels' ``RAN_ALL_STEPS``,
        ``CONVERGED_CENTER_SHIFT`` or ``CONVERGED_NO_IMPROVEMENT``.
        """
        n_batches = batch_starts.shape[0] - 1
        longest = int(np.diff(batch_starts).max())
        checking = convergence is not None
        settings = self._step_settings(convergence)
        batch_inertia = np.zeros(n_batches)
        center_shift = np.zeros(n_batches)
        batch_labels = np.empty(longest, dtype=np.int32)
        kernel, arrays = self._step_kernel(data, longest)
        first = 0
        state = kernels.RAN_ALL_STEPS
        last = n_batches - 1
        while first < n_batches:
            state, last = kernel(
                *arrays, sample_weight, use_weights, indices, batch_starts, first, step_offset,
                self.centers, self.counts, self.ewa_state, self.reassign_state, settings,
                batch_inertia, center_shift, batch_labels,
            )  # fmt: skip
            self.last_batch_inertia = batch_inertia[last]
            self.last_run_batch_inertia = batch_inertia
            if state != kernels.REASSIGN_DUE:
                break
            batch_rows = indices[batch_starts[last] : batch_starts[last + 1]]
            weights = sample_weight[batch_rows] if use_weights else None
            center_shift[last] += self._reassign(data, batch_rows, weights, random_state, verbose)
            state = kernels.RAN_ALL_STEPS
            if checking:
                state = kernels.check_convergence(
                    self.ewa_state,
                    step_offset + last,
                    batch_inertia[last],
                    center_shift[last],
                    *convergence,
                )
                if state != kernels.RAN_ALL_STEPS:
                    break
            first = last + 1
            last = n_batches - 1
        if verbose:
            ewa = self.ewa_inertia
            print(
                f"Minibatch steps {step_offset + 1}-{step_offset + last + 1}: mean batch "
                f"inertia {float(batch_inertia[: last + 1].mean())}, ewa inertia {ewa}"
            )
        return state, last + 1

    def _step_settings(self, convergence):
        """The settings array of the step kernels (convergence, then reassignment)."""
        checking = convergence is not None
        alpha, tol, max_no_improvement = convergence if checking else (0.0, 0.0, -1)
        return np.array(
            [
                alpha,
                tol,
                max_no_improvement,
                1.0 if checking else 0.0,
                10 * self.centers.shape[0],
                self.reassignment_ratio,
                self.reassign_after,
            ]
        )

    def _step_kernel(self, data, longest):
        """The step kernel for ``data`` (torch, CSR or dense; serial for a small batch
        work) and the arrays of X it takes first."""
        n_clusters, n_features = self.centers.shape
        if hasattr(data, "minibatch_steps"):  # rows on a torch device
            return data.minibatch_steps, ()
        if sp.issparse(data.X):
            X = data.X
            row_work = max(1, X.nnz // max(1, X.shape[0])) * longest * n_clusters
            kernel = kernels.for_batch_work(kernels.sparse_steps, row_work)
            return kernel, (X.data, X.indices, X.indptr)
        kernel = kernels.for_batch_work(kernels.dense_steps, longest * n_clusters * n_features)
        return kernel, (data.X,)

    def _reassign(self, data, batch_rows, weights, random_state, verbose):
        """Move the centers of low count to random rows of the batch; their squared jumps."""
        counts = self.counts
        to_reassign = counts < self.reassignment_ratio * counts.max()
        candidates = batch_rows if weights is None else batch_rows[weights > 0]
        most = min(int(0.5 * batch_rows.shape[0]), candidates.shape[0])
        if to_reassign.sum() > most:
            keep = np.argsort(counts, kind="stable")[most:]
            to_reassign[keep] = False
        n_reassigns = int(to_reassign.sum())
        if n_reassigns == 0:
            return 0.0
        chosen = candidates[random_state.choice(candidates.shape[0], n_reassigns, replace=False)]
        if verbose:
            print(f"[MiniBatchKMeans] Reassigning {n_reassigns} cluster centers.")
        new_centers = np.asarray(data.rows(np.sort(chosen)), dtype=np.float64)
        targets = np.flatnonzero(to_reassign)
        jumps = float(((new_centers - self.centers[targets]) ** 2).sum())
        self.centers[targets] = new_centers
        # A reassigned center starts with the smallest count kept, not zero, so that it
        # is neither reassigned again at once nor moved all the way by one batch.
        counts[to_reassign] = counts[~to_reassign].min() if (~to_reassign).any() else 0.0
        return jumps


def uniform_weights(sample_weight):
    """Whether every row has the same positive weight (draws then need no weights)."""
    return bool(sample_weight[0] > 0 and np.all(sample_weight == sample_weight[0]))


class MiniBatchKMeans(
    ClassNamePrefixFeaturesOutMixin,
    EuclideanCentersMixin,
    ClusterMixin,
    BaseEstimator,
):
    """Mini-batch K-Means clustering.

    Parameters, attributes and behaviour follow :class:`sklearn.cluster.MiniBatchKMeans`:
    each step draws ``batch_size`` rows (with replacement, with probability proportional
    to their sample weight), assigns them to their nearest centers and moves each center
    towards the mean of its new rows with a learning rate of one over the weight it has
    absorbed so far; an exponentially weighted average (EWA) of the batch inertia stops
    the fit when it has not improved for ``max_no_improvement`` steps. The steps run in
    centroids' numba kernels, a block of steps per call (float32 stays float32, CSR is
    never densified), and the seeds are polished on the init subsample (``refine``).

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters to form, at least 1 and at most the number of rows.
    init : {'k-means++', 'k-means||', 'afk-mc2', 'random'}, callable or array-like \
            of shape (n_clusters, n_features), default='k-means++'
        How the initial centers are chosen, on ``init_size`` rows drawn at random
        (see :class:`centroids.KMeans` for the methods). A callable is called as
        ``init(X_subsample, n_clusters, random_state=random_state)``; an array gives
        the centers themselves.
    max_iter : int, default=100
        At most ``max_iter × n_samples / batch_size`` steps (``max_iter`` passes over
        the data in rows drawn), unless the early stopping ends the fit before.
    batch_size : int, default=1024
        Rows per step (at most n_samples). Larger batches cost more per step, vary
        less from step to step and run in parallel (from about 2**22 / (k × d) rows).
    verbose : int, default=0
        Print the seeding's validation inertia and the progress of the steps.
    compute_labels : bool, default=True
        After the steps, assign every row of X to compute ``labels_`` and the exact
        ``inertia_`` (one pass over X). When False, ``labels_`` is not set and
        ``inertia_`` is the EWA of the batch inertia times the total weight (an
        estimate).
    random_state : int, RandomState instance or None, default=None
        Seed of the subsamples, the seeding, the batches and the reassignments. The
        same seed gives bit-identical results, whatever the number of threads.
    tol : float, default=0.0
        Stop when the squared shift of the centers in one step is at most ``tol`` ×
        the mean variance of the features; 0 turns this rule off.
    max_no_improvement : int or None, default=10
        Stop after this many consecutive steps without a new minimum of the EWA of the
        batch inertia; None turns this rule off.
    init_size : int, default=None
        Rows drawn (without replacement, among the rows of positive weight) for the
        seeding and for the validation set that ranks the ``n_init`` seedings. None
        means ``3 × batch_size`` (at least ``3 × n_clusters``), at most n_samples.
    n_init : 'auto' or int, default='auto'
        Number of seedings, each on its own subsample; the one with the lowest inertia
        on the validation rows starts the steps. 'auto': 1 for 'k-means++',
        'k-means||', 'afk-mc2' or an array, 3 for 'random' or a callable.
    reassignment_ratio : float, default=0.01
        When some center's count falls below this fraction of the largest count
        (looked at every ``10 × n_clusters`` rows, and at every step while a count is
        zero), such centers move to rows of the current batch drawn at random. 0 turns
        reassignment off. Unlike scikit-learn, no center is reassigned during the first
        ``init_size`` rows: a center no batch has reached yet is not dead (batches taken
        from data sorted by cluster reach the centers in turn).
    refine : {'auto', True, False}, default='auto'
        Polish the seeds on the init subsample before the steps: k-means from the
        built-in seeding on the ``init_size`` rows (Lloyd, at most 100 iterations), with
        :class:`centroids.KMeans`' swap refinement where it is cheap ('auto') or always
        (True). Mini-batch steps move a center only a little once it has absorbed
        many rows, so starting from near a good local optimum is what brings the final
        inertia close to a full k-means'. False starts from the plain seeding, as
        scikit-learn does. A start given as an array or a callable is never polished.
    backend : {'auto', 'numba', 'torch'}, default='auto'
        Where the fit runs. 'numba': centroids' CPU engine. 'torch': the same
        algorithm on a torch device (``pip install 'centroids[gpu]'``; see
        docs/gpu.md). 'auto': torch on a CUDA device when X is already there (a torch
        tensor or a CuPy array), or when torch and a CUDA device are present and one
        pass does at least ``centroids.settings.TORCH_AUTO_MIN_WORK`` multiply-adds
        (rows × features × clusters); numba otherwise, and for sparse X.
    device : str, int, torch.device or None, default=None
        The torch device ('cuda', 'cuda:1', 'cpu'). None: X's device for a tensor,
        else 'cuda' when present, else 'cpu'. With backend='numba' only None or 'cpu'.
    product_dtype : {'float32', 'bfloat16', 'float16'} or None, default=None
        torch backend only: the precision of the distance products (accumulated in
        float32). None: X's dtype. With a lower one, the rows whose two nearest
        centers lie within its error bound are re-checked in X's dtype, so the labels
        stay the exact nearest centers; the products run on the GPU's tensor cores.

    missing : {'error', 'kpod', 'masked'}, default='error'
        What a missing value (NaN) in dense X means, as in :class:`centroids.KMeans`.
        With holes, fit seeds and runs the steps on X with its holes filled with the
        column means, then alternates filling every hole from its row's nearest center
        (over the row's observed entries) and one more pass of steps, at most
        ``FILL_ROUNDS`` times (online k-POD); ``partial_fit`` fills the holes of each
        batch from the current centers before its step, so a missing coordinate never
        pulls a center. Both options take these same steps; they differ in the
        distance that ``labels_``, ``inertia_``, ``transform`` and ``score`` report
        ('masked': rescaled by the inverse of the fraction observed).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Coordinates of the cluster centers, in the dtype of the training data.
    labels_ : ndarray of shape (n_samples,), dtype int32
        Index of the cluster each training row belongs to (when ``compute_labels``).
    inertia_ : float
        Sum of the weighted squared distances of the training rows to their closest
        center (when ``compute_labels``; else the estimate described there).
    n_iter_ : int
        Passes over the data the steps amounted to: ``ceil(n_steps_ × batch_size /
        n_samples)``.
    n_steps_ : int
        Mini-batch steps run (``partial_fit`` adds one per call).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when X was a DataFrame with string
        column names.

    Examples
    --------
    >>> import numpy as np
    >>> from centroids.models.minibatch import MiniBatchKMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]] * 50)
    >>> mbk = MiniBatchKMeans(n_clusters=2, batch_size=64, random_state=0).fit(X)
    >>> np.round(sorted(mbk.cluster_centers_.tolist())).tolist()
    [[1.0, 2.0], [10.0, 2.0]]
    >>> bool(mbk.predict([[0, 0]])[0] == mbk.labels_[0])
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [
            StrOptions({"k-means++", "k-means||", "afk-mc2", "random"}),
            callable,
            "array-like",
        ],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
        "compute_labels": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_no_improvement": [Interval(Integral, 0, None, closed="left"), None],
        "init_size": [Interval(Integral, 1, None, closed="left"), None],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "reassignment_ratio": [Interval(Real, 0, None, closed="left")],
        "refine": [StrOptions({"auto"}), "boolean"],
        "missing": [StrOptions(set(with_holes.MISSING_OPTIONS))],
        **BACKEND_CONSTRAINTS,
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        max_iter=100,
        batch_size=1024,
        verbose=0,
        compute_labels=True,
        random_state=None,
        tol=0.0,
        max_no_improvement=10,
        init_size=None,
        n_init="auto",
        reassignment_ratio=0.01,
        refine="auto",
        missing="error",
        backend="auto",
        device=None,
        product_dtype=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.refine = refine
        self.missing = missing
        self.backend = backend
        self.device = device
        self.product_dtype = product_dtype

    # -- fitting -----------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Compute the centers on X by mini-batch steps.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training rows. float32 data is clustered in float32, without a copy when
            C-ordered; other numeric types are converted to float64. CSC is converted
            to CSR; sparse data is never densified.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row; None gives every row weight 1. Rows are
            drawn into the batches with probability proportional to their weight.

        Returns
        -------
        self : MiniBatchKMeans
            The fitted estimator. On bad input a ValueError or TypeError is raised
            and the estimator is left exactly as it was before the call.
        """
        if is_dask_collection(X):
            return fit_dask(self, X, sample_weight)
        with unchanged_on_error(self):
            self._fit(X, sample_weight)
        return self

    def _check_training_data(self, X, sample_weight, *, reset, where):
        missing = getattr(self, "missing", "error")
        X = check_features(
            self, host_array(X), reset=reset, where=where, allow_nan=missing != "error"
        )
        if missing != "error" and with_holes.has_holes(X):
            with_holes.check_holes(X, where, getattr(self, "feature_names_in_", None))
        n_samples = X.shape[0]
        sample_weight = check_sample_weight(sample_weight, n_samples, X.dtype)
        return X, sample_weight

    def _check_enough_rows(self, X, sample_weight):
        n_samples = X.shape[0]
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}: "
                f"X has fewer rows than clusters. Lower n_clusters or pass more rows."
            )
        n_weighted = int(np.count_nonzero(sample_weight))
        if n_weighted < self.n_clusters:
            raise ValueError(
                f"Only {n_weighted} rows have a positive sample_weight, fewer than "
                f"n_clusters={self.n_clusters}; lower n_clusters or give more rows weight."
            )

    def _fit(self, X, sample_weight):
        self._validate_params()
        backend = fit_backend(self, X)
        if backend.is_torch:  # steps on the device; the seeding reads a subsample on the host
            X, sample_weight, data = minibatch_data_on_torch(self, X, sample_weight, backend)
        else:
            X, sample_weight = self._check_training_data(X, sample_weight, reset=True, where="fit")
        self._check_enough_rows(X, sample_weight)
        observed = X
        if not backend.is_torch:
            if with_holes.has_holes(X):
                X = with_holes.fill_with_means(
                    X, with_holes.observed_column_means(X, sample_weight)
                )
            data = engine_data(X)
        n_samples = X.shape[0]
        random_state = check_random_state(self.random_state)
        batch_size = min(self.batch_size, n_samples)
        with blas_limited_to_one_thread():
            init_size = self._resolved_init_size(n_samples, batch_size)
            centers = self._best_seeding(X, sample_weight, init_size, random_state)
            steps = MiniBatchSteps(centers, self.reassignment_ratio, reassign_after=init_size)
            tol = absolute_tolerance(data, self.tol)
            n_steps = (self.max_iter * n_samples) // batch_size
            alpha = min(1.0, 2.0 * batch_size / (n_samples + 1))
            max_no_improvement = (
                -1 if self.max_no_improvement is None else int(self.max_no_improvement)
            )
            draw_rows = _row_sampler(sample_weight, random_state)
            convergence = (alpha, tol, max_no_improvement)
            done = self._run_steps(
                data,
                sample_weight,
                steps,
                draw_rows,
                n_steps,
                batch_size,
                random_state,
                convergence,
            )
            if observed is not X:
                done += self._fill_rounds(
                    observed,
                    X,
                    sample_weight,
                    steps,
                    draw_rows,
                    batch_size,
                    random_state,
                )
        self._steps = steps
        self._random_state = random_state
        self._fit_dtype = X.dtype
        self.cluster_centers_ = steps.centers.astype(X.dtype)
        self.n_steps_ = done
        self.n_iter_ = math.ceil(done * batch_size / n_samples)
        self._set_labels_and_inertia(
            data if observed is X else engine_data(observed), sample_weight, steps
        )
        self._warn_if_duplicate_centers()

    def _warn_if_duplicate_centers(self):
        """ConvergenceWarning, as KMeans, when centers coincide (duplicate rows in X).

        An empty cluster alone is no sign of it in mini-batch steps (a center no batch
        reached), so the test is on the centers themselves."""
        n_distinct = int(np.unique(self.cluster_centers_, axis=0).shape[0])
        if n_distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({self.n_clusters}): X probably has fewer than "
                f"{self.n_clusters} distinct points (duplicate rows). Some centers are "
                "duplicates; lower n_clusters.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _fill_rounds(
        self,
        observed,
        filled,
        sample_weight,
        steps,
        draw_rows,
        batch_size,
        random_state,
    ):
        """Online k-POD: fill the holes from the current centers, one epoch of steps;
        repeated until no row with holes changes center. Returns the steps run."""
        rows = np.flatnonzero(np.isnan(observed).any(axis=1))
        epoch = max(1, observed.shape[0] // batch_size)
        labels = None
        done = 0
        for _ in range(FILL_ROUNDS):
            new_labels = with_holes.predict_with_holes(observed, steps.centers, self.missing)
            if labels is not None and np.array_equal(new_labels[rows], labels[rows]):
                break
            labels = new_labels
            with_holes.complete_rows(observed, steps.centers, labels, rows, out=filled)
            done += self._run_steps(
                engine_data(filled),
                sample_weight,
                steps,
                draw_rows,
                epoch,
                batch_size,
                random_state,
                None,
            )
        return done

    def _run_steps(
        self, data, sample_weight, steps, draw_rows, n_steps, batch_size, random_state, convergence
    ):
        """Run up to ``n_steps`` batches of rows drawn by ``draw_rows``; the steps run."""
        steps_per_draw = max(1, ROWS_PER_DRAW // batch_size)
        done = 0
        while done < n_steps:
            n_batches = min(steps_per_draw, n_steps - done)
            indices = draw_rows(n_batches * batch_size)
            batch_starts = np.arange(n_batches + 1, dtype=np.int64) * batch_size
            exit_state, ran = steps.run(
                data,
                sample_weight,
                False,
                indices,
                batch_starts,
                random_state,
                step_offset=done,
                convergence=convergence,
                verbose=bool(self.verbose),
            )
            done += ran
            if exit_state != kernels.RAN_ALL_STEPS:
                if self.verbose:
                    reason = (
                        "small centers change"
                        if exit_state == kernels.CONVERGED_CENTER_SHIFT
                        else "lack of improvement in inertia"
                    )
                    print(f"Converged ({reason}) at step {done}/{n_steps}")
                break
        return done

    def _set_labels_and_inertia(self, data, sample_weight, steps):
        if self.compute_labels and (missing := self._holes(data)):
            centers = self.cluster_centers_
            with blas_limited_to_one_thread():
                self.labels_, _, self.inertia_ = with_holes.masked_assign_labels(
                    data.X, sample_weight, centers, scaled=missing == "masked"
                )
        elif self.compute_labels:
            with blas_limited_to_one_thread():
                labels, _, inertia = data.assign_labels(sample_weight, self.cluster_centers_)
            self.labels_ = labels
            self.inertia_ = inertia
        else:
            self.inertia_ = steps.ewa_inertia * float(np.sum(sample_weight, dtype=np.float64))

    def _resolved_init(self, n_features, dtype):
        """The validated init and the number of seedings it implies."""
        init = self.init
        if isinstance(init, str):
            n_init = (3 if init == "random" else 1) if self.n_init == "auto" else self.n_init
            return init, n_init
        if callable(init):
            return init, 3 if self.n_init == "auto" else self.n_init
        centers = check_initial_centers(init, self.n_clusters, n_features, dtype)
        if self.n_init != "auto" and self.n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init in "
                f"{type(self).__name__} instead of n_init={self.n_init}.",
                RuntimeWarning,
                stacklevel=4,
            )
        return centers, 1

    def _resolved_init_size(self, n_samples, batch_size):
        init_size = self.init_size
        if init_size is None:
            init_size = 3 * batch_size
            if init_size < self.n_clusters:
                init_size = 3 * self.n_clusters
        elif init_size < self.n_clusters:
            warnings.warn(
                f"init_size={init_size} should be larger than n_clusters={self.n_clusters}. "
                "Setting it to min(3*n_clusters, n_samples)",
                RuntimeWarning,
                stacklevel=4,
            )
            init_size = 3 * self.n_clusters
        return min(init_size, n_samples)

    def _best_seeding(self, X, sample_weight, init_size, random_state):
        """The best of ``n_init`` seedings (polished when ``refine``), on subsamples of
        ``init_size`` rows."""
        init, n_init = self._resolved_init(X.shape[1], X.dtype)
        if isinstance(init, np.ndarray):
            return init
        validation_rows = _positive_weight_subsample(sample_weight, init_size, random_state)
        validation = engine_data(X[validation_rows])
        validation_weight = sample_weight[validation_rows]
        best_centers, best_inertia = None, None
        for trial in range(n_init):
            rows = _positive_weight_subsample(sample_weight, init_size, random_state)
            centers = self._seed(X[rows], sample_weight[rows], init, random_state)
            _, _, inertia = validation.assign_labels(validation_weight, centers)
            if self.verbose:
                print(f"Inertia for init {trial + 1}/{n_init}: {inertia}")
            if best_inertia is None or inertia < best_inertia:
                best_centers, best_inertia = centers, inertia
        return best_centers

    def _seed(self, X_subsample, weights, init, random_state):
        """Initial centers from the rows of one init subsample."""
        n_features, dtype = X_subsample.shape[1], X_subsample.dtype
        if callable(init):
            centers = init(X_subsample, self.n_clusters, random_state=random_state)
            return check_initial_centers(
                centers, self.n_clusters, n_features, dtype, source="the init callable's result"
            )
        if self.refine is False:
            data = engine_data(X_subsample)
            return initial_centers(data, X_subsample, self.n_clusters, init, weights, random_state)
        with warnings.catch_warnings():
            # Duplicate rows in a small subsample are no reason to warn about the fit.
            warnings.simplefilter("ignore", ConvergenceWarning)
            run = fit_kmeans(
                X_subsample,
                weights,
                n_clusters=self.n_clusters,
                init=init,
                n_init=1,
                max_iter=INIT_POLISH_MAX_ITER,
                tol=1e-4,
                random_state=random_state,
                refine=self.refine,
            )
        return run.centers

    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the centers with one mini-batch: all the rows of X.

        The first call (on an estimator not fitted yet) seeds the centers from X, as
        :meth:`fit` seeds from its init subsample; every call then runs one step with
        X as the batch, its rows counting with their ``sample_weight``. There is no
        early stopping: the caller decides how many batches to feed.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The rows of the batch, with the features (and column names) of the first.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row; None gives every row weight 1.

        Returns
        -------
        self : MiniBatchKMeans
            The updated estimator; on bad input it is left as it was.
        """
        with unchanged_on_error(self):
            self._partial_fit(X, sample_weight)
        return self

    def _partial_fit(self, X, sample_weight, where="partial_fit"):
        first = not hasattr(self, "cluster_centers_")
        if first:
            self._validate_params()
        X, sample_weight = self._check_training_data(X, sample_weight, reset=first, where=where)
        observed = engine_data(X)
        if with_holes.has_holes(X):
            X = with_holes.fill_with_means(X, with_holes.observed_column_means(X, sample_weight))
        data = engine_data(X)
        if first:
            self._start_partial_fit(X, sample_weight)
        elif not hasattr(self, "_steps"):
            # Fitted centers set by other means than fit/partial_fit (e.g. unpickled from
            # an older version): continue from them, as if they had absorbed nothing.
            self._steps = MiniBatchSteps(self.cluster_centers_, self.reassignment_ratio)
            self._random_state = check_random_state(self.random_state)
            self._fit_dtype = self.cluster_centers_.dtype
            self.n_steps_ = getattr(self, "n_steps_", 0)
        if observed.X is not X:
            # The batch's holes take the values of the centers the rows are nearest to.
            centers = self._steps.centers.astype(X.dtype)
            labels = with_holes.predict_with_holes(observed.X, centers, self.missing)
            rows = np.flatnonzero(np.isnan(observed.X).any(axis=1))
            data = engine_data(with_holes.complete_rows(observed.X, centers, labels, rows, out=X))
        self._run_one_batch(data, sample_weight)
        if self.compute_labels:
            self._set_labels_and_inertia(observed, sample_weight, self._steps)
        return self

    def _start_partial_fit(self, X, sample_weight):
        self._check_enough_rows(X, sample_weight)
        self._random_state = check_random_state(self.random_state)
        init_size = self._resolved_init_size(X.shape[0], min(self.batch_size, X.shape[0]))
        with blas_limited_to_one_thread():
            centers = self._best_seeding(X, sample_weight, init_size, self._random_state)
        self._steps = MiniBatchSteps(centers, self.reassignment_ratio, reassign_after=init_size)
        self.n_steps_ = 0
        self._fit_dtype = X.dtype

    def _run_one_batch(self, data, sample_weight):
        n_rows = data.n_rows
        indices = np.arange(n_rows, dtype=np.int64)
        batch_starts = np.array([0, n_rows], dtype=np.int64)
        with blas_limited_to_one_thread():
            self._steps.run(
                data,
                sample_weight,
                True,
                indices,
                batch_starts,
                self._random_state,
                step_offset=self.n_steps_,
                verbose=bool(self.verbose),
            )
        self.cluster_centers_ = self._steps.centers.astype(self._fit_dtype)
        self.n_steps_ += 1

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return the cluster index of every row (``labels_``, computed even
        when ``compute_labels`` is False)."""
        self.fit(X, sample_weight=sample_weight)
        if self.compute_labels:
            return self.labels_
        return self.predict(X)


def _positive_weight_subsample(sample_weight, size, random_state):
    """``size`` distinct rows drawn uniformly among those of positive weight (all of them
    when there are no more), sorted."""
    n_rows = sample_weight.shape[0]
    if uniform_weights(sample_weight):
        pool = None
        n_pool = n_rows
    else:
        pool = np.flatnonzero(sample_weight > 0)
        n_pool = pool.shape[0]
    size = min(size, n_pool)
    rows = sample_without_replacement(n_pool, size, random_state=random_state)
    rows = np.sort(rows.astype(np.int64, copy=False))
    return rows if pool is None else pool[rows]


def _row_sampler(sample_weight, random_state):
    """A function drawing rows with replacement, with probability proportional to weight."""
    n_rows = sample_weight.shape[0]
    if uniform_weights(sample_weight):
        return lambda size: random_state.randint(0, n_rows, size=size).astype(np.int64)
    cumulative = np.cumsum(sample_weight, dtype=np.float64)
    total = cumulative[-1]
    last_positive = int(np.flatnonzero(sample_weight > 0)[-1])

    def draw(size):
        rows = np.searchsorted(cumulative, random_state.uniform(0.0, total, size=size), "right")
        # A draw at the very top (rounding) belongs to the last row of positive weight.
        return np.minimum(rows, last_positive).astype(np.int64)

    return draw
