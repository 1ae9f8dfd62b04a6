"""The GPU backend side by side: centroids on the CPU, centroids on torch, faiss-gpu, cuML.

One script for one session on a machine with a CUDA device (``docs/gpu.md``): fit time
and final inertia of each implementation on W2 and W4 (the suite's workloads,
``benchmarks/workloads.py``) and on G (10^7 × 64 float32 blobs, k = 1,024), every
implementation from the same seeds in the same run, then the ratios the issue targets:

* centroids on torch at least 20× faster than centroids on the CPU (numba) on W2 and W4;
* no slower than faiss-gpu, at equal or lower inertia, wherever faiss-gpu runs.

The inertia of every result is measured by one evaluator: the torch backend's exact
assignment (the nearest center of each row, float64 sums) on the device. With
``--crossover`` it also times one fixed-length fit of both backends over growing
n × d × k, for ``centroids.settings.TORCH_AUTO_MIN_WORK``. Figures go to ``--out`` as
JSON (and a Markdown summary to stdout); progress to stderr.

Usage, from the project root::

    python3 benchmarks/gpu_bench.py --out gpu_bench.json          # on the GPU machine
    .venv/bin/python benchmarks/gpu_bench.py --quick --device cpu  # a smoke run anywhere

faiss-gpu (``faiss-gpu-cu12``) and cuML (``cuml-cu12``) run where they import and see a
GPU; otherwise they are recorded as not installed. G is generated on the device (torch's
generator, fixed seed) to spare the host minutes of ``make_blobs``; centroids' CPU run on
G is left out unless ``--cpu-on-g`` (minutes of numba on one pass alone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from machine import progress, python_command, source_revision
from workloads import Workload, suite_workloads

#: Iteration cap of every implementation (faiss has no tolerance: it runs them all).
MAX_ITER = 100

#: centroids on torch must be at least this much faster than centroids on the CPU.
SPEEDUP_TARGET = 20.0

IMPLEMENTATIONS = ("centroids-cpu", "centroids-torch", "centroids-torch-fp16", "faiss-gpu", "cuml")


def g_workload(quick):
    n = 100_000 if quick else 10_000_000
    return Workload("G", "blobs, 2048 true clusters of uneven spread", n, 64, 1024, "float32")


def blobs_on_device(workload, device):
    """G's data: 2k true centers uniform in (-10, 10)^d, spreads 0.5-2, rows drawn on the
    device by torch's generator (seed 0), as a float32 tensor there."""
    import torch

    rng = np.random.default_rng(0)
    n_true = 2 * workload.n_clusters
    centers = torch.as_tensor(rng.uniform(-10, 10, size=(n_true, workload.n_features)))
    stds = torch.as_tensor(rng.uniform(0.5, 2.0, size=n_true))
    generator = torch.Generator(device=device).manual_seed(0)
    labels = torch.randint(n_true, (workload.n_rows,), generator=generator, device=device)
    X = (
        torch.randn(workload.n_rows, workload.n_features, generator=generator, device=device)
        * stds.to(device, torch.float32)[labels, None]
    )
    X += centers.to(device, torch.float32)[labels]
    return X


def available(name, device):
    """None when the implementation can run here, else why not."""
    if name in ("centroids-cpu", "centroids-torch", "centroids-torch-fp16"):
        return None
    if device == "cpu":
        return "needs a CUDA device"
    if name == "faiss-gpu":
        try:
            import faiss
        except ImportError:
            return "not installed (pip install faiss-gpu-cu12)"
        if not hasattr(faiss, "get_num_gpus") or faiss.get_num_gpus() == 0:
            return "faiss is installed without GPU support"
        return None
    try:
        import cuml  # noqa: F401
    except ImportError:
        return "not installed (pip install cuml-cu12)"
    return None


def synchronize(device):
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def fit(name, X, k, seed, device):
    """(centers as NumPy, iterations, fit seconds) of one implementation."""
    import torch

    from centroids import KMeans

    host = X.cpu().numpy() if isinstance(X, torch.Tensor) else X
    if name.startswith("centroids"):
        options = {"backend": "numba"} if name == "centroids-cpu" else {
            "backend": "torch",
            "device": device,
            "product_dtype": "float16" if name.endswith("fp16") else None,
        }  # fmt: skip
        model = KMeans(k, n_init=1, max_iter=MAX_ITER, random_state=seed, **options)
        data = host if name == "centroids-cpu" else X
        synchronize(device)
        start = time.perf_counter()
        model.fit(data)
        synchronize(device)
        return model.cluster_centers_, int(model.n_iter_), time.perf_counter() - start
    if name == "faiss-gpu":
        import faiss

        n, d = host.shape
        model = faiss.Kmeans(
            d, k, niter=MAX_ITER, seed=seed, gpu=True, max_points_per_centroid=n, verbose=False
        )
        start = time.perf_counter()
        model.train(np.ascontiguousarray(host, dtype=np.float32))
        return model.centroids, len(model.obj), time.perf_counter() - start
    import cupy
    from cuml.cluster import KMeans as CuKMeans

    data = cupy.from_dlpack(X) if isinstance(X, torch.Tensor) and X.is_cuda else cupy.asarray(host)
    model = CuKMeans(n_clusters=k, max_iter=MAX_ITER, tol=1e-4, random_state=seed, n_init=1)
    cupy.cuda.Device().synchronize()
    start = time.perf_counter()
    model.fit(data)
    cupy.cuda.Device().synchronize()
    centers = model.cluster_centers_
    centers = centers.get() if hasattr(centers, "get") else np.asarray(centers)
    return centers, int(getattr(model, "n_iter_", -1)), time.perf_counter() - start


