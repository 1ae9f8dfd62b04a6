"""Size-constrained K-Means over a family of shapes: centroids beside k-means-constrained.

Run from the project root::

    .venv/bin/python benchmarks/constrained_shapes.py [--rows 10000] [--peer-cap 120]
        [--markdown PATH]

Each shape is (k, features, bound width): k in 5, 20, 50; 2, 8 or 32 features; bounds
tight (``floor(n/k)`` to ``ceil(n/k)``), ±5 % or ±20 % of n/k. The data are seeded blobs
of unequal sizes and spreads (as ``benchmarks/constrained.py`` draws them, with
``max(3, k // 2)`` blobs so that the bounds cut blobs). Both estimators get the same
data, bounds and ``n_init=1``, one after the other in this process (the peer in a child
process with a wall-clock cap). For each shape: both times, the speed-up, the inertia
ratio (ours / peer) and whether both labelings keep the bounds. The table ends with the
worst and the median speed-up: the family looks for the shapes where the exact
assignment (the price phase and the shortest paths) is slowest.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import OtherLoad, progress, python_command, source_revision
from sklearn.datasets import make_blobs

from centroids import SizeConstrainedKMeans

SHAPES = [(k, d, width) for k in (5, 20, 50) for d in (2, 8, 32) for width in (0.0, 0.05, 0.2)]


def shape_data(n, k, d, seed):
    """n × d rows: max(3, k // 2) blobs of unequal sizes and four spreads (seeded)."""
    rng = np.random.default_rng(seed + 1000 * k + d)
    n_blobs = max(3, k // 2)
    sizes = np.maximum(1, (rng.dirichlet(np.full(n_blobs, 2.0)) * n).astype(int))
    sizes[0] += n - sizes.sum()
    spreads = rng.choice([0.5, 1.0, 2.0, 4.0], size=n_blobs)
    X, _ = make_blobs(
        list(sizes), n_features=d, cluster_std=spreads, center_box=(-15, 15), random_state=seed
    )
    return X


def shape_bounds(n, k, width):
    return int(np.floor((1 - width) * n / k)), int(np.ceil((1 + width) * n / k))


def _peer_child(n, k, d, width, seed, queue):
    from k_means_constrained import KMeansConstrained

    X = shape_data(n, k, d, seed)
    lo, hi = shape_bounds(n, k, width)
    start = time.perf_counter()
    model = KMeansConstrained(
        k, size_min=lo, size_max=hi, n_init=1, random_state=seed, n_jobs=1
    ).fit(X)
    seconds = time.perf_counter() - start
    queue.put((seconds, float(model.inertia_), np.bincount(model.labels_, minlength=k)))


def fit_peer(n, k, d, width, seed, cap):
    """(seconds, inertia, sizes) of k-means-constrained, or (None, None, None) past cap."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_peer_child, args=(n, k, d, width, seed, queue))
    child.start()
    try:
        result = queue.get(timeout=cap)
    except Exception:  # queue.Empty: past the cap
        result = (None, None, None)
    child.join(timeout=5)
    if child.is_alive():
        child.kill()
        child.join()
    return result


def run_shape(n, k, d, width, seed, cap):
    X = shape_data(n, k, d, seed)
    lo, hi = shape_bounds(n, k, width)
    start = time.perf_counter()
    model = SizeConstrainedKMeans(k, size_min=lo, size_max=hi, n_init=1, random_state=seed)
    model.fit(X)
    ours = time.perf_counter() - start
    sizes = np.bincount(model.labels_, minlength=k)
    ours_ok = bool(sizes.min() >= lo and sizes.max() <= hi)
    p_seconds, p_inertia, p_sizes = fit_peer(n, k, d, width, seed, cap)
    if p_seconds is None:
        return ours, None, f"> {cap / ours:,.0f}×", "–", f"stopped / {ours_ok}", None
    p_ok = bool(p_sizes.min() >= lo and p_sizes.max() <= hi)
    ratio = f"{model.inertia_ / p_inertia:.4f}"
    speed = p_seconds / ours
    return ours, p_seconds, f"{speed:,.1f}×", ratio, f"{p_ok} / {ours_ok}", speed


def run(n, seed, cap):
    SizeConstrainedKMeans(5, size_min=900, size_max=1100, n_init=1).fit(shape_data(5000, 5, 2, 0))
    lines = [
        "| k | features | bounds | k-means-constrained (s) | centroids (s) | speed-up | "
        "inertia ratio (ours / peer) | in bounds (peer / ours) |",
        "|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    speedups = []
    for k, d, width in SHAPES:
        ours, peer, speed, ratio, ok, value = run_shape(n, k, d, width, seed, cap)
        if value is not None:
            speedups.append((value, k, d, width))
        label = "tight" if width == 0 else f"±{width:.0%}"
        peer_text = "stopped" if peer is None else f"{peer:,.2f}"
        progress(f"k={k} d={d} {label}: centroids {ours:.2f} s, peer {peer_text}")
        lines.append(
            f"| {k} | {d} | {label} | {peer_text} | {ours:,.2f} | {speed} | {ratio} | {ok} |"
        )
    if speedups:
        worst = min(speedups)
        median = float(np.median([s[0] for s in speedups]))
        lines.append("")
        lines.append(
            f"Worst speed-up {worst[0]:,.1f}× (k={worst[1]}, {worst[2]} features, width "
            f"{worst[3]:.0%}); median {median:,.1f}× over {len(speedups)} shapes."
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peer-cap", type=float, default=120.0)
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    with OtherLoad() as load:
        table = run(args.rows, args.seed, args.peer_cap)
    cores = "unknown" if load.cores is None else f"{load.cores:.1f} cores"
    text = (
        f"{args.rows:,} rows, n_init = 1 for both, seed {args.seed}; revision "
        f"{source_revision()}; other load {cores} over {load.elapsed:.0f} s\n\n{table}\n\n"
        f"Command: `{python_command()} benchmarks/constrained_shapes.py --rows {args.rows} "
        f"--peer-cap {args.peer_cap:g}`"
    )
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
