"""centroids side by side with scikit-learn, FAISS and SciPy on six workloads.

Run from the project root (``make bench`` runs the default)::

    .venv/bin/python benchmarks/suite.py [--workloads W1,W3] [--peers sklearn-lloyd,faiss]
                                         [--seeds 3] [--timeout 180] [--quick] [--scale]
                                         [--markdown PATH]

Every (implementation, workload, seed) runs in a fresh subprocess (this script, called
with ``--child``): it imports its library, loads the workload's data from a file the
parent wrote once (generation is never timed), fits ``n_clusters=k`` with k-means++ (or
the peer's closest), one initialisation and at most 100 iterations, and reports

- the fit time (seeding included; for centroids, of a second identical fit: the first one
  in the fresh process is reported apart as the "cold first call", as it also compiles
  the numba kernels or loads them from numba's on-disk cache),
- the peak resident memory: ``VmHWM`` from ``/proc/self/status`` (``getrusage``'s
  ``ru_maxrss`` would report the parent's peak after ``exec`` on Linux), both over the
  timed fit alone (the peak is reset just before it) and over the whole child, next to
  ``VmRSS`` just before the fit (library imported, data loaded),
- the final inertia, computed the same way for every implementation: each row assigned to
  its nearest returned center, distances in float64, outside the timed region.

The report (Markdown, on stdout) gives per workload the medians over the seeds, ratios
against scikit-learn and against the fastest peer, and whether centroids meets the "Speed"
issue's targets. Progress goes to stderr. ``--scale`` runs W1's generator at
n = 10^5, 10^6 and 10^7 instead, to show that the time per point stays flat.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads as workload_data
from machine import (
    OtherLoad,
    parallel_headroom,
    progress,
    python_command,
    source_revision,
)

#: Every implementation the suite knows, in table order.
IMPLEMENTATIONS = (
    "centroids",
    "sklearn-lloyd",
    "sklearn-elkan",
    "sklearn-minibatch",
    "faiss",
    "scipy-kmeans2",
)

#: Implementations that cannot take a sparse matrix (W5 is not densified: 8 GB).
DENSE_ONLY = {"faiss", "scipy-kmeans2"}

#: Peers run by ``--scale`` unless ``--peers`` says otherwise.
SCALE_PEERS = ("sklearn-lloyd",)

MAX_ITER = 100

#: centroids' fit time / the faster scikit-learn algorithm's must be at most this.
TIME_TARGET = {"W1": 1 / 3, "W2": 1 / 2, "W3": 1.0, "W4": 1 / 3, "W5": 1 / 2, "W6": 1 / 3}
TIME_TARGET_TEXT = {"W1": "1/3", "W2": "1/2", "W3": "1", "W4": "1/3", "W5": "1/2", "W6": "1/3"}
#: Workloads where centroids must not be slower than faiss-cpu.
FAISS_TIME_TARGET = {"W2", "W4"}
#: Workloads where centroids' peak RSS must not exceed scikit-learn's (Lloyd).
RSS_TARGET = {"W1", "W2", "W3", "W4"}
#: centroids' inertia may be at most this much above scikit-learn's median.
INERTIA_TOLERANCE = 0.005


# ---------------------------------------------------------------------------
# Child: one fit in a fresh process
# ---------------------------------------------------------------------------


def proc_status_mib(field_name: str) -> float | None:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MiB; None where unreadable."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def start_peak_window(record: dict) -> None:
    """Reset VmHWM to the current RSS so that the next reading is the timed fit's peak.

    Writing 5 to /proc/self/clear_refs resets the peak (Linux >= 4.0); the peak so far
    is kept in ``record`` for the whole-child figure.
    """
    record["peak_before_fit_mib"] = proc_status_mib("VmHWM")
    record["rss_before_fit_mib"] = proc_status_mib("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        record["peak_reset"] = True
    except OSError:
        record["peak_reset"] = False


def import_implementation(name: str) -> None:
    """Import the implementation's library before the data, so RSS before fit includes it."""
    if name == "centroids":
        import centroids  # noqa: F401
    elif name.startswith("sklearn"):
        import sklearn.cluster  # noqa: F401
    elif name == "faiss":
        import faiss  # noqa: F401
    elif name == "scipy-kmeans2":
        import scipy.cluster.vq  # noqa: F401


