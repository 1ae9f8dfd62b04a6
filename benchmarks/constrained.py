"""Size-constrained K-Means: centroids' SizeConstrainedKMeans beside k-means-constrained.

Run from the project root::

    .venv/bin/python benchmarks/constrained.py [--rows 10000 100000 1000000] [--n-init 1]
        [--peer-cap 480] [--markdown PATH]

Data: 10 features, generated blobs of unequal sizes (Dirichlet shares) and four spreads
(cluster_std 0.5, 1, 2, 4) around 12 centers, seeded, so that k = 20 clusters with sizes
within ±5% of n/k must cut blobs and move rows across them. Both estimators get the same
data, k, bounds and n_init, one after the other in this process (k-means-constrained in a
child process with a wall-clock cap, ``--peer-cap`` seconds; a run past it is reported as
``> cap``). Where the peer's time at the previous size, grown by the exponent measured
between the two sizes before (or linearly when only one was measured), exceeds the cap, it
is not run and the estimate is printed, marked as such. For each run: fit time, inertia,
the smallest and largest cluster, whether both are within the bounds, and the ratios.
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

K = 20
N_BLOBS = 12
SLACK = 0.05


def blobs(n, seed=0):
    """n × 10 rows: 12 blobs of unequal sizes and four spreads (seeded)."""
    rng = np.random.default_rng(seed)
    sizes = np.maximum(1, (rng.dirichlet(np.full(N_BLOBS, 2.0)) * n).astype(int))
    sizes[0] += n - sizes.sum()
    spreads = rng.choice([0.5, 1.0, 2.0, 4.0], size=N_BLOBS)
    X, _ = make_blobs(
        list(sizes), n_features=10, cluster_std=spreads, center_box=(-15, 15), random_state=seed
    )
    return X


def bounds(n):
    return int(np.floor((1 - SLACK) * n / K)), int(np.ceil((1 + SLACK) * n / K))


def fit_ours(X, n_init, seed):
    lo, hi = bounds(X.shape[0])
    start = time.perf_counter()
    model = SizeConstrainedKMeans(K, size_min=lo, size_max=hi, n_init=n_init, random_state=seed)
    model.fit(X)
    return time.perf_counter() - start, model.inertia_, model.labels_


def _peer_child(n, n_init, seed, queue):
    from k_means_constrained import KMeansConstrained

    X = blobs(n, seed)
    lo, hi = bounds(n)
    start = time.perf_counter()
    model = KMeansConstrained(
        K, size_min=lo, size_max=hi, n_init=n_init, random_state=seed, n_jobs=1
    ).fit(X)
    seconds = time.perf_counter() - start
    queue.put((seconds, float(model.inertia_), np.bincount(model.labels_, minlength=K)))


def fit_peer(n, n_init, seed, cap):
    """(seconds, inertia, sizes) of k-means-constrained, or (None, None, None) past cap."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_peer_child, args=(n, n_init, seed, queue))
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


def within(sizes, n):
    lo, hi = bounds(n)
    return bool(sizes.min() >= lo and sizes.max() <= hi)


def run(rows, n_init, seed, cap):
    fit_ours(blobs(5_000, seed + 1), 1, seed)  # compile (or load) the kernels first
    lines = [
        "| rows | bounds | k-means-constrained (s) | centroids (s) | speed-up | "
        "inertia (peer) | inertia (centroids) | inertia ratio | sizes in bounds (peer / ours) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    measured = []  # (n, peer seconds) actually measured
    for n in rows:
        X = blobs(n, seed)
        lo, hi = bounds(n)
        seconds, inertia, labels = fit_ours(X, n_init, seed)
        sizes = np.bincount(labels, minlength=K)
        progress(f"{n:,} rows: centroids {seconds:.2f} s")
        estimate = None
        if measured:
            growth = 1.0
            if len(measured) >= 2:
                (n0, t0), (n1, t1) = measured[-2:]
                growth = np.log(t1 / t0) / np.log(n1 / n0)
            n1, t1 = measured[-1]
            estimate = t1 * (n / n1) ** max(growth, 1.0)
        if estimate is not None and estimate > cap:
            peer_time = f"≈ {estimate:,.0f} (estimated, not run)"
            speed = f"≈ {estimate / seconds:,.0f}× (est.)"
            p_inertia = ratio = "–"
            p_ok = "not run"
        else:
            p_seconds, p_inertia_v, p_sizes = fit_peer(n, n_init, seed, cap)
            if p_seconds is None:
                peer_time = f"> {cap:,.0f} (stopped)"
                speed = f"> {cap / seconds:,.0f}×"
                p_inertia = ratio = "–"
                p_ok = "stopped"
            else:
                measured.append((n, p_seconds))
                peer_time = f"{p_seconds:,.2f}"
                speed = f"{p_seconds / seconds:,.1f}×"
                p_inertia = f"{p_inertia_v:,.0f}"
                ratio = f"{inertia / p_inertia_v:.4f}"
                p_ok = "yes" if within(p_sizes, n) else "NO"
            progress(f"{n:,} rows: k-means-constrained {peer_time} s")
        ours_ok = "yes" if within(sizes, n) else "NO"
        lines.append(
            f"| {n:,} | [{lo:,}, {hi:,}] | {peer_time} | {seconds:,.2f} | {speed} | "
            f"{p_inertia} | {inertia:,.0f} | {ratio} | {p_ok} / {ours_ok} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--n-init", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--peer-cap", type=float, default=480.0, help="wall-clock cap of one peer fit (s)"
    )
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    with OtherLoad() as load:
        table = run(args.rows, args.n_init, args.seed, args.peer_cap)
    cores = "unknown" if load.cores is None else f"{load.cores:.1f} cores"
    text = (
        f"k = {K}, 10 features, bounds ±{SLACK:.0%} of n/k, n_init = {args.n_init} for both, "
        f"seed {args.seed}; revision {source_revision()}; other load {cores} over "
        f"{load.elapsed:.0f} s\n\n{table}\n\n"
        f"Command: `{python_command()} benchmarks/constrained.py --rows "
        f"{' '.join(str(r) for r in args.rows)} --n-init {args.n_init} "
        f"--peer-cap {args.peer_cap:g}`"
    )
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
