"""Compile the common numba kernels ahead of use, into numba's on-disk cache.

A fresh install has no compiled kernels: the first fit in a new process compiles every
kernel its path reaches (tens of seconds; see docs/benchmarks.md, "Cold first fit").
:func:`warm_up` runs the common paths once on small generated data, so their compiled
forms land in numba's cache (``__pycache__`` beside the kernels' sources, or
``NUMBA_CACHE_DIR``) and later processes load them instead of compiling. ``make demo``
and ``make test`` run it after installing (``centroids warmup``).

The cache is keyed on each kernel file's modification time and size: editing a kernel
file (or reinstalling it with a new timestamp) makes its entries stale, and they are
compiled again on first use, as without the warm-up.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["WARMUP_FITS", "warm_up"]

#: (rows, features, clusters) of the warm-up fits, each in float64 and float32: small
#: fits reach the serial kernel forms, larger ones the parallel forms (the split is
#: ``centroids.settings.PARALLEL_MIN_WORK``); 2 features take the direct assignment,
#: 8 the matrix-product one; 40 clusters take Hamerly's bounded iterations; 40,000 rows
#: (from ``SEEDING_PRODUCT_MIN_ROWS``) the seeding's filtered product kernels.
WARMUP_FITS = ((1_000, 2, 8), (1_000, 8, 8), (40_000, 2, 32), (40_000, 8, 8), (20_000, 8, 40))

#: Rows of the generated customer tables the segment job runs on: the demo's size (its
#: parallel forms) and a small one (the serial forms).
WARMUP_SEGMENT_ROWS = (50_000, 2_000)


def warm_up(*, segment=True, log=None):
    """Run the common paths once so their compiled kernels are cached on disk.

    Fits :class:`centroids.KMeans` on generated blobs of every shape in
    :data:`WARMUP_FITS` (float64 and float32), and, with ``segment``, the
    ``centroids segment`` job (:func:`centroids.segments.pipeline.segment_data`) on
    generated customer tables of :data:`WARMUP_SEGMENT_ROWS` rows into a temporary
    folder. ``log`` (a callable taking a string) hears each step and its time.
    Returns the seconds each step took, by name.
    """
    from .models import KMeans

    steps = {}

    def timed(name, run):
        started = time.perf_counter()
        run()
        steps[name] = time.perf_counter() - started
        if log is not None:
            log(f"{name}: {steps[name]:.1f} s")

    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        for n_rows, n_features, n_clusters in WARMUP_FITS:
            X = rng.normal(size=(n_rows, n_features)).astype(dtype)
            name = f"KMeans fit {n_rows} x {n_features}, k = {n_clusters}, {np.dtype(dtype).name}"
            timed(name, lambda X=X, k=n_clusters: KMeans(n_clusters=k, random_state=0).fit(X))
    if segment:
        for n_rows in WARMUP_SEGMENT_ROWS:
            timed(f"segment job, {n_rows} customers", lambda n=n_rows: _segment_job(n))
    return steps


def _segment_job(n_rows):
    """The demo's ``centroids segment`` job on ``n_rows`` generated customers."""
    from .datasets import make_customers
    from .segments.pipeline import segment_data

    with tempfile.TemporaryDirectory(prefix="centroids-warmup-") as folder:
        folder = Path(folder)
        data = folder / "customers.csv"
        make_customers(n_rows, missing_rate=0.001, random_state=0).to_csv(data, index=False)
        segment_data(
            data,
            id_column="customer_id",
            db=f"sqlite:///{folder / 'segments.db'}",
            report=folder / "report.html",
            out=folder / "labels.csv",
        )
