"""Facts about the run that every benchmark report prints: source revision, interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def progress(message: str) -> None:
    """A progress line on stderr, so that stdout keeps only the report."""
    print(message, file=sys.stderr, flush=True)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def source_revision() -> str:
    """The commit of the checkout and whether src/ has uncommitted changes (read-only git)."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        changes = _git("status", "--porcelain", "--", "src")
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"git {commit}" + (", with uncommitted changes under src/" if changes else "")


def python_command() -> str:
    """The interpreter as typed from the project root: ``.venv/bin/python`` when inside it."""
    relative = os.path.relpath(sys.executable)
    return sys.executable if relative.startswith("..") else relative


class OtherLoad:
    """Average number of cores busy with work other than this process, over a stretch.

    The machine's busy time from /proc/stat less the CPU time of this process and of its
    finished children; ``cores`` is None where /proc/stat cannot be read (not Linux).
    ``elapsed`` is the stretch's wall time.
    """

    def __enter__(self):
        self.start = (machine_busy_seconds(), own_and_children_cpu(), time.perf_counter())
        return self

    def __exit__(self, *exc):
        busy, own, wall = self.start
        busy_now = machine_busy_seconds()
        self.elapsed = time.perf_counter() - wall
        self.cores = None
        if busy is not None and busy_now is not None and self.elapsed > 0:
            others = (busy_now - busy) - (own_and_children_cpu() - own)
            self.cores = max(others, 0.0) / self.elapsed
        return False


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot, from /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def own_and_children_cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def parallel_headroom(n_threads: int | None = None, repeats: int = 5) -> float:
    """Best 1-thread time / best ``n_threads`` time of a compute-bound numba loop.

    ``n_threads`` (default: numba's thread count) when every thread got a core of its
    own; 1.0 when the machine gave this process one core's worth of time in all.
    """
    import numba
    import numpy as np

    @numba.njit(parallel=True, cache=False)
    def busy_loop(x):
        total = 0.0
        for i in numba.prange(x.shape[0]):
            v = x[i]
            for _ in range(100):
                v = v * 1.0000001 + 1e-9
            total += v
        return total

    threads = numba.get_num_threads()
    n_threads = threads if n_threads is None else n_threads
    x = np.random.default_rng(0).random(1_000_000)
    busy_loop(x)
    best = {}
    try:
        for count in (1, n_threads):
            numba.set_num_threads(count)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                busy_loop(x)
                times.append(time.perf_counter() - start)
            best[count] = min(times)
    finally:
        numba.set_num_threads(threads)
    return best[1] / best[n_threads]
