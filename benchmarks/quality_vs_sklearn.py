"""centroids.KMeans side by side with sklearn.cluster.KMeans: clustering quality and speed.

Run from the project root (``make bench`` does this)::

    .venv/bin/python benchmarks/quality_vs_sklearn.py [--seeds 20] [--repeats 7] [--quick]
                                                      [--part all|quality|speed]
                                                      [--markdown PATH]

Quality: on iris, wine, digits (raw, unscaled) and a blobs data set with clusters of
different spreads, both libraries fit ``KMeans(n_clusters=k, init="k-means++", n_init=10,
random_state=s)`` in float64 for ``--seeds`` seeds; the report gives, per data set, the
median and worst ratio of centroids' inertia to scikit-learn's, the fraction of seeds
where centroids is within 0.5 % of scikit-learn, and the same median/worst ratio for
``n_init=1``.

Speed: both libraries run in this one process, alternating (centroids first on even
repeats, scikit-learn first on odd ones), ``--repeats`` times; the median wall time of
each is reported with the ratio ``sklearn_time / centroids_time`` (> 1: centroids is
faster), and the same ratio of the best times. Fixed-work workloads start both libraries
from the same explicit centers with ``n_init=1, algorithm="lloyd", max_iter=50, tol=0``,
so they run the same iterations (fewer than 50 only if the labels stop changing); the
iteration counts are checked and reported. numba compilation (or loading from its cache)
is excluded: every kernel is warmed up once on small data of the same dtype and layout
before any timing. Both libraries run on numba's / OpenMP's default thread counts (all
usable cores); a probe before and after the timings measures how much of the second
core the machine actually gave this process.

The report is Markdown on stdout; progress goes to stderr. Figures are ratios measured
side by side in one run, never absolute promises: on a shared machine absolute times
move from run to run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
import scipy
import scipy.sparse as sp
import sklearn
import threadpoolctl
from machine import (
    OtherLoad,
    parallel_headroom,
    progress,
    python_command,
    source_revision,
)
from sklearn import cluster as sk_cluster
from sklearn import datasets
from sklearn.feature_extraction.text import TfidfTransformer

import centroids

#: A result counts as "as good as scikit-learn" when its inertia is at most this much higher.
TOLERANCE = 0.005

#: Iterations of the fixed-work speed runs (tol=0, so both libraries run exactly these
#: unless labels stop changing earlier, which the iteration-count check would show).
FIXED_ITERATIONS = 50


def markdown_table(headers: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """A GitHub Markdown table; ``align`` is one 'l' or 'r' per column (default: l then r)."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------


