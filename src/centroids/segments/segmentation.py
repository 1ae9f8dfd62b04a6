"""A segmentation: a table's preparation, the K-Means model over it and segment names.

:class:`Segmentation` is what the command line stores, the REST service serves and
:mod:`centroids.store.scoring_sql` turns into SQL: everything needed to assign new rows of
a table to segments (feature names and types, the preparation, the centers), with the
parameters, quality metrics, a fingerprint of the training data, the creation time and the
software versions that made it. :meth:`Segmentation.to_dict` is JSON-safe and
:meth:`Segmentation.from_dict` rebuilds an object that predicts identically, without
refitting and without pickle.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import warnings
from datetime import UTC, datetime
from numbers import Integral, Real

import numpy as np
import pandas as pd

from .._utils.validation import unchanged_on_error
from ..data.prepare import (
    Preparation,
    _as_frame,
    check_description,
    model_missing_option,
    rows_with_observed_values,
)

__all__ = ["Segmentation", "default_gamma", "embedding_weight", "mixed_preparation"]

_FORMAT = "centroids.Segmentation"
_FORMAT_VERSION = 1

#: Rows above which the silhouette is computed on a random sample of this many rows.
SILHOUETTE_SAMPLE_SIZE = 10_000

_RESERVED_KMEANS_PARAMS = ("n_clusters", "init", "n_init", "random_state")
_RESERVED_KPROTOTYPES_PARAMS = (*_RESERVED_KMEANS_PARAMS, "gamma", "categorical")

#: The clustering models a Segmentation fits.
MODELS = ("kmeans", "kprototypes")

#: Runs of KPrototypes for ``n_init='auto'`` (KPrototypes' own default).
KPROTOTYPES_AUTO_N_INIT = 10


def default_gamma(numeric):
    """KPrototypes' default ``gamma``: half the mean standard deviation of numeric columns.

    1.0 when there is no numeric column or all are constant (as
    :class:`centroids.models.kprototypes.KPrototypes` does).

    Examples
    --------
    >>> import numpy as np
    >>> from centroids.segments.segmentation import default_gamma
    >>> default_gamma(np.array([[0.0, 1.0], [2.0, 1.0]]))
    0.25
    """
    numeric = np.asarray(numeric, dtype=np.float64)
    if numeric.ndim != 2 or numeric.shape[1] == 0 or numeric.shape[0] == 0:
        return 1.0
    gamma = 0.5 * float(np.mean(np.std(numeric, axis=0)))
    return gamma if gamma > 0 else 1.0


def embedding_weight(gamma):
    """The one-hot weight ``w = sqrt(gamma / 2)`` that turns k-prototypes into K-Means.

    With one-hot cells of value ``w`` two different categories of a column are
    ``2 w**2 = gamma`` apart in squared Euclidean distance, and equal ones 0, so the squared
    distance of a prepared row to a center whose categorical blocks are the one-hot of
    its modes is exactly the k-prototypes cost.

    Examples
    --------
    >>> from centroids.segments.segmentation import embedding_weight
    >>> 2 * embedding_weight(0.5) ** 2
    0.5
    """
    return math.sqrt(float(gamma) / 2.0)


def mixed_preparation(
    frame,
    *,
    columns=None,
    id_column=None,
    categorical=None,
    scale="standard",
    missing="drop",
    gamma=None,
):
    """The preparation of a k-prototypes segmentation, its model matrix and ``gamma``.

    The numeric columns are prepared as usual (scaling, missing values); ``gamma`` (None:
    :func:`default_gamma` of the prepared numeric columns of the rows kept) sets the
    one-hot weight :func:`embedding_weight`, so squared Euclidean distances in the
    returned matrix are k-prototypes costs.

    Parameters
    ----------
    frame : DataFrame or array-like
        The training table.
    columns, id_column, categorical, scale, missing
        As in :class:`centroids.data.prepare.Preparation`.
    gamma : float or None, default=None
        The cost of one categorical mismatch; None computes :func:`default_gamma`.

    Returns
    -------
    preparation : Preparation
        Fitted, with ``categorical_weight = sqrt(gamma / 2)``.
    Z : ndarray of shape (n_kept, n_model_features)
        The prepared rows kept.
    gamma : float
        The weight of one categorical mismatch.

    Raises
    ------
    ValueError
        When no feature is categorical, or ``gamma`` is not a positive number.

    Examples
    --------
    >>> import pandas as pd
    >>> from centroids.segments.segmentation import mixed_preparation
    >>> df = pd.DataFrame({"x": [0.0, 2.0], "c": ["a", "b"]})
    >>> preparation, Z, gamma = mixed_preparation(df, scale="none")
    >>> gamma, Z.tolist()
    (0.5, [[0.0, 0.5, 0.0], [2.0, 0.0, 0.5]])
    """
    if gamma is not None and (
        isinstance(gamma, bool)
        or not isinstance(gamma, Real)
        or not math.isfinite(gamma)
        or gamma <= 0
    ):
        raise ValueError(f"gamma must be a positive number or None; got {gamma!r}.")
    settings = {
        "columns": columns,
        "id_column": id_column,
        "categorical": categorical,
        "scale": scale,
        "missing": missing,
    }
    numeric_only = Preparation(**settings)
    Z = numeric_only.fit_transform(frame)
    kinds = numeric_only.feature_types_
    if "categorical" not in kinds.values():
        raise ValueError(
            "model='kprototypes' needs at least one categorical column, but the features "
            f"{list(kinds)} are all numeric. Use model='kmeans', or name the categorical "
            "columns in categorical."
        )
    if gamma is None:
        numeric_names = [name for name, kind in kinds.items() if kind == "numeric"]
        positions = [numeric_only.model_feature_names_.index(n) for n in numeric_names]
        gamma = default_gamma(Z[:, positions])
    gamma = float(gamma)
    preparation = Preparation(**settings, categorical_weight=embedding_weight(gamma))
    return preparation, preparation.fit_transform(frame), gamma


def _check_size_bound(value, name):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number of rows or a share in (0, 1]; got {value!r}.")
    if isinstance(value, Integral) or (float(value).is_integer() and value > 1):
        if value < 0:
            raise ValueError(f"{name}={value} must be >= 0 rows.")
    elif not 0 < float(value) <= 1:
        raise ValueError(
            f"{name}={value!r}: a share of the rows must be in (0, 1]; give a whole number "
            "for a count of rows."
        )


def _rows_of(value, n_rows, rounding):
    """A size bound in rows: an int as it is, a float share of ``n_rows`` rounded."""
    if value is None:
        return None
    if isinstance(value, Integral) or (float(value).is_integer() and value > 1):
        return int(value)
    return int(rounding(float(value) * n_rows))


def _centers_holder(centers, kmeans_params=None, policy="impute"):
    """A centroids.KMeans that holds given centers (predicts without being fitted); it
    predicts rows with holes as the table's missing-value ``policy`` says."""
    from ..models import KMeans

    options = {"missing": model_missing_option(policy)}
    options.update(
        {k: v for k, v in (kmeans_params or {}).items() if k not in _RESERVED_KMEANS_PARAMS}
    )
    model = KMeans(n_clusters=centers.shape[0], **options)
    model.cluster_centers_ = centers
    model.n_features_in_ = centers.shape[1]
    return model


