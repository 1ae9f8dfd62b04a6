"""Diagnose a clustering: the usual K-Means debugging guide, run as checks.

:func:`diagnose` looks at the data (columns that are not numbers, missing values,
features on very different scales, constant columns, duplicate rows, one feature
only, too many dimensions for the rows) and at a K-Means model of it (empty, tiny
and unbalanced clusters, outliers and how far they pull their centers, structure
K-Means cannot capture, convergence, stability across seeds). Each problem found is
a :class:`Finding`: how serious it is, what was seen (with the figures), why it
matters and what to do. Clean, well separated blobs give no warning.

Checks whose cost grows faster than the rows run on a random subsample (its size is
a module constant below), and the finding says so; a 100,000 × 10 table is diagnosed
in a few seconds.
"""

from __future__ import annotations

import enum
import itertools
import textwrap
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import adjusted_rand_score
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..engine import blas_limited_to_one_thread, engine_data
from .explain import split_columns
from .metrics import silhouette_score

__all__ = [
    "Diagnosis",
    "Finding",
    "Severity",
    "diagnose",
]

# -- thresholds ---------------------------------------------------------------------------

#: Largest ratio of two non-constant features' variances accepted as "on one scale".
#: K-Means adds squared differences, so a feature with 100 times the variance of
#: another (10 times its standard deviation) weighs 100 times more in every distance.
UNSCALED_VARIANCE_RATIO = 100.0

#: Share of duplicated rows from which an info finding is made (duplicates act as
#: weights) and from which it becomes a warning (the data is mostly a few repeated
#: points: discrete or ordinal values, where centers fall between the points).
DUPLICATE_SHARE_INFO = 0.01
DUPLICATE_SHARE_WARNING = 0.25

#: Fewer rows than this many per feature earn a warning: means and distances then
#: rest on too few points per dimension for clusters to be told from noise (a
#: common rule of thumb for cluster analysis; fewer rows than features is an error).
MIN_ROWS_PER_FEATURE = 10

#: Distances concentrate when the coefficient of variation (sd / mean) of the
#: distances between random pairs of rows falls below this: all rows are then about
#: equally far apart, as in uniform noise of ~50 or more dimensions, and "nearest
#: center" carries little information. Checked from ``CONCENTRATION_MIN_FEATURES``.
CONCENTRATION_MAX_CV = 0.1
CONCENTRATION_MIN_FEATURES = 10
CONCENTRATION_PAIRS = 2_000

#: A row is an outlier of its cluster when its distance to the center lies more than
#: this many robust standard deviations (1.4826 × median absolute deviation of the
#: cluster's distances) above the cluster's median distance. 5 keeps the false
#: alarms of Gaussian clusters near zero (a chi-distributed distance passes it for
#: fewer than 1 row in 10,000) while genuine gross errors pass it by far.
OUTLIER_ROBUST_Z = 5.0

#: Clusters with fewer rows than this are not searched for outliers (their median
#: and MAD are too unstable: with 20 rows, 5 robust sd is crossed by chance); they
#: are covered by the tiny-cluster check.
OUTLIER_MIN_CLUSTER_ROWS = 30

#: The outlier finding is a warning when the outliers move a center by at least this
#: share of its cluster's root-mean-square radius (their pull is then visible in the
#: centers and in every label near the border), or when at least
#: ``OUTLIER_SHARE_WARNING`` of the rows, and at least ``OUTLIER_TAIL_MIN_ROWS`` rows,
#: are outliers (a heavy tail, not a few errors). Below both it is an info finding
#: from ``OUTLIER_SHARE_INFO`` of the rows on.
OUTLIER_PULL_WARNING = 0.1
OUTLIER_SHARE_WARNING = 0.01
OUTLIER_TAIL_MIN_ROWS = 10
OUTLIER_SHARE_INFO = 0.001

#: A value is extreme when its robust z-score (|x - median| / (1.4826 MAD)) within
#: its cluster exceeds this (for the rows of a tiny cluster: within the whole data,
#: to tell outliers that took a center of their own). Features with at most
#: ``DISCRETE_MAX_VALUES`` distinct values (flags, counts) are skipped: their MAD says
#: nothing about tails. When more than ``EXTREME_MAX_SHARE`` of a cluster's rows are
#: extreme in one feature, they are a sub-group (a cluster that merges two groups),
#: not outliers, and are not counted.
FEATURE_ROBUST_Z = 5.0
DISCRETE_MAX_VALUES = 10
EXTREME_MAX_SHARE = 0.05

#: A cluster is tiny when it holds fewer rows than this share of the average cluster
#: size (n / k) and fewer than ``TINY_CLUSTER_MAX_SHARE`` of all rows: K-Means spent a
#: center on a handful of rows, often outliers. (The second bound keeps a niche of
#: 5% of the rows, with K=2, from being called tiny; it is reported as unbalanced.)
TINY_CLUSTER_SHARE_OF_MEAN = 0.1
TINY_CLUSTER_MAX_SHARE = 0.01

#: Largest to smallest cluster size ratio from which sizes are reported as very
#: unbalanced (info): K-Means' boundaries lie halfway between centers, so it tends
#: to split large clusters and to feed small ones with the large ones' border rows.
UNBALANCED_SIZE_RATIO = 10.0

#: The density comparison: HDBSCAN on at most ``DENSITY_MAX_ROWS`` rows, with a
#: smallest group of ``DENSITY_MIN_GROUP_SHARE`` of them (at least 10 rows). Its
#: groups are trusted only when it leaves at most ``DENSITY_MAX_NOISE_SHARE`` of the
#: rows as noise and finds at least 2 groups. K-Means "cuts across" two dense groups
#: when two of its clusters each hold at least ``CROSSING_MIN_SHARE`` of both groups:
#: neither more nor fewer centers can fix that, the shapes themselves are wrong for it.
#: Above ``DENSITY_MAX_FEATURES`` features the check is skipped (with a note): densities
#: from 2,000 rows mean little in that many dimensions.
DENSITY_MAX_ROWS = 2_000
DENSITY_MIN_GROUP_SHARE = 0.02
DENSITY_MAX_NOISE_SHARE = 0.5
CROSSING_MIN_SHARE = 0.1
DENSITY_MAX_FEATURES = 50

#: A cluster "merges" dense groups (an info finding: K may be too small) when it
#: holds at least this share of each of two or more groups, each of which makes at
#: least ``CROSSING_MIN_SHARE`` of the cluster, without any crossing.
MERGED_GROUP_MIN_SHARE = 0.9

#: A Gaussian mixture with full covariances is suggested instead of a density method
#: when its labels agree with the dense groups (adjusted Rand index) at least
#: ``MIXTURE_MIN_ARI`` and better than K-Means' by at least ``MIXTURE_ARI_GAIN``:
#: elongated, tilted clusters it can model; moons and rings it cannot.
MIXTURE_ARI_GAIN = 0.2
MIXTURE_MIN_ARI = 0.8

#: A cluster is elongated (an info finding, or figures in the non-globular one) when
#: its standard deviation along its main principal axis is this many times the median
#: of the others' (continuous features only; at most ``STABILITY_MAX_ROWS`` rows).
ELONGATION_RATIO = 4.0

#: Stability: the model is refitted with ``STABILITY_RUNS`` other seeds on at most
#: ``STABILITY_MAX_ROWS`` rows; a warning when two refits agree less than
#: ``STABILITY_MIN_ARI`` (adjusted Rand index): the labels then depend on the seed.
STABILITY_RUNS = 4
STABILITY_MAX_ROWS = 5_000
STABILITY_MIN_ARI = 0.9

#: One more Lloyd step from a converged model's centers moves them by less than the
#: tolerance: a total squared shift above ``max(model.tol, CONVERGENCE_TOL)`` times the
#: mean feature variance means the fit stopped early (scikit-learn's definition of tol).
CONVERGENCE_TOL = 1e-4