def exact_inertia(X, centers, device):
    """Σ ||x - nearest center||², the nearest center exact, float64 sums, on the device."""
    import torch

    from centroids.engine.torch_backend import DeviceRows, assign_rows

    dtype = np.float64 if (X.dtype == torch.float64 if isinstance(X, torch.Tensor) else
                           X.dtype == np.float64) else np.float32  # fmt: skip
    rows = DeviceRows(X, np.ones(X.shape[0]), device)
    with torch.no_grad():
        return assign_rows(rows, np.asarray(centers, dtype=dtype))[2]


def run_workload(workload, implementations, seeds, device, cpu_on_g):

    progress(f"{workload.name}: making {workload.shape_text}, k = {workload.n_clusters}")
    X = blobs_on_device(workload, device) if workload.name == "G" else workload.make()
    results = {}
    for name in implementations:
        why_not = available(name, device)
        if why_not is None and name == "centroids-cpu" and workload.name == "G" and not cpu_on_g:
            why_not = "left out on G (minutes a pass on the CPU; --cpu-on-g runs it)"
        if why_not is not None:
            results[name] = {"skipped": why_not}
            progress(f"  {name}: {why_not}")
            continue
        # Untimed: numba compiles its kernels (or loads them from its cache), torch starts
        # CUDA and its libraries, each on the same dtype and shape of problem.
        warm_rows = min(X.shape[0], max(4 * workload.n_clusters, 2_000))
        try:
            fit(name, X[:warm_rows], workload.n_clusters, 0, device)
        except Exception as error:
            progress(f"  {name}: warm-up failed: {error}")
        runs = []
        for seed in seeds:
            try:
                centers, n_iter, seconds = fit(name, X, workload.n_clusters, seed, device)
            except Exception as error:  # a peer that fails is a figure too
                runs.append({"seed": seed, "error": f"{type(error).__name__}: {error}"})
                progress(f"  {name} seed {seed}: failed: {error}")
                break
            inertia = exact_inertia(X, centers, device)
            runs.append({"seed": seed, "fit_s": seconds, "n_iter": n_iter, "inertia": inertia})
            progress(f"  {name} seed {seed}: {seconds:.3f} s, {n_iter} iterations, {inertia:.6g}")
        done = [r for r in runs if "fit_s" in r]
        results[name] = {"runs": runs}
        if done:
            results[name]["median_fit_s"] = statistics.median(r["fit_s"] for r in done)
            results[name]["median_inertia"] = statistics.median(r["inertia"] for r in done)
    return {
        "workload": workload.name,
        "shape": workload.shape_text,
        "k": workload.n_clusters,
        "results": results,
        "ratios": ratios(workload.name, results),
    }


def ratios(name, results):
    """The targets' ratios from the medians of the same run."""

    def median(impl, key):
        return results.get(impl, {}).get(f"median_{key}")

    out = {}
    torch_s = median("centroids-torch", "fit_s")
    cpu_s = median("centroids-cpu", "fit_s")
    faiss_s = median("faiss-gpu", "fit_s")
    if torch_s and cpu_s:
        out["cpu_time_over_torch_time"] = cpu_s / torch_s
        if name in ("W2", "W4"):
            out["speedup_target_met"] = cpu_s / torch_s >= SPEEDUP_TARGET
    for variant in ("centroids-torch", "centroids-torch-fp16"):
        variant_s = median(variant, "fit_s")
        if variant_s and faiss_s:
            inertia = median(variant, "inertia") / median("faiss-gpu", "inertia")
            out[f"{variant}_time_over_faiss_gpu"] = variant_s / faiss_s
            out[f"{variant}_inertia_over_faiss_gpu"] = inertia
            out[f"{variant}_faiss_target_met"] = variant_s <= faiss_s and inertia <= 1.0
    cuml_s = median("cuml", "fit_s")
    if torch_s and cuml_s:
        out["torch_time_over_cuml"] = torch_s / cuml_s
        out["torch_inertia_over_cuml"] = median("centroids-torch", "inertia") / median(
            "cuml", "inertia"
        )
    return out


