"""Scoring with the exported ONNX graph (onnxruntime) against the model's own predict.

Run from the project root::

    .venv/bin/python benchmarks/onnx_speed.py [--rows N] [--features D] [--clusters K]

Blobs drawn from a seed (default 100,000 x 16, k = 64), float32 and float64; each way of
scoring runs 5 times after a warm-up and the median is reported, as rows per second, with
the share of rows whose label differs (only near-ties may). The report goes to stdout.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import onnxruntime
from machine import python_command, source_revision

from centroids import KMeans


def median_seconds(function, repeats=5):
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--clusters", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    centers = rng.normal(scale=5, size=(args.clusters, args.features))
    X64 = centers[rng.integers(0, args.clusters, args.rows)] + rng.normal(
        size=(args.rows, args.features)
    )
    print(f"`{python_command()} benchmarks/onnx_speed.py` at commit `{source_revision()}`\n")
    print("| dtype | predict rows/s | onnxruntime rows/s | ratio | labels that differ |")
    print("|---|---:|---:|---:|---:|")
    for dtype in (np.float32, np.float64):
        X = X64.astype(dtype)
        model = KMeans(args.clusters, random_state=args.seed).fit(X)
        session = onnxruntime.InferenceSession(
            model.to_onnx().SerializeToString(), providers=["CPUExecutionProvider"]
        )
        ours = median_seconds(lambda X=X, model=model: model.predict(X))
        theirs = median_seconds(lambda X=X, session=session: session.run(None, {"X": X}))
        differ = float(np.mean(session.run(None, {"X": X})[0] != model.predict(X)))
        print(
            f"| {np.dtype(dtype).name} | {args.rows / ours:,.0f} | {args.rows / theirs:,.0f} "
            f"| {ours / theirs:.2f}x | {differ:.2e} |"
        )


if __name__ == "__main__":
    main()
