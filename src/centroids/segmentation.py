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
import platform
import warnings
from datetime import UTC, datetime
from numbers import Integral

import numpy as np
import pandas as pd

from .data.prepare import Preparation, _as_frame
from .models._validation import unchanged_on_error

__all__ = ["Segmentation"]

_FORMAT = "centroids.Segmentation"
_FORMAT_VERSION = 1

#: Rows above which the silhouette is computed on a random sample of this many rows.
SILHOUETTE_SAMPLE_SIZE = 10_000

_RESERVED_KMEANS_PARAMS = ("n_clusters", "init", "n_init", "random_state")


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
        from .evaluate.metrics import silhouette_score
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

    from . import __version__

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


class Segmentation:
    """Preparation + K-Means + segment names: segments of a table, ready to store and reuse.

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
    missing : {'drop', 'median'}, default='drop'
        Rows with a missing numeric value are left out of the fit ('drop'; they get label
        -1 in ``labels_`` and in :meth:`predict`) or the value is replaced by the training
        median ('median'). Missing categorical values form their own level.
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
    n_init : 'auto' or int, default='auto'
        Number of K-Means runs, as in :class:`centroids.KMeans`.
    kmeans_params : dict or None, default=None
        Further :class:`centroids.KMeans` parameters (``max_iter``, ``tol``,
        ``algorithm``, ``refine``...).

    Attributes
    ----------
    preparation_ : Preparation
        The fitted preparation.
    model_ : centroids.KMeans
        The fitted K-Means model (on the model matrix).
    centers_ : ndarray of shape (n_clusters, n_model_features)
        Centers in model space.
    centers_original_ : DataFrame
        One row per segment in the units of the input columns: the mean of every numeric
        column, the most frequent category of every categorical column, and the share of
        every category (columns ``'column=category'``).
    labels_ : ndarray of shape (n_rows,), int
        Segment of every training row; -1 for the rows dropped for a missing value. Not
        kept by :meth:`to_dict` (None after :meth:`from_dict`).
    sizes_ : ndarray of shape (n_clusters,), int
        Training rows per segment.
    inertia_ : float
        Sum of squared distances of the training rows to their center, in model space.
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
        ``n_rows`` (rows given), ``n_used`` and ``n_dropped``.
    params_ : dict
        The parameters, JSON-safe (an array or DataFrame ``init`` is recorded as
        ``'array'``).
    environment_ : dict
        Versions of centroids, NumPy, Numba, scikit-learn, pandas and Python, and the
        number of Numba threads.
    names_ : list of str
        A short, unique, descriptive name per segment (see
        :func:`centroids.naming.suggest_segment_names`).

    Examples
    --------
    >>> import pandas as pd
    >>> from centroids.segmentation import Segmentation
    >>> df = pd.DataFrame({"income": [20, 22, 21, 80, 82, 81],
    ...                    "plan": ["basic", "basic", "basic", "gold", "gold", "basic"]})
    >>> seg = Segmentation(n_clusters=2, random_state=0).fit(df)
    >>> seg.sizes_.tolist(), seg.labels_.tolist() == seg.predict(df).tolist()
    ([3, 3], True)
    >>> sorted(seg.centers_original_["income"].round(1).tolist())
    [21.0, 81.0]
    >>> sorted(seg.names_)
    ['income high · plan gold', 'income low · plan basic']
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
        from .models import KMeans

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
        return KMeans(
            n_clusters=self.n_clusters,
            init=init,
            n_init=self.n_init,
            random_state=self.random_state,
            **params,
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
        model = self._kmeans(self._model_space_init(preparation))
        model.fit(Z)
        self._set_fitted(preparation, model, Z, self.random_state)
        labels = np.full(preparation.n_rows_, -1, dtype=np.int64)
        labels[preparation.row_mask_] = model.labels_
        self.labels_ = labels
        return self

    def _set_fitted(self, preparation, model, Z, random_state):
        from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

        from .naming import suggest_segment_names

        labels = model.labels_
        n_used = Z.shape[0]
        centers = np.asarray(model.cluster_centers_, dtype=np.float64)
        self.preparation_ = preparation
        self.model_ = model
        self.centers_ = centers
        self.centers_original_ = preparation.inverse_transform(centers, shares=True)
        self.sizes_ = np.bincount(labels, minlength=self.n_clusters).astype(np.int64)
        self.inertia_ = float(model.inertia_)
        self.spread_ = float(np.sqrt(self.inertia_ / n_used))
        self.feature_names_ = list(preparation.feature_names_)
        self.feature_types_ = dict(preparation.feature_types_)
        self.fingerprint_ = _fingerprint(Z, preparation)
        n_distinct = len(np.unique(labels))
        defined = 2 <= n_distinct < n_used
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
            }
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
            The closest center (the lowest index on an exact tie); -1 for a row with a
            missing numeric value under ``missing='drop'``.
        distances : ndarray of shape (n_rows,), float64
            Distance in model space to that center; NaN where the label is -1.
        """
        self._check_fitted()
        Z = self.preparation_.transform(data)
        complete = ~np.isnan(Z).any(axis=1)
        labels = np.full(Z.shape[0], -1, dtype=np.int64)
        distances = np.full(Z.shape[0], np.nan)
        if complete.any():
            rows = Z[complete]
            assigned = self.model_.predict(rows).astype(np.int64)
            labels[complete] = assigned
            difference = rows - self.centers_[assigned]
            distances[complete] = np.sqrt(np.einsum("ij,ij->i", difference, difference))
        return labels, distances

    def predict(self, data):
        """Segment of every row (-1 for a row with a missing numeric value under 'drop')."""
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
        >>> from centroids.segmentation import Segmentation
        >>> X = np.array([[0.0, 1.0], [0.2, 1.1], [5.0, 7.0], [5.2, 7.1]])
        >>> seg = Segmentation(n_clusters=2, random_state=0).fit(X)
        >>> again = Segmentation.from_dict(json.loads(json.dumps(seg.to_dict())))
        >>> bool((again.predict(X) == seg.predict(X)).all())
        True
        """
        self._check_fitted()
        return {
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

    @classmethod
    def from_dict(cls, description):
        """Rebuild a fitted segmentation from :meth:`to_dict`'s output, without refitting."""
        from .models import KMeans

        if not isinstance(description, dict) or description.get("format") != _FORMAT:
            raise ValueError(
                f"Not a Segmentation description: expected a dict with format={_FORMAT!r}."
            )
        if description.get("format_version") != _FORMAT_VERSION:
            raise ValueError(
                f"Segmentation description version {description.get('format_version')!r} "
                f"is not supported (this centroids reads version {_FORMAT_VERSION})."
            )
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
        model = KMeans(
            n_clusters=centers.shape[0],
            **{
                k: v
                for k, v in (params.get("kmeans_params") or {}).items()
                if k not in _RESERVED_KMEANS_PARAMS
            },
        )
        model.cluster_centers_ = centers
        model.n_features_in_ = n_features
        model.inertia_ = float(description["inertia"])
        model.n_iter_ = int(description.get("n_iter", 0))
        segmentation.preparation_ = preparation
        segmentation.model_ = model
        segmentation.centers_ = centers
        segmentation.centers_original_ = preparation.inverse_transform(centers, shares=True)
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
