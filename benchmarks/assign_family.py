"""Dense assignment passes: milliseconds per Lloyd pass, centroids against scikit-learn.

Run from the project root::

    .venv/bin/python benchmarks/assign_family.py [--seed 0] [--draws 12] [--passes 4]
                                                 [--repeats 3] [--cap 2e9]

Shapes are drawn from ``--seed``: n log-uniform in 10^4..10^6, d in 3..512, k in
8..2,048 (k <= n / 4), float32/float64 and the spread (overlapping, uniform,
separated) as balanced cycles, rows in random order; n*d*k is capped at ``--cap``
(n shrinks first, then k, as in ``benchmarks/grid.py``, whose data generator is used).
On every shape, in one process and from the same start (k rows of X drawn by the seed):
centroids' ``KMeans(init=C, n_init=1, max_iter=passes, tol=0, refine=False)`` with its
default algorithm ('auto') and with ``algorithm='lloyd'``, and scikit-learn's
``KMeans(init=C, n_init=1, max_iter=passes, tol=0, algorithm='lloyd')``, interleaved,
the fastest of ``--repeats`` fits of each kept. Milliseconds per pass = fit time /
n_iter_ (fit overheads, validation and norms included, alike for all). Ratios are
scikit-learn's ms per pass / ours (>= 1: ours is no slower); reported worst, q25 and
median over the shapes, and the worst shapes by name. Default threads for all.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grid import Draw, _balanced, _log_uniform_int, make_data
from machine import progress, source_revision

N_RANGE = (10_000, 1_000_000)
D_RANGE = (3, 512)
K_RANGE = (8, 2048)
SPREADS = ("overlapping", "uniform", "separated")
DTYPES = ("float32", "float64")


def draw_shapes(seed: int, draws: int, cap: float) -> list[Draw]:
    """The family's shapes for ``seed``: deterministic, n*d*k within ``cap``."""
    rng = np.random.default_rng(seed)
    spreads = _balanced(SPREADS, draws, rng)
    dtypes = _balanced(DTYPES, draws, rng)
    shapes = []
    for i in range(draws):
        n = _log_uniform_int(rng, *N_RANGE)
        d = _log_uniform_int(rng, *D_RANGE)
        k = _log_uniform_int(rng, *K_RANGE)
        n = min(n, int(cap // (d * k)))
        if n < N_RANGE[0]:
            n = N_RANGE[0]
            k = max(K_RANGE[0], min(k, int(cap // (n * d))))
        k = min(k, n // 4)
        seed_i = int(rng.integers(2**31))
        shapes.append(Draw(i, n, d, k, spreads[i], "random", dtypes[i], "dense", 1.0, seed_i))
    return shapes


def ms_per_pass(make_model, X, best):
    """Fit once; returns the fastest ms per pass so far (``best``) and the model."""
    model = make_model()
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    elapsed = (time.perf_counter() - started) * 1e3 / max(model.n_iter_, 1)
    return min(best, elapsed), model


def time_shape(shape: Draw, passes: int, repeats: int) -> dict:
    """The three ms-per-pass figures of one shape (and the iterations each ran)."""
    from sklearn.cluster import KMeans as SKMeans

    from centroids import KMeans
    from centroids.engine import choose_algorithm, engine_data

    X = make_data(shape)
    start = X[np.random.default_rng(shape.data_seed + 1).choice(shape.n, shape.k, replace=False)]
    start = np.ascontiguousarray(start)
    makers = {
        "auto": lambda: KMeans(
            shape.k, init=start, n_init=1, max_iter=passes, tol=0, refine=False
        ),
        "lloyd": lambda: KMeans(
            shape.k, init=start, n_init=1, max_iter=passes, tol=0, refine=False,
            algorithm="lloyd",
        ),
        "sklearn": lambda: SKMeans(
            shape.k, init=start, n_init=1, max_iter=passes, tol=0, algorithm="lloyd"
        ),
    }  # fmt: skip
    best = dict.fromkeys(makers, np.inf)
    models = {}
    for make in makers.values():  # warm-up: numba compiled, caches filled
        ms_per_pass(make, X[: min(len(X), 4096)], np.inf)
    for _ in range(repeats):
        for name, make in makers.items():
            best[name], models[name] = ms_per_pass(make, X, best[name])
    return {
        "ms": best,
        "iterations": {name: int(model.n_iter_) for name, model in models.items()},
        "inertia": {name: float(model.inertia_) for name, model in models.items()},
        "auto_algorithm": choose_algorithm(engine_data(X), shape.k),
    }


def _summary(values):
    ordered = sorted(values)
    q25 = ordered[0] if len(ordered) < 4 else statistics.quantiles(ordered, n=4)[0]
    return f"worst {ordered[0]:.2f}, q25 {q25:.2f}, median {statistics.median(ordered):.2f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=12)
    parser.add_argument("--passes", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cap", type=float, default=2e9, help="max n*d*k")
    args = parser.parse_args(argv)

    import numba

    shapes = draw_shapes(args.seed, args.draws, args.cap)
    print(
        f"# Assignment passes, seed {args.seed}: {args.draws} shapes, {args.passes} passes, "
        f"best of {args.repeats}; {numba.get_num_threads()} numba threads; "
        f"revision {source_revision()}"
    )
    print()
    print(
        "| shape | auto runs | ms/pass auto | ms/pass lloyd | ms/pass sklearn | "
        "sklearn/auto | sklearn/lloyd | iterations (auto/lloyd/sklearn) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    ratios = {"auto": [], "lloyd": []}
    for shape in shapes:
        progress(f"{shape.name} ...")
        result = time_shape(shape, args.passes, args.repeats)
        ms = result["ms"]
        row_ratios = {name: ms["sklearn"] / ms[name] for name in ratios}
        for name, value in row_ratios.items():
            ratios[name].append((value, shape.name))
        its = result["iterations"]
        print(
            f"| {shape.name} | {result['auto_algorithm']} | {ms['auto']:.1f} | "
            f"{ms['lloyd']:.1f} | {ms['sklearn']:.1f} | {row_ratios['auto']:.2f} | "
            f"{row_ratios['lloyd']:.2f} | {its['auto']}/{its['lloyd']}/{its['sklearn']} |",
            flush=True,
        )
    print()
    for name, values in ratios.items():
        worst = ", ".join(f"{shape} ({value:.2f})" for value, shape in sorted(values)[:3])
        print(f"- sklearn/{name}: {_summary([v for v, _ in values])}; worst: {worst}")


if __name__ == "__main__":
    main()
