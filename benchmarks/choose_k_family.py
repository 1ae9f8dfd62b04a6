"""choose_k on a generated family where the answer is known: the chosen K against the truth.

Run from the project root::

    .venv/bin/python benchmarks/choose_k_family.py [--quick] [--seed S] [--draws N]
        [--max-rows N] [--json PATH]

Every draw comes from the seed: Gaussian blobs with a known number of clusters K (2-12),
n log-uniform in 10^4..10^6 (``--max-rows`` caps it; ``--quick``: 10^4..5·10^4 and fewer
draws), d in 2..16, every cluster its own spread (ratio up to 3 between clusters) and
size (Dirichlet, the smallest at least a quarter of an even share), and a separation:
the closest two clusters are ``s`` times the sum of their spreads apart, ``s`` in
[3, 5] (the truth is clear: every pair of clusters is apart by more than three spreads
each side), rows shuffled and standardised. A fifth of the draws have no structure at all
(uniform in a box or a ball, one Gaussian, one Gaussian stretched along a random axis):
there the answer is "no structure" (``k`` None).

Per draw: choose_k over K = 2..12 with its defaults (``random_state`` = the draw's seed),
the truth, the chosen K, and the K each criterion votes for on its own. The summary counts
the draws where the chosen K is the truth, and per criterion how often its vote is.
The report (Markdown) goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from machine import progress, python_command, source_revision

from centroids.evaluate.choose_k import CRITERIA, choose_k

K_VALUES = np.arange(2, 13)
NO_STRUCTURE_SHAPES = ("box", "ball", "gaussian", "stretched")


def separated_blobs(rng, k, n, d, separation):
    """Blobs whose closest pair is ``separation`` times the sum of their spreads apart."""
    spreads = rng.uniform(0.5, 1.5, size=k)
    weights = rng.dirichlet(np.full(k, 3.0))
    weights = np.maximum(weights, 0.25 / k)
    sizes = np.floor(weights / weights.sum() * n).astype(int)
    sizes[np.argmax(sizes)] += n - sizes.sum()
    centers = rng.uniform(-1.0, 1.0, size=(k, d))
    gaps = np.sqrt(((centers[:, None] - centers[None]) ** 2).sum(axis=2))
    reach = spreads[:, None] + spreads[None]
    ratio = gaps / reach + np.diag(np.full(k, np.inf))
    centers *= separation / ratio.min()
    labels = np.repeat(np.arange(k), sizes)
    X = centers[labels] + rng.normal(size=(n, d)) * spreads[labels, None]
    return X


def structureless(rng, shape, n, d):
    """Data without clusters: uniform in a box or a ball, one Gaussian, a stretched one."""
    if shape == "box":
        return rng.uniform(-1.0, 1.0, size=(n, d))
    if shape == "ball":
        directions = rng.normal(size=(n, d))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        return directions * rng.uniform(size=(n, 1)) ** (1.0 / d)
    X = rng.normal(size=(n, d))
    if shape == "stretched":
        X[:, rng.integers(d)] *= 4.0
    return X


def draw(seed, min_rows, max_rows):
    """One draw of the family: (X, true K or None, description)."""
    rng = np.random.default_rng(seed)
    n = int(np.exp(rng.uniform(np.log(min_rows), np.log(max_rows))))
    d = int(rng.integers(2, 17))
    if seed % 5 == 4:
        shape = NO_STRUCTURE_SHAPES[(seed // 5) % len(NO_STRUCTURE_SHAPES)]
        X, k, text = structureless(rng, shape, n, d), None, f"no structure ({shape})"
    else:
        k = int(rng.integers(2, 13))
        separation = float(rng.uniform(3.0, 5.0))
        X = separated_blobs(rng, k, n, d, separation)
        text = f"{k} blobs, s={separation:.1f}"
    X = X[rng.permutation(n)]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return np.ascontiguousarray(X), k, f"{n:,} x {d}, {text}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^4..5*10^4 rows, 10 draws")
    parser.add_argument("--seed", type=int, default=0, help="first draw's seed")
    parser.add_argument("--draws", type=int, default=None, help="draws (default 30; 10 quick)")
    parser.add_argument("--min-rows", type=int, default=10_000)
    parser.add_argument("--max-rows", type=int, default=None, help="largest n (10^6)")
    parser.add_argument("--json", default=None, help="write every draw's table here")
    args = parser.parse_args()
    draws = args.draws or (10 if args.quick else 30)
    max_rows = args.max_rows or (50_000 if args.quick else 1_000_000)

    choose_k(draw(0, 2_000, 2_001)[0], range(2, 5), n_references=2, n_stability=1)
    rows, tables = [], {}
    for seed in range(args.seed, args.seed + draws):
        X, truth, text = draw(seed, args.min_rows, max_rows)
        progress(f"#{seed} {text}")
        start = time.perf_counter()
        result = choose_k(X, K_VALUES, random_state=seed)
        seconds = time.perf_counter() - start
        rows.append((seed, text, truth, result.k, dict(result.votes), seconds))
        tables[seed] = {
            "text": text,
            "truth": truth,
            "k": result.k,
            "votes": result.votes,
            "gap_k": result.gap_k,
            "table": result.table.reset_index().to_dict(orient="records"),
            "reference_silhouette": result.references["reference_silhouette"].tolist(),
        }
        progress(f"   truth {truth}, chosen {result.k}, votes {result.votes} ({seconds:.1f} s)")

    print(f"#### choose_k on the generated family (commit `{source_revision()}`)\n")
    print(f"`{python_command()} benchmarks/choose_k_family.py` seeds {args.seed}..{seed}\n")
    print("| draw | data | truth | chosen | " + " | ".join(CRITERIA) + " | s |")
    print("|---|---|---:|---:|" + "---:|" * len(CRITERIA) + "---:|")
    for seed, text, truth, k, votes, seconds in rows:
        mark = "" if k == truth else " **x**"
        cells = " | ".join(str(votes.get(c)) for c in CRITERIA)
        print(f"| {seed} | {text} | {truth} | {k}{mark} | {cells} | {seconds:.1f} |")
    right = sum(k == truth for _, _, truth, k, _, _ in rows)
    print(f"\nChosen K = truth in {right} of {len(rows)} draws.", end=" ")
    blobs = [(truth, votes) for _, _, truth, _, votes, _ in rows if truth is not None]
    shares = ", ".join(f"{c} {sum(v.get(c) == t for t, v in blobs)}/{len(blobs)}" for c in CRITERIA)
    print(f"Votes equal to the truth on the blob draws: {shares}.")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(tables, handle, default=float)


if __name__ == "__main__":
    main()