def crossover(device, quick):
    """One fit of 10 Lloyd passes (tol 0, the same start) by numba and by torch, over
    n × 32 × 64 for growing n: seconds of each, and the work of one pass."""
    from centroids import KMeans

    rng = np.random.default_rng(0)
    sizes = [2_000, 20_000] if quick else [2_000, 10_000, 50_000, 200_000, 1_000_000, 4_000_000]
    d, k = 32, 64
    rows = []
    warm = rng.normal(size=(4 * k, d)).astype(np.float32)
    KMeans(k, init=warm[:k], max_iter=2, backend="torch", device=device).fit(warm)
    # (that started torch and the device outside the timings: a process pays it once)
    for n in sizes:
        X = rng.normal(size=(n, d)).astype(np.float32)
        start = X[:k].copy()
        row = {"n": n, "d": d, "k": k, "work_per_pass": n * d * k}
        for backend in ("numba", "torch"):
            model = KMeans(k, init=start, max_iter=10, tol=0.0, backend=backend,
                           device=None if backend == "numba" else device)  # fmt: skip
            model.fit(X[:k])  # numba compiled (or loaded from its cache) before timing
            begin = time.perf_counter()
            model.fit(X)
            row[f"{backend}_s"] = time.perf_counter() - begin
        rows.append(row)
        progress(f"  crossover n={n}: numba {row['numba_s']:.3f} s, torch {row['torch_s']:.3f} s")
    faster = [r["work_per_pass"] for r in rows if r["torch_s"] < r["numba_s"]]
    return {"rows": rows, "smallest_work_where_torch_wins": min(faster) if faster else None}


def device_facts(device):
    import torch

    facts = {
        "device": device,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "source": source_revision(),
    }
    if device.startswith("cuda"):
        properties = torch.cuda.get_device_properties(torch.device(device))
        facts["gpu"] = properties.name
        facts["gpu_memory_gib"] = round(properties.total_memory / 2**30, 1)
        facts["cuda"] = torch.version.cuda
    try:
        import numba

        facts["numba_threads"] = numba.get_num_threads()
    except ImportError:
        pass
    return facts


def markdown(report):
    lines = [
        f"device: {report['machine'].get('gpu', report['machine']['device'])}, "
        f"torch {report['machine']['torch']}, {report['machine']['source']}",
        "",
        "| workload | implementation | fit s (median) | inertia (median) | iterations |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for entry in report["workloads"]:
        for name, result in entry["results"].items():
            if "skipped" in result:
                lines.append(f"| {entry['workload']} | {name} | {result['skipped']} | | |")
                continue
            done = [r for r in result["runs"] if "fit_s" in r]
            if not done:
                lines.append(f"| {entry['workload']} | {name} | {result['runs'][0]['error']} | | |")
                continue
            iterations = "/".join(str(r["n_iter"]) for r in done)
            lines.append(
                f"| {entry['workload']} | {name} | {result['median_fit_s']:.3f} | "
                f"{result['median_inertia']:.6g} | {iterations} |"
            )
    lines.append("")
    for entry in report["workloads"]:
        for key, value in entry["ratios"].items():
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            lines.append(f"- {entry['workload']} {key}: {shown}")
    if report.get("crossover"):
        found = report["crossover"]["smallest_work_where_torch_wins"]
        lines.append(f"- crossover: torch wins from {found} multiply-adds a pass")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="torch device (default: cuda if present)")
    parser.add_argument("--workloads", default="W2,W4,G")
    parser.add_argument("--implementations", default=",".join(IMPLEMENTATIONS))
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="smaller data: a smoke run")
    parser.add_argument("--cpu-on-g", action="store_true")
    parser.add_argument("--crossover", action="store_true")
    parser.add_argument("--out", default="gpu_bench.json")
    args = parser.parse_args(argv)

    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    workloads = dict(suite_workloads(args.quick))
    workloads["G"] = g_workload(args.quick)
    if args.quick:  # a smoke run: fewer clusters too, so that the CPU part is short
        for name in ("W2", "W4"):
            w = workloads[name]
            workloads[name] = Workload(w.name, w.description, w.n_rows, w.n_features,
                                       w.n_clusters // 8, w.dtype)  # fmt: skip
        w = workloads["G"]
        workloads["G"] = Workload(w.name, w.description, w.n_rows, w.n_features, 64, w.dtype)
    implementations = args.implementations.split(",")
    report = {
        "command": " ".join([python_command(), *sys.argv]),
        "machine": device_facts(device),
        "max_iter": MAX_ITER,
        "quick": args.quick,
        "workloads": [],
    }
    for name in args.workloads.split(","):
        entry = run_workload(
            workloads[name], implementations, list(range(args.seeds)), device, args.cpu_on_g
        )
        report["workloads"].append(entry)
        Path(args.out).write_text(json.dumps(report, indent=2))  # what is done so far
    if args.crossover:
        progress("crossover of the backends")
        report["crossover"] = crossover(device, args.quick)
    temporary = Path(f"{args.out}.tmp")
    temporary.write_text(json.dumps(report, indent=2))
    temporary.replace(args.out)
    print(markdown(report))


if __name__ == "__main__":
    main()
