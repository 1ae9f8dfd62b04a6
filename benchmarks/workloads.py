"""The data sets of the side-by-side benchmark suite (``benchmarks/suite.py``).

Every generator is deterministic: the same name and size give the same array on every run
and machine (data seed fixed at 0; the fit seeds vary, not the data). Dense workloads are
C-ordered NumPy arrays of the workload's dtype; W5 is a CSR matrix of float64.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

#: The project root (the parent of ``benchmarks/``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Seed of every generated data set (the fit seeds are separate).
DATA_SEED = 0


def data_directory() -> Path:
    """The shared data folder: ``$CENTROIDS_DATA`` or ``../shared/data`` from the project root."""
    override = os.environ.get("CENTROIDS_DATA")
    return Path(override) if override else PROJECT_ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class Workload:
    """One benchmark workload: a name, a description, its size and how to make its data."""

    name: str
    description: str
    n_rows: int
    n_features: int
    n_clusters: int
    dtype: str  # "float32" or "float64"
    sparse: bool = False

    def make(self) -> np.ndarray | sp.csr_matrix:
        """Generate (or read) the data set; deterministic."""
        return GENERATORS[self.name](self)

    @property
    def shape_text(self) -> str:
        layout = "CSR" if self.sparse else "dense"
        return f"{self.n_rows:,} x {self.n_features:,} {layout} {self.dtype}"


def overlapping_blobs(workload: Workload) -> np.ndarray:
    """Gaussian blobs whose spread (std 3) overlaps neighbours in a (-10, 10) box (W1)."""
    from sklearn.datasets import make_blobs  # here, so children that only load data skip it

    X, _ = make_blobs(
        n_samples=workload.n_rows,
        n_features=workload.n_features,
        centers=workload.n_clusters,
        cluster_std=3.0,
        center_box=(-10.0, 10.0),
        random_state=DATA_SEED,
    )
    return np.ascontiguousarray(X, dtype=workload.dtype)


def many_blobs(workload: Workload) -> np.ndarray:
    """Blobs with twice as many true clusters as k and uneven spreads (W2, W4).

    More true clusters than k and spreads between 0.5 and 2 in a (-10, 10) box make the
    optimum non-trivial, so Lloyd's iterations run for a while.
    """
    from sklearn.datasets import make_blobs

    rng = np.random.default_rng(DATA_SEED)
    n_true = 2 * workload.n_clusters
    stds = rng.uniform(0.5, 2.0, size=n_true)
    X, _ = make_blobs(
        n_samples=workload.n_rows,
        n_features=workload.n_features,
        centers=n_true,
        cluster_std=stds,
        center_box=(-10.0, 10.0),
        random_state=DATA_SEED,
    )
    return np.ascontiguousarray(X, dtype=workload.dtype)


def digit_like_images(workload: Workload) -> np.ndarray:
    """MNIST-shaped synthetic images (W3): 784 pixels in [0, 1], mostly zero.

    Ten class templates (a random ~20 % of pixels lit) plus per-image variations: each
    image is its template with noise added, then clipped to [0, 1], so more than half of
    the pixels are zero (about 58 %), like MNIST's. Not MNIST itself (no download here).
    """
    rng = np.random.default_rng(DATA_SEED)
    d = workload.n_features
    templates = rng.random((10, d)) * (rng.random((10, d)) < 0.2)
    labels = rng.integers(0, 10, size=workload.n_rows)
    X = np.empty((workload.n_rows, d), dtype=workload.dtype)
    for start in range(0, workload.n_rows, 10_000):
        stop = min(start + 10_000, workload.n_rows)
        noise = rng.normal(0.0, 0.35, size=(stop - start, d)) - 0.15
        X[start:stop] = np.clip(templates[labels[start:stop]] + noise, 0.0, 1.0)
    return X


def tfidf_like(workload: Workload) -> sp.csr_matrix:
    """A TF-IDF-like CSR matrix (W5): Zipf term frequencies, ~100 non-zeros a row, L2 rows.

    Each row draws a Poisson number of term occurrences from a Zipf(0.9) vocabulary;
    repeats add up to counts. Weights are ``(1 + log count) * idf`` with a smoothed idf,
    and each row is scaled to unit Euclidean norm.
    """
    rng = np.random.default_rng(DATA_SEED)
    n, d = workload.n_rows, workload.n_features
    term_p = 1.0 / np.arange(1, d + 1) ** 0.9
    term_p /= term_p.sum()
    occurrences = rng.poisson(118.0, size=n).clip(1, None)
    rows = np.repeat(np.arange(n), occurrences)
    cols = rng.choice(d, size=rows.size, p=term_p)
    counts = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, d), dtype=np.float64)
    counts.sum_duplicates()
    document_frequency = np.bincount(counts.indices, minlength=d)
    idf = np.log((1.0 + n) / (1.0 + document_frequency)) + 1.0
    counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    row_norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    counts = sp.diags(1.0 / row_norms) @ counts
    X = sp.csr_matrix(counts, dtype=np.float64)
    X.sort_indices()
    return X


def birch2(workload: Workload) -> np.ndarray:
    """The SIPU birch2 set (W6), read from the shared data folder; ``n_rows`` first rows."""
    path = data_directory() / "sipu" / "birch2.data.gz"
    if not path.exists():
        raise FileNotFoundError(
            f"birch2 not found at {path}; set CENTROIDS_DATA to the folder holding sipu/"
        )
    with gzip.open(path, "rt", encoding="ascii") as f:
        X = np.loadtxt(f, dtype=np.float64)
    return np.ascontiguousarray(X[: workload.n_rows], dtype=workload.dtype)


GENERATORS = {
    "W1": overlapping_blobs,
    "W2": many_blobs,
    "W3": digit_like_images,
    "W4": many_blobs,
    "W5": tfidf_like,
    "W6": birch2,
    "S": overlapping_blobs,
}


def suite_workloads(quick: bool = False) -> dict[str, Workload]:
    """W1-W6 at full size, or with a tenth of the rows (birch2: all) for ``quick``."""
    scale = 10 if quick else 1
    return {
        "W1": Workload("W1", "make_blobs, 16 overlapping clusters", 1_000_000 // scale, 8, 16,
                       "float64"),
        "W2": Workload("W2", "blobs, 512 true clusters of uneven spread", 200_000 // scale, 64,
                       256, "float32"),
        "W3": Workload("W3", "MNIST-shaped synthetic images", 70_000 // scale, 784, 10,
                       "float32"),
        "W4": Workload("W4", "blobs, 2048 true clusters of uneven spread", 300_000 // scale,
                       32, 1024, "float32"),
        "W5": Workload("W5", "TF-IDF-like, ~100 non-zeros a row, L2 rows", 50_000 // scale,
                       20_000, 20, "float64", sparse=True),
        "W6": Workload("W6", "SIPU birch2", 100_000, 2, 100, "float64"),
    }  # fmt: skip


def scale_workloads(quick: bool = False) -> list[Workload]:
    """W1's generator at n = 10^5, 10^6, 10^7 (quick: 10^4, 10^5, 10^6)."""
    sizes = (10_000, 100_000, 1_000_000) if quick else (100_000, 1_000_000, 10_000_000)
    return [Workload("S", "W1's generator", n, 8, 16, "float64") for n in sizes]


def save(X: np.ndarray | sp.csr_matrix, path_stem: Path) -> Path:
    """Write a data set to ``path_stem`` + ``.npy`` (dense) or ``.npz`` (CSR); return the path."""
    if sp.issparse(X):
        path = path_stem.with_suffix(".npz")
        sp.save_npz(path, X, compressed=False)
    else:
        path = path_stem.with_suffix(".npy")
        np.save(path, X)
    return path


def load(path: Path) -> np.ndarray | sp.csr_matrix:
    """Read a data set written by :func:`save`, fully into memory (no memory map)."""
    if str(path).endswith(".npz"):
        return sp.csr_matrix(sp.load_npz(path))
    return np.load(path)