#: When diagnose fits the model itself without ``n_clusters``: K from 2 to
#: ``AUTO_K_MAX`` with the best silhouette on at most ``AUTO_K_MAX_ROWS`` rows.
AUTO_K_MAX = 10
AUTO_K_MAX_ROWS = 2_000


class Severity(enum.IntEnum):
    """How serious a finding is; ordered, so ``severity >= Severity.WARNING`` works."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    def __str__(self):
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    """One problem found by :func:`diagnose`.

    Attributes
    ----------
    code : str
        Short stable identifier, e.g. ``'unscaled-features'``.
    severity : Severity
        ``INFO`` (worth knowing), ``WARNING`` (likely to spoil the clusters) or
        ``ERROR`` (K-Means cannot run or its result is meaningless as is).
    title : str
        One line naming the problem.
    observed : str
        What was seen, with the figures.
    why : str
        Why it matters for K-Means.
    action : str
        What to do.
    details : dict
        The figures, as numbers, for programs.
    """

    code: str
    severity: Severity
    title: str
    observed: str
    why: str
    action: str
    details: dict = field(default_factory=dict)

    #: The text fields of :meth:`to_dict`, in its order.
    TEXT_FIELDS = ("code", "severity", "title", "observed", "why", "action")

    def to_dict(self, fields=TEXT_FIELDS):
        """The finding as plain types, ready for JSON: ``fields`` by name, in that order.

        The severity is its name (``'warning'``); ``details`` (figures of any type) is
        left out unless named in ``fields``.

        Examples
        --------
        >>> Finding("k", Severity.INFO, "t", "o", "w", "a").to_dict(("code", "severity"))
        {'code': 'k', 'severity': 'info'}
        """
        return {
            name: str(self.severity) if name == "severity" else getattr(self, name)
            for name in fields
        }

    def __str__(self):
        wrap = textwrap.TextWrapper(width=88, initial_indent="    ", subsequent_indent="    ")
        lines = [f"[{str(self.severity).upper()}] {self.title} ({self.code})"]
        for label, text in (("seen", self.observed), ("why", self.why), ("do", self.action)):
            lines.append(f"  {label}:")
            lines.extend(wrap.wrap(text))
        return "\n".join(lines)


@dataclass(frozen=True)
class Diagnosis:
    """The findings of :func:`diagnose`, most serious first.

    Attributes
    ----------
    findings : tuple of Finding
        Ordered by severity (errors, warnings, then info), then by check.
    n_samples, n_features : int
        Rows and numeric features examined (rows with missing values excluded).
    n_clusters : int or None
        Clusters of the model examined; None when no model could be fitted.
    labels : ndarray of shape (n_samples,) or None
        Nearest center of every examined row.
    model : estimator or None
        The model examined (fitted by diagnose when none was given).
    notes : tuple of str
        What was subsampled or skipped, and why.
    """

    findings: tuple
    n_samples: int
    n_features: int
    n_clusters: int | None = None
    labels: np.ndarray | None = None
    model: object = None
    notes: tuple = ()

    def to_dict(self):
        """The diagnosis as plain types, ready for JSON (what ``centroids diagnose --json``
        prints): ``ok``, ``rows``, ``features``, ``clusters``, ``findings`` (each
        :meth:`Finding.to_dict`) and ``notes``; the labels and the model are left out."""
        return {
            "ok": self.ok,
            "rows": self.n_samples,
            "features": self.n_features,
            "clusters": self.n_clusters,
            "findings": [finding.to_dict() for finding in self.findings],
            "notes": list(self.notes),
        }

    @property
    def ok(self):
        """True when no finding is a warning or an error (info findings are fine)."""
        return not any(finding.severity >= Severity.WARNING for finding in self.findings)

    @property
    def by_code(self):
        """The findings keyed by their code."""
        return {finding.code: finding for finding in self.findings}

    @property
    def codes(self):
        """The codes of the findings, in order."""
        return [finding.code for finding in self.findings]

    def __iter__(self):
        return iter(self.findings)

    def __len__(self):
        return len(self.findings)

    def to_frame(self):
        """One row per finding: code, severity, title, observed, why, action, details."""
        return pd.DataFrame(
            [
                {
                    "code": finding.code,
                    "severity": str(finding.severity),
                    "title": finding.title,
                    "observed": finding.observed,
                    "why": finding.why,
                    "action": finding.action,
                    "details": finding.details,
                }
                for finding in self.findings
            ],
            columns=["code", "severity", "title", "observed", "why", "action", "details"],
        )

    def __str__(self):
        counts = {severity: 0 for severity in Severity}
        for finding in self.findings:
            counts[finding.severity] += 1
        clusters = f", {self.n_clusters} clusters" if self.n_clusters is not None else ""
        head = (
            f"Diagnosis of {self.n_samples:,} rows x {self.n_features} numeric features"
            f"{clusters}: {counts[Severity.ERROR]} error(s), {counts[Severity.WARNING]} "
            f"warning(s), {counts[Severity.INFO]} info."
        )
        parts = [head]
        if not self.findings:
            parts.append("No problem found.")
        parts.extend(str(finding) for finding in self.findings)
        if self.notes:
            parts.append("Notes:\n" + "\n".join(f"  - {note}" for note in self.notes))
        return "\n\n".join(parts)


# -- helpers ------------------------------------------------------------------------------


def _fmt(value):
    """A number for a sentence: 3 significant digits, thousands separated."""
    value = float(value)
    if not np.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e6 or magnitude < 1e-3:
        return f"{value:.3g}"
    if magnitude >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _names(names, limit=5):
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _rows(count):
    return f"{count:,} row" + ("" if count == 1 else "s")


def _subsample(n_rows, max_rows, rng):
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, max_rows, replace=False))


def _robust_sd(values):
    """1.4826 × MAD, or 1.2533 × mean absolute deviation when the MAD is 0."""
    median = np.median(values, axis=0)
    deviation = np.abs(values - median)
    mad = np.median(deviation, axis=0)
    spread = 1.4826 * mad
    fallback = 1.2533 * deviation.mean(axis=0)
    return median, np.where(spread > 0, spread, fallback)


# -- checks on the table --------------------------------------------------------------------


def _non_numeric_findings(split):
    findings = []
    if split.categorical:
        described = []
        high_cardinality = []
        for name, values in split.categorical.items():
            n_distinct = pd.Series(values, dtype=object).nunique(dropna=True)
            described.append(f"{name!r} ({n_distinct:,} distinct values)")
            if n_distinct > 0.5 * split.n_samples and split.n_samples > 20:
                high_cardinality.append(name)
        action = (
            "One-hot encode categorical columns with few values "
            "(sklearn.preprocessing.OneHotEncoder, pandas.get_dummies) and scale them with "
            "the numbers, or cluster mixed data with a k-prototypes model, which uses "
            "matching dissimilarity on the categories."
        )
        if high_cardinality:
            verb = "looks" if len(high_cardinality) == 1 else "look"
            action += (
                f" {_names(high_cardinality)} {verb} like identifiers or free text (a "
                "distinct value on most rows): drop them."
            )
        findings.append(
            Finding(
                "non-numeric-columns",
                Severity.WARNING,
                "Categorical or text columns that K-Means cannot use",
                f"{len(split.categorical)} column(s) hold text or categories: "
                f"{', '.join(described[:8])}{' ...' if len(described) > 8 else ''}. The "
                "checks below examine the numeric columns only.",
                "K-Means measures Euclidean distances and averages rows into centers; "
                "neither exists for categories, so these columns are either refused or "
                "ignored, and the segments will not reflect them.",
                action,
                {
                    "columns": list(split.categorical),
                    "identifier_like": high_cardinality,
                },
            )
        )
    if split.other:
        findings.append(
            Finding(
                "date-columns",
                Severity.WARNING,
                "Date or duration columns that K-Means cannot use as they are",
                f"Column(s) {_names(list(split.other))} hold dates or durations "
                f"({', '.join(sorted(set(split.other.values())))}); the checks below ignore them.",
                "Timestamps are not numbers K-Means can average meaningfully as they are: "
                "their scale (nanoseconds since 1970) would swamp every other feature.",
                "Derive numbers from them (age in days, days since the last event, month "
                "or weekday as cyclic features) and scale those like the other features.",
                {"columns": list(split.other)},
            )
        )
    return findings


def _missing_value_finding(numeric, names):
    finite = np.isfinite(numeric)
    bad_rows = ~finite.all(axis=1)
    n_bad = int(bad_rows.sum())
    if n_bad == 0:
        return None, np.ones(numeric.shape[0], dtype=bool)
    per_column = (~finite).sum(axis=0)
    worst = np.argsort(-per_column, kind="stable")
    worst = [j for j in worst if per_column[j] > 0]
    described = ", ".join(f"{names[j]!r}: {int(per_column[j]):,}" for j in worst[:5])
    first_row = int(np.flatnonzero(bad_rows)[0])
    finding = Finding(
        "missing-values",
        Severity.ERROR,
        "Missing or infinite values",
        f"{n_bad:,} of {numeric.shape[0]:,} rows ({n_bad / numeric.shape[0]:.1%}) hold NaN "
        f"or infinity, first at row {first_row}; per column: {described}. The other checks "
        "ran on the complete rows.",
        "K-Means cannot place a row with a missing coordinate: the fit refuses it, and "
        "dropping the rows silently may remove a whole kind of customer.",
        "Impute the values (sklearn.impute.SimpleImputer, or KNNImputer), add a "
        "'was missing' indicator when missingness itself means something, or drop the "
        "rows knowingly.",
        {
            "rows": n_bad,
            "share": n_bad / numeric.shape[0],
            "first_row": first_row,
            "per_column": {names[j]: int(per_column[j]) for j in worst},
        },
    )
    return finding, ~bad_rows


def _table_findings(X, names, rng):
    """Scale, constant columns, duplicates, dimensionality; X is finite, numeric."""
    constant = X.max(axis=0) == X.min(axis=0)
    varying = np.flatnonzero(~constant)
    return [
        *_constant_column_findings(names, constant),
        *_one_dimensional_findings(names, varying, X.shape[1]),
        *_scale_findings(X, names, varying),
        *_duplicate_findings(X),
        *_dimension_findings(*X.shape),
        *_concentration_findings(X, varying, rng),
    ]


def _constant_column_findings(names, constant):
    """Columns that hold one value on every row."""
    findings = []
    if constant.any():
        constant_names = [names[j] for j in np.flatnonzero(constant)]
        findings.append(
            Finding(
                "constant-columns",
                Severity.WARNING,
                "Constant columns",
                f"{len(constant_names)} column(s) hold one value on every row: "
                f"{_names(constant_names)}.",
                "A constant column adds nothing to any distance; after standardising it "
                "divides by zero, and it makes the data look higher-dimensional than it is.",
                "Drop these columns before clustering (or "
                "sklearn.feature_selection.VarianceThreshold in the pipeline).",
                {"columns": constant_names},
            )
        )
    return findings


def _one_dimensional_findings(names, varying, n_features):
    """One feature, or only one that varies: the clusters are intervals of it."""
    findings = []
    if varying.size == 1 and n_features == 1:
        findings.append(
            Finding(
                "one-dimensional",
                Severity.INFO,
                "Only one feature",
                f"The data has one numeric feature, {names[varying[0]]!r}.",
                "Clustering one variable is cutting a line into intervals; K-Means finds "
                "a local optimum of that, where exact and simpler methods exist, and its "
                "segments are just value ranges.",
                "Cut the values at quantiles (pandas.qcut) or at natural breaks (Jenks), or "
                "use an exact 1-D k-means (dynamic programming); or add the features that "
                "should define the segments.",
                {"feature": names[varying[0]]},
            )
        )
    elif varying.size == 1:
        findings.append(
            Finding(
                "one-dimensional",
                Severity.INFO,
                "Only one feature varies",
                f"Of {n_features} numeric columns only {names[varying[0]]!r} varies.",
                "The clusters will be intervals of that one feature.",
                "Cut it at quantiles (pandas.qcut) or natural breaks instead, or add the "
                "features that should define the segments.",
                {"feature": names[varying[0]]},
            )
        )
    return findings


def _scale_findings(X, names, varying):
    """Varying features whose variances differ by more than ``UNSCALED_VARIANCE_RATIO``."""
    findings = []
    variances = X.var(axis=0)
    if varying.size >= 2:
        varying_variances = variances[varying]
        largest, smallest = np.argmax(varying_variances), np.argmin(varying_variances)
        ratio = varying_variances[largest] / varying_variances[smallest]
        if ratio > UNSCALED_VARIANCE_RATIO:
            share = varying_variances[largest] / varying_variances.sum()
            big, small = names[varying[largest]], names[varying[smallest]]
            order = np.argsort(-varying_variances)
            findings.append(
                Finding(
                    "unscaled-features",
                    Severity.WARNING,
                    "Features on very different scales",
                    f"The variance of {big!r} ({_fmt(varying_variances[largest])}) is "
                    f"{_fmt(ratio)} times that of {small!r} "
                    f"({_fmt(varying_variances[smallest])}); {big!r} alone makes "
                    f"{share:.1%} of the total variance.",
                    "K-Means adds squared differences over the features, so the features "
                    "with the largest variance decide every distance and the others barely "
                    "count, whatever their meaning.",
                    "Standardise the features (sklearn.preprocessing.StandardScaler, or "
                    "RobustScaler when there are outliers) before clustering, unless their "
                    "units are comparable on purpose (same currency, PCA scores); weight "
                    "features deliberately if some should matter more.",
                    {
                        "variance_ratio": float(ratio),
                        "largest": big,
                        "smallest": small,
                        "largest_share": float(share),
                        "variances": {
                            names[varying[j]]: float(varying_variances[j]) for j in order
                        },
                    },
                )
            )
    return findings


def _duplicate_findings(X):
    """Rows that repeat an earlier row, from ``DUPLICATE_SHARE_INFO`` of the rows on."""
    findings = []
    n_samples = X.shape[0]
    duplicated = int(pd.DataFrame(X).duplicated().sum())
    share = duplicated / n_samples
    if share >= DUPLICATE_SHARE_INFO:
        n_distinct = n_samples - duplicated
        severity = Severity.WARNING if share >= DUPLICATE_SHARE_WARNING else Severity.INFO
        findings.append(
            Finding(
                "duplicate-rows",
                severity,
                "Duplicate rows",
                f"{duplicated:,} of {n_samples:,} rows ({share:.1%}) repeat an earlier row; "
                f"there are {n_distinct:,} distinct rows.",
                "Each copy weighs in the centers like a sample weight: repeated points pull "
                "centers toward them. Many duplicates mean discrete or ordinal values, where "
                "centers fall between the possible points, and K larger than the number of "
                "distinct rows leaves duplicate centers.",
                "Check whether the copies are real (repeat customers) or an artefact (a join "
                "that multiplied rows); deduplicate, or keep one row per distinct value with "
                "its count as sample_weight. For mostly discrete data consider k-modes.",
                {"duplicates": duplicated, "share": share, "distinct_rows": n_distinct},
            )
        )
    return findings


def _dimension_findings(n_samples, n_features):
    """No more rows than features, or fewer than ``MIN_ROWS_PER_FEATURE`` per feature."""
    findings = []
    if n_samples <= n_features:
        findings.append(
            Finding(
                "too-many-dimensions",
                Severity.ERROR,
                "More features than rows",
                f"{n_samples:,} rows for {n_features:,} features.",
                "With no more rows than dimensions every row can be separated from every "
                "other one; any partition looks as good as another and the centers are "
                "determined by chance.",
                "Reduce the features (PCA or TruncatedSVD, feature selection) to far fewer "
                f"than the rows (at most about n / {MIN_ROWS_PER_FEATURE}), or collect more rows.",
                {"rows": n_samples, "features": n_features},
            )
        )
    elif n_samples < MIN_ROWS_PER_FEATURE * n_features:
        findings.append(
            Finding(
                "too-many-dimensions",
                Severity.WARNING,
                "Few rows for the number of features",
                f"{n_samples:,} rows for {n_features:,} features: "
                f"{n_samples / n_features:.1f} rows per feature (fewer than "
                f"{MIN_ROWS_PER_FEATURE}).",
                "Means and distances in many dimensions rest on few points: the clusters "
                "fit noise and change with a few rows.",
                "Reduce the features (PCA, TruncatedSVD, feature selection) or collect more rows.",
                {"rows": n_samples, "features": n_features},
            )
        )
    return findings


def _concentration_findings(X, varying, rng):
    """Distances between random pairs of rows that hardly vary (the curse of dimensionality)."""
    findings = []
    n_samples = X.shape[0]
    if varying.size >= CONCENTRATION_MIN_FEATURES and n_samples >= 20:
        first = rng.randint(n_samples, size=CONCENTRATION_PAIRS)
        second = rng.randint(n_samples, size=CONCENTRATION_PAIRS)
        different = first != second
        distances = np.linalg.norm(X[first[different]] - X[second[different]], axis=1)
        mean = distances.mean()
        cv = float(distances.std() / mean) if mean > 0 else 0.0
        if cv < CONCENTRATION_MAX_CV:
            findings.append(
                Finding(
                    "concentrated-distances",
                    Severity.WARNING,
                    "All rows are about equally far apart",
                    f"Between {int(different.sum()):,} random pairs of rows, distances vary by "
                    f"only {cv:.1%} of their mean (coefficient of variation) in "
                    f"{varying.size} dimensions.",
                    "When every row is about as far from every other, the nearest center "
                    "is barely nearer than the others: the clusters are arbitrary cuts "
                    "through noise (the curse of dimensionality).",
                    "Reduce the dimensions to those that carry structure (PCA keeping most "
                    "of the variance, TruncatedSVD for sparse data, feature selection), or "
                    "use a distance suited to the data (cosine for text embeddings).",
                    {"coefficient_of_variation": cv, "pairs": int(different.sum())},
                )
            )
    return findings


# -- the model ------------------------------------------------------------------------------


def _fit_own_model(X, n_clusters, rng, notes):
    """A centroids KMeans on X; K by the best silhouette on a subsample when not given."""
    from ..models.kmeans import KMeans

    seed = int(rng.randint(np.iinfo(np.int32).max))
    if n_clusters is None:
        rows = _subsample(X.shape[0], AUTO_K_MAX_ROWS, rng)
        sample = X[rows]
        n_distinct = len(pd.DataFrame(sample).drop_duplicates())
        candidates = range(2, min(AUTO_K_MAX, n_distinct, rows.size - 1) + 1)
        scores = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for k in candidates:
                labels = KMeans(k, random_state=seed).fit(sample).labels_
                if np.unique(labels).size >= 2:
                    scores[k] = float(silhouette_score(sample, labels))
        if not scores:
            notes.append("No K could be chosen (too few distinct rows); fitted K=1.")
            n_clusters = 1
        else:
            ranked = sorted(scores, key=scores.get, reverse=True)
            n_clusters = ranked[0]
            runner_up = (
                f", next best {scores[ranked[1]]:.2f} at K={ranked[1]}" if len(ranked) > 1 else ""
            )
            notes.append(
                f"K={n_clusters} chosen by the best silhouette ({scores[n_clusters]:.2f}"
                f"{runner_up}) for K = 2..{max(scores)} on {rows.size:,} rows; pass "
                "n_clusters or a fitted model to diagnose another K."
            )
    n_clusters = min(n_clusters, X.shape[0])
    model = KMeans(n_clusters, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return model


def _is_fitted(model):
    try:
        check_is_fitted(model)
    except NotFittedError:
        return False
    except TypeError:  # not an estimator at all
        return True
    return True


def _model_view(X_original, numeric, names, model):
    """The numeric columns the model was fitted on, in its order."""
    if not hasattr(model, "cluster_centers_"):
        if hasattr(model, "fit") and not _is_fitted(model):
            raise ValueError(
                f"model {type(model).__name__} is not fitted (it has no cluster_centers_): "
                "call model.fit(X) first, or pass model=None to let diagnose fit a KMeans."
            )
        raise TypeError(
            f"model must be a fitted k-means estimator with cluster_centers_ (centroids or "
            f"scikit-learn KMeans); got {type(model).__name__}. For a pipeline, pass its "
            "final k-means step and X transformed by the steps before it."
        )
    centers = np.asarray(model.cluster_centers_)
    if sp.issparse(model.cluster_centers_) or centers.ndim != 2:
        raise TypeError("model.cluster_centers_ must be a dense (n_clusters, n_features) array.")
    model_names = getattr(model, "feature_names_in_", None)
    if model_names is not None and isinstance(X_original, pd.DataFrame):
        missing = [str(name) for name in model_names if str(name) not in names]
        if missing:
            raise ValueError(
                f"The model was fitted on column(s) {_names(missing)} that X lacks or that "
                "are not numeric in X; pass X with the columns the model was fitted on."
            )
        columns = [names.index(str(name)) for name in model_names]
        return numeric[:, columns], [names[j] for j in columns], centers
    if centers.shape[1] != numeric.shape[1]:
        raise ValueError(
            f"The model's centers have {centers.shape[1]} features but X has "
            f"{numeric.shape[1]} numeric column(s) ({_names(names)}); pass X with the "
            "columns the model was fitted on, in the same order."
        )
    return numeric, names, centers


def _nearest_centers(X, centers):
    data = engine_data(np.ascontiguousarray(X, dtype=np.float64))
    with blas_limited_to_one_thread():
        labels, sq_distances, inertia = data.assign_labels(
            np.ones(X.shape[0]), np.asarray(centers, dtype=np.float64)
        )
    return labels, sq_distances, inertia


# -- checks on the clusters -----------------------------------------------------------------


def _size_findings(sizes, n_samples):
    """Empty clusters, tiny clusters, and (when none is tiny) very unbalanced sizes."""
    findings = []
    empty = _empty_clusters_finding(sizes)
    if empty is not None:
        findings.append(empty)
    tiny = _tiny_clusters_finding(sizes, n_samples)
    if tiny is not None:
        findings.append(tiny)
    else:
        unbalanced = _unbalanced_sizes_finding(sizes, n_samples)
        if unbalanced is not None:
            findings.append(unbalanced)
    return findings


def _empty_clusters_finding(sizes):
    """Centers that are the nearest center of no row."""
    empty = np.flatnonzero(sizes == 0)
    if not empty.size:
        return None
    return Finding(
        "empty-clusters",
        Severity.WARNING,
        "Clusters without rows",
        f"{empty.size} of {sizes.size} centers are the nearest center of no row of X "
        f"(clusters {empty.tolist()[:10]}).",
        "An empty cluster is a wasted center: the model was fitted on other data, "
        "or K exceeds the number of groups the data holds.",
        "Refit on this data, or lower n_clusters.",
        {"clusters": empty.tolist()},
    )


def _tiny_clusters_finding(sizes, n_samples):
    """Clusters of a handful of rows next to the mean size."""
    mean_size = n_samples / sizes.size
    tiny_limit = min(TINY_CLUSTER_SHARE_OF_MEAN * mean_size, TINY_CLUSTER_MAX_SHARE * n_samples)
    tiny = np.flatnonzero((sizes > 0) & (sizes < tiny_limit))
    if not tiny.size:
        return None
    described = ", ".join(f"{c}: {int(sizes[c]):,} rows" for c in tiny[:10])
    return Finding(
        "tiny-clusters",
        Severity.WARNING,
        "Tiny clusters",
        f"{tiny.size} of {sizes.size} clusters hold fewer than {_fmt(tiny_limit)} rows "
        f"(average size {_fmt(mean_size)}): {described}.",
        "K-Means spent a center on a handful of rows: usually outliers or errors "
        "far from everything else, sometimes a real niche. The other clusters then "
        "share fewer centers than they need.",
        "Look at those rows: remove or cap errors and outliers (or scale with "
        "RobustScaler), then refit; keep the cluster only if it is a real, "
        "explainable niche.",
        {
            "clusters": tiny.tolist(),
            "sizes": {int(c): int(sizes[c]) for c in tiny},
            "mean_size": mean_size,
        },
    )


def _unbalanced_sizes_finding(sizes, n_samples):
    """The largest cluster many times the smallest non-empty one."""
    non_empty = sizes[sizes > 0]
    if non_empty.size < 2:
        return None
    ratio = non_empty.max() / non_empty.min()
    if ratio <= UNBALANCED_SIZE_RATIO:
        return None
    largest, smallest = (
        int(np.argmax(sizes)),
        int(np.argmin(np.where(sizes > 0, sizes, np.inf))),
    )
    return Finding(
        "unbalanced-clusters",
        Severity.INFO,
        "Very unbalanced cluster sizes",
        f"The largest cluster ({largest}: {int(sizes[largest]):,} rows, "
        f"{sizes[largest] / n_samples:.0%}) is {_fmt(ratio)} times the smallest "
        f"({smallest}: {int(sizes[smallest]):,} rows).",
        "K-Means places its boundaries halfway between centers, which suits "
        "groups of similar size and spread; with very unequal groups it tends "
        "to split a large one and to hand its border rows to small ones.",
        "Check that the small clusters are real segments (explain them); if "
        "the groups truly differ in size and spread, compare with a Gaussian "
        "mixture (sklearn.mixture.GaussianMixture).",
        {"size_ratio": float(ratio), "sizes": sizes.astype(int).tolist()},
    )


def _continuous_features(X):
    """Indices of the features with more than DISCRETE_MAX_VALUES distinct values."""
    sample = X[: min(X.shape[0], 10_000)]
    return [j for j in range(X.shape[1]) if np.unique(sample[:, j]).size > DISCRETE_MAX_VALUES]


def _outlier_finding(X, names, labels, sq_distances, centers, tiny_clusters):
    """Rows far from their center or with extreme values, and how they move the centers."""
    n_samples, n_clusters = X.shape[0], centers.shape[0]
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_clusters + 1))
    far, extreme, extreme_features, captured = _mark_outliers(
        X, names, np.sqrt(sq_distances), order, bounds, tiny_clusters
    )
    n_far, n_extreme = int(far.sum()), int(extreme.sum())
    outlier = far | extreme
    n_outliers = int(outlier.sum())
    if n_outliers == 0:
        return None
    pulls = _outlier_pulls(X, outlier, order, bounds, captured)
    share = n_outliers / n_samples
    max_pull = max(pulls.values(), default=0.0)
    heavy_tail = share >= OUTLIER_SHARE_WARNING and n_outliers >= OUTLIER_TAIL_MIN_ROWS
    if captured or max_pull >= OUTLIER_PULL_WARNING or heavy_tail:
        severity = Severity.WARNING
    elif share >= OUTLIER_SHARE_INFO:
        severity = Severity.INFO
    else:
        return None
    seen = _outliers_seen(n_outliers, share, n_far, n_extreme, extreme_features, captured, pulls)
    return Finding(
        "outliers",
        severity,
        "Outliers that pull the centers",
        " ".join(seen),
        "A center is a mean: a few far points drag it toward them and move the boundary "
        "for every row near it, squared distances let the outliers dominate the inertia "
        "K-Means minimises, and an isolated group of them takes a center of its own.",
        "Inspect those rows for errors; remove or cap them (winsorize), transform skewed "
        "features (log), or scale with sklearn.preprocessing.RobustScaler; a k-medoids "
        "model is less sensitive to them.",
        {
            "rows": n_outliers,
            "share": share,
            "far_from_center": n_far,
            "extreme_values": n_extreme,
            "extreme_features": extreme_features,
            "captured_clusters": captured,
            "max_pull": max_pull,
            "pull_by_cluster": pulls,
            "outlier_rows": np.flatnonzero(outlier)[:100].tolist(),
        },
    )


def _mark_outliers(X, names, distances, order, bounds, tiny_clusters):
    """The rows far from their center and the rows with an extreme value (within their
    cluster; in a tiny cluster, for the whole data), the count of extreme values by feature,
    and the tiny clusters made of rows extreme for the whole data."""
    n_samples, n_clusters = X.shape[0], bounds.size - 1
    continuous = _continuous_features(X)
    far = np.zeros(n_samples, dtype=bool)
    extreme = np.zeros(n_samples, dtype=bool)
    extreme_features = {}
    for cluster in range(n_clusters):
        rows = order[bounds[cluster] : bounds[cluster + 1]]
        if rows.size < OUTLIER_MIN_CLUSTER_ROWS:
            continue
        median, spread = _robust_sd(distances[rows])
        if spread > 0:
            far[rows[(distances[rows] - median) / spread > OUTLIER_ROBUST_Z]] = True
        if continuous:
            _mark_extreme(X, names, continuous, rows, X[rows], extreme, extreme_features)
    # A tiny cluster of rows extreme for the whole data: outliers that took a center.
    captured = []
    for cluster in tiny_clusters:
        rows = order[bounds[cluster] : bounds[cluster + 1]]
        if rows.size and continuous:
            before = int(extreme[rows].sum())
            _mark_extreme(X, names, continuous, rows, X, extreme, extreme_features)
            if extreme[rows].sum() - before >= 0.5 * rows.size:
                captured.append(int(cluster))
    return far, extreme, extreme_features, captured


def _mark_extreme(X, names, continuous, rows, reference, extreme, extreme_features):
    """Mark in ``extreme`` the ``rows`` with a value of a continuous feature more than
    FEATURE_ROBUST_Z robust standard deviations from ``reference``'s median, and count
    them by feature in ``extreme_features``; within a cluster, only rare values count."""
    median, spread = _robust_sd(reference[:, continuous])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(X[np.ix_(rows, continuous)] - median) / spread
    flagged = (z > FEATURE_ROBUST_Z) & (spread > 0)
    if reference.shape[0] == rows.size:  # within a cluster: rare values only
        flagged[:, flagged.mean(axis=0) > EXTREME_MAX_SHARE] = False
    extreme[rows[flagged.any(axis=1)]] = True
    for position in np.flatnonzero(flagged.any(axis=0)):
        name = names[continuous[position]]
        extreme_features[name] = extreme_features.get(name, 0) + int(flagged[:, position].sum())


def _outlier_pulls(X, outlier, order, bounds, captured):
    """Per cluster with some outliers (not a captured one): how far removing them moves its
    mean, over the root-mean-square radius of the rest."""
    pulls = {}
    for cluster in range(bounds.size - 1):
        rows = order[bounds[cluster] : bounds[cluster + 1]]
        flagged = outlier[rows]
        if cluster in captured or rows.size == 0 or not flagged.any() or flagged.all():
            continue
        kept = rows[~flagged]
        mean_kept = X[kept].mean(axis=0)
        radius = np.sqrt(np.mean(np.sum((X[kept] - mean_kept) ** 2, axis=1)))
        if radius > 0:
            pulls[cluster] = float(np.linalg.norm(X[rows].mean(axis=0) - mean_kept) / radius)
    return pulls


def _outliers_seen(n_outliers, share, n_far, n_extreme, extreme_features, captured, pulls):
    """The sentences of what the outlier finding saw."""
    seen = [
        f"{_rows(n_outliers)} ({share:.2%}) are outliers: {n_far:,} far from their center "
        f"(more than {OUTLIER_ROBUST_Z:g} robust standard deviations beyond their cluster's "
        f"median distance), {n_extreme:,} with an extreme value (more than "
        f"{FEATURE_ROBUST_Z:g} robust standard deviations from their cluster's median of "
        "the feature)."
    ]
    if extreme_features:
        features = sorted(extreme_features, key=extreme_features.get, reverse=True)
        seen.append(
            "Extreme values lie mostly in "
            + ", ".join(f"{name!r} ({_rows(extreme_features[name])})" for name in features[:3])
            + "."
        )
    if captured:
        seen.append(
            f"Tiny cluster(s) {captured[:10]} are made of rows extreme for the whole data: a "
            "center was spent on outliers."
        )
    if pulls:
        worst = max(pulls, key=pulls.get)
        seen.append(
            f"Removing them would move the center of cluster {worst} by {pulls[worst]:.0%} of "
            "its root-mean-square radius."
        )
    return seen


def _elongation(X, labels, n_clusters):
    """Per cluster: largest principal sd over the median of the others."""
    ratios = {}
    for cluster in range(n_clusters):
        rows = X[labels == cluster]
        if rows.shape[0] <= X.shape[1] + 1 or X.shape[1] < 2:
            continue
        eigenvalues = np.sort(np.linalg.eigvalsh(np.cov(rows, rowvar=False)))[::-1]
        rest = np.median(eigenvalues[1:])
        if rest > 0:
            ratios[cluster] = float(np.sqrt(eigenvalues[0] / rest))
    return ratios


def _structure_findings(X, labels, centers, rng, random_state_seed, notes):
    """Dense groups K-Means cuts across or merges; else elongated clusters, if any."""
    findings = _density_findings(X, labels, centers, rng, random_state_seed, notes)
    if not any(finding.code == "non-globular-clusters" for finding in findings):
        elongated = _elongation_finding(X, labels, centers.shape[0], rng)
        if elongated is not None:
            findings.append(elongated)
    return findings


def _elongation_finding(X, labels, n_clusters, rng):
    """Info when a cluster is much longer along one axis than along the others."""
    continuous = _continuous_features(X)
    if len(continuous) < 2 or n_clusters < 1:
        return None
    rows = _subsample(X.shape[0], STABILITY_MAX_ROWS, rng)
    ratios = _elongation(X[np.ix_(rows, continuous)], labels[rows], n_clusters)
    elongated = {c: r for c, r in ratios.items() if r >= ELONGATION_RATIO}
    if not elongated:
        return None
    worst = max(elongated, key=elongated.get)
    where = f" (on a random subsample of {rows.size:,} rows)" if rows.size < X.shape[0] else ""
    return Finding(
        "elongated-clusters",
        Severity.INFO,
        "Elongated clusters",
        f"{len(elongated)} of {len(ratios)} clusters are at least {ELONGATION_RATIO:g} times "
        f"longer along their main axis than along the median of the others{where}; the "
        f"most elongated, cluster {worst}, {elongated[worst]:.1f} times.",
        "K-Means assumes round clusters: it copes with elongated ones that are far from "
        "the others, but cuts across them where they come close, and splits long ones "
        "into several cells.",
        "If the elongation comes from correlated features, decorrelate them (PCA "
        "whitening) or compare with a Gaussian mixture with full covariances "
        "(sklearn.mixture.GaussianMixture(covariance_type='full')).",
        {"elongation": ratios, "elongated": sorted(elongated), "rows_examined": int(rows.size)},
    )


def _density_findings(X, labels, centers, rng, random_state_seed, notes):
    """Dense groups (HDBSCAN) that K-Means cuts across or merges."""
    n_clusters = centers.shape[0]
    if not _density_comparable(X, n_clusters, notes):
        return []
    rows, groups = _dense_groups(X, rng)
    sample, sample_labels = X[rows], labels[rows]
    dense = groups >= 0
    n_groups = int(groups.max()) + 1
    noise_share = 1.0 - dense.mean()
    subsample_text = (
        f" (HDBSCAN on a random subsample of {rows.size:,} rows)"
        if rows.size < X.shape[0]
        else " (HDBSCAN)"
    )
    if n_groups < 2 or noise_share > DENSITY_MAX_NOISE_SHARE:
        return []
    counts = pd.crosstab(sample_labels[dense], groups[dense]).to_numpy().astype(np.float64)
    cluster_ids = np.unique(sample_labels[dense])
    group_share = counts / counts.sum(axis=0, keepdims=True)  # share of a group per cluster
    crossings = _crossed_groups(counts, cluster_ids, group_share)
    seen = {
        "dense_groups": n_groups,
        "noise_share": float(noise_share),
        "rows_examined": int(rows.size),
        "text": subsample_text,
    }
    findings = []
    if crossings:
        findings.append(
            _crossing_finding(
                seen,
                crossings,
                counts,
                dense,
                sample,
                sample_labels,
                centers,
                groups,
                random_state_seed,
            )
        )
    merged = _merged_groups(counts, cluster_ids, group_share)
    if merged and not crossings:
        findings.append(_merged_finding(seen, merged, counts))
    return findings


def _density_comparable(X, n_clusters, notes):
    """Whether densities can be compared on X; when they cannot, ``notes`` says why (for
    too many features or discrete ones; too few rows or clusters say nothing)."""
    if n_clusters < 2 or X.shape[0] < 50:
        return False
    if X.shape[1] > DENSITY_MAX_FEATURES:
        notes.append(
            f"The density comparison was skipped: more than {DENSITY_MAX_FEATURES} "
            "features, where densities cannot be estimated reliably."
        )
        return False
    continuous = set(_continuous_features(X))
    discrete = [j for j in range(X.shape[1]) if j not in continuous]
    if discrete:
        notes.append(
            f"The density comparison (shapes K-Means cannot capture) was skipped: "
            f"{len(discrete)} feature(s) take at most {DISCRETE_MAX_VALUES} distinct values "
            "(one-hot columns, flags, small counts), which cut the space into separate "
            "slices that a density method would take for groups."
        )
        return False
    return True


def _dense_groups(X, rng):
    """``(rows, HDBSCAN group of each, -1 for noise)`` on a subsample of X."""
    from sklearn.cluster import HDBSCAN

    rows = _subsample(X.shape[0], DENSITY_MAX_ROWS, rng)
    min_group = max(10, int(DENSITY_MIN_GROUP_SHARE * rows.size))
    return rows, HDBSCAN(min_cluster_size=min_group, copy=True).fit(X[rows]).labels_


def _crossed_groups(counts, cluster_ids, group_share):
    """``(cluster u, cluster v, [group, group])`` for pairs of clusters that each hold at
    least ``CROSSING_MIN_SHARE`` of two same dense groups."""
    holds = group_share >= CROSSING_MIN_SHARE
    crossings = []
    for u, v in itertools.combinations(range(counts.shape[0]), 2):
        both = np.flatnonzero(holds[u] & holds[v])
        if both.size >= 2:
            crossings.append((int(cluster_ids[u]), int(cluster_ids[v]), both[:2].tolist()))
    return crossings


def _crossing_finding(
    seen, crossings, counts, dense, sample, sample_labels, centers, groups, random_state_seed
):
    """The finding for dense groups that K-Means cuts across."""
    n_clusters = centers.shape[0]
    majority = counts.max(axis=0)
    crossed_groups = sorted({g for _, _, pair in crossings for g in pair})
    misplaced = float(
        (counts[:, crossed_groups].sum() - majority[crossed_groups].sum()) / dense.sum()
    )
    elongation = _elongation(sample, sample_labels, n_clusters)
    mixture_text, mixture_ari, kmeans_ari = _compare_mixture(
        sample, sample_labels, centers, groups, dense, random_state_seed
    )
    u, v, pair = crossings[0]
    elongated = {c: r for c, r in elongation.items() if r >= ELONGATION_RATIO}
    elongation_text = (
        " Elongated clusters (longest axis over the median of the others): "
        + ", ".join(f"{c}: {r:.1f}x" for c, r in sorted(elongated.items())[:5])
        + "."
        if elongated
        else ""
    )
    return Finding(
        "non-globular-clusters",
        Severity.WARNING,
        "Structure K-Means cannot capture (elongated or non-convex groups)",
        f"A density-based clustering{seen['text']} finds {seen['dense_groups']} dense groups, "
        f"and K-Means cuts across them: clusters {u} and {v} each hold at least "
        f"{CROSSING_MIN_SHARE:.0%} of both groups {pair[0]} and {pair[1]}; "
        f"{misplaced:.0%} of the rows in dense groups sit outside their group's main "
        f"cluster.{elongation_text}",
        "K-Means cuts space into convex cells around centers (it assumes round "
        "clusters of similar spread), so groups that are elongated, curved or "
        "nested are sliced across, whatever K.",
        mixture_text,
        {
            "dense_groups": seen["dense_groups"],
            "noise_share": seen["noise_share"],
            "crossings": crossings,
            "misplaced_share": misplaced,
            "elongation": elongation,
            "mixture_ari": mixture_ari,
            "kmeans_ari": kmeans_ari,
            "rows_examined": seen["rows_examined"],
        },
    )


def _merged_groups(counts, cluster_ids, group_share):
    """``(cluster, its groups)`` for clusters that hold almost all of two or more dense
    groups."""
    merged = [
        (int(cluster_ids[u]), np.flatnonzero(counts[u] / counts[u].sum() >= CROSSING_MIN_SHARE))
        for u in range(counts.shape[0])
    ]
    return [
        (cluster, group_ids)
        for cluster, group_ids in merged
        if group_ids.size >= 2
        and all(
            group_share[np.flatnonzero(cluster_ids == cluster)[0], g] >= MERGED_GROUP_MIN_SHARE
            for g in group_ids
        )
    ]


def _merged_finding(seen, merged, counts):
    """The finding for separate dense groups that share a cluster."""
    cluster, group_ids = merged[0]
    return Finding(
        "merged-dense-groups",
        Severity.INFO,
        "Separate dense groups share a cluster",
        f"A density-based clustering{seen['text']} finds {seen['dense_groups']} dense groups; "
        f"cluster {cluster} holds almost all of groups {group_ids.tolist()}, which "
        f"are separated by sparse space ({len(merged)} cluster(s) like this).",
        "A center placed between two separate groups describes neither: K is "
        "probably too small for the structure.",
        f"Try a larger K (compare silhouette or the gap statistic over K, e.g. "
        f"K={counts.shape[0] + sum(g.size - 1 for _, g in merged)}), or check "
        "whether the two groups should indeed be one segment.",
        {
            "dense_groups": seen["dense_groups"],
            "merged": {c: g.tolist() for c, g in merged},
            "rows_examined": seen["rows_examined"],
        },
    )


def _compare_mixture(sample, sample_labels, centers, groups, dense, seed):
    """Does a full-covariance Gaussian mixture follow the dense groups better?"""
    from sklearn.mixture import GaussianMixture

    kmeans_ari = float(adjusted_rand_score(groups[dense], sample_labels[dense]))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mixture = GaussianMixture(
                centers.shape[0],
                covariance_type="full",
                means_init=centers,
                random_state=seed,
                reg_covar=1e-6 * max(float(sample.var(axis=0).mean()), 1e-12),
            ).fit(sample)
        mixture_labels = mixture.predict(sample)
        mixture_ari = float(adjusted_rand_score(groups[dense], mixture_labels[dense]))
    except (ValueError, np.linalg.LinAlgError):
        mixture_ari = float("nan")
    density_advice = (
        "Use a density-based method that follows the shapes (sklearn.cluster.HDBSCAN, "
        "DBSCAN) or spectral clustering (sklearn.cluster.SpectralClustering); or add "
        "features that make the groups round (e.g. a radius for rings). If the groups "
        "must be K-Means cells anyway, a larger K approximates each shape with several "
        "cells."
    )
    if (
        np.isfinite(mixture_ari)
        and mixture_ari >= MIXTURE_MIN_ARI
        and mixture_ari >= kmeans_ari + MIXTURE_ARI_GAIN
    ):
        text = (
            "Use a Gaussian mixture with full covariances "
            "(sklearn.mixture.GaussianMixture(covariance_type='full')): it models elongated, "
            f"tilted clusters and agrees with the dense groups far better (adjusted Rand "
            f"index {mixture_ari:.2f} vs {kmeans_ari:.2f} for K-Means). Or decorrelate the "
            "features first (PCA whitening) if the elongation is shared by all clusters."
        )
        return text, mixture_ari, kmeans_ari
    return density_advice, mixture_ari, kmeans_ari


def _convergence_finding(X, labels, centers, model):
    """One more Lloyd step from the model's centers: does anything still move?"""
    n_clusters = centers.shape[0]
    sizes = np.bincount(labels, minlength=n_clusters)
    indicator = sp.csr_matrix(
        (np.ones(X.shape[0]), (labels, np.arange(X.shape[0]))), shape=(n_clusters, X.shape[0])
    )
    sums = np.asarray(indicator @ X)
    new_centers = centers.astype(np.float64).copy()
    filled = sizes > 0
    new_centers[filled] = sums[filled] / sizes[filled, None]
    shift = float(np.sum((new_centers - centers) ** 2))
    tol = getattr(model, "tol", CONVERGENCE_TOL)
    tol = max(float(tol) if isinstance(tol, (int, float)) else CONVERGENCE_TOL, CONVERGENCE_TOL)
    tolerance = tol * float(X.var(axis=0).mean())
    if shift <= tolerance:
        return None
    new_labels, _, _ = _nearest_centers(X, new_centers)
    changed = int(np.count_nonzero(new_labels != labels))
    n_iter = getattr(model, "n_iter_", None)
    max_iter = getattr(model, "max_iter", None)
    iterations = (
        f" The fit ran n_iter_={n_iter} iterations (max_iter={max_iter})."
        if n_iter is not None and max_iter is not None
        else ""
    )
    return Finding(
        "not-converged",
        Severity.WARNING,
        "The fit stopped before converging",
        f"One more K-Means iteration from the model's centers moves them by "
        f"{_fmt(shift)} (total squared shift; {_fmt(shift / tolerance)} times the tolerance) "
        f"and changes the cluster of {changed:,} rows ({changed / X.shape[0]:.1%}).{iterations}",
        "The centers are not at a fixed point: they are not the means of their clusters, "
        "so the labels and the inertia describe an unfinished fit.",
        "Raise max_iter (or loosen tol) and refit; if many iterations are needed, scale "
        "the features and check the outliers, which slow convergence.",
        {
            "center_shift": shift,
            "tolerance": tolerance,
            "rows_changing_cluster": changed,
            "n_iter": n_iter,
            "max_iter": max_iter,
        },
    )