def environment_section(args: argparse.Namespace) -> str:
    """Machine, versions and thread settings of both libraries, as a Markdown list."""
    pools = threadpoolctl.threadpool_info()
    pool_lines = [
        f"  - {p['user_api']}, {p['internal_api']} {p.get('version') or '(version unknown)'}: "
        f"threads {p['num_threads']} ({os.path.basename(p['filepath'])})"
        for p in pools
    ]
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel numba function has run yet
        layer = "not yet chosen"
    lines = [
        f"- date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- command: `{' '.join([python_command(), *sys.argv])}`",
        f"- machine: {platform.machine()}, {os.cpu_count()} logical cores "
        f"(usable: {len(os.sched_getaffinity(0))}), {platform.system()} {platform.release()}",
        f"- python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"scikit-learn {sklearn.__version__}, numba {numba.__version__}, "
        f"threadpoolctl {threadpoolctl.__version__}, centroids {centroids.__version__} "
        f"({source_revision()})",
        f"- numba (centroids): threads {numba.get_num_threads()}, threading layer {layer}",
        "- threadpoolctl (every OpenMP and BLAS library loaded):",
        *pool_lines,
        f"- seeds: {args.seeds}; timing repeats: {args.repeats} (median); "
        f"sizes: {'quick (1/4 of the rows)' if args.quick else 'full'}",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Quality
# ---------------------------------------------------------------------------


def quality_datasets() -> list[tuple[str, np.ndarray, int]]:
    """(name, X as float64, k): the classic small sets raw, and blobs with local optima."""
    iris = datasets.load_iris().data
    wine = datasets.load_wine().data
    digits = datasets.load_digits().data
    # Eight clusters of very different spreads: k-means++ with one init falls into a
    # local optimum (two tight blobs merged, a wide one split) on a good share of seeds.
    blobs, _ = datasets.make_blobs(
        n_samples=5_000,
        n_features=10,
        centers=8,
        cluster_std=[0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0],
        random_state=0,
    )
    return [
        ("iris", np.asarray(iris, dtype=np.float64), 3),
        ("wine", np.asarray(wine, dtype=np.float64), 3),
        ("digits", np.asarray(digits, dtype=np.float64), 10),
        ("blobs", np.asarray(blobs, dtype=np.float64), 8),
    ]


def inertias(estimator_class, X: np.ndarray, k: int, n_init: int, seeds: range) -> np.ndarray:
    return np.array(
        [
            estimator_class(n_clusters=k, init="k-means++", n_init=n_init, random_state=seed)
            .fit(X)
            .inertia_
            for seed in seeds
        ]
    )


def quality_section(n_seeds: int) -> str:
    seeds = range(n_seeds)
    rows = []
    for name, X, k in quality_datasets():
        progress(f"quality: {name} {X.shape[0]}x{X.shape[1]}, k={k}, {n_seeds} seeds")
        ours10 = inertias(centroids.KMeans, X, k, 10, seeds)
        theirs10 = inertias(sk_cluster.KMeans, X, k, 10, seeds)
        ours1 = inertias(centroids.KMeans, X, k, 1, seeds)
        theirs1 = inertias(sk_cluster.KMeans, X, k, 1, seeds)
        ratio10 = ours10 / theirs10
        ratio1 = ours1 / theirs1
        within = np.mean(ratio10 <= 1 + TOLERANCE)
        identical = np.mean(np.isclose(ours10, theirs10, rtol=1e-7, atol=0))
        rows.append(
            [
                name,
                f"{X.shape[0]:,} x {X.shape[1]}",
                str(k),
                f"{np.median(ratio10):.4f}",
                f"{ratio10.max():.4f}",
                f"{within:.0%}",
                f"{identical:.0%}",
                f"{np.median(ratio1):.4f}",
                f"{ratio1.max():.4f}",
                f"{theirs1.max() / theirs1.min():.3f}",
            ]
        )
    headers = [
        "data set",
        "n x d",
        "k",
        "median ratio (n_init=10)",
        "worst ratio (n_init=10)",
        "seeds within +0.5 %",
        "seeds identical",
        "median ratio (n_init=1)",
        "worst ratio (n_init=1)",
        "sklearn n_init=1 worst/best",
    ]
    intro = (
        f"Ratio = centroids inertia / scikit-learn inertia for the same `random_state`, over "
        f"{n_seeds} seeds (< 1: centroids found the lower inertia). 'seeds identical': "
        "the two inertias agree to 1e-7 (relative). The last column is the spread of "
        "scikit-learn's own single-init inertias over the seeds: how many local optima "
        "the data set offers k-means++."
    )
    return intro + "\n\n" + markdown_table(headers, rows)


# ---------------------------------------------------------------------------
# Speed
# ---------------------------------------------------------------------------


def tfidf_like(n_rows: int, n_cols: int, density: float, rng: np.random.Generator) -> sp.csr_matrix:
    """A TF-IDF matrix of made-up documents: Zipf-distributed terms, l2-normalised rows.

    Each document draws a Poisson number of term occurrences from a Zipf-like vocabulary
    (repeated terms add up to counts); scikit-learn's TfidfTransformer then weighs and
    normalises them. Occurrences are oversampled a little so that, after repeats merge,
    about ``density`` of the entries are non-zero.
    """
    term_p = 1.0 / np.arange(1, n_cols + 1) ** 0.9
    term_p /= term_p.sum()
    occurrences = rng.poisson(1.12 * density * n_cols, size=n_rows).clip(1, None)
    rows = np.repeat(np.arange(n_rows), occurrences)
    cols = rng.choice(n_cols, size=rows.size, p=term_p)
    counts = sp.csr_matrix(
        (np.ones(rows.size), (rows, cols)), shape=(n_rows, n_cols), dtype=np.float64
    )
    counts.sum_duplicates()
    return TfidfTransformer().fit_transform(counts).tocsr()


@dataclass
class Workload:
    name: str
    X: np.ndarray | sp.csr_matrix
    k: int
    kind: str  # "fixed": same centers, fixed iterations; "kmeans++": default fit; "seeding"


@dataclass
class Timing:
    """Wall times of every repeat, in seconds, and what was checked about the results."""

    ours: list[float]
    theirs: list[float]
    detail: str

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.theirs) / statistics.median(self.ours)

    @property
    def best_ratio(self) -> float:
        return min(self.theirs) / min(self.ours)


