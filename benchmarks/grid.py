"""The generated benchmark grid (issue 16): workloads drawn from a seed, not a fixed list.

Each draw picks n (10^4..10^7, log-uniform), d (2..1024), k (2..4096), a cluster spread
(``separated``, ``overlapping``, ``uniform``), a row order (``random``, ``sorted`` by the
first coordinate, ``grouped`` by cluster), a dtype (float32/float64) and a layout (dense,
or CSR with 1-5% density and d >= 100), with n*d*k capped so that the run fits its budget.
Spread, order and dtype are drawn as balanced shuffled cycles, so every value appears once
the number of draws reaches its count (3, 3, 2).

On each draw, in this one process and on the same array: centroids' default ``KMeans``,
scikit-learn's ``KMeans`` (``n_init=1``, default algorithm) and, dense float32 only and
where installed, ``faiss.Kmeans`` with ``niter`` set to the iterations our fit took and every
point used (``max_points_per_centroid=n``). Times include seeding. The final inertia of each
is computed here, the same way for all (float64, on the data, with each one's centers).
Ratios: time = peer time / our time (higher = we are faster), inertia = peer inertia / our
inertia (higher = our optimum is lower).

All draws run in one process (choice stated in the report): before each timed fit, an
untimed fit on the draw's first rows compiles the kernels its shape selects, and each draw's
arrays are freed before the next; a subprocess per draw would pay import and compilation
every time.

Usage::

    python benchmarks/grid.py --quick                   # ~8 small draws, a few minutes
    python benchmarks/grid.py --draws 40 --seed 0       # the full grid, under an hour
    python benchmarks/grid.py --draws 16 --cap 2e9 --markdown grid.md --json grid.json
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))

SPREADS = ("separated", "overlapping", "uniform")
ORDERS = ("random", "sorted", "grouped")
DTYPES = ("float32", "float64")

N_RANGE = (10_000, 10_000_000)
D_RANGE = (2, 1024)
K_RANGE = (2, 4096)

#: Caps of n*d*k and of the dense array's n*d, full run and --quick.
FULL_CAPS = {"work": 2e10, "cells": 5e7}
QUICK_CAPS = {"work": 2e8, "cells": 2e6}

#: Share of sparse draws (those need d >= 100).
SPARSE_SHARE = 0.2


@dataclass(frozen=True)
class Draw:
    """One generated workload of the grid."""

    index: int
    n: int
    d: int
    k: int
    spread: str
    order: str
    dtype: str
    layout: str  # "dense" or "csr"
    density: float  # 1.0 for dense
    data_seed: int

    @property
    def name(self) -> str:
        layout = self.layout if self.layout == "dense" else f"csr {self.density:.0%}"
        return (
            f"#{self.index} {self.n:,} x {self.d}, k={self.k}, {self.spread}, "
            f"{self.order}, {self.dtype}, {layout}"
        )


def _balanced(values, count, rng):
    """``count`` values cycling through ``values``, shuffled: each appears once count >= len."""
    cycle = [values[i % len(values)] for i in range(count)]
    return [cycle[i] for i in rng.permutation(count)]


def _log_uniform_int(rng, low, high):
    return round(math.exp(rng.uniform(math.log(low), math.log(high))))


def draw_workloads(seed: int = 0, draws: int = 40, caps: dict | None = None) -> list[Draw]:
    """The grid's draws for ``seed``: deterministic, every draw within ``caps``.

    Parameters
    ----------
    seed : int
        Seed of the draws (and of each draw's data).
    draws : int
        Number of workloads.
    caps : dict, optional
        ``{"work": max n*d*k, "cells": max n*d}``; default :data:`FULL_CAPS`.

    Returns
    -------
    list of Draw
    """
    caps = dict(FULL_CAPS if caps is None else caps)
    rng = np.random.default_rng(seed)
    spreads = _balanced(SPREADS, draws, rng)
    orders = _balanced(ORDERS, draws, rng)
    dtypes = _balanced(DTYPES, draws, rng)
    result = []
    for i in range(draws):
        sparse = rng.random() < SPARSE_SHARE
        n = _log_uniform_int(rng, *N_RANGE)
        d = _log_uniform_int(rng, 100 if sparse else D_RANGE[0], D_RANGE[1])
        k = _log_uniform_int(rng, *K_RANGE)
        density = round(float(rng.uniform(0.01, 0.05)), 4) if sparse else 1.0
        # Fit the caps: shrink n first (down to its floor), then k, then d.
        cells_cap = caps["cells"] / density
        n = min(n, int(caps["work"] // (d * k)), int(cells_cap // d))
        if n < N_RANGE[0]:
            n = N_RANGE[0]
            k = max(K_RANGE[0], min(k, int(caps["work"] // (n * d))))
            d_floor = 100 if sparse else D_RANGE[0]
            d = max(d_floor, min(d, int(caps["work"] // (n * k)), int(cells_cap // n)))
        k = min(k, n // 4)
        result.append(
            Draw(i, n, d, k, spreads[i], orders[i], dtypes[i], "csr" if sparse else "dense",
                 density, int(rng.integers(2**31)))
        )  # fmt: skip
    return result


def make_data(draw: Draw):
    """The draw's data: a C-ordered array, or a CSR matrix, of the draw's dtype."""
    rng = np.random.default_rng(draw.data_seed)
    n, d, k = draw.n, draw.d, draw.k
    labels = rng.integers(k, size=n)
    if draw.layout == "csr":
        per_row = max(1, round(draw.density * d))
        pool_size = max(per_row, d // 10)
        pools = rng.integers(d, size=(k, pool_size))
        topical = {"separated": 0.9, "overlapping": 0.5, "uniform": 0.0}[draw.spread]
        from_pool = rng.random((n, per_row)) < topical
        columns = np.where(
            from_pool,
            pools[labels[:, None], rng.integers(pool_size, size=(n, per_row))],
            rng.integers(d, size=(n, per_row)),
        )
        values = rng.random((n, per_row), dtype=np.float64) + 0.5
        indptr = np.arange(0, n * per_row + 1, per_row)
        X = sp.csr_matrix(
            (values.ravel().astype(draw.dtype), columns.ravel(), indptr), shape=(n, d)
        )
        X.sum_duplicates()
        key = np.asarray(X[:, 0].todense()).ravel()
    else:
        if draw.spread == "uniform":
            X = rng.uniform(-10, 10, size=(n, d)).astype(draw.dtype)
            labels = np.minimum(((X[:, 0] + 10) / 20 * k).astype(np.int64), k - 1)
        else:
            centers = rng.uniform(-10, 10, size=(k, d)).astype(draw.dtype)
            spacing = 20.0 * k ** (-1.0 / d)
            std = (0.08 if draw.spread == "separated" else 0.6) * spacing
            X = rng.standard_normal((n, d), dtype=np.float32).astype(draw.dtype, copy=False)
            X *= std
            X += centers[labels]
        key = X[:, 0]
    if draw.order == "sorted":
        X = X[np.argsort(key, kind="stable")]
    elif draw.order == "grouped":
        X = X[np.argsort(labels, kind="stable")]
    if not sp.issparse(X):
        X = np.ascontiguousarray(X)
    return X


def inertia(X, centers) -> float:
    """Sum of squared distances to the nearest center, in float64, the same for every
    peer: the suite's measure (:func:`suite.float64_inertia`)."""
    from suite import float64_inertia

    return float64_inertia(X, centers)


def _have_faiss():
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def fit_all(X, k, *, with_faiss=True):
    """Fit ours, scikit-learn's and (dense float32) faiss on ``X``; time and inertia of each."""
    from sklearn.cluster import KMeans as SklearnKMeans

    from centroids import KMeans

    results = {}
    start = time.perf_counter()
    ours = KMeans(n_clusters=k, random_state=0).fit(X)
    results["centroids"] = {"time_s": time.perf_counter() - start, "n_iter": int(ours.n_iter_)}
    results["centroids"]["inertia"] = inertia(X, ours.cluster_centers_)

    start = time.perf_counter()
    peer = SklearnKMeans(n_clusters=k, n_init=1, random_state=0).fit(X)
    results["sklearn"] = {"time_s": time.perf_counter() - start, "n_iter": int(peer.n_iter_)}
    results["sklearn"]["inertia"] = inertia(X, peer.cluster_centers_)

    if with_faiss and not sp.issparse(X) and X.dtype == np.float32 and _have_faiss():
        import faiss

        niter = max(1, int(ours.n_iter_))
        start = time.perf_counter()
        index = faiss.Kmeans(
            X.shape[1], k, niter=niter, seed=1234, verbose=False,
            max_points_per_centroid=X.shape[0],
        )  # fmt: skip
        index.train(X)
        results["faiss"] = {"time_s": time.perf_counter() - start, "n_iter": niter}
        results["faiss"]["inertia"] = inertia(X, index.centroids)
    for name, row in results.items():
        if name != "centroids":
            row["time_ratio"] = row["time_s"] / results["centroids"]["time_s"]
            row["inertia_ratio"] = row["inertia"] / max(results["centroids"]["inertia"], 1e-300)
    return results


def warm_up(X, k):
    """Run, untimed, the very fit that is timed next for ours (so numba's compilation of
    every kernel the fit's path selects, the refinement's included, stays out of the timing:
    a fit on the first rows picks other kernel forms, and a quick run showed 3.8 s of
    compilation left in a 0.1 s sparse fit that way), and scikit-learn's on the first rows.
    """
    from sklearn.cluster import KMeans as SklearnKMeans

    from centroids import KMeans

    rows = min(X.shape[0], max(4 * k, 2_000))
    KMeans(n_clusters=k, random_state=0).fit(X)
    SklearnKMeans(n_clusters=k, n_init=1, random_state=0, max_iter=3).fit(X[:rows])


def _quantiles(values):
    ordered = sorted(values)
    if not ordered:
        return None
    q25 = ordered[0] if len(ordered) < 4 else statistics.quantiles(ordered, n=4)[0]
    return {
        "worst": ordered[0],
        "q25": q25,
        "median": statistics.median(ordered),
        "n": len(ordered),
    }


def summarise(rows):
    """Per peer: quantiles of the time and inertia ratios, and the 3 worst draws by time."""
    summary = {}
    for peer in ("sklearn", "faiss"):
        have = [r for r in rows if peer in r["results"]]
        if not have:
            continue
        by_time = sorted(have, key=lambda r: r["results"][peer]["time_ratio"])
        summary[peer] = {
            "time_ratio": _quantiles([r["results"][peer]["time_ratio"] for r in have]),
            "inertia_ratio": _quantiles([r["results"][peer]["inertia_ratio"] for r in have]),
            "worst_time": [
                {"name": r["name"], "time_ratio": r["results"][peer]["time_ratio"]}
                for r in by_time[:3]
            ],
        }
    return summary


def named_rows(quick):
    """W1-W6 of benchmarks/workloads.py, run through the same comparison."""
    import workloads

    rows = []
    for workload in workloads.suite_workloads(quick=quick).values():
        try:
            X = workload.make()
        except FileNotFoundError as error:
            print(f"  {workload.name}: skipped ({error})", flush=True)
            continue
        warm_up(X, workload.n_clusters)
        results = fit_all(X, workload.n_clusters)
        rows.append({"name": f"{workload.name} {workload.shape_text}, k={workload.n_clusters}",
                     "results": results})  # fmt: skip
        del X
        gc.collect()
        print(f"  {rows[-1]['name']}: {_row_text(results)}", flush=True)
    return rows


def _row_text(results):
    parts = [f"ours {results['centroids']['time_s']:.2f}s"]
    for peer in ("sklearn", "faiss"):
        if peer in results:
            row = results[peer]
            parts.append(
                f"{peer} {row['time_ratio']:.2f}x time, {row['inertia_ratio']:.4f} inertia"
            )
    return "; ".join(parts)


def markdown(report):
    """The report as a markdown text: summary, worst draws, every row."""
    lines = [
        f"Command: `{report['command']}`  ",
        f"Machine: {report['machine']}; {report['draws']} draws, seed {report['seed']}, "
        f"caps n*d*k <= {report['caps']['work']:.0e}, n*d <= {report['caps']['cells']:.0e}; "
        "all draws in one process, each after an untimed warm-up fit on its first rows. "
        f"Total {report['total_s']:.0f} s.",
        "",
        "Ratios: time = peer / ours (higher = we are faster); inertia = peer / ours "
        "(higher = our optimum is lower).",
        "",
        "| peer | draws | time worst | time q25 | time median | inertia worst | inertia q25 "
        "| inertia median |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for peer, s in report["summary"].items():
        t, i = s["time_ratio"], s["inertia_ratio"]
        lines.append(
            f"| {peer} | {t['n']} | {t['worst']:.2f} | {t['q25']:.2f} | {t['median']:.2f} "
            f"| {i['worst']:.4f} | {i['q25']:.4f} | {i['median']:.4f} |"
        )
    lines.append("")
    for peer, s in report["summary"].items():
        worst = "; ".join(f"{w['name']} ({w['time_ratio']:.2f}x)" for w in s["worst_time"])
        lines.append(f"Worst 3 by time against {peer}: {worst}.  ")
    lines += [
        "",
        "| workload | ours (s) | iters | sklearn time ratio | sklearn inertia ratio "
        "| faiss time ratio | faiss inertia ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["rows"] + report["named"]:
        r = row["results"]
        cells = [f"{r['centroids']['time_s']:.3f}", str(r["centroids"]["n_iter"])]
        for peer in ("sklearn", "faiss"):
            if peer in r:
                cells += [f"{r[peer]['time_ratio']:.2f}", f"{r[peer]['inertia_ratio']:.4f}"]
            else:
                cells += ["-", "-"]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=None, help="default 40 (--quick: 8)")
    parser.add_argument("--quick", action="store_true", help="8 draws, small caps")
    parser.add_argument("--cap", type=float, default=None, help="override the n*d*k cap")
    parser.add_argument("--no-named", action="store_true", help="skip the W1-W6 rows")
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    caps = dict(QUICK_CAPS if args.quick else FULL_CAPS)
    if args.cap is not None:
        caps["work"] = args.cap
    count = args.draws if args.draws is not None else (8 if args.quick else 40)
    draws = draw_workloads(args.seed, count, caps)
    began = time.perf_counter()
    rows = []
    for draw in draws:
        X = make_data(draw)
        warm_up(X, draw.k)
        results = fit_all(X, draw.k)
        rows.append({"name": draw.name, "draw": asdict(draw), "results": results})
        print(f"{draw.name}: {_row_text(results)}", flush=True)
        del X
        gc.collect()
    named = [] if args.no_named else named_rows(args.quick)
    report = {
        "command": "python benchmarks/grid.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": f"{platform.machine()}, {platform.processor() or platform.system()}",
        "seed": args.seed,
        "draws": count,
        "caps": caps,
        "total_s": time.perf_counter() - began,
        "summary": summarise(rows),
        "rows": rows,
        "named": named,
    }
    text = markdown(report)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