def _stability_finding(X, model, rng, notes):
    """Refit with other seeds on a subsample and compare the labels (adjusted Rand)."""
    checked = _reseedable(model, notes)
    if checked is None:
        return None
    template, params = checked
    n_clusters = params.get("n_clusters", model.cluster_centers_.shape[0])
    rows = _subsample(X.shape[0], STABILITY_MAX_ROWS, rng)
    if rows.size <= n_clusters or n_clusters < 2:
        return None
    sample = X[rows]
    seeds = rng.randint(np.iinfo(np.int32).max, size=STABILITY_RUNS)
    runs = _reseeded_runs(template, sample, seeds)
    agreements = [
        float(adjusted_rand_score(a[0], b[0])) for a, b in itertools.combinations(runs, 2)
    ]
    lowest = min(agreements)
    if lowest >= STABILITY_MIN_ARI:
        return None
    inertias = np.array([inertia for _, inertia in runs])
    spread = (
        float((inertias.max() - inertias.min()) / inertias.min())
        if np.all(np.isfinite(inertias)) and inertias.min() > 0
        else float("nan")
    )
    n_init = params.get("n_init", None)
    where = f" on a random subsample of {rows.size:,} rows" if rows.size < X.shape[0] else ""
    return Finding(
        "unstable-across-seeds",
        Severity.WARNING,
        "The clusters change with the random seed",
        f"{STABILITY_RUNS} refits with other seeds{where} agree with one another only "
        f"down to an adjusted Rand index of {lowest:.2f} (median "
        f"{float(np.median(agreements)):.2f}; 1 is identical labels); their inertia varies "
        f"by {spread:.1%}.",
        "Different seeds reach different local optima: the segments you get depend on "
        "chance, and will change when the model is refitted.",
        f"Raise n_init (now {n_init!r}) so that the best of more starts is kept. If the "
        "labels stay unstable, the data may not hold K clear groups: compare other K "
        "(silhouette, gap statistic) before trusting these segments.",
        {
            "min_ari": lowest,
            "median_ari": float(np.median(agreements)),
            "inertia_spread": spread,
            "runs": STABILITY_RUNS,
            "rows_examined": int(rows.size),
        },
    )