def time_side_by_side(
    run_ours: Callable[[], object], run_theirs: Callable[[], object], repeats: int
) -> tuple[list[float], list[float], object, object]:
    """Wall times of the two calls, alternating which goes first, and their last results."""
    ours_times, theirs_times = [], []
    ours_result = theirs_result = None
    for repeat in range(repeats):
        order = ("ours", "theirs") if repeat % 2 == 0 else ("theirs", "ours")
        for who in order:
            start = time.perf_counter()
            if who == "ours":
                ours_result = run_ours()
                ours_times.append(time.perf_counter() - start)
            else:
                theirs_result = run_theirs()
                theirs_times.append(time.perf_counter() - start)
    return (
        ours_times,
        theirs_times,
        ours_result,
        theirs_result,
    )


def fixed_work_estimators(X, k: int, seed: int = 0):
    """Both estimators starting from the same k rows of X, for exactly FIXED_ITERATIONS."""
    rows = np.random.default_rng(seed).choice(X.shape[0], size=k, replace=False)
    init = X[rows].toarray() if sp.issparse(X) else X[rows]
    init = np.ascontiguousarray(init, dtype=X.dtype)
    params = dict(
        n_clusters=k, init=init, n_init=1, algorithm="lloyd", max_iter=FIXED_ITERATIONS, tol=0.0
    )
    return centroids.KMeans(**params), sk_cluster.KMeans(**params)


def time_workload(workload: Workload, repeats: int) -> Timing:
    X, k = workload.X, workload.k
    if workload.kind == "fixed":
        ours, theirs = fixed_work_estimators(X, k)
        t_ours, t_theirs, fitted_ours, fitted_theirs = time_side_by_side(
            lambda: ours.fit(X), lambda: theirs.fit(X), repeats
        )
        same = fitted_ours.n_iter_ == fitted_theirs.n_iter_
        gap = fitted_ours.inertia_ / fitted_theirs.inertia_ - 1
        detail = (
            f"n_iter {fitted_ours.n_iter_} = {fitted_theirs.n_iter_}"
            if same
            else f"**n_iter differ: {fitted_ours.n_iter_} vs {fitted_theirs.n_iter_}**"
        ) + f"; inertia {gap:+.1e}"
    elif workload.kind == "kmeans++":
        params = dict(n_clusters=k, init="k-means++", n_init=1, random_state=0)
        ours, theirs = centroids.KMeans(**params), sk_cluster.KMeans(**params)
        t_ours, t_theirs, fitted_ours, fitted_theirs = time_side_by_side(
            lambda: ours.fit(X), lambda: theirs.fit(X), repeats
        )
        gap = fitted_ours.inertia_ / fitted_theirs.inertia_ - 1
        detail = (
            f"n_iter {fitted_ours.n_iter_} / {fitted_theirs.n_iter_} (max_iter=300, tol=1e-4)"
            f"; inertia {gap:+.1e}"
        )
    elif workload.kind == "seeding":
        t_ours, t_theirs, (_, idx_ours), (_, idx_theirs) = time_side_by_side(
            lambda: centroids.kmeans_plusplus(X, k, random_state=0),
            lambda: sk_cluster.kmeans_plusplus(X, k, random_state=0),
            repeats,
        )
        same = np.array_equal(np.sort(idx_ours), np.sort(idx_theirs))
        detail = "same rows chosen" if same else "different rows chosen"
    else:
        raise ValueError(f"unknown workload kind {workload.kind!r}")
    return Timing(t_ours, t_theirs, detail)


