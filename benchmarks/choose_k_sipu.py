"""choose_k's acceptance run: SIPU sets with a known K, data without structure, iris.

Run from the project root::

    .venv/bin/python benchmarks/choose_k_sipu.py [--quick] [--sets s1,a1,...] [--seed 0]

For every set, ``centroids.evaluate.choose_k.choose_k(X, k_range, random_state=seed)``
with default settings otherwise. The SIPU sets (s1-s4, a1, unbalance, d31; read from
``../shared/data/sipu`` relative to the project root, or ``$CENTROIDS_DATA/sipu``) are
asked over ``k = 2..35`` (a range that holds every true K); the structureless sets
(5,000 uniform points in 2-D and in 10-D, one 2-D Gaussian blob of 5,000 points) over
``k = 2..15``; iris (standardised) over ``k = 2..10``. ``--quick`` asks the SIPU sets
over ``k = 2..(true K + 5)`` instead.

The report (Markdown on stdout) gives per set: the true K, choose_k's recommendation
(``none`` when it says the data have no cluster structure), what the silhouette alone
picks (the highest silhouette of the same table, with the peer scikit-learn's
``silhouette_score`` of the same labels as a cross-check), whether the recommendation is
right, the wall time of the whole choose_k call (numba compilation excluded: a small
warm-up call runs first) and the one-line reason. The machine may be shared: the
average number of cores busy with other work during the run is printed with it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris, make_blobs
from sklearn.metrics import silhouette_score as sklearn_silhouette_score
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import OtherLoad, progress, python_command, source_revision

from centroids.evaluate.choose_k import choose_k

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SIPU_SETS = {"s1": 15, "s2": 15, "s3": 15, "s4": 15, "a1": 20, "unbalance": 8, "d31": 31}
ALL_SETS = (*SIPU_SETS, "uniform-2d", "uniform-10d", "gaussian-blob", "iris")


def sipu_directory() -> Path:
    """``$CENTROIDS_DATA/sipu`` or ``../shared/data/sipu`` from the project root."""
    override = os.environ.get("CENTROIDS_DATA")
    base = Path(override) if override else PROJECT_ROOT.parent / "shared" / "data"
    return base / "sipu"


def load_set(name: str, quick: bool):
    """X, the true K (None: no structure; '2 or 3' for iris) and the k range asked."""
    if name in SIPU_SETS:
        X = np.loadtxt(sipu_directory() / f"{name}.data.gz")
        true_k = SIPU_SETS[name]
        return X, true_k, range(2, true_k + 6) if quick else range(2, 36)
    rng = np.random.default_rng(0)
    if name == "uniform-2d":
        return rng.uniform(size=(5_000, 2)), None, range(2, 16)
    if name == "uniform-10d":
        return rng.uniform(size=(5_000, 10)), None, range(2, 16)
    if name == "gaussian-blob":
        return rng.normal(size=(5_000, 2)), None, range(2, 16)
    if name == "iris":
        return StandardScaler().fit_transform(load_iris().data), "2 or 3", range(2, 11)
    raise ValueError(f"unknown set {name!r}; choose among {', '.join(ALL_SETS)}")


def is_right(true_k, result) -> bool:
    if true_k is None:
        return not result.has_structure and result.k is None
    if true_k == "2 or 3":
        return result.k in (2, 3)
    return result.k == true_k


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="SIPU sets over 2..K+5 only")
    parser.add_argument("--sets", default=",".join(ALL_SETS), help="comma-separated names")
    parser.add_argument("--seed", type=int, default=0, help="random_state of choose_k")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.sets.split(",") if n.strip()]

    progress("warming up (numba compilation)")
    warm_X, _ = make_blobs(300, centers=3, random_state=0)
    choose_k(warm_X, range(2, 5), n_references=2, n_stability=1, random_state=0)

    rows = []
    with OtherLoad() as load:
        for name in names:
            X, true_k, k_range = load_set(name, args.quick)
            progress(
                f"{name}: {X.shape[0]} x {X.shape[1]}, k in {k_range.start}..{k_range.stop - 1}"
            )
            start = time.perf_counter()
            result = choose_k(X, k_range, random_state=args.seed)
            elapsed = time.perf_counter() - start
            silhouette_k = int(result.table["silhouette"].idxmax())
            labels = result.models[silhouette_k].labels_
            peer = sklearn_silhouette_score(X, labels)
            ours = result.table.at[silhouette_k, "silhouette"]
            if abs(peer - ours) > 1e-6:
                raise AssertionError(f"{name}: silhouette {ours} differs from sklearn's {peer}")
            rows.append((name, true_k, result, silhouette_k, elapsed, is_right(true_k, result)))
            progress(f"  -> k={result.k} in {elapsed:.1f} s: {result.reason}")

    print("## choose_k on sets with a known answer\n")
    print(
        f"`{python_command()} benchmarks/choose_k_sipu.py{' --quick' if args.quick else ''}`"
        f" ({source_revision()}, random_state={args.seed}, numba threads: "
        f"{__import__('numba').get_num_threads()})\n"
    )
    print(
        "| set | n × d | k asked | true K | choose_k | right | silhouette alone | time (s) "
        "| reason |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, true_k, result, silhouette_k, elapsed, right in rows:
        X_shape = result.models[silhouette_k].labels_.shape[0]
        d = result.models[silhouette_k].n_features_in_
        ks = result.table.index
        recommended = "none" if result.k is None else str(result.k)
        truth = "none" if true_k is None else str(true_k)
        reason = result.reason if result.has_structure else result.verdict
        print(
            f"| {name} | {X_shape:,} × {d} | {ks.min()}..{ks.max()} | {truth} | {recommended} "
            f"| {'yes' if right else 'NO'} | {silhouette_k} | {elapsed:.1f} | {reason} |"
        )
    n_right = sum(r[-1] for r in rows)
    print(f"\n{n_right} of {len(rows)} right. ", end="")
    if load.cores is None:
        print("Other load on the machine could not be measured.")
    else:
        print(
            f"Other work kept {load.cores:.1f} cores busy on average during the "
            f"{load.elapsed:.0f} s run (times are then longer than on an idle machine)."
        )


if __name__ == "__main__":
    main()