#: Iterations of a peer's warm-up fit: enough to allocate every buffer its iterations use.
WARM_UP_ITER = 2


def warm_up(impl: str, X, k: int, seed: int) -> None:
    """A short fit of the peer on the same data before the measured one.

    The issue's memory figure is the fit's own memory after import *and a warm-up fit*, for
    every implementation alike: centroids' warm-up is its cold first call (the same fit, so
    the same kernels), a peer's is this fit of ``WARM_UP_ITER`` iterations (the same
    buffers as its measured fit, at a fraction of its time).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the short fit
        if impl.startswith("sklearn-"):
            from sklearn.cluster import KMeans, MiniBatchKMeans

            algorithm = impl.removeprefix("sklearn-")
            if algorithm == "minibatch":
                MiniBatchKMeans(n_clusters=k, n_init=1, max_iter=1, random_state=seed).fit(X)
            else:
                KMeans(
                    n_clusters=k,
                    n_init=1,
                    max_iter=WARM_UP_ITER,
                    random_state=seed,
                    algorithm=algorithm,
                ).fit(X)
        elif impl == "faiss":
            import faiss

            X32 = np.ascontiguousarray(X, dtype=np.float32)
            faiss.Kmeans(
                X32.shape[1], k, niter=WARM_UP_ITER, seed=seed, max_points_per_centroid=len(X32)
            ).train(X32)
            del X32
        elif impl == "scipy-kmeans2":
            from scipy.cluster.vq import kmeans2

            kmeans2(X, k, iter=WARM_UP_ITER, minit="++", seed=seed)


def fit_centroids(X, k: int, seed: int, record: dict) -> np.ndarray:
    from centroids import KMeans

    def estimator():
        return KMeans(n_clusters=k, n_init=1, max_iter=MAX_ITER, random_state=seed)

    # The cold first call is the very same fit, first in this fresh process: it compiles
    # the numba kernels (or loads them from numba's on-disk cache) on exactly the code
    # paths the timed fit takes, whatever the engine picks for this size. (A fit on a
    # small slice would miss kernels the engine only selects for large inputs.)
    start = time.perf_counter()
    estimator().fit(X)
    record["cold_s"] = time.perf_counter() - start
    start_peak_window(record)

    model = estimator()
    start = time.perf_counter()
    model.fit(X)
    record["fit_s"] = time.perf_counter() - start
    record["n_iter"] = int(model.n_iter_)
    return model.cluster_centers_


def fit_sklearn(X, k: int, seed: int, record: dict, algorithm: str) -> np.ndarray:
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if algorithm == "minibatch":
        model = MiniBatchKMeans(
            n_clusters=k, init="k-means++", n_init=1, max_iter=MAX_ITER, random_state=seed
        )
    else:
        model = KMeans(
            n_clusters=k,
            init="k-means++",
            n_init=1,
            max_iter=MAX_ITER,
            random_state=seed,
            algorithm=algorithm,
        )
    start = time.perf_counter()
    model.fit(X)
    record["fit_s"] = time.perf_counter() - start
    record["n_iter"] = int(model.n_iter_)
    return model.cluster_centers_


def fit_faiss(X, k: int, seed: int, record: dict) -> np.ndarray:
    import faiss

    # faiss trains on float32 only: the copy is made outside the timed region (and counts
    # in the peak RSS where the workload is float64).
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    n, d = X32.shape
    model = faiss.Kmeans(
        d,
        k,
        niter=MAX_ITER,
        seed=seed,
        max_points_per_centroid=n,  # every point is used, no subsampling
        spherical=False,
        verbose=False,
    )
    start = time.perf_counter()
    model.train(X32)
    record["fit_s"] = time.perf_counter() - start
    record["n_iter"] = len(model.obj)
    record["threads"] = faiss.omp_get_max_threads()
    return model.centroids


def fit_scipy(X, k: int, seed: int, record: dict) -> np.ndarray:
    from scipy.cluster.vq import kmeans2

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "One of the clusters is empty."
        centers, _ = kmeans2(X, k, iter=MAX_ITER, minit="++", seed=seed)
    record["fit_s"] = time.perf_counter() - start
    record["n_iter"] = MAX_ITER  # kmeans2 has no convergence test: always `iter` passes
    return centers


def float64_inertia(X, centers: np.ndarray) -> float:
    """Sum of squared distances from every row to its nearest center, in float64.

    Row chunks keep the extra memory to about 16 MB. Dense rows: nearest center by the
    expanded form, then the exact squared distance to it. CSR rows: the expanded form
    (clipped at 0), as sparse rows cannot be subtracted from centers cheaply.
    """
    C = np.asarray(centers, dtype=np.float64)
    center_sq = np.einsum("ij,ij->i", C, C)
    n = X.shape[0]
    rows = max(256, 2_000_000 // C.shape[0])
    total = 0.0
    for start in range(0, n, rows):
        chunk = X[start : start + rows]
        if sp.issparse(chunk):
            chunk = chunk.astype(np.float64)
            row_sq = np.asarray(chunk.multiply(chunk).sum(axis=1)).ravel()
            distances = row_sq[:, None] - 2.0 * (chunk @ C.T) + center_sq
            total += float(np.clip(distances.min(axis=1), 0.0, None).sum())
        else:
            chunk = np.asarray(chunk, dtype=np.float64)
            labels = np.argmin(center_sq - 2.0 * (chunk @ C.T), axis=1)
            difference = chunk - C[labels]
            total += float(np.einsum("ij,ij->", difference, difference))
    return total


def run_child(impl: str, data_path: str, k: int, seed: int, result_path: str) -> int:
    """The child process: import, load, fit (timed), measure, write a JSON record."""
    import_implementation(impl)
    X = workload_data.load(Path(data_path))
    record: dict = {"impl": impl, "seed": seed, "rss_loaded_mib": proc_status_mib("VmRSS")}
    if impl != "centroids":  # centroids opens the window after its cold first call
        warm_up(impl, X, k, seed)
        start_peak_window(record)
    if impl == "centroids":
        centers = fit_centroids(X, k, seed, record)
    elif impl.startswith("sklearn-"):
        centers = fit_sklearn(X, k, seed, record, impl.removeprefix("sklearn-"))
    elif impl == "faiss":
        centers = fit_faiss(X, k, seed, record)
    elif impl == "scipy-kmeans2":
        centers = fit_scipy(X, k, seed, record)
    else:
        raise ValueError(f"unknown implementation {impl!r}; known: {', '.join(IMPLEMENTATIONS)}")
    fit_peak = proc_status_mib("VmHWM")
    record["fit_peak_rss_mib"] = fit_peak
    if fit_peak is not None and record["rss_before_fit_mib"] is not None:
        record["fit_own_mib"] = fit_peak - record["rss_before_fit_mib"]
    record["peak_rss_mib"] = max(fit_peak or 0.0, record["peak_before_fit_mib"] or 0.0)
    record["inertia"] = float64_inertia(X, centers)
    Path(result_path).write_text(json.dumps(record), encoding="utf-8")
    return 0


# ---------------------------------------------------------------------------
# Parent: run the children, gather medians
# ---------------------------------------------------------------------------


@dataclass
class Outcome:
    """All seeds of one implementation on one workload."""

    impl: str
    records: list[dict] = field(default_factory=list)
    status: str = "ok"  # "ok", "n/a (dense only)", "> T s (timed out)", "failed: ..."

    def median(self, key: str) -> float | None:
        values = [r[key] for r in self.records if r.get(key) is not None]
        return statistics.median(values) if values else None

    @property
    def done(self) -> bool:
        return bool(self.records) and self.status == "ok"


def run_one(impl: str, data_path: Path, k: int, seed: int, timeout: float, tmp: Path):
    """One child run; returns its record, or a status string when it timed out or failed."""
    result_path = tmp / f"result-{impl}-{seed}.json"
    result_path.unlink(missing_ok=True)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        impl,
        str(data_path),
        str(k),
        str(seed),
        str(result_path),
    ]
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=workload_data.PROJECT_ROOT,
        )
    except subprocess.TimeoutExpired:
        return f"> {timeout:g} s (timed out)"
    if completed.returncode != 0 or not result_path.exists():
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        return f"failed (exit {completed.returncode}): {last[:120]}"
    return json.loads(result_path.read_text(encoding="utf-8"))


def data_mib(X) -> float:
    if sp.issparse(X):
        return (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20
    return X.nbytes / 2**20


@dataclass
class WorkloadResult:
    workload: workload_data.Workload
    outcomes: dict[str, Outcome]
    data_mib: float
    generate_s: float
    wall_s: float
    other_load: float | None


def run_workload(
    workload: workload_data.Workload, impls: list[str], seeds: int, timeout: float, tmp: Path
) -> WorkloadResult:
    progress(f"{workload.name} ({workload.shape_text}, k={workload.n_clusters}): generating")
    start = time.perf_counter()
    X = workload.make()
    generate_s = time.perf_counter() - start
    size = data_mib(X)
    data_path = workload_data.save(X, tmp / f"data-{workload.name}-{workload.n_rows}")
    del X
    outcomes = {impl: Outcome(impl) for impl in impls}
    for impl in impls:
        if workload.sparse and impl in DENSE_ONLY:
            outcomes[impl].status = "n/a (dense only)"
    with OtherLoad() as load:
        for seed in range(seeds):  # seeds outermost: machine noise spreads over all
            for impl in impls:
                outcome = outcomes[impl]
                if outcome.status != "ok":
                    continue  # n/a, or timed out / failed on an earlier seed
                # centroids' child fits twice (cold first call, then the timed fit)
                limit = 2 * timeout if impl == "centroids" else timeout
                result = run_one(impl, data_path, workload.n_clusters, seed, limit, tmp)
                if isinstance(result, str):
                    outcome.status = result
                    progress(f"  {impl} seed {seed}: {result}")
                else:
                    outcome.records.append(result)
                    progress(
                        f"  {impl} seed {seed}: fit {result['fit_s']:.2f} s, "
                        f"{result['n_iter']} iterations, inertia {result['inertia']:.6g}"
                    )
    data_path.unlink(missing_ok=True)
    return WorkloadResult(workload, outcomes, size, generate_s, load.elapsed, load.cores)


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def markdown_table(headers: list[str], rows: list[list[str]], text_last: bool = True) -> str:
    """A GitHub Markdown table: first column (and the last if ``text_last``) left-aligned."""
    rule = ["---"] + ["---:"] * (len(headers) - 1)
    if text_last:
        rule[-1] = "---"
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def sklearn_reference(outcomes: dict[str, Outcome]) -> tuple[float | None, float | None]:
    """(faster scikit-learn KMeans median time, scikit-learn Lloyd median inertia).

    The inertia reference falls back to Elkan's when Lloyd did not finish.
    """
    times = [
        outcomes[name].median("fit_s")
        for name in ("sklearn-lloyd", "sklearn-elkan")
        if name in outcomes and outcomes[name].done
    ]
    inertia = None
    for name in ("sklearn-lloyd", "sklearn-elkan"):
        if name in outcomes and outcomes[name].done:
            inertia = outcomes[name].median("inertia")
            break
    return (min(times) if times else None), inertia


def target_text(result: WorkloadResult) -> str:
    """Met / not met for each target of the issue that applies to this workload."""
    name = result.workload.name
    outcomes = result.outcomes
    mine = outcomes.get("centroids")
    if mine is None or not mine.done:
        return "centroids did not finish"
    my_time, my_inertia = mine.median("fit_s"), mine.median("inertia")
    sk_time, sk_inertia = sklearn_reference(outcomes)
    checks = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "**NOT met**"

    if name in TIME_TARGET and sk_time:
        ratio = my_time / sk_time
        checks.append(
            f"time {ratio:.2f} of sklearn (≤ {TIME_TARGET_TEXT[name]}): "
            f"{verdict(ratio <= TIME_TARGET[name])}"
        )
    faiss = outcomes.get("faiss")
    if name in FAISS_TIME_TARGET and faiss is not None and faiss.done:
        ratio = my_time / faiss.median("fit_s")
        checks.append(f"time {ratio:.2f} of faiss (≤ 1): {verdict(ratio <= 1.0)}")
    if sk_inertia:
        excess = my_inertia / sk_inertia - 1.0
        checks.append(
            f"inertia {excess:+.2%} vs sklearn (≤ +0.5%): {verdict(excess <= INERTIA_TOLERANCE)}"
        )
    if faiss is not None and faiss.done:
        checks.append(f"inertia below faiss: {verdict(my_inertia < faiss.median('inertia'))}")
    lloyd = outcomes.get("sklearn-lloyd")
    if name in RSS_TARGET and lloyd is not None and lloyd.done:
        # The target is the fit's own memory (what sizing a container needs), floored at
        # 1 MiB each so that a fit inside memory already resident reads as ~0, not 0/0.
        mine_own, lloyd_own = mine.median("fit_own_mib"), lloyd.median("fit_own_mib")
        if mine_own is not None and lloyd_own is not None:
            own = max(mine_own, 1.0) / max(lloyd_own, 1.0)
            checks.append(f"fit's own memory {own:.2f} of sklearn (≤ 1/4): {verdict(own <= 0.25)}")
        whole = mine.median("fit_peak_rss_mib") / lloyd.median("fit_peak_rss_mib")
        checks.append(f"peak RSS in fit {whole:.2f} of sklearn (reported)")
    return "; ".join(checks) if checks else "no applicable target"


def workload_section(result: WorkloadResult, quick: bool) -> str:
    w = result.workload
    outcomes = result.outcomes
    sk_time, sk_inertia = sklearn_reference(outcomes)
    peer_times = [
        o.median("fit_s") for name, o in outcomes.items() if name != "centroids" and o.done
    ]
    best_peer = min(peer_times) if peer_times else None
    headers = [
        "implementation",
        "fit s (median)",
        "cold first call s",
        "iterations",
        "RSS before fit MiB",
        "peak RSS in fit MiB",
        "fit's own MiB",
        "peak RSS whole child MiB",
        "inertia (median)",
        "inertia / sklearn",
        "time / best peer",
        "time / faster sklearn",
        "targets",
    ]
    rows = []
    for name, o in outcomes.items():
        if not o.done:
            rows.append([name, o.status] + ["–"] * 10 + [""])
            continue
        fit_s, inertia = o.median("fit_s"), o.median("inertia")
        rows.append(
            [
                name,
                f"{fit_s:.3f}",
                fmt(o.median("cold_s"), ".2f"),
                fmt(o.median("n_iter"), "g"),
                fmt(o.median("rss_before_fit_mib"), ".0f"),
                fmt(o.median("fit_peak_rss_mib"), ".0f"),
                fmt(o.median("fit_own_mib"), ".0f"),
                fmt(o.median("peak_rss_mib"), ".0f"),
                f"{inertia:.6g}",
                fmt(inertia / sk_inertia if sk_inertia else None, ".4f"),
                fmt(fit_s / best_peer if best_peer else None, ".2f"),
                fmt(fit_s / sk_time if sk_time else None, ".2f"),
                target_text(result) if name == "centroids" else "",
            ]
        )
    load = "unknown" if result.other_load is None else f"{result.other_load:.2f}"
    header = (
        f"### {w.name}: {w.description}\n\n"
        f"{w.shape_text}, k = {w.n_clusters}; data {result.data_mib:.0f} MiB in memory "
        f"(generated in {result.generate_s:.1f} s, not timed); this workload's runs took "
        f"{result.wall_s:.0f} s; other processes used {load} cores on average meanwhile."
    )
    if quick:
        header += " Quick sizes: the targets are indicative only."
    return header + "\n\n" + markdown_table(headers, rows)


def scale_section(results: list[WorkloadResult]) -> str:
    headers = [
        "n",
        "implementation",
        "fit s (median)",
        "iterations",
        "µs per point",
        "ns per point per iteration",
        "peak RSS in fit MiB",
        "inertia / n",
    ]
    rows = []
    for result in results:
        n = result.workload.n_rows
        for name, o in result.outcomes.items():
            if not o.done:
                rows.append([f"{n:,}", name, o.status] + ["–"] * 5)
                continue
            fit_s, n_iter = o.median("fit_s"), o.median("n_iter")
            rows.append(
                [
                    f"{n:,}",
                    name,
                    f"{fit_s:.3f}",
                    f"{n_iter:g}",
                    f"{fit_s / n * 1e6:.3f}",
                    f"{fit_s / n / n_iter * 1e9:.2f}",
                    fmt(o.median("fit_peak_rss_mib"), ".0f"),
                    f"{o.median('inertia') / n:.4f}",
                ]
            )
    return (
        "### Scale: W1's generator (d = 8, k = 16, float64) at growing n\n\n"
        "Time per point should stay flat as n grows; per point and iteration removes the "
        "effect of different iteration counts.\n\n" + markdown_table(headers, rows, text_last=False)
    )


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def memory_total_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            return f"{int(f.readline().split()[1]) / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def versions_line(impls: list[str]) -> str:
    import numba
    import scipy
    import sklearn
    import threadpoolctl

    import centroids

    parts = [
        f"python {platform.python_version()}",
        f"numpy {np.__version__}",
        f"scipy {scipy.__version__}",
        f"scikit-learn {sklearn.__version__}",
        f"numba {numba.__version__}",
        f"threadpoolctl {threadpoolctl.__version__}",
    ]
    if "faiss" in impls:
        try:
            import faiss

            parts.append(f"faiss-cpu {faiss.__version__}")
        except ImportError:
            parts.append("faiss-cpu not installed")
    parts.append(f"centroids {centroids.__version__} ({source_revision()})")
    return ", ".join(parts)


def threads_lines(impls: list[str]) -> list[str]:
    import numba
    import sklearn.cluster  # noqa: F401  (loads scikit-learn's OpenMP runtime)
    import threadpoolctl

    lines = []
    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "not yet chosen"
    lines.append(
        f"- threads: every implementation uses all usable cores. centroids: numba "
        f"{numba.get_num_threads()} threads (layer {layer}), BLAS kept at 1 inside a fit"
    )
    if "faiss" in impls:
        try:
            import faiss

            lines.append(f"  - faiss: OpenMP {faiss.omp_get_max_threads()} threads")
        except ImportError:
            pass
    lines.append(
        "  - OpenMP and BLAS libraries loaded (threadpoolctl), used by scikit-learn, "
        "SciPy and NumPy:"
    )
    for pool in threadpoolctl.threadpool_info():
        lines.append(
            f"    - {pool['user_api']} {pool['internal_api']} "
            f"{pool.get('version') or ''}: {pool['num_threads']} threads "
            f"({os.path.basename(pool['filepath'])})"
        )
    return lines


def environment_section(args, impls: list[str], headroom: tuple) -> str:
    before, after = headroom
    lines = [
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- command: `{' '.join([python_command(), *sys.argv])}`",
        f"- machine: {cpu_model()}, nproc {os.cpu_count()} (usable "
        f"{len(os.sched_getaffinity(0))}), {memory_total_gib()} RAM, {platform.machine()} "
        f"{platform.system()} {platform.release()}",
        f"- {versions_line(impls)}",
        *threads_lines(impls),
        f"- free cores: a compute-bound numba loop ran {fmt(before, '.2f')}x faster on all "
        f"threads than on 1 before the runs and {fmt(after, '.2f')}x after "
        f"({os.cpu_count()} would mean every core was free)",
        f"- seeds: {args.seeds} per implementation and workload (medians); timeout "
        f"{args.timeout:g} s per child run, twice that for centroids' two fits (a run that "
        f"times out is not repeated on later seeds); "
        f"sizes: {'quick (a tenth of the rows; birch2 whole)' if args.quick else 'full'}",
        f"- every fit: k-means++ (faiss: its own random sampling, it has no k-means++), one "
        f"initialisation, at most {MAX_ITER} iterations, each library's default tolerance",
    ]
    return "\n".join(lines)


NOTES = """\
Notes on the columns:

- **fit s**: wall time of the fit alone, seeding included, median over the seeds. Data
  generation, loading, imports and the inertia evaluation are outside it. For centroids it
  is the second of two identical fits in the child; **cold first call** is the first one:
  what a user's first fit in a fresh process costs, numba compiling the kernels or
  loading them from its on-disk cache included (the first child after a change to the
  kernels compiles, later ones load). Cold minus fit is that one-off cost.
- **RSS before fit**: resident memory just before the timed fit: library imported, data
  loaded (its own size is in each workload's header), and a warm-up fit done: for
  centroids the cold first call (so numba's compiled kernels and compiler are resident),
  for a peer a fit of the same data stopped after two iterations.
  **peak RSS in fit**: `VmHWM` over the timed fit alone (reset just before it through
  `/proc/self/clear_refs`); **fit's own**: that peak minus RSS before fit, what the fit
  itself needed.
  **peak RSS whole child**: `VmHWM` over the whole child; for centroids it includes the
  cold first call and numba's compiler. faiss trains on float32 only: on float64
  workloads (W1, W6) its child makes a float32 copy just before the fit (outside the
  timing), which counts in its fit peak.
- **inertia**: every implementation's returned centers scored the same way: each row to
  its nearest center, squared distances summed in float64. **inertia / sklearn**: against
  the median of scikit-learn's Lloyd runs.
- **time / best peer**: against the fastest peer that finished (MiniBatchKMeans included,
  although it solves an approximate problem); **time / faster sklearn**: against the
  faster of scikit-learn's Lloyd and Elkan. Below 1 means faster.
- **iterations**: `n_iter_` (MiniBatchKMeans: epochs over the data), faiss: its
  iteration count; scipy's kmeans2 has no convergence test and always runs all 100.
- **targets** (issue "Speed"): fit time ≤ 1/3 of the faster scikit-learn algorithm on W1,
  W4, W6, ≤ 1/2 on W2, W5, ≤ 1 on W3; not slower than faiss on W2, W4; inertia below
  faiss's wherever it runs and at most 0.5 % above scikit-learn's median; the fit's own
  memory at most 1/4 of scikit-learn's (Lloyd) on W1-W4 (peak RSS in the fit reported)."""


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workloads",
        type=comma_list,
        default=None,
        help="comma-separated workloads among W1..W6 (default: all)",
    )
    parser.add_argument(
        "--peers",
        type=comma_list,
        default=None,
        help=f"comma-separated peers to run next to centroids among "
        f"{', '.join(IMPLEMENTATIONS[1:])} (default: all; --scale: sklearn-lloyd)",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per run (default 3)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=180.0,
        help="seconds one child run may take before it is stopped (default 180; twice that "
        "for centroids, whose child fits twice)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: a tenth of the rows (birch2 whole)"
    )
    parser.add_argument(
        "--scale", action="store_true", help="run W1's generator at n = 1e5, 1e6, 1e7 instead"
    )
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)

    known = workload_data.suite_workloads()
    args.workloads = args.workloads or list(known)
    for name in args.workloads:
        if name not in known:
            parser.error(f"--workloads: unknown workload {name!r}; known: {', '.join(known)}")
    if args.peers is None:
        args.peers = list(SCALE_PEERS if args.scale else IMPLEMENTATIONS[1:])
    for name in args.peers:
        if name not in IMPLEMENTATIONS[1:]:
            parser.error(f"--peers: unknown peer {name!r}; known: {', '.join(IMPLEMENTATIONS[1:])}")
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    if args.timeout <= 0:
        parser.error(f"--timeout must be positive, got {args.timeout:g}")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        impl, data_path, k, seed, result_path = argv[1:6]
        return run_child(impl, data_path, int(k), int(seed), result_path)

    args = parse_args(argv)
    impls = ["centroids"] + [p for p in IMPLEMENTATIONS[1:] if p in args.peers]
    started = time.perf_counter()
    headroom_before = parallel_headroom()
    sections = []
    with tempfile.TemporaryDirectory(prefix="centroids-bench-") as tmp:
        if args.scale:
            results = [
                run_workload(w, impls, args.seeds, args.timeout, Path(tmp))
                for w in workload_data.scale_workloads(args.quick)
            ]
            sections.append(scale_section(results))
        else:
            chosen = workload_data.suite_workloads(args.quick)
            for name in args.workloads:
                try:
                    result = run_workload(chosen[name], impls, args.seeds, args.timeout, Path(tmp))
                except FileNotFoundError as error:  # birch2 missing: report, go on
                    progress(f"{name} skipped: {error}")
                    sections.append(f"### {name}: skipped\n\n{error}")
                    continue
                sections.append(workload_section(result, args.quick))
    headroom_after = parallel_headroom()
    total = time.perf_counter() - started
    report = "\n\n".join(
        [
            "## centroids side by side with scikit-learn, FAISS and SciPy",
            environment_section(args, impls, (headroom_before, headroom_after))
            + f"\n- whole run: {total / 60:.1f} min",
            *sections,
            NOTES,
        ]
    )
    print(report)
    if args.markdown:
        args.markdown.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