def speed_workloads(quick: bool) -> list[Workload]:
    scale = 4 if quick else 1
    rng = np.random.default_rng(0)
    dense_a = rng.standard_normal((200_000 // scale, 8))
    dense_c = rng.standard_normal((50_000 // scale, 64))
    sparse_d = tfidf_like(20_000 // scale, 5_000, 0.005, rng)
    return [
        Workload("(a) dense float64, Lloyd from given centers", dense_a, 16, "fixed"),
        Workload(
            "(b) dense float32, Lloyd from given centers", dense_a.astype(np.float32), 16, "fixed"
        ),
        Workload("(c) dense float64, Lloyd from given centers", dense_c, 64, "fixed"),
        Workload("(d) sparse CSR TF-IDF, Lloyd from given centers", sparse_d, 32, "fixed"),
        Workload("(a) default fit: k-means++ then Lloyd, n_init=1", dense_a, 16, "kmeans++"),
        Workload("(c) k-means++ seeding alone", dense_c, 64, "seeding"),
    ]


def describe(X) -> str:
    shape = f"{X.shape[0]:,} x {X.shape[1]:,}"
    if sp.issparse(X):
        density = X.nnz / (X.shape[0] * X.shape[1])
        return f"{shape} CSR {X.dtype}, {density:.2%} non-zero"
    return f"{shape} {X.dtype}"


def warm_up(workloads: list[Workload]) -> None:
    """Compile (or load from numba's cache) every kernel each workload will run.

    centroids runs small inputs through serial twins of its kernels and large ones through
    the parallel forms, so both a small slice and the full data are fitted, briefly.
    """
    seen = set()
    for workload in workloads:
        if id(workload.X) in seen:
            continue
        seen.add(id(workload.X))
        for X in (workload.X[:500], workload.X):
            for estimator in fixed_work_estimators(X, workload.k):
                estimator.set_params(max_iter=2).fit(X)
            for estimator_class in (centroids.KMeans, sk_cluster.KMeans):
                estimator_class(n_clusters=4, n_init=2, max_iter=2, random_state=0).fit(X)
            centroids.kmeans_plusplus(X, 4, random_state=0)
            sk_cluster.kmeans_plusplus(X, 4, random_state=0)


def speed_section(repeats: int, quick: bool, n_threads: int) -> str:
    workloads = speed_workloads(quick)
    progress("speed: warming up numba (compile time is excluded from every timing)")
    warm_up(workloads)
    headroom_before = parallel_headroom(n_threads) if n_threads > 1 else 1.0
    rows = []
    for workload in workloads:
        progress(f"speed: {workload.name}, {describe(workload.X)}, k={workload.k}")
        with OtherLoad() as load:
            timing = time_workload(workload, repeats)
        progress(
            "  centroids: "
            + " ".join(f"{t:.3f}" for t in timing.ours)
            + " s; sklearn: "
            + " ".join(f"{t:.3f}" for t in timing.theirs)
            + " s"
        )
        rows.append(
            [
                workload.name,
                describe(workload.X),
                str(workload.k),
                f"{statistics.median(timing.ours):.3f}",
                f"{statistics.median(timing.theirs):.3f}",
                f"**{timing.median_ratio:.2f}**",
                f"{timing.best_ratio:.2f}",
                "n/a" if load.cores is None else f"{load.cores:.2f}",
                timing.detail,
            ]
        )
    headers = [
        "workload",
        "data",
        "k",
        "centroids s (median)",
        "sklearn s (median)",
        "sklearn / centroids (medians)",
        "sklearn / centroids (best times)",
        "other load (cores)",
        "check",
    ]
    intro = (
        f"Wall times of {repeats} alternating repeats in one process: the medians, their "
        "ratio, and the ratio of the best (lowest) times, the ones least slowed by other "
        "load on the machine. Ratio > 1 means centroids is faster. 'Lloyd from given "
        "centers': both start from the same k rows "
        f"(`init=array, n_init=1, algorithm='lloyd', max_iter={FIXED_ITERATIONS}, tol=0`); "
        "'inertia' is centroids' final inertia relative to scikit-learn's. 'other load': "
        "the average number of cores the machine spent on other processes while the "
        "workload ran (from /proc/stat); well above 0, that workload's times are suspect. "
        "numba kernels were warmed up first, so compile time is excluded."
    )
    headroom = (
        "Both libraries ran on one thread."
        if n_threads == 1
        else (
            "Cores actually free for this run: a trivial numba parallel loop ran "
            f"{headroom_before:.2f}x faster on {n_threads} threads than on 1 before the timings "
            f"and {parallel_headroom(n_threads):.2f}x after them ({n_threads:.1f} = every thread "
            "had a core of its own; 1.0 = the machine gave this process one core's worth of "
            "time, and both libraries' other threads waited)."
        )
    )
    return "\n\n".join([intro, headroom, markdown_table(headers, rows, align="lrrrrrrrl")])


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Quality and speed of centroids.KMeans next to sklearn.cluster.KMeans."
    )
    parser.add_argument("--seeds", type=int, default=None, help="seeds per data set (20)")
    parser.add_argument("--repeats", type=int, default=None, help="timing repeats (7)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 5 seeds, 3 repeats, 1/4 of the rows in the speed workloads",
    )
    parser.add_argument(
        "--part", choices=("all", "quality", "speed"), default="all", help="what to run"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=min(2, numba.config.NUMBA_NUM_THREADS),
        help="threads for both libraries: numba's pool, OpenMP and BLAS (default 2)",
    )
    parser.add_argument("--markdown", metavar="PATH", help="also write the report to PATH")
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = 5 if args.quick else 20
    if args.repeats is None:
        args.repeats = 3 if args.quick else 7
    if args.seeds < 1 or args.repeats < 1:
        parser.error("--seeds and --repeats must be at least 1")
    if not 1 <= args.threads <= numba.config.NUMBA_NUM_THREADS:
        parser.error(f"--threads must be between 1 and {numba.config.NUMBA_NUM_THREADS}")
    return args


def build_report(args: argparse.Namespace) -> str:
    started = time.perf_counter()
    sections = []
    if args.part in ("all", "quality"):
        sections.append(
            "## Quality: inertia relative to scikit-learn\n\n" + quality_section(args.seeds)
        )
    if args.part in ("all", "speed"):
        speed = speed_section(args.repeats, args.quick, args.threads)
        sections.append("## Speed: side by side\n\n" + speed)
    # After the runs, so that numba's threading layer is known.
    header = "# centroids vs scikit-learn\n\n" + environment_section(args)
    elapsed = time.perf_counter() - started
    return "\n\n".join([header, *sections]) + f"\n\nTotal run time: {elapsed:.0f} s.\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The same thread count for both: numba's pool (centroids), OpenMP (scikit-learn's
    # loops) and BLAS (scikit-learn's kmeans_plusplus distances).
    numba.set_num_threads(args.threads)
    with threadpoolctl.threadpool_limits(limits=args.threads):
        report = build_report(args)
    print(report)
    if args.markdown:
        tmp = f"{args.markdown}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(report)
        os.replace(tmp, args.markdown)
        progress(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