def _silhouette(Z, labels, random_state):
    """The silhouette coefficient, on a sample of SILHOUETTE_SAMPLE_SIZE rows when larger."""
    if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= len(labels):
        return None
    if len(labels) > SILHOUETTE_SAMPLE_SIZE:
        seed = random_state if isinstance(random_state, Integral) else 0
        rows = np.random.RandomState(seed).choice(len(labels), SILHOUETTE_SAMPLE_SIZE, False)
        rows.sort()
        Z, labels = Z[rows], labels[rows]
        if len(np.unique(labels)) < 2:
            return None
    try:
        from ..evaluate.metrics import silhouette_score
    except ImportError:
        from sklearn.metrics import silhouette_score
    return float(silhouette_score(Z, labels))


def _fingerprint(Z, preparation):
    """sha256 of the preparation's statistics and the prepared rows sorted lexicographically.

    Sorting makes the fingerprint independent of the row order; -0.0 is written as 0.0.
    The statistics (column names, centers, scales, medians, categories, missing counts)
    make data that prepares to the same rows (a shifted column under standard scaling)
    fingerprint differently.
    """
    digest = hashlib.sha256()
    description = preparation.to_dict()
    statistics = {key: description[key] for key in ("columns", "n_rows", "missing_counts")}
    digest.update(json.dumps(statistics, sort_keys=True).encode())
    digest.update(np.asarray(Z.shape, dtype="<i8").tobytes())
    if Z.size:
        order = np.lexsort(Z.T[::-1])
        rows = np.ascontiguousarray(Z[order], dtype="<f8") + 0.0
        digest.update(rows.tobytes())
    return digest.hexdigest()


def _environment():
    import numba
    import sklearn

    from .. import __version__

    return {
        "centroids": __version__,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
        "threads": int(numba.get_num_threads()),
    }


