"""Fitting K-Means on data that does not fit in memory: mini-batch steps over a stream of chunks.

:func:`fit_stream` reads chunks (arrays, sparse matrices or DataFrames) from an iterator,
a callable that returns a fresh iterator, or a Parquet file, and feeds each chunk to
:class:`centroids.models.minibatch.MiniBatchKMeans`' step kernels in shuffled mini-batches.
Only one chunk (plus the rows kept for seeding, and the model) is in memory at a time.
:func:`iter_parquet_batches` reads a Parquet file one record batch at a time.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from ._utils.validation import check_sample_weight
from .engine import blas_limited_to_one_thread, engine_data
from .models.minibatch import MiniBatchKMeans, MiniBatchSteps

__all__ = ["fit_stream", "iter_parquet_batches"]

#: Rows per chunk :func:`iter_parquet_batches` (and :func:`fit_stream` on a path) reads.
DEFAULT_BATCH_ROWS = 65_536


def iter_parquet_batches(path, columns=None, batch_rows=DEFAULT_BATCH_ROWS):
    """Read a Parquet file as pandas DataFrames of at most ``batch_rows`` rows each.

    The file is read through :meth:`pyarrow.parquet.ParquetFile.iter_batches`, one record
    batch at a time, so a file larger than memory can be streamed: memory holds the
    column chunks of one row group being decoded and one batch.

    Parameters
    ----------
    path : str or os.PathLike
        The Parquet file.
    columns : list of str, default=None
        The columns to read, in this order; None reads every column in the file's order.
    batch_rows : int, default=65536
        Most rows per DataFrame (the last one of a row group may have fewer).

    Yields
    ------
    chunk : pandas.DataFrame
        The next rows of the file, with the selected columns.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> from centroids.stream import iter_parquet_batches
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "points.parquet")
    >>> pd.DataFrame({"x": range(5), "y": range(5)}).to_parquet(path)
    >>> [len(chunk) for chunk in iter_parquet_batches(path, batch_rows=2)]
    [2, 2, 1]
    """
    import pyarrow.parquet as pq

    if not isinstance(batch_rows, Integral) or isinstance(batch_rows, bool) or batch_rows < 1:
        raise ValueError(f"batch_rows must be a positive integer; got {batch_rows!r}.")
    if not os.path.exists(path):
        raise FileNotFoundError(f"No Parquet file at {os.fspath(path)!r}.")
    parquet_file = pq.ParquetFile(path)
    if columns is not None:
        columns = list(columns)
        available = parquet_file.schema_arrow.names
        missing = [name for name in columns if name not in available]
        if missing:
            raise ValueError(
                f"Column(s) {missing} not in the Parquet file {os.fspath(path)!r}, whose "
                f"columns are {available}. Pass columns from that list (or None for all)."
            )
    try:
        for batch in parquet_file.iter_batches(batch_size=batch_rows, columns=columns):
            yield batch.to_pandas()
    finally:
        parquet_file.close()


def fit_stream(
    source,
    n_clusters=8,
    *,
    epochs=1,
    columns=None,
    weight_column=None,
    batch_rows=DEFAULT_BATCH_ROWS,
    batch_size=1024,
    init="k-means++",
    init_size=None,
    n_init="auto",
    reassignment_ratio=0.01,
    refine="auto",
    compute_inertia=True,
    random_state=None,
    verbose=0,
):
    """Fit mini-batch K-Means over a stream of chunks, one chunk in memory at a time.

    Each chunk's rows are shuffled and cut into mini-batches of ``batch_size`` rows,
    run through :class:`~centroids.models.minibatch.MiniBatchKMeans`' steps in order
    (every row of every chunk is used once per epoch; there is no early stopping).
    The centers are seeded from the first chunks: they are kept until ``init_size``
    rows have arrived, then seeded as :meth:`MiniBatchKMeans.fit` seeds from its init
    subsample (k-means++ polished by k-means on those rows, see ``refine``). Seeds
    from the start of a file are only as good as those rows are representative: shuffle
    a file that is sorted by something related to the clusters, or raise ``init_size``.

    Parameters
    ----------
    source : iterable, callable or path
        The chunks: an iterable of chunks (read once, so ``epochs`` must be 1 for an
        iterator), a callable returning a fresh iterable of chunks at each call (one
        call per epoch), or the path of a Parquet file (read with
        :func:`iter_parquet_batches`). A chunk is a 2-D array, a sparse matrix, a
        pandas DataFrame, or a tuple ``(X, sample_weight)``. Every chunk must have the
        features of the first: the same number, and for DataFrames the same column
        names in the same order.
    n_clusters : int, default=8
        The number of clusters.
    epochs : int, default=1
        Passes over the source.
    columns : list of str, default=None
        For a Parquet path: the feature columns to read (None: all, but
        ``weight_column``).
    weight_column : str, default=None
        For DataFrame chunks (and Parquet files): the column holding each row's
        sample weight; it is not a feature.
    batch_rows : int, default=65536
        For a Parquet path: the rows per chunk read from the file.
    batch_size, init, init_size, n_init, reassignment_ratio, refine, random_state, \
