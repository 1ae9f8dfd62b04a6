"""Choosing the number of clusters: one table of evidence per K, a recommendation, a verdict.

:func:`choose_k` fits :class:`centroids.KMeans` once per K and measures every fit the
usual ways (inertia, silhouette, Davies-Bouldin, Calinski-Harabasz, the gap statistic,
stability across random halves). Each criterion alone fails somewhere known: the
silhouette prefers few clusters when they differ in size (unbalanced data), Tibshirani's
gap rule stops at the first plateau on data with many clusters, the elbow of the inertia
curve sits early, and every criterion names *some* K on data with no clusters at all.
So the recommendation is a vote, and the verdict on structure compares the data with
uniform reference data in the same box rather than reading a silhouette threshold
(k-means on uniform noise in 2-D scores a silhouette of about 0.35-0.40 at every K).
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from numbers import Integral

import numba
import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score
from sklearn.utils import check_random_state

from .._utils.validation import check_sample_weight
from ..engine import blas_limited_to_one_thread
from ..models.kmeans import KMeans
from ..settings import (
    CHOOSE_K_DISCRETE_MAX_VALUES,
    CHOOSE_K_NEIGHBOUR_SAMPLE_ROWS,
    CHOOSE_K_SEPARATION_MIN,
    CHOOSE_K_SEPARATION_MIN_ROWS,
    CHOOSE_K_SEPARATION_ROWS,
)
from .gap import (
    _SEED_BOUND,
    ReferenceSampler,
    _ProgressCounter,
    check_dense_features,
    check_k_values,
    check_reference_options,
    gap_from_log_dispersions,
    safe_log,
    tibshirani_k,
    total_dispersion,
)
from .knee import find_knee
from .metrics import (
    _exact_silhouettes,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_estimate,
    silhouette_score,
    weighted_label_scores,
)
from .neighbour_starts import NeighbourStarts
from .separation import has_discrete_columns, sampled_rows_per_cluster, worst_pair_separation

__all__ = ["ChooseKResult", "choose_k"]

TABLE_COLUMNS = (
    "inertia",
    "silhouette",
    "davies_bouldin",
    "calinski_harabasz",
    "gap",
    "gap_se",
    "stability",
    "separation",
)

#: Up to this many rows the silhouette is exact; above, estimated from a sample of rows.
EXACT_SILHOUETTE_MAX_ROWS = 10_000
#: Rows sampled for the silhouette estimate on large data.
SILHOUETTE_SAMPLE_ROWS = 4_000
#: Rows sampled for the silhouette of every reference set.
REFERENCE_SILHOUETTE_SAMPLE_ROWS = 1_000
#: Above this many rows a sampled row's mean distance to each cluster is taken over a
#: uniform sample of the cluster's rows (about this many rows in all) rather than over
#: all of them: its error is far below the silhouette differences the vote reads, and
#: at 10^6 rows the estimate costs 1/50 of the distances (measured: 1.0-1.7 s per K at
#: 200,000 x 8 against every row, the largest part of choose_k there).
SILHOUETTE_REFERENCE_ROWS = 20_000
#: Fewest rows kept of every cluster in that sample (all of a smaller cluster).
SILHOUETTE_REFERENCE_MIN_PER_CLUSTER = 200
#: Rows of every reference set of the gap statistic, at most. A reference set estimates
#: the mean distortion per row of k-means on uniform data in X's box; with this many rows
#: its finite-sample error is already far below the gaps the rule compares, so a larger
#: X gets references of this size, their log W shifted by log(n / rows) to stand for n
#: rows (the k-means fits on them were 3/4 of choose_k's time at 10^6 rows: uniform data
#: converge slowly).
GAP_REFERENCE_MAX_ROWS = 100_000
#: Rows of the stability measure, at most: above this, every split is a split of a uniform
#: sample of this many rows into two halves, both models predicting the sample's rows. The
#: adjusted Rand index of two partitions of 200,000 rows is already far more precise than
#: the differences between k the measure shows (its spread over the repeats), and the fits
#: of 500,000-row halves were the largest part of choose_k at 10^6 rows (66 of its 132 fits).
STABILITY_MAX_ROWS = 200_000
#: The data's silhouette must beat the reference sets' by this much to count as structure.
SILHOUETTE_EXCESS_MARGIN = 0.05

#: The criteria that vote for a K, in the order that breaks ties.
CRITERIA = ("silhouette", "gap", "calinski_harabasz", "davies_bouldin", "elbow", "separation")
#: Fewest rows of every cluster in the sample the pair separations are measured on.
SEPARATION_MIN_PER_CLUSTER = 200


@dataclass
class ChooseKResult:
    """What :func:`choose_k` found.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by k (the values of ``k_range``), with the columns ``inertia``,
        ``silhouette``, ``davies_bouldin``, ``calinski_harabasz``, ``gap``, ``gap_se``
        and ``stability`` (NaN where a measure is undefined, e.g. silhouette at k = 1).
    k : int or None
        The recommended number of clusters; None when the data show no cluster
        structure.
    elbow : int or None
        The knee of the inertia curve (Kneedle), or None when the curve has none.
    reason : str
        One line naming the evidence for ``k``.
    has_structure : bool
        False when the data are no more clustered than uniform reference data.
    verdict : str
        One line on the cluster structure and why.
    models : dict
        k -> the fitted :class:`centroids.KMeans` (every k of the table, or only the
        recommended one with ``keep_models='recommended'``).
    votes : dict
        Criterion -> the k it picks on its own (None where it picks none):
        'silhouette' (highest), 'gap' (Tibshirani's rule), 'calinski_harabasz'
        (highest), 'davies_bouldin' (lowest), 'elbow' (Kneedle on the inertia).
    gap_k : int or None
        Tibshirani's rule over k = 1 and ``k_range`` (k = 1 is always included, as
        ``W_1`` needs no fit): 1 means no more clustered than the reference data.
    references : pandas.DataFrame
        Indexed by k (1 and ``k_range``): ``log_w`` of the data, the mean
        ``reference_log_w`` of the reference sets, and ``reference_silhouette``, the mean
        silhouette of k-means on the reference sets.
    """

    table: pd.DataFrame
    k: int | None
    elbow: int | None
    reason: str
    has_structure: bool
    verdict: str
    models: dict
    votes: dict = field(default_factory=dict)
    gap_k: int | None = None
    references: pd.DataFrame | None = None

    def to_dict(self):
        """The result as plain types, ready for JSON (what ``centroids choose-k --json``
        prints): ``k``, ``elbow``, ``reason``, ``has_structure``, ``verdict`` and
        ``table``, one record per k (NaN where a measure was not computed); the models
        are left out."""
        return {
            "k": self.k,
            "elbow": self.elbow,
            "reason": self.reason,
            "has_structure": self.has_structure,
            "verdict": self.verdict,
            "table": self.table.reset_index().to_dict(orient="records"),
        }

    def summary(self):
        """The table as plain text (``*`` marks the recommended k), then reason and verdict."""
        shown = self.table.copy()
        picks = {k: [] for k in shown.index}
        for criterion, k in self.votes.items():
            if k is not None and k in picks:
                picks[k].append(_CRITERION_LABELS[criterion])
        shown.insert(0, "votes", [",".join(picks[k]) for k in shown.index])
        shown.index = [f"{k}*" if k == self.k else str(k) for k in shown.index]
        shown.index.name = "k"
        formatters = {
            "votes": lambda v: f"{v:<{max(5, shown['votes'].str.len().max())}}",
            "inertia": "{:.6g}".format,
            "calinski_harabasz": "{:.1f}".format,
        }
        text = shown.to_string(float_format=lambda v: f"{v:.3f}", formatters=formatters, na_rep="-")
        return f"{text}\n{self.reason}\n{self.verdict}"

    def __str__(self):
        return self.summary()


_CRITERION_LABELS = {
    "silhouette": "sil",
    "gap": "gap",
    "calinski_harabasz": "ch",
    "davies_bouldin": "db",
    "elbow": "elbow",
    "separation": "sep",
}


def _check_positive_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, Integral | np.integer):
        raise TypeError(f"{name} must be an integer; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value}.")
    return int(value)


def choose_k(
    X,
    k_range=range(2, 11),
    *,
    n_references=5,
    reference="box",
    n_stability=3,
    random_state=None,
    kmeans_params=None,
    keep_models="all",
    n_jobs=None,
    progress=None,
    verbose=False,
    sample_weight=None,
):
    """Recommend a number of clusters for X, with the evidence and a verdict on structure.

    For every k of ``k_range`` one :class:`centroids.KMeans` fit gives the inertia and,
    from its labels, the silhouette (exact up to 10,000 rows, estimated from a sample of
    4,000 rows against all rows up to 20,000 rows, against a sample of every cluster
    above), Davies-Bouldin and Calinski-Harabasz. The gap statistic compares ``log W_k``
    with uniform reference sets, each drawn once and clustered at every k (k = 1 is
    always added: ``W_1`` is the total dispersion); above 100,000 rows a reference set
    has 100,000 rows and its ``log W`` is shifted by ``log(n / 100,000)``.
    Stability is the mean adjusted Rand index, over ``n_stability`` repeats, between two
    models fitted on the two halves of a random split, both predicting every row; above
    200,000 rows each repeat splits a uniform sample of 200,000 rows, and the two models
    predict the sample's rows.

    The recommendation is a vote of five criteria: the highest silhouette, Tibshirani's
    gap rule, the highest Calinski-Harabasz, the lowest Davies-Bouldin and the elbow
    of the inertia (Kneedle). The k with the most votes wins; a tie goes to the
    criterion listed first. The data have cluster structure when some k's silhouette
    beats the mean silhouette of k-means on the reference sets by more than 0.05, or by
    more than 0.025 when the gap rule also picks a k above 1; otherwise ``k`` is None.
    A silhouette near 0.4 means nothing by itself (k-means on uniform 2-D noise scores
    that at every k), only its excess over structureless data of the same extent does;
    the gap rule alone picks k = 2 on such noise now and then.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Dense data, float32 or float64, scaled as it should be clustered (choose_k does
        not standardise it). Sparse input is refused.
    k_range : iterable of int, default=range(2, 11)
        The numbers of clusters to compare, each in 1..n_samples.
    n_references : int, default=5
        Number of uniform reference sets for the gap statistic, at least 2.
    reference : {'box', 'pca'}, default='box'
        Where the reference sets are drawn: the bounding box of the features, or the box
        of the principal components (better for tilted or elongated data).
    n_stability : int, default=3
        Repeats of the split-half stability measure; 0 skips it (the column is NaN).
    random_state : int, RandomState instance or None, default=None
        Seeds every fit, reference set, split and sample: the same seed gives the same
        table.
    kmeans_params : dict, default=None
        Extra parameters for every :class:`centroids.KMeans` fit (e.g.
        ``{"n_init": 3}``); ``n_clusters`` and ``random_state`` are set by choose_k.
        The fits of the reference sets and of the stability halves run with
        ``refine=False`` unless ``kmeans_params`` names ``refine``: uniform data have
        no cluster to miss, and there the refinement costs most.
    keep_models : {'all', 'recommended'}, default='all'
        Keep the fitted model of every k, or only the recommended one's.
    n_jobs : int, default=None
        Number of threads running fits side by side (the kernels release the GIL);
        None means numba's thread count (every core). Small fits run on one core each,
        so this is what keeps all cores busy; the result is the same for any value.
    progress : callable, default=None
        Called as ``progress(step, total, message)`` after every fit, from the thread
        that ran it (one call at a time).
    verbose : bool, default=False
        Print a progress line per fit on stderr (besides any ``progress`` callback).
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of every row, passed to the fits of the data and of the stability halves
        and to the metrics (weighted silhouette, Davies-Bouldin, Calinski-Harabasz, and
        W_1 of the gap); the uniform reference sets are unweighted.

    Returns
    -------
    result : ChooseKResult
        ``table``, ``k``, ``elbow``, ``reason``, ``has_structure``, ``verdict``,
        ``models``, ``votes``; ``print(result)`` shows them all.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from centroids.evaluate.choose_k import choose_k
    >>> X, _ = make_blobs(300, centers=4, cluster_std=0.6, random_state=1)
    >>> result = choose_k(X, range(2, 7), n_references=3, n_stability=1, random_state=0)
    >>> result.k, result.has_structure
    (4, True)
    >>> list(result.table.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['inertia', 'silhouette', 'davies_bouldin', 'calinski_harabasz', 'gap', 'gap_se',
     'stability', 'separation']
    """
    X = check_dense_features(X, "choose_k")
    if sample_weight is not None:
        sample_weight = check_sample_weight(sample_weight, X.shape[0], np.float64)
    k_values = check_k_values(k_range, X.shape[0])
    kmeans_params, n_threads = _check_options(
        k_values, n_references, reference, n_stability, keep_models, kmeans_params, n_jobs, verbose
    )
    n_stability = int(n_stability)
    work = _ChooseKWork(
        X,
        k_values,
        n_references=n_references,
        reference=reference,
        n_stability=n_stability,
        kmeans_params=kmeans_params,
        sample_weight=sample_weight,
        random_state=random_state,
        progress=_with_verbose(progress, verbose),
    )
    data_fits, reference_fits, agreements = work.run(n_threads)
    table, references, gap_k, models = work.tables(data_fits, reference_fits, agreements)
    separation_decides = not has_discrete_columns(
        X,
        CHOOSE_K_DISCRETE_MAX_VALUES,
        CHOOSE_K_SEPARATION_ROWS,
        np.random.RandomState(work.neighbour_seed),
    )
    decision = _decide(table, references, gap_k, separation_decides)
    if keep_models == "recommended":
        models = {decision.k: models[decision.k]} if decision.k in models else {}
    return ChooseKResult(
        table=table,
        k=decision.k,
        elbow=decision.votes.get("elbow"),
        reason=decision.reason,
        has_structure=decision.has_structure,
        verdict=decision.verdict,
        models=models,
        votes=decision.votes,
        gap_k=gap_k,
        references=references,
    )


def _check_options(
    k_values, n_references, reference, n_stability, keep_models, kmeans_params, n_jobs, verbose
):
    """Checks :func:`choose_k`'s options; returns the KMeans parameters and the threads."""
    if k_values.max() < 2:
        raise ValueError(
            "k_range holds only k=1: there is nothing to choose. Give numbers of clusters "
            "of at least 2, e.g. range(2, 11) (k=1 is compared by the gap statistic anyway)."
        )
    check_reference_options(n_references, reference)
    _check_positive_int(n_stability, "n_stability", 0)
    if keep_models not in ("all", "recommended"):
        raise ValueError(f"keep_models must be 'all' or 'recommended'; got {keep_models!r}.")
    kmeans_params = dict(kmeans_params or {})
    for name in ("n_clusters", "random_state"):
        if name in kmeans_params:
            raise ValueError(
                f"kmeans_params must not set {name!r}: choose_k sets it for every fit "
                f"(pass random_state to choose_k itself)."
            )
    # Fail now, not after minutes of fits, on a bad KMeans parameter.
    try:
        probe = KMeans(**kmeans_params)
    except TypeError as error:
        raise TypeError(
            f"kmeans_params holds a name KMeans does not take ({error}); pass only "
            "KMeans parameters such as n_init, max_iter, tol, algorithm or refine."
        ) from None
    probe._validate_params()
    if n_jobs is None:
        n_threads = numba.get_num_threads()
    else:
        n_threads = _check_positive_int(n_jobs, "n_jobs", 1)
    if not isinstance(verbose, bool | Integral):
        raise TypeError(f"verbose must be a bool; got {verbose!r}.")
    return kmeans_params, n_threads


class _ChooseKWork:
    """The fits of :func:`choose_k`: what to fit, with which seed, and the tables after.

    Every unit of work (a fit of the data at one k, a reference set clustered at every
    k, one split of the stability measure) is seeded on its own, from seeds drawn here
    in a fixed order, so the result does not depend on the order the units run in or
    on the number of threads.
    """

    def __init__(
        self,
        X,
        k_values,
        *,
        n_references,
        reference,
        n_stability,
        kmeans_params,
        sample_weight,
        random_state,
        progress,
    ):
        n_samples = X.shape[0]
        self.X, self.k_values, self.sample_weight = X, k_values, sample_weight
        self.n_references, self.n_stability = n_references, n_stability
        self.kmeans_params = kmeans_params
        # Uniform reference data have no cluster to miss, and the halves only need to
        # agree with each other: the swap refinement (which costs most on exactly such
        # data) is left to the fits of X itself unless the caller names it.
        self.side_params = {"refine": False, **kmeans_params}
        self.gap_k_values = np.union1d([1], k_values)
        self.fitted_k = k_values[k_values >= 2]
        # A half must hold at least k rows; larger k get no stability figure (NaN).
        fitted_k = self.fitted_k
        stability_rows = min(n_samples, STABILITY_MAX_ROWS)
        self.stability_k = (
            fitted_k[fitted_k <= stability_rows // 2] if n_stability else fitted_k[:0]
        )
        total = (
            len(fitted_k)
            + n_references * len(self.gap_k_values)
            + 2 * n_stability * len(self.stability_k)
        )
        self.counter = _ProgressCounter(progress, total)

        rng = check_random_state(random_state)
        self.fit_seeds = rng.randint(_SEED_BOUND, size=len(fitted_k))
        self.metric_seeds = rng.randint(_SEED_BOUND, size=len(fitted_k))
        reference_seed = rng.randint(_SEED_BOUND)
        self.reference_fit_seeds = rng.randint(
            _SEED_BOUND, size=(n_references, len(self.gap_k_values))
        )
        split_rng = check_random_state(rng.randint(_SEED_BOUND))
        self.split_plans = {
            int(k): [
                (
                    split_rng.permutation(n_samples)[:stability_rows],
                    split_rng.randint(_SEED_BOUND, size=2),
                )
                for _ in range(n_stability)
            ]
            for k in self.stability_k
        }
        reference_rows = min(n_samples, GAP_REFERENCE_MAX_ROWS)
        self.reference_shift = float(np.log(n_samples / reference_rows))
        self.sampler = ReferenceSampler(X, n_references, reference, reference_seed, reference_rows)
        self.neighbour_seed = int(rng.randint(_SEED_BOUND))

    def fit_data(self, j):
        """The data: one fit per k; its labels serve every measure."""
        k = int(self.fitted_k[j])
        model = KMeans(n_clusters=k, random_state=int(self.fit_seeds[j]), **self.kmeans_params)
        model.fit(self.X, sample_weight=self.sample_weight)
        measures = _label_measures(self.X, model, int(self.metric_seeds[j]), self.sample_weight)
        self.counter(f"k={k}: fitted, inertia {model.inertia_:.6g}")
        return k, model, measures

    def fit_reference(self, b):
        """A reference set: drawn once, clustered at every k."""
        Z = self.sampler.draw(b)
        log_w_b = np.empty(len(self.gap_k_values))
        silhouette_b = np.full(len(self.gap_k_values), np.nan)
        for j, k in enumerate(self.gap_k_values):
            k = int(k)
            if k == 1:
                log_w_b[j] = safe_log(total_dispersion(Z)) + self.reference_shift
            else:
                seed = int(self.reference_fit_seeds[b, j])
                model = KMeans(n_clusters=k, random_state=seed, **self.side_params).fit(Z)
                log_w_b[j] = safe_log(model.inertia_) + self.reference_shift
                silhouette_b[j] = _estimated_silhouette(
                    Z, model.labels_, REFERENCE_SILHOUETTE_SAMPLE_ROWS, seed
                )
            self.counter(f"reference set {b + 1}/{self.n_references}, k={k}")
        return log_w_b, silhouette_b

    def split_agreement(self, k, repeat):
        """Stability: fits on the two halves of a random split (of a sample of at most
        ``STABILITY_MAX_ROWS`` rows), compared on every row split."""
        X = self.X
        order, seeds = self.split_plans[k][repeat]
        m = order.shape[0]
        compared = X if m == X.shape[0] else X[np.sort(order)]
        predictions = []
        halves = (order[: m // 2], order[m // 2 :])
        for half, seed in zip(halves, seeds, strict=True):
            half_model = KMeans(n_clusters=k, random_state=int(seed), **self.side_params)
            rows = np.sort(half)
            weights = None if self.sample_weight is None else self.sample_weight[rows]
            predictions.append(half_model.fit(X[rows], sample_weight=weights).predict(compared))
            self.counter(f"k={k}: stability split {repeat + 1}/{self.n_stability}")
        return adjusted_rand_score(*predictions)

    def run(self, n_threads):
        """Runs every unit on ``n_threads`` threads: data fits, reference fits, agreements."""
        with blas_limited_to_one_thread(), ThreadPoolExecutor(max_workers=n_threads) as pool:
            # The longest units (a reference set is one fit per k) start first.
            reference_units = [pool.submit(self.fit_reference, b) for b in range(self.n_references)]
            data_units = [pool.submit(self.fit_data, j) for j in range(len(self.fitted_k))]
            split_units = {
                (int(k), repeat): pool.submit(self.split_agreement, int(k), repeat)
                for k in self.stability_k
                for repeat in range(self.n_stability)
            }
            data_fits = self.improve_data_fits([unit.result() for unit in data_units])
            reference_fits = [unit.result() for unit in reference_units]
            agreements = {key: unit.result() for key, unit in split_units.items()}
        return data_fits, reference_fits, agreements

    def improve_data_fits(self, data_fits):
        """The data fits, each replaced by a fit from a split of k - 1's or a merge of
        k + 1's when that has lower inertia (its measures taken again)."""
        models = {k: model for k, model, _ in data_fits}
        starts = NeighbourStarts(
            self.X,
            self.sample_weight,
            self.kmeans_params,
            CHOOSE_K_NEIGHBOUR_SAMPLE_ROWS,
            self.neighbour_seed,
        )
        changed = starts.improve(models)
        improved = []
        for j, (k, model, measures) in enumerate(data_fits):
            if k in changed:
                model = models[k]
                seed = int(self.metric_seeds[j])
                measures = _label_measures(self.X, model, seed, self.sample_weight)
            improved.append((k, model, measures))
        return improved

    def total_dispersion(self):
        """``W_1``: the (weighted) total dispersion of the data."""
        X, sample_weight = self.X, self.sample_weight
        if sample_weight is None:
            return total_dispersion(X)
        deviations = X - np.average(X, axis=0, weights=sample_weight)
        return float(sample_weight @ np.einsum("ij,ij->i", deviations, deviations))

    def tables(self, data_fits, reference_fits, agreements):
        """The table by k, the references by k, the gap rule's k and the models by k."""
        gap_k_values = self.gap_k_values
        rows = {int(k): dict.fromkeys(TABLE_COLUMNS, np.nan) for k in self.k_values}
        models = {}
        w_1 = self.total_dispersion()
        log_w = {1: safe_log(w_1)}
        if 1 in rows:
            rows[1]["inertia"] = w_1
        for k, model, measures in data_fits:
            models[k] = model
            log_w[k] = safe_log(model.inertia_)
            rows[k].update(measures)
        reference_log_w = np.array([fit[0] for fit in reference_fits])
        reference_silhouette = np.array([fit[1] for fit in reference_fits])
        data_log_w = np.array([log_w.get(int(k), np.nan) for k in gap_k_values])
        gap, gap_se = gap_from_log_dispersions(data_log_w, reference_log_w)
        gap_k = tibshirani_k(gap_k_values, gap, gap_se)
        for j, k in enumerate(gap_k_values):
            if int(k) in rows:
                rows[int(k)]["gap"] = gap[j]
                rows[int(k)]["gap_se"] = gap_se[j]
        for k in self.stability_k:
            rows[int(k)]["stability"] = float(
                np.mean([agreements[int(k), repeat] for repeat in range(self.n_stability)])
            )
        table = pd.DataFrame.from_dict(rows, orient="index", columns=list(TABLE_COLUMNS))
        table.index.name = "k"
        references = pd.DataFrame(
            {
                "log_w": data_log_w,
                "reference_log_w": reference_log_w.mean(axis=0),
                "reference_silhouette": _column_means(reference_silhouette),
            },
            index=pd.Index(gap_k_values, name="k"),
        )
        return table, references, gap_k, models


def _column_means(values):
    """Mean of every column over its finite values; NaN for a column with none."""
    finite = np.isfinite(values)
    counts = finite.sum(axis=0)
    sums = np.where(finite, values, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _with_verbose(progress, verbose):
    if not verbose:
        return progress

    def report(step, total, message):
        print(f"choose_k [{step}/{total}] {message}", file=sys.stderr, flush=True)
        if progress is not None:
            progress(step, total, message)

    return report


def _estimated_silhouette(X, labels, sample_rows, seed):
    """Mean silhouette: exact on small X, else of ``sample_rows`` rows against all rows."""
    n_labels = np.unique(labels).shape[0]
    if not 2 <= n_labels <= X.shape[0] - 1:
        return np.nan
    n = X.shape[0]
    if n <= sample_rows:
        return silhouette_score(X, labels)
    if n <= SILHOUETTE_REFERENCE_ROWS:
        return float(silhouette_estimate(X, labels, sample_rows, random_state=seed))
    return _two_stage_silhouette(X, labels, sample_rows, seed)


def _two_stage_silhouette(X, labels, sample_rows, seed):
    """Mean silhouette of ``sample_rows`` random rows, each against a sample of every
    cluster instead of all its rows.

    The rows kept of cluster c are a uniform sample of c (its share of
    ``SILHOUETTE_REFERENCE_ROWS``, at least ``SILHOUETTE_REFERENCE_MIN_PER_CLUSTER``) joined
    with the sampled rows: the join is still exchangeable within c, so a sampled row's
    mean distance to the other kept rows of any cluster is an unbiased estimate of its
    mean distance to all of them. The silhouettes are then the exact kernel's, computed
    on the kept rows.
    """
    n = X.shape[0]
    rng = np.random.RandomState(seed)
    queries = rng.permutation(n)[:sample_rows]
    _, codes = np.unique(labels, return_inverse=True)
    counts = np.bincount(codes)
    shares = np.ceil(SILHOUETTE_REFERENCE_ROWS * counts / n).astype(np.int64)
    take = np.minimum(counts, np.maximum(SILHOUETTE_REFERENCE_MIN_PER_CLUSTER, shares))
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)))
    kept = np.zeros(n, dtype=bool)
    for c, size in enumerate(take):
        members = order[starts[c] : starts[c + 1]]
        kept[members[rng.permutation(members.shape[0])[:size]]] = True
    kept[queries] = True
    rows = np.flatnonzero(kept)
    positions = np.searchsorted(rows, queries)
    values = _exact_silhouettes(
        np.ascontiguousarray(X[rows]),
        codes[rows],
        counts.shape[0],
        positions,
        "euclidean",
        {},
        "choose_k",
    )
    return float(np.mean(values))


def _label_measures(X, model, seed, sample_weight=None):
    """Inertia, silhouette, Davies-Bouldin, Calinski-Harabasz and the worst pair's
    separation of one fit's labels."""
    separation = _separation(X, model, seed, sample_weight)
    if sample_weight is not None:
        size = None if X.shape[0] <= EXACT_SILHOUETTE_MAX_ROWS else SILHOUETTE_SAMPLE_ROWS
        scores = weighted_label_scores(X, model.labels_, sample_weight, size, seed)
        return {"inertia": float(model.inertia_), **scores, "separation": separation}
    labels = model.labels_
    n_labels = np.unique(labels).shape[0]
    measures = {"inertia": float(model.inertia_)}
    if 2 <= n_labels <= X.shape[0] - 1:
        if X.shape[0] <= EXACT_SILHOUETTE_MAX_ROWS:
            measures["silhouette"] = silhouette_score(X, labels)
        else:
            measures["silhouette"] = _estimated_silhouette(X, labels, SILHOUETTE_SAMPLE_ROWS, seed)
        measures["davies_bouldin"] = davies_bouldin_score(X, labels)
        measures["calinski_harabasz"] = calinski_harabasz_score(X, labels)
    measures["separation"] = separation
    return measures


def _separation(X, model, seed, sample_weight):
    """The worst pair separation of the fit's clusters, on a sample of every cluster."""
    k = model.cluster_centers_.shape[0]
    rows = sampled_rows_per_cluster(
        model.labels_,
        k,
        CHOOSE_K_SEPARATION_ROWS,
        SEPARATION_MIN_PER_CLUSTER,
        np.random.RandomState(seed),
    )
    weights = None if sample_weight is None else sample_weight[rows]
    if np.bincount(model.labels_, minlength=k).min() < CHOOSE_K_SEPARATION_MIN_ROWS:
        return np.nan
    return worst_pair_separation(X[rows], model.labels_[rows], model.cluster_centers_, weights)


@dataclass
class _Decision:
    k: int | None
    reason: str
    has_structure: bool
    verdict: str
    votes: dict


def _best(series, largest=True):
    series = series.dropna()
    if series.empty:
        return None
    return int(series.idxmax() if largest else series.idxmin())


def _decide(table, references, gap_k, separation_decides=True):
    """The vote of the criteria and the verdict on structure, with their one-line reasons.

    Where every pair of clusters of some k is clearly apart (``separation``), the largest
    such k is the answer, unless ``separation_decides`` is false (X has discrete columns,
    see :func:`has_discrete_columns`): then it is one more vote, the last to break ties.
    """
    k_values = table.index.to_numpy()
    elbow = None
    if len(k_values) >= 3:
        elbow = find_knee(
            k_values, table["inertia"].to_numpy(), curve="convex", direction="decreasing"
        )
    # The gap rule votes only for a k of the table; its pick of 1 (no structure) is
    # handled by the verdict below.
    gap_vote = gap_k if gap_k is not None and gap_k in table.index else None
    if gap_vote == 1 and 1 not in table.index:
        gap_vote = None
    votes = {
        "silhouette": _best(table["silhouette"]),
        "gap": gap_vote,
        "calinski_harabasz": _best(table["calinski_harabasz"]),
        "davies_bouldin": _best(table["davies_bouldin"], largest=False),
        "elbow": elbow,
        "separation": _separated_k(table["separation"]),
    }

    excess = table["silhouette"] - references["reference_silhouette"].reindex(table.index)
    excess = excess.dropna()
    best_excess_k = int(excess.idxmax()) if not excess.empty else None
    best_excess = float(excess.max()) if not excess.empty else np.nan
    silhouette_beats_reference = bool(best_excess > SILHOUETTE_EXCESS_MARGIN)
    # The gap rule alone is noisy on structureless data (it picks 2 now and then), so
    # its word counts only with a silhouette at least half the margin above the
    # references'.
    gap_sees_structure = gap_k != 1
    separated_k = votes["separation"] if separation_decides else None
    has_structure = (
        silhouette_beats_reference
        or (gap_sees_structure and bool(best_excess > SILHOUETTE_EXCESS_MARGIN / 2))
        or separated_k is not None
    )

    if not has_structure:
        parts = []
        sil_k = votes["silhouette"]
        if sil_k is not None:
            sil = table.at[sil_k, "silhouette"]
            ref = references.at[sil_k, "reference_silhouette"]
            parts.append(
                f"the best silhouette ({sil:.2f} at k={sil_k}) is no better than k-means "
                f"scores on uniform data in the same box ({ref:.2f})"
            )
        if gap_k == 1:
            parts.append("the gap rule picks k=1 (no more clustered than that uniform data)")
        else:
            parts.append(
                (f"the gap rule's pick k={gap_k}" if gap_k else "the rising gap")
                + " is not backed by the silhouette"
            )
        verdict = "no cluster structure: " + ", and ".join(parts)
        reason = "no k recommended: " + _evidence_text(table, votes, None, gap_k)
        return _Decision(None, reason, False, verdict, votes)

    counts = {}
    for criterion in CRITERIA:
        k = votes[criterion]
        if k is not None:
            counts.setdefault(k, []).append(criterion)
    if separated_k is not None:
        # Clusters all clearly apart: the finest such partition, whatever the others say
        # (the silhouette and Davies-Bouldin prefer merging two close clusters of many).
        k = separated_k
    elif not counts:
        k = best_excess_k
    else:
        most = max(len(c) for c in counts.values())
        # Ties go to the k named by the earliest criterion in CRITERIA.
        k = min(
            (k for k, c in counts.items() if len(c) == most),
            key=lambda k: min(CRITERIA.index(c) for c in counts[k]),
        )
    reason = _evidence_text(table, votes, k, gap_k)
    grounds = []
    if silhouette_beats_reference:
        # Quote the recommended k when its own silhouette clears the margin.
        shown_k = k if excess.get(k, -np.inf) > SILHOUETTE_EXCESS_MARGIN else best_excess_k
        ref = references.at[shown_k, "reference_silhouette"]
        sil = table.at[shown_k, "silhouette"]
        grounds.append(
            f"silhouette {sil:.2f} at k={shown_k} vs {ref:.2f} on uniform reference data "
            "in the same box"
        )
    else:
        sil = table.at[best_excess_k, "silhouette"]
        grounds.append(
            f"weak: the best silhouette ({sil:.2f} at k={best_excess_k}) beats uniform "
            f"reference data by only {best_excess:.2f}"
        )
    if gap_k != 1:
        grounds.append(
            f"the gap rule picks k={gap_k}" if gap_k else "the gap rises up to the last k"
        )
    else:
        grounds.append("though the gap rule picks k=1")
    verdict = "cluster structure found: " + ", ".join(grounds)
    return _Decision(k, reason, True, verdict, votes)


def _separated_k(separation):
    """The largest k whose every pair of clusters is CHOOSE_K_SEPARATION_MIN apart."""
    separated = separation.index[separation.to_numpy() >= CHOOSE_K_SEPARATION_MIN]
    return int(separated.max()) if len(separated) else None


def _evidence_text(table, votes, k, gap_k):
    """One line: the k, then what each criterion says about it."""
    parts = []
    sil_k = votes["silhouette"]
    if sil_k is not None:
        peak = table.at[sil_k, "silhouette"]
        if k is None or sil_k == k:
            parts.append(f"silhouette peaks at {peak:.2f}" + ("" if k else f" (k={sil_k})"))
        else:
            parts.append(
                f"silhouette {table.at[k, 'silhouette']:.2f} (peak {peak:.2f} at k={sil_k})"
            )
    for criterion, name in (
        ("gap", "gap rule"),
        ("calinski_harabasz", "Calinski-Harabasz"),
        ("davies_bouldin", "Davies-Bouldin"),
    ):
        pick = votes[criterion]
        if pick is None:
            if criterion == "gap":
                parts.append(
                    "gap rule picks 1" if gap_k == 1 else "gap rule picks no k of the range"
                )
            continue
        parts.append(f"{name} agrees" if pick == k else f"{name} picks {pick}")
    elbow = votes["elbow"]
    parts.append(f"elbow at {elbow}" if elbow is not None else "no elbow")
    sep_k = votes.get("separation")
    if sep_k is not None:
        worst = table.at[sep_k, "separation"]
        if sep_k == k:
            parts.append(f"every pair of clusters apart (worst pair {worst:.1f} spreads)")
        else:
            parts.append(f"every pair of clusters apart up to k={sep_k}")
    if k is not None and not np.isnan(table.at[k, "stability"]):
        parts.append(f"stability {table.at[k, 'stability']:.2f}")
    head = f"k={k}: " if k is not None else ""
    return head + ", ".join(parts)