def _json_safe(value):
    """Parameters as JSON: numbers, strings, lists and dicts; anything else by its repr."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, float):
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return repr(value)


def _centers_in_original_units(preparation, centers, category_shares=None):
    """``inverse_transform(centers, shares=True)``, with the given segment shares, if any.

    A k-prototypes center's one-hot block is its mode, not its category mix; the mix is
    kept apart (``category_shares``: ``{'column=level': [share per segment]}``).
    """
    frame = preparation.inverse_transform(centers, shares=True)
    for column, values in (category_shares or {}).items():
        if column in frame.columns:
            frame[column] = np.asarray(values, dtype=np.float64)
    return frame


class Segmentation:
    """Preparation + K-Means (or K-Prototypes) + segment names: segments, ready to store.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of segments.
    scale : {'standard', 'robust', 'minmax', 'none'}, default='standard'
        Scaling of the numeric columns (see :class:`centroids.data.prepare.Preparation`).
    categorical : list of str or None, default=None
        Columns to one-hot encode; None infers them from the dtypes (object, category,
        bool and string columns).
    columns : list of str or None, default=None
        Feature columns; None means every column but ``id_column``.
    id_column : str or None, default=None
        A column that identifies rows, never a feature.
    missing : {'drop', 'impute', 'kpod', 'masked'}, default='drop'
        Missing numeric values (see :data:`centroids.data.prepare.MISSING_POLICIES`):
        rows with one are left out of the fit ('drop'), the value is replaced by the
        training median ('impute', formerly 'median'), or every row enters the fit with
        its holes ('kpod', 'masked': ``KMeans(missing=...)``; not with
        model='kprototypes'). Under every policy each row with at least one observed
        value gets a segment, in ``labels_`` and in :meth:`predict` (with 'drop', the
        nearest center over its observed columns). Missing categorical values form
        their own level.
    random_state : int, RandomState instance or None, default=None
        Seed of the K-Means initialisation; the same seed gives the same segmentation.
    init : 'k-means++', 'random', 'k-means||', 'afk-mc2', DataFrame or array, \
            default='k-means++'
        The K-Means initialisation. A DataFrame gives initial centers in the units of the
        input columns (for example a previous version's ``centers_original_``, to
        warm-start a retrain): it goes through this segmentation's preparation
        (:meth:`Preparation.transform_centers`: category share columns, when present,
        give the one-hot blocks). A NumPy
        array gives centers in model space.
        With ``model='kprototypes'``: 'k-means++' (or 'k-prototypes++') and 'random'
        are KPrototypes' own seedings; initial centers (DataFrame or array) cannot start
        a k-prototypes fit: a UserWarning says so and 'k-prototypes++' seeds it.
    n_init : 'auto' or int, default='auto'
        Number of K-Means runs, as in :class:`centroids.KMeans`; with
        ``model='kprototypes'`` the number of KPrototypes runs ('auto': 10).
    kmeans_params : dict or None, default=None
        Further :class:`centroids.KMeans` parameters (``max_iter``, ``tol``,
        ``algorithm``, ``refine``...); with ``model='kprototypes'``, further
        :class:`centroids.models.kprototypes.KPrototypes` parameters (``max_iter``,
        ``refine``).
    model : {'kmeans', 'kprototypes'}, default='kmeans'
        'kmeans': K-Means on the prepared matrix (categorical columns one-hot encoded).
        'kprototypes': K-Prototypes (Huang, 1998) on the prepared numeric columns and
        the categorical columns as they are (a missing category is a level of its own),
        so a segment's categorical profile is its mode; needs a categorical column.
        See Notes.
    gamma : float or None, default=None
        K-Prototypes only: the cost of one categorical mismatch against squared
        distances of the prepared numeric columns. None: half the mean standard
        deviation of the prepared numeric columns (0.5 under standard scaling; 1.0
        without numeric columns), KPrototypes' default.
    size_min, size_max : int, float or None, default=None
        Bounds on every segment's size (K-Means only): an int counts rows, a float in
        (0, 1] is a share of the rows fitted (``floor(size_min * n)`` and
        ``ceil(size_max * n)``; a share keeps its meaning when a retrain sees more or
        fewer rows). Either one set fits
        :class:`centroids.SizeConstrainedKMeans` (exact assignment under the bounds at
        every iteration). The bounds count the rows of the fit; with ``missing='drop'``
        a row left out for a hole is placed afterwards at its nearest center. A
        bounded segmentation's :meth:`predict` applies the bounds scaled to the batch
        (``floor(lo * m / n)`` and ``ceil(hi * m / n)`` for ``m`` rows after a fit on
        ``n``), so scoring the training table gives back the fit's labels, within the
        bounds; one row at a time it is the nearest center.

    Attributes
    ----------
    preparation_ : Preparation
        The fitted preparation.
    model_ : centroids.KMeans
        The fitted K-Means model (on the model matrix). With ``model='kprototypes'``, a
        KMeans holding ``centers_`` (the k-prototypes centers in model space), which is
        what :meth:`predict` uses.
    kprototypes_ : KPrototypes or None
        With ``model='kprototypes'``, the fitted KPrototypes (not kept by
        :meth:`to_dict`: None after :meth:`from_dict`); None with K-Means.
    gamma_ : float or None
        The mismatch cost used by K-Prototypes (None with K-Means).
    centers_ : ndarray of shape (n_clusters, n_model_features)
        Centers in model space.
    centers_original_ : DataFrame
        One row per segment in the units of the input columns: the mean of every numeric
        column, the most frequent category of every categorical column, and the share of
        every category (columns ``'column=category'``). With K-Prototypes the category
        column is the prototype's mode (the most frequent category, ties to the first
        level) and the shares are the segment's shares.
    labels_ : ndarray of shape (n_rows,), int
        Segment of every training row (-1 only for a row with nothing observed). Not
        kept by :meth:`to_dict` (None after :meth:`from_dict`).
    sizes_ : ndarray of shape (n_clusters,), int
        Training rows per segment.
    inertia_ : float
        Sum of squared distances of the training rows to their center, in model space
        (with K-Prototypes: its cost, which is that sum, see Notes).
    spread_ : float
        ``sqrt(inertia_ / n_rows_used)``: the typical distance of a row to its center,
        in model space. Two centers much closer than this describe the same segment.
    feature_names_ : list of str
        The input columns used.
    feature_types_ : dict
        ``{column: 'numeric' | 'categorical'}``.
    fingerprint_ : str
        sha256 (hex) of the preparation's statistics (column names and types, centers,
        scales, medians, categories and their shares, missing counts) and of the prepared
        training rows, sorted lexicographically so that the same rows in another order give the same
        fingerprint (the preparation's statistics are exactly rounded sums, independent
        of the row order). The same data prepared differently (another ``scale``) gives
        another fingerprint.
    created_at_ : str
        When fit finished, UTC, ISO 8601.
    metrics_ : dict
        ``inertia``, ``silhouette`` (on a sample of 10,000 rows beyond that),
        ``davies_bouldin``, ``calinski_harabasz`` (None when undefined, e.g. one segment),
        ``n_rows`` (rows given), ``n_used`` and ``n_dropped``. All computed in model
        space (with K-Prototypes: Euclidean distances of the weighted one-hot embedding,
        whose squares are k-prototypes costs); with K-Prototypes also ``gamma``.
    params_ : dict
        The parameters, JSON-safe (an array or DataFrame ``init`` is recorded as
        ``'array'``).
    environment_ : dict
        Versions of centroids, NumPy, Numba, scikit-learn, pandas and Python, and the
        number of Numba threads.
    names_ : list of str
        A short, unique, descriptive name per segment (see
        :func:`centroids.segments.naming.suggest_segment_names`).

    Notes
    -----
    With ``model='kprototypes'`` the preparation one-hot encodes the categorical columns
    with cells of value ``w = sqrt(gamma / 2)`` (``Preparation.categorical_weight``, see
    :func:`mixed_preparation`). A row is then ``2 w**2 = gamma`` from a center whose block
    is the one-hot of another category, 0 from one of its own category, and ``w**2``
    from every center when its category was not seen in fit (the same for all centers).
    ``centers_`` holds the k-prototypes centers in that space: the means of the prepared
    numeric columns and ``w`` times the one-hot of each categorical mode. Squared
    Euclidean distance to a center is therefore the k-prototypes cost, and everything
    that works on centers in model space (:meth:`predict`, :meth:`to_dict`, the store's
    segment alignment, :func:`centroids.store.scoring_sql.segmentation_to_sql`) gives the
    k-prototypes assignment unchanged (the lowest index on an exact tie).

    --------
    >>> import pandas as pd
    >>> from centroids.segments.segmentation import Segmentation
    >>> df = pd.DataFrame({"income": [20, 22, 21, 80, 82, 81],
    ...                    "plan": ["basic", "basic", "basic", "gold", "gold", "basic"]})
    >>> seg = Segmentation(n_clusters=2, random_state=0).fit(df)
    >>> seg.sizes_.tolist(), seg.labels_.tolist() == seg.predict(df).tolist()
    ([3, 3], True)
    >>> sorted(seg.centers_original_["income"].round(1).tolist())
    [21.0, 81.0]
    >>> sorted(seg.names_)
    ['income high · plan gold', 'income low · plan basic']

    K-Prototypes: segments described by the mode of each categorical column.

    >>> mixed = Segmentation(n_clusters=2, model="kprototypes", random_state=0).fit(df)
    >>> mixed.centers_original_.sort_values("income")["plan"].tolist()
    ['basic', 'gold']
    >>> bool((mixed.predict(df) == mixed.kprototypes_.labels_).all())
    True
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        scale="standard",
        categorical=None,
        columns=None,
        id_column=None,
        missing="drop",
        random_state=None,
        init="k-means++",
        n_init="auto",
        kmeans_params=None,
        model="kmeans",
        gamma=None,
        size_min=None,
        size_max=None,
    ):
        self.n_clusters = n_clusters
        self.scale = scale
        self.categorical = categorical
        self.columns = columns
        self.id_column = id_column
        self.missing = missing
        self.random_state = random_state
        self.init = init
        self.n_init = n_init
        self.kmeans_params = kmeans_params
        self.model = model
        self.gamma = gamma
        self.size_min = size_min
        self.size_max = size_max

    def get_params(self):
        """The constructor parameters, as a dict."""
        return {
            "n_clusters": self.n_clusters,
            "scale": self.scale,
            "categorical": self.categorical,
            "columns": self.columns,
            "id_column": self.id_column,
            "missing": self.missing,
            "random_state": self.random_state,
            "init": self.init,
            "n_init": self.n_init,
            "kmeans_params": self.kmeans_params,
            "model": self.model,
            "gamma": self.gamma,
            "size_min": self.size_min,
            "size_max": self.size_max,
        }

    def __repr__(self):
        shown = []
        for key, value in self.get_params().items():
            default = Segmentation.__init__.__kwdefaults__.get(key, 8)
            if isinstance(value, (pd.DataFrame, np.ndarray)):
                shown.append(f"{key}=<{type(value).__name__} {value.shape}>")
            elif value != default:
                shown.append(f"{key}={value!r}")
        return f"Segmentation({', '.join(shown)})"

    # -- fitting ------------------------------------------------------------------------

    def _kmeans(self, init):
        from ..models import KMeans

        params = dict(self.kmeans_params or {})
        clashes = [name for name in _RESERVED_KMEANS_PARAMS if name in params]
        if clashes:
            raise ValueError(
                f"kmeans_params must not set {clashes}: they are Segmentation's own "
                "parameters; pass them to Segmentation directly."
            )
        unknown = sorted(set(params) - set(KMeans().get_params()))
        if unknown:
            raise ValueError(
                f"kmeans_params has unknown KMeans parameter(s) {unknown}; known: "
                f"{sorted(set(KMeans().get_params()) - set(_RESERVED_KMEANS_PARAMS))}."
            )
        params.setdefault("missing", model_missing_option(self.missing))
        return KMeans(
            n_clusters=self.n_clusters,
            init=init,
            n_init=self.n_init,
            random_state=self.random_state,
            **params,
        )

    def size_bounds(self, n_rows):
        """``(lo, hi)`` in rows for a fit on ``n_rows`` rows (None where unbounded)."""
        lo = _rows_of(self.size_min, n_rows, np.floor)
        hi = _rows_of(self.size_max, n_rows, np.ceil)
        return lo, hi

    def _size_constrained(self, init, n_rows):
        from ..engine.constrained import resolve_size_bounds
        from ..models import SizeConstrainedKMeans

        lo, hi = self.size_bounds(n_rows)
        resolve_size_bounds(n_rows, self.n_clusters, lo, hi, where=f"k={self.n_clusters}")
        n_init = self.n_init
        if n_init == "auto":
            n_init = 1 if not isinstance(init, str) else 3
        return SizeConstrainedKMeans(
            self.n_clusters,
            size_min=lo,
            size_max=hi,
            init=init,
            n_init=int(n_init),
            random_state=self.random_state,
        )

    def _model_space_init(self, preparation):
        init = self.init
        if isinstance(init, pd.DataFrame):
            if len(init) != self.n_clusters:
                raise ValueError(
                    f"init has {len(init)} center row(s), but n_clusters={self.n_clusters}; "
                    "give one row per segment."
                )
            centers = preparation.transform_centers(init)
            if np.isnan(centers).any():
                raise ValueError(
                    "init has missing numeric values; give every numeric column a value "
                    "in every center row."
                )
            return centers
        return init

    def fit(self, data):
        """Prepare the table, cluster it and name the segments.

        Parameters
        ----------
        data : DataFrame or array-like of shape (n_rows, n_columns)
            The training table (an array's columns are named ``x0 .. x{d-1}``).

        Returns
        -------
        self : Segmentation
        """
        with unchanged_on_error(self):
            return self._fit(data)

    def _fit(self, data):
        if not isinstance(self.n_clusters, Integral) or self.n_clusters < 1:
            raise ValueError(f"n_clusters must be a positive integer; got {self.n_clusters!r}.")
        if self.model not in MODELS:
            raise ValueError(
                f"model must be one of {', '.join(map(repr, MODELS))}; got {self.model!r}."
            )
        bounded = self.size_min is not None or self.size_max is not None
        if bounded:
            _check_size_bound(self.size_min, "size_min")
            _check_size_bound(self.size_max, "size_max")
            if self.model != "kmeans" or self.missing in ("kpod", "masked"):
                raise ValueError(
                    "size_min / size_max bound K-Means segments of complete rows; they "
                    f"do not apply with model={self.model!r}, missing={self.missing!r}."
                )
        if self.model == "kprototypes":
            return self._fit_kprototypes(data)
        if self.gamma is not None:
            raise ValueError(
                f"gamma={self.gamma!r} is a K-Prototypes parameter; set model='kprototypes' "
                "or leave gamma=None."
            )
        preparation = Preparation(
            columns=self.columns,
            id_column=self.id_column,
            categorical=self.categorical,
            scale=self.scale,
            missing=self.missing,
        )
        frame = _as_frame(data, "Segmentation.fit")
        Z = preparation.fit_transform(frame)
        if Z.shape[0] < self.n_clusters:
            raise ValueError(
                f"{Z.shape[0]} row(s) to cluster ({preparation.n_dropped_} dropped for a "
                f"missing value) but n_clusters={self.n_clusters}; lower n_clusters or give "
                "more rows."
            )
        if bounded:
            model = self._size_constrained(self._model_space_init(preparation), Z.shape[0])
        else:
            model = self._kmeans(self._model_space_init(preparation))
        model.fit(Z)
        if bounded:
            fitted = model
            model = _centers_holder(
                np.asarray(fitted.cluster_centers_, dtype=np.float64), policy=self.missing
            )
            model.labels_ = fitted.labels_
            model.inertia_ = fitted.inertia_
            model.n_iter_ = fitted.n_iter_
        self.kprototypes_ = None
        self.gamma_ = None
        self._set_fitted(preparation, model, Z, model.labels_, model.inertia_)
        self._set_training_labels(preparation, model.labels_, frame)
        return self

    def _set_training_labels(self, preparation, labels_used, frame):
        labels = np.full(preparation.n_rows_, -1, dtype=np.int64)
        labels[preparation.row_mask_] = labels_used
        left_out = ~preparation.row_mask_
        if left_out.any():
            # Rows the fit left out (a hole under 'drop'): nearest center over the
            # observed columns, as predict gives them.
            labels[left_out] = self.predict(frame.loc[left_out])
        self.labels_ = labels

    def _kprototypes(self):
        from ..models.kprototypes import KPrototypes

        params = dict(self.kmeans_params or {})
        clashes = [name for name in _RESERVED_KPROTOTYPES_PARAMS if name in params]
        if clashes:
            raise ValueError(
                f"kmeans_params must not set {clashes}: they are Segmentation's own "
                "parameters (or set by it); pass them to Segmentation directly."
            )
        known = set(KPrototypes().get_params()) - set(_RESERVED_KPROTOTYPES_PARAMS)
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(
                f"kmeans_params has unknown KPrototypes parameter(s) {unknown} for "
                f"model='kprototypes'; known: {sorted(known)}."
            )
        init = self.init
        if isinstance(init, str):
            seedings = {"k-means++": "k-prototypes++", "k-prototypes++": "k-prototypes++"}
            seedings["random"] = "random"
            if init not in seedings:
                raise ValueError(
                    f"init={init!r} is not a K-Prototypes seeding; with model='kprototypes' "
                    "use 'k-means++' (k-prototypes++) or 'random'."
                )
            init = seedings[init]
        else:
            warnings.warn(
                "K-Prototypes cannot start from given centers (init is a "
                f"{type(init).__name__}); it is seeded with k-prototypes++ instead.",
                UserWarning,
                stacklevel=4,
            )
            init = "k-prototypes++"
        n_init = self.n_init
        if n_init == "auto":
            n_init = KPROTOTYPES_AUTO_N_INIT
        elif isinstance(n_init, bool) or not isinstance(n_init, Integral) or n_init < 1:
            raise ValueError(f"n_init must be 'auto' or a positive integer; got {n_init!r}.")
        return KPrototypes(
            n_clusters=self.n_clusters,
            init=init,
            n_init=int(n_init),
            random_state=self.random_state,
            **params,
        )

    def _fit_kprototypes(self, data):
        if self.missing in ("kpod", "masked"):
            raise ValueError(
                f"missing={self.missing!r} clusters rows with holes by K-Means; "
                "model='kprototypes' needs missing='drop' or 'impute'."
            )
        frame = _as_frame(data, "Segmentation.fit")
        preparation, Z, gamma = mixed_preparation(
            frame,
            columns=self.columns,
            id_column=self.id_column,
            categorical=self.categorical,
            scale=self.scale,
            missing=self.missing,
            gamma=self.gamma,
        )
        if Z.shape[0] < self.n_clusters:
            raise ValueError(
                f"{Z.shape[0]} row(s) to cluster ({preparation.n_dropped_} dropped for a "
                f"missing value) but n_clusters={self.n_clusters}; lower n_clusters or give "
                "more rows."
            )
        categorical = [n for n, kind in preparation.feature_types_.items() if kind != "numeric"]
        kprototypes = self._kprototypes().set_params(gamma=gamma, categorical=categorical)
        table, blocks = _kprototypes_table(preparation, Z)
        kprototypes.fit(table, None)
        labels = np.asarray(kprototypes.labels_, dtype=np.int64)
        centers, shares = _embedded_prototypes(
            preparation, kprototypes.cluster_centers_, labels, table, blocks, gamma,
            (self.n_clusters, Z.shape[1]),
        )  # fmt: skip
        model = _centers_holder(centers, policy=self.missing)
        model.labels_ = labels
        model.inertia_ = float(kprototypes.cost_)
        model.n_iter_ = int(kprototypes.n_iter_)
        self.kprototypes_ = kprototypes
        self.gamma_ = gamma
        self._set_fitted(preparation, model, Z, labels, kprototypes.cost_, category_shares=shares)
        self._set_training_labels(preparation, labels, frame)
        return self

    def _set_fitted(self, preparation, model, Z, labels, inertia, *, category_shares=None):
        from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

        from .naming import suggest_segment_names

        random_state = self.random_state
        n_used = Z.shape[0]
        centers = np.asarray(model.cluster_centers_, dtype=np.float64)
        self.preparation_ = preparation
        self.model_ = model
        self.centers_ = centers
        self._category_shares = category_shares
        self.centers_original_ = _centers_in_original_units(preparation, centers, category_shares)
        self.sizes_ = np.bincount(labels, minlength=self.n_clusters).astype(np.int64)
        self.inertia_ = float(inertia)
        self.spread_ = float(np.sqrt(self.inertia_ / n_used))
        self.feature_names_ = list(preparation.feature_names_)
        self.feature_types_ = dict(preparation.feature_types_)
        self.fingerprint_ = _fingerprint(Z, preparation)
        n_distinct = len(np.unique(labels))
        defined = 2 <= n_distinct < n_used
        complete = ~np.isnan(Z).any(axis=1)
        if not complete.all():
            # The scores need whole rows: they judge the fit on the rows without a hole.
            Z, labels = Z[complete], labels[complete]
            defined = defined and 2 <= len(np.unique(labels)) < len(labels)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.metrics_ = {
                "inertia": self.inertia_,
                "silhouette": _silhouette(Z, labels, random_state) if defined else None,
                "davies_bouldin": float(davies_bouldin_score(Z, labels)) if defined else None,
                "calinski_harabasz": (
                    float(calinski_harabasz_score(Z, labels)) if defined else None
                ),
                "n_rows": int(preparation.n_rows_),
                "n_used": int(n_used),
                "n_dropped": int(preparation.n_dropped_),
                "missing": self.missing,
                "n_rows_with_holes": int(preparation.n_rows_with_holes_),
            }
            if self.gamma_ is not None:
                self.metrics_["gamma"] = float(self.gamma_)
        params = self.get_params()
        if not isinstance(params["init"], str):
            params["init"] = "array"
        self.params_ = _json_safe(params)
        self.environment_ = _environment()
        self.created_at_ = datetime.now(UTC).isoformat(timespec="seconds")
        self.names_ = suggest_segment_names(self)

    # -- using a fitted segmentation ------------------------------------------------------

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise ValueError(
                "This Segmentation is not fitted yet; call fit first, or build it with "
                "Segmentation.from_dict."
            )

    def transform(self, data):
        """The model matrix of new rows (NaN where a numeric value is missing under 'drop')."""
        self._check_fitted()
        return self.preparation_.transform(data)

    def predict_with_distance(self, data):
        """Segment of every row and its Euclidean distance to that segment's center.

        Parameters
        ----------
        data : DataFrame or array-like
            Rows with the feature columns (other columns are ignored).

        Returns
        -------
        labels : ndarray of shape (n_rows,), int64
            The closest center (the lowest index on an exact tie); a row with holes is
            placed over its observed columns (see ``missing``); -1 only for a row with
            nothing observed.
        distances : ndarray of shape (n_rows,), float64
            Distance in model space to that center; NaN where the label is -1. With
            ``model='kprototypes'`` its square is the row's k-prototypes cost (plus
            ``gamma / 2`` per categorical value not seen in fit).
        """
        self._check_fitted()
        Z = self.preparation_.transform(data)
        complete = ~np.isnan(Z).any(axis=1)
        labels = np.full(Z.shape[0], -1, dtype=np.int64)
        distances = np.full(Z.shape[0], np.nan)
        if complete.any():
            rows = Z[complete]
            assigned = self._bounded_labels(rows)
            if assigned is None:
                assigned = self.model_.predict(rows).astype(np.int64)
            labels[complete] = assigned
            difference = rows - self.centers_[assigned]
            distances[complete] = np.sqrt(np.einsum("ij,ij->i", difference, difference))
        holes = ~complete & rows_with_observed_values(Z)
        if holes.any() and getattr(self.model_, "missing", "error") != "error":
            rows = Z[holes]
            assigned = self.model_.predict(rows).astype(np.int64)
            labels[holes] = assigned
            distances[holes] = self.model_.transform(rows)[np.arange(len(rows)), assigned]
        return labels, distances

    def _bounded_labels(self, rows):
        """Labels of ``rows`` under the size bounds scaled to the batch (None: unbounded)."""
        params = getattr(self, "params_", None) or self.get_params()
        if params.get("size_min") is None and params.get("size_max") is None:
            return None
        from ..engine.constrained import assign_with_size_bounds, scaled_size_bounds

        n_fit = int(self.metrics_["n_used"])
        lo, hi = scaled_size_bounds(*self.size_bounds(n_fit), rows.shape[0], n_fit)
        labels, _ = assign_with_size_bounds(rows, self.centers_, lo, hi)
        return labels.astype(np.int64)

    def predict(self, data):
        """Segment of every row (-1 only for a row with nothing observed)."""
        return self.predict_with_distance(data)[0]

    def fit_predict(self, data):
        """Fit, then return ``labels_``."""
        return self.fit(data).labels_

    def profile(self):
        """One row per segment: name, size, share of rows, and the center in original units.

        Returns
        -------
        DataFrame
            Columns ``segment``, ``name``, ``size``, ``share``, then the columns of
            ``centers_original_`` (numeric means, dominant categories, category shares).
        """
        self._check_fitted()
        sizes = np.asarray(self.sizes_)
        head = pd.DataFrame(
            {
                "segment": np.arange(len(sizes)),
                "name": list(self.names_),
                "size": sizes,
                "share": sizes / max(int(sizes.sum()), 1),
            }
        )
        return pd.concat([head, self.centers_original_.reset_index(drop=True)], axis=1)

    # -- serialisation ------------------------------------------------------------------

    def to_dict(self):
        """A JSON-safe dict from which :meth:`from_dict` rebuilds this segmentation.

        Centers are lists of Python floats, which JSON writes with full precision, so the
        rebuilt segmentation predicts exactly as this one. ``labels_`` is not included.

        Examples
        --------
        >>> import json
        >>> import numpy as np
        >>> from centroids.segments.segmentation import Segmentation
        >>> X = np.array([[0.0, 1.0], [0.2, 1.1], [5.0, 7.0], [5.2, 7.1]])
        >>> seg = Segmentation(n_clusters=2, random_state=0).fit(X)
        >>> again = Segmentation.from_dict(json.loads(json.dumps(seg.to_dict())))
        >>> bool((again.predict(X) == seg.predict(X)).all())
        True
        """
        self._check_fitted()
        description = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "params": self.params_,
            "preparation": self.preparation_.to_dict(),
            "centers": self.centers_.tolist(),
            "sizes": [int(s) for s in self.sizes_],
            "inertia": self.inertia_,
            "n_iter": int(getattr(self.model_, "n_iter_", 0)),
            "spread": self.spread_,
            "fingerprint": self.fingerprint_,
            "created_at": self.created_at_,
            "metrics": dict(self.metrics_),
            "environment": dict(self.environment_),
            "names": list(self.names_),
        }
        category_shares = getattr(self, "_category_shares", None)
        if category_shares:
            description["category_shares"] = {
                column: [float(v) for v in values] for column, values in category_shares.items()
            }
        return description

    @classmethod
    def from_dict(cls, description):
        """Rebuild a fitted segmentation from :meth:`to_dict`'s output, without refitting."""
        check_description(description, "Segmentation", _FORMAT, _FORMAT_VERSION)
        params = dict(description["params"])
        preparation = Preparation.from_dict(description["preparation"])
        centers = np.asarray(description["centers"], dtype=np.float64)
        n_features = len(preparation.model_feature_names_)
        if centers.ndim != 2 or centers.shape[1] != n_features:
            raise ValueError(
                f"The description's centers have shape {centers.shape}, but its preparation "
                f"has {n_features} model features."
            )
        constructor_params = dict(params)
        if constructor_params.get("init") == "array":
            # the initial centers are not stored; a refit of the copy seeds anew
            constructor_params["init"] = "k-means++"
        if isinstance(constructor_params.get("random_state"), str):
            # a RandomState instance is recorded by its repr only
            constructor_params["random_state"] = None
        segmentation = cls(**constructor_params)
        kprototypes = params.get("model", "kmeans") == "kprototypes"
        model = _centers_holder(
            centers,
            None if kprototypes else params.get("kmeans_params"),
            policy=params.get("missing", "drop"),
        )
        model.inertia_ = float(description["inertia"])
        model.n_iter_ = int(description.get("n_iter", 0))
        segmentation.preparation_ = preparation
        segmentation.model_ = model
        segmentation.centers_ = centers
        category_shares = description.get("category_shares")
        segmentation._category_shares = category_shares
        segmentation.centers_original_ = _centers_in_original_units(
            preparation, centers, category_shares
        )
        segmentation.kprototypes_ = None
        # the one-hot weight w of a k-prototypes preparation is sqrt(gamma / 2)
        weights = [spec.weight for spec in preparation.specs if spec.kind == "categorical"]
        segmentation.gamma_ = 2.0 * weights[0] ** 2 if kprototypes and weights else None
        segmentation.sizes_ = np.asarray(description["sizes"], dtype=np.int64)
        segmentation.inertia_ = float(description["inertia"])
        segmentation.spread_ = float(description["spread"])
        segmentation.feature_names_ = list(preparation.feature_names_)
        segmentation.feature_types_ = dict(preparation.feature_types_)
        segmentation.fingerprint_ = description["fingerprint"]
        segmentation.created_at_ = description["created_at"]
        segmentation.metrics_ = dict(description["metrics"])
        segmentation.params_ = params
        segmentation.environment_ = dict(description["environment"])
        segmentation.names_ = list(description["names"])
        segmentation.labels_ = None
        return segmentation