verbose
        As in :class:`~centroids.models.minibatch.MiniBatchKMeans` (``init_size``
        rows are drawn from the rows kept for seeding).
    compute_inertia : bool, default=True
        After the last epoch, read the source once more to compute the exact inertia
        of all its rows (requires a re-iterable source: a callable or a path). When
        False, or for a one-shot iterator, ``inertia_`` is the sum of the last epoch's
        batch inertias, each measured before its batch moved the centers (an estimate
        that runs a little high).

    Returns
    -------
    model : MiniBatchKMeans
        Fitted: ``cluster_centers_``, ``inertia_``, ``n_steps_`` (mini-batches run),
        ``n_iter_`` (epochs), ``n_features_in_`` and ``feature_names_in_`` (for
        DataFrame chunks). ``labels_`` is not set (the rows are gone); call ``predict``
        chunk by chunk.

    Examples
    --------
    >>> import numpy as np
    >>> from centroids.stream import fit_stream
    >>> def chunks():
    ...     for seed in range(10):
    ...         rows = np.random.default_rng(seed).normal(size=(500, 2))
    ...         yield rows + np.array([[10.0, 0.0]]) * (np.arange(500) % 2)[:, None]
    >>> model = fit_stream(chunks, n_clusters=2, epochs=2, batch_size=256, random_state=0)
    >>> sorted(round(float(x)) for x in model.cluster_centers_[:, 0])
    [0, 10]
    """
    model = MiniBatchKMeans(
        n_clusters,
        init=init,
        batch_size=batch_size,
        verbose=verbose,
        compute_labels=False,
        random_state=random_state,
        init_size=init_size,
        n_init=n_init,
        reassignment_ratio=reassignment_ratio,
        refine=refine,
    )
    model._validate_params()
    open_epoch, reiterable = _epoch_source(source, columns, weight_column, batch_rows, epochs)
    stream = _ChunkStream(model, weight_column)
    random_state = check_random_state(random_state)
    steps = None
    for epoch in range(1, epochs + 1):
        stream.start_epoch(epoch)
        if steps is None:
            steps, pending = _seed_from_first_chunks(model, stream, open_epoch(), random_state)
            chunks = _chain(pending, stream.remaining)
        else:
            chunks = stream.validated_chunks(open_epoch())
        estimated_inertia = 0.0
        for X, sample_weight in chunks:
            estimated_inertia += _run_chunk(model, steps, X, sample_weight, random_state)
        if stream.n_rows == 0:
            raise ValueError(f"The source gave no rows in epoch {epoch}.")
    model._steps = steps
    model._random_state = random_state
    model.cluster_centers_ = steps.centers.astype(model._fit_dtype)
    model.n_iter_ = epochs
    if compute_inertia and reiterable:
        model.inertia_ = _stream_inertia(model, stream, open_epoch, epochs)
    else:
        model.inertia_ = estimated_inertia
    return model


def _epoch_source(source, columns, weight_column, batch_rows, epochs):
    """``epochs`` checked, and :func:`_epoch_opener`'s opener of the source, checked to
    be readable again when there is more than one epoch."""
    if not isinstance(epochs, Integral) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer; got {epochs!r}.")
    open_epoch, reiterable = _epoch_opener(source, columns, weight_column, batch_rows)
    if epochs > 1 and not reiterable:
        raise TypeError(
            f"epochs={epochs} needs a source that can be read again, but an iterator can "
            "be read only once. Pass a callable that returns a fresh iterator of chunks "
            "(e.g. lambda: read_chunks(...)), a list, or the path of a Parquet file."
        )
    return open_epoch, reiterable


def _stream_inertia(model, stream, open_epoch, epochs):
    """The exact inertia of the fitted centers, in one more pass over the source."""
    stream.start_epoch(epochs + 1)
    with blas_limited_to_one_thread():
        return float(
            sum(
                engine_data(X).assign_labels(w, model.cluster_centers_.astype(X.dtype))[2]
                for X, w in stream.validated_chunks(open_epoch())
            )
        )


def _epoch_opener(source, columns, weight_column, batch_rows):
    """(a function returning one epoch's iterable of chunks, whether it can be called again)."""
    if isinstance(source, (str, os.PathLike)):
        if columns is not None and weight_column is not None and weight_column not in columns:
            columns = [*columns, weight_column]

        def open_file():
            return iter_parquet_batches(source, columns=columns, batch_rows=batch_rows)

        return open_file, True
    if callable(source):

        def open_callable():
            chunks = source()
            if not isinstance(chunks, Iterable):
                raise TypeError(
                    f"The source callable must return an iterable of chunks; it returned "
                    f"{type(chunks).__name__}."
                )
            return chunks

        return open_callable, True
    if isinstance(source, (np.ndarray, sp.spmatrix, sp.sparray)) or hasattr(source, "columns"):
        raise TypeError(
            f"fit_stream needs an iterable of chunks, not a single {type(source).__name__}: "
            "fit it with MiniBatchKMeans().fit(X), or pass [X] or a generator of chunks."
        )
    if not isinstance(source, Iterable):
        raise TypeError(
            "source must be an iterable of chunks, a callable returning one, or the path of "
            f"a Parquet file; got {type(source).__name__}."
        )
    if isinstance(source, Iterator):
        consumed = []

        def open_once():
            if consumed:
                raise TypeError("This iterator of chunks has been read already.")
            consumed.append(True)
            return source

        return open_once, False
    return (lambda: source), True


class _ChunkStream:
    """Validates the chunks of a stream against the first: features, names, weights."""

    def __init__(self, model, weight_column):
        self.model = model
        self.weight_column = weight_column
        self.columns = None
        self.n_features = None
        self.epoch = 0
        self.number = 0
        self.n_rows = 0
        self.remaining = iter(())

    def start_epoch(self, epoch):
        self.epoch = epoch
        self.number = 0
        self.n_rows = 0

    def where(self):
        return f"fit_stream (chunk {self.number} of epoch {self.epoch}, counting from 1)"

    def validated_chunks(self, chunks):
        """The (X, sample_weight) of every non-empty chunk of ``chunks``, validated."""
        for chunk in chunks:
            validated = self.validated(chunk)
            if validated is not None:
                yield validated

    def validated(self, chunk):
        """(X, sample_weight) of one chunk, checked against the first; None when empty."""
        self.number += 1
        where = self.where()
        sample_weight = None
        if isinstance(chunk, tuple):
            if len(chunk) != 2:
                raise TypeError(
                    f"A tuple chunk must be (X, sample_weight); {where} is a tuple of "
                    f"{len(chunk)} values."
                )
            chunk, sample_weight = chunk
        is_frame = hasattr(chunk, "columns") and hasattr(chunk, "iloc")
        if is_frame and self.weight_column is not None:
            if self.weight_column not in chunk.columns:
                raise ValueError(
                    f"weight_column {self.weight_column!r} is not a column of {where}; its "
                    f"columns are {list(chunk.columns)}."
                )
            sample_weight = chunk[self.weight_column].to_numpy()
            chunk = chunk.drop(columns=[self.weight_column])
        if getattr(chunk, "ndim", 2) != 2:
            raise ValueError(
                f"Every chunk must be 2-D (rows × features); {where} has shape "
                f"{getattr(chunk, 'shape', None)}."
            )
        if chunk.shape[0] == 0:
            return None
        first = self.columns is None and self.n_features is None
        self._check_like_first(chunk, is_frame, where, first)
        X = _check_chunk_features(self.model, chunk, reset=first, where=where)
        try:
            sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        except (TypeError, ValueError) as error:
            raise type(error)(f"In {where}: {error}") from error
        if first:
            self.model._fit_dtype = X.dtype
        self.n_rows += X.shape[0]
        return X, sample_weight

    def _check_like_first(self, chunk, is_frame, where, first):
        columns = [str(name) for name in chunk.columns] if is_frame else None
        if first:
            self.columns = columns
            self.n_features = chunk.shape[1]
            return
        if (self.columns is None) != (columns is None):
            had = "DataFrames" if self.columns is not None else "arrays without column names"
            raise TypeError(
                f"{where} is a {type(chunk).__name__}, but the first chunk was one of "
                f"{had}: give every chunk the same kind, with the same columns."
            )
        if columns is not None and columns != self.columns:
            if sorted(columns) == sorted(self.columns):
                raise ValueError(
                    f"The columns of {where} are in another order than the first chunk's: "
                    f"{columns} instead of {self.columns}. Select them in the first "
                    "chunk's order (chunk[columns])."
                )
            missing = [name for name in self.columns if name not in columns]
            extra = [name for name in columns if name not in self.columns]
            raise ValueError(
                f"The columns of {where} differ from the first chunk's: missing {missing}, "
                f"unexpected {extra}. Every chunk needs the first chunk's columns "
                f"{self.columns}."
            )
        if chunk.shape[1] != self.n_features:
            raise ValueError(
                f"{where} has {chunk.shape[1]} features, but the first chunk had "
                f"{self.n_features}: every chunk needs the same features."
            )


def _check_chunk_features(model, chunk, *, reset, where):
    from ._utils.validation import check_features

    return check_features(model, chunk, reset=reset, where=where)


def _chain(first, rest):
    yield from first
    yield from rest


def _seed_from_first_chunks(model, stream, chunks, random_state):
    """Keep chunks until ``init_size`` rows have arrived, then seed from them.

    Returns the step state and the kept chunks, which the caller runs next (followed by
    ``stream.remaining``, the rest of the first epoch's chunks, validated).
    """
    chunks = iter(chunks)
    kept, n_kept, n_positive = [], 0, 0
    target = None
    for chunk in chunks:
        validated = stream.validated(chunk)
        if validated is None:
            continue
        kept.append(validated)
        n_kept += validated[0].shape[0]
        n_positive += int(np.count_nonzero(validated[1]))
        if target is None:
            with warnings.catch_warnings():  # the seeding below warns, once
                warnings.simplefilter("ignore", RuntimeWarning)
                target = model._resolved_init_size(np.iinfo(np.int64).max, model.batch_size)
        if n_kept >= target and n_positive >= model.n_clusters:
            break
    if not kept:
        raise ValueError("The source gave no rows: fit_stream needs at least one chunk.")
    X = sp.vstack([x for x, _ in kept], format="csr") if sp.issparse(kept[0][0]) else None
    if X is None:
        X = np.concatenate([np.asarray(x, dtype=kept[0][0].dtype) for x, _ in kept])
    sample_weight = np.concatenate([w for _, w in kept]).astype(X.dtype, copy=False)
    try:
        model._check_enough_rows(X, sample_weight)
    except ValueError as error:
        raise ValueError(
            f"The source gave only {X.shape[0]} rows ({n_positive} of positive weight) in "
            f"all, too few for n_clusters={model.n_clusters}: {error}"
        ) from error
    init_size = model._resolved_init_size(X.shape[0], model.batch_size)
    with blas_limited_to_one_thread():
        centers = model._best_seeding(X, sample_weight, init_size, random_state)
    del X, sample_weight
    stream.remaining = stream.validated_chunks(chunks)
    steps = MiniBatchSteps(centers, model.reassignment_ratio, reassign_after=init_size)
    return steps, kept


def _run_chunk(model, steps, X, sample_weight, random_state):
    """Run the shuffled mini-batches of one chunk; the sum of their batch inertias."""
    n_rows = X.shape[0]
    order = random_state.permutation(n_rows).astype(np.int64)
    batch_starts = np.append(np.arange(0, n_rows, model.batch_size), n_rows).astype(np.int64)
    model.n_steps_ = getattr(model, "n_steps_", 0)
    with blas_limited_to_one_thread():
        steps.run(
            engine_data(X),
            sample_weight,
            True,
            order,
            batch_starts,
            random_state,
            step_offset=model.n_steps_,
            verbose=bool(model.verbose),
        )
    model.n_steps_ += batch_starts.shape[0] - 1
    batch_weights = np.add.reduceat(sample_weight[order].astype(np.float64), batch_starts[:-1])
    return float(np.dot(steps.last_run_batch_inertia, batch_weights))