def _reseedable(model, notes):
    """A clone of the model and its parameters when it can be refitted with other seeds;
    else None, with the reason added to ``notes``."""
    init = getattr(model, "init", "k-means++")
    if not isinstance(init, str):
        notes.append("Stability across seeds was not checked: the model starts from given centers.")
        return None
    try:
        template = clone(model)
        params = template.get_params()
    except (TypeError, RuntimeError, AttributeError):
        notes.append(
            f"Stability across seeds was not checked: {type(model).__name__} cannot be cloned."
        )
        return None
    if "random_state" not in params:
        notes.append("Stability across seeds was not checked: the model takes no random_state.")
        return None
    return template, params


def _reseeded_runs(template, sample, seeds):
    """(labels, inertia) of the template refitted on ``sample`` with every seed."""
    runs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in seeds:
            refit = clone(template).set_params(random_state=int(seed))
            refit.fit(sample)
            runs.append((np.asarray(refit.labels_), float(getattr(refit, "inertia_", np.nan))))
    return runs


# -- the entry point ------------------------------------------------------------------------


def diagnose(X, model=None, feature_names=None, *, n_clusters=None, random_state=None):
    """Check data and a K-Means clustering of it for the usual problems.

    Runs the checks of a K-Means debugging guide and returns what it found, most
    serious first. On the table: non-numeric and date columns (the numeric part is
    still examined), missing values, features on very different scales, constant
    columns, duplicate rows, one feature only, more features than the rows support,
    concentrated distances. On the clusters of ``model`` (or of a KMeans fitted
    here): empty, tiny and very unbalanced clusters, outliers and their pull on the
    centers, dense groups that K-Means cuts across (elongated or non-convex shapes,
    compared with HDBSCAN and a Gaussian mixture) or merges, a fit that stopped
    before converging, and labels that change with the seed.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        The rows as the model sees them (scaled if the model was fitted on scaled
        data). Text, categorical and date columns of a DataFrame are reported and
        left out of the other checks.
    model : fitted KMeans, default=None
        A fitted k-means estimator (centroids' or scikit-learn's; anything with
        ``cluster_centers_``). Rows are assigned to their nearest center. None fits a
        :class:`centroids.KMeans` on the numeric columns.
    feature_names : sequence of str, default=None
        Names of X's columns; by default a DataFrame's columns, else ``x0, x1, ...``.
    n_clusters : int, default=None
        K for the model fitted when ``model`` is None; None chooses it by the best
        silhouette from 2 to ``AUTO_K_MAX`` on a subsample.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsamples, the fitted model and the refits of the stability check:
        the same seed gives the same diagnosis.

    Returns
    -------
    Diagnosis
        ``findings`` (each with code, severity, title, observed, why, action,
        details), ``ok``, ``by_code``, ``to_frame()``; ``str()`` is a plain-text
        report.

    Raises
    ------
    ValueError
        If ``model`` is not fitted, was fitted on other columns than X's numeric
        ones, or ``n_clusters`` is not a positive integer; if X is empty.
    TypeError
        If ``model`` has no ``cluster_centers_``, or X is sparse (diagnose examines
        dense tables).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(300, centers=3, random_state=0)
    >>> X[:, 1] *= 1000  # one feature in other units
    >>> diagnosis = diagnose(X, n_clusters=3, random_state=0)
    >>> diagnosis.ok, diagnosis.codes[0]
    (False, 'unscaled-features')
    """
    rng = check_random_state(random_state)
    notes = []
    split = split_columns(X, feature_names, where="diagnose")
    findings = _non_numeric_findings(split)
    numeric, names = split.numeric, split.numeric_names
    if numeric.shape[1] == 0:
        findings.append(
            Finding(
                "no-numeric-columns",
                Severity.ERROR,
                "No numeric column",
                f"None of the {len(split.categorical) + len(split.other)} column(s) holds numbers.",
                "K-Means clusters numbers; it has nothing to work with.",
                "Encode the categories (OneHotEncoder) or use k-modes for purely categorical data.",
            )
        )
        return _diagnosis(findings, split.n_samples, 0, notes=notes)
    missing, complete = _missing_value_finding(numeric, names)
    if missing is not None:
        findings.append(missing)
        numeric = numeric[complete]
        if numeric.shape[0] == 0:
            return _diagnosis(findings, 0, len(names), notes=notes)
    findings.extend(_table_findings(numeric, names, rng))
    n_samples = numeric.shape[0]
    if model is None:
        if n_clusters is not None and (
            not isinstance(n_clusters, (int, np.integer)) or n_clusters < 1
        ):
            raise ValueError(f"n_clusters must be a positive integer or None; got {n_clusters!r}.")
        if n_samples < 3:
            notes.append(f"No model was fitted: {n_samples} row(s) are too few to cluster.")
            return _diagnosis(findings, n_samples, len(names), notes=notes)
        X_model, model_names = numeric, names
        model = _fit_own_model(X_model, n_clusters, rng, notes)
        centers = np.asarray(model.cluster_centers_, dtype=np.float64)
    else:
        frame_rows_dropped = missing is not None and isinstance(X, pd.DataFrame)
        X_frame = X.loc[complete] if frame_rows_dropped else X
        X_model, model_names, centers = _model_view(X_frame, numeric, names, model)
        centers = centers.astype(np.float64)
    labels, sq_distances, _ = _nearest_centers(X_model, centers)
    k = centers.shape[0]
    sizes = np.bincount(labels, minlength=k)
    size_findings = _size_findings(sizes, n_samples)
    findings.extend(size_findings)
    tiny = next((f.details["clusters"] for f in size_findings if f.code == "tiny-clusters"), [])
    outliers = _outlier_finding(X_model, model_names, labels, sq_distances, centers, tiny)
    if outliers is not None:
        findings.append(outliers)
    seed = int(rng.randint(np.iinfo(np.int32).max))
    findings.extend(_structure_findings(X_model, labels, centers, rng, seed, notes))
    converged = _convergence_finding(X_model, labels, centers, model)
    if converged is not None:
        findings.append(converged)
    stability = _stability_finding(X_model, model, rng, notes)
    if stability is not None:
        findings.append(stability)
    return _diagnosis(findings, n_samples, X_model.shape[1], k, labels, model, notes)


def _diagnosis(findings, n_samples, n_features, n_clusters=None, labels=None, model=None, notes=()):
    ordered = sorted(findings, key=lambda finding: -int(finding.severity))
    return Diagnosis(tuple(ordered), n_samples, n_features, n_clusters, labels, model, tuple(notes))