def _kprototypes_table(preparation, Z):
    """The table KPrototypes clusters: the prepared numeric columns and, for every
    categorical column, the index of its level in the preparation's one-hot block (so
    categories compare exactly as the preparation compares them); and each categorical
    column's (start, width) in ``Z``."""
    table = {}
    blocks = {}
    position = 0
    for spec in preparation.specs:
        if spec.kind == "numeric":
            table[spec.name] = Z[:, position]
            position += 1
        else:
            width = len(spec.levels)
            blocks[spec.name] = (position, width)
            table[spec.name] = np.argmax(Z[:, position : position + width], axis=1)
            position += width
    return pd.DataFrame(table), blocks


def _embedded_prototypes(preparation, prototypes, labels, table, blocks, gamma, shape):
    """The prototypes as centers of the weighted one-hot embedding (a mode is its level's
    column at the embedding weight), and every level's share of each segment."""
    n_clusters = shape[0]
    centers = np.zeros(shape)
    weight = embedding_weight(gamma)
    shares = {}
    sizes = np.bincount(labels, minlength=n_clusters)
    position = 0
    for spec in preparation.specs:
        if spec.kind == "numeric":
            centers[:, position] = prototypes[spec.name].to_numpy(dtype=np.float64)
            position += 1
            continue
        start, width = blocks[spec.name]
        modes = prototypes[spec.name].to_numpy(dtype=np.int64)
        centers[np.arange(n_clusters), start + modes] = weight
        counts = np.zeros((n_clusters, width))
        np.add.at(counts, (labels, table[spec.name].to_numpy()), 1.0)
        segment_shares = np.divide(
            counts, sizes[:, None], out=np.zeros_like(counts), where=sizes[:, None] > 0
        )
        for j, level in enumerate(spec.levels):
            shares[f"{spec.name}={level}"] = segment_shares[:, j].tolist()
        position += width
    return centers, shares
