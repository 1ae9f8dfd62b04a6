"""The cold first call (issue 16 item 5): one kernel form per fit, and the warm-up.

A fresh process compiles every numba kernel a fit reaches, each form (parallel, serial)
and each argument type apart; these tests hold the choices that keep that list short,
and that they leave the results as they were. No timing is asserted here: the figures
are in docs/benchmarks.md ("Cold first fit", ``benchmarks/cold_start.py``).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_cli import invoke

from centroids import KMeans
from centroids import warmup as warmup_module
from centroids._kernels import _compile
from centroids._kernels import seeding as seeding_kernels

DTYPES = [np.float32, np.float64]


def _normal_rows(dtype, n_rows=10_000, n_features=8, seed=0):
    return np.random.default_rng(seed).normal(size=(n_rows, n_features)).astype(dtype)


class _FormSpy:
    """Stands in for one form of a ChunkedKernel: records its calls, runs the form."""

    def __init__(self, form, name, calls):
        self.form, self.name, self.calls = form, name, calls

    def __call__(self, *args):
        self.calls.append(self.name)
        return self.form(*args)


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_seeding_run_calls_one_form_of_the_filtered_kernel(dtype, monkeypatch):
    # 80,000 x 8, k = 8: the first candidate pass is above PARALLEL_MIN_WORK and the
    # pruned later ones below it; choosing the form per pass compiled both forms.
    kernel = seeding_kernels.dense_candidate_deltas_filtered
    calls = []
    monkeypatch.setattr(kernel, "parallel", _FormSpy(kernel.parallel, "parallel", calls))
    monkeypatch.setattr(kernel, "serial", _FormSpy(kernel.serial, "serial", calls))
    X = _normal_rows(dtype, n_rows=80_000)
    KMeans(n_clusters=8, n_init=1, refine=False, random_state=0).fit(X)
    assert len(calls) > 1
    assert len(set(calls)) == 1, calls


@pytest.mark.parametrize("dtype", DTYPES)
def test_serial_and_parallel_forms_give_the_same_fit(dtype, monkeypatch):
    X = _normal_rows(dtype, n_rows=6_000)
    fits = {}
    for name, threshold in (("serial", 1 << 62), ("parallel", 0)):
        monkeypatch.setattr(_compile, "PARALLEL_MIN_WORK", threshold)
        model = KMeans(n_clusters=8, random_state=0).fit(X)
        fits[name] = (model.cluster_centers_, model.labels_, model.inertia_)
    np.testing.assert_array_equal(fits["serial"][0], fits["parallel"][0])
    np.testing.assert_array_equal(fits["serial"][1], fits["parallel"][1])
    assert fits["serial"][2] == fits["parallel"][2]
    assert fits["serial"][0].dtype == dtype


#: Run in a fresh interpreter with an empty numba cache, so the kernels are compiled there
#: (from a warm cache the helper is loaded inlined and lists no signature at all).
_CHUNK_HELPER_PROBE = """
import numpy as np
from centroids import KMeans
from centroids._kernels import dense
X = np.random.default_rng(0).normal(size=(10_000, 16))  # above LOWD_MAX_FEATURES
KMeans(n_clusters=8, random_state=0).fit(X)
print(sorted({str(signature[-1]) for signature in dense.gemm_assign_chunk.signatures}))
"""


def test_gemm_assignment_compiles_one_chunk_helper_per_dtype(tmp_path):
    # The chunk helper of the product assignment is called by the parallel and the
    # serial loops with an int64 chunk index (a parallel loop's own index is uint64).
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[1] / "src"), env.get("PYTHONPATH", "")]
    )
    result = subprocess.run(
        [sys.executable, "-c", _CHUNK_HELPER_PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['int64']", result.stdout


#: The default first fit of issue 16 item 5 in a fresh interpreter: prints, as JSON,
#: every centroids kernel (numba dispatcher) compiled and its signatures, after a float64
#: fit and again after a float32 fit of the same shape.
_COLD_FIT_PROBE = """
import gc, json
import numpy as np
from numba.core.registry import CPUDispatcher
from centroids import KMeans

def compiled():
    return {
        f"{o.py_func.__module__}.{o.py_func.__name__}": [str(s) for s in o.signatures]
        for o in gc.get_objects()
        if isinstance(o, CPUDispatcher)
        and o.py_func.__module__.startswith("centroids")
        and o.signatures
    }

X = np.random.default_rng(0).normal(size=(10_000, 16))  # above LOWD_MAX_FEATURES
KMeans(random_state=0).fit(X)
after_float64 = compiled()
KMeans(random_state=0).fit(X.astype(np.float32))
print(json.dumps({"float64": after_float64, "both": compiled()}))
"""


def _run_in_fresh_interpreter(code, cache_dir):
    """Run ``code`` in a new interpreter whose numba cache is the empty ``cache_dir``;
    returns its stdout."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[1] / "src"), env.get("PYTHONPATH", "")]
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _parallel_form_names():
    """Names of the parallel forms of every ChunkedKernel of the kernel modules."""
    import importlib
    import pkgutil

    import centroids._kernels as package

    names = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, _compile.ChunkedKernel):
                names.add(f"{module.__name__}.{value.parallel.py_func.__name__}")
    return names


def test_small_cold_fit_compiles_only_the_serial_kernels_it_runs(tmp_path):
    # KMeans().fit on 10,000 x 8 (default settings: k-means++, Lloyd through the matrix
    # product, random swap): every pass is below PARALLEL_MIN_WORK, so no parallel form
    # is compiled (they take numba several times as long); the seeding's filtered
    # product kernels and chunk boxes are for more rows; one signature per dtype.
    import json

    compiled = json.loads(
        _run_in_fresh_interpreter(_COLD_FIT_PROBE, tmp_path / "cache").splitlines()[-1]
    )
    after_float64, both = compiled["float64"], compiled["both"]
    kernels = "centroids._kernels."
    # The path did compile: the serial fused assignment, random swap, the seeding.
    for name in ("dense.assign_and_sum_gemm_serial", "swap.random_swap", "seeding.draw_by_mass"):
        assert kernels + name in after_float64, sorted(after_float64)
    parallel = _parallel_form_names()
    assert kernels + "dense.assign_and_sum_gemm" in parallel
    assert not parallel & set(both), sorted(parallel & set(both))
    not_on_the_path = (
        "seeding.dense_candidate_deltas_filtered_serial",
        "seeding.dense_add_near_center_serial",
        "seeding.dense_chunk_boxes_serial",
        "seeding.chunks_in_reach_serial",
        "dense.assign_and_sum_direct_serial",
    )
    assert not {kernels + name for name in not_on_the_path} & set(both)
    too_many = {name: sigs for name, sigs in after_float64.items() if len(sigs) > 1}
    assert not too_many, too_many
    too_many = {name: sigs for name, sigs in both.items() if len(sigs) > 2}
    assert not too_many, too_many
    # The float32 fit compiled its own forms of the dtype-dependent kernels.
    assert len(both[kernels + "dense.assign_and_sum_gemm_serial"]) == 2


def test_warm_up_fits_every_shape_in_both_dtypes(monkeypatch):
    monkeypatch.setattr(warmup_module, "WARMUP_FITS", ((300, 2, 3), (300, 8, 3)))
    heard = []
    steps = warmup_module.warm_up(segment=False, log=heard.append)
    assert len(steps) == 4
    assert sum("float32" in name for name in steps) == 2
    assert len(heard) == 4 and all(line.endswith(" s") for line in heard)


def test_warmup_command(monkeypatch):
    monkeypatch.setattr(warmup_module, "WARMUP_FITS", ((300, 8, 3),))
    result = invoke("warmup", "--fits-only")
    assert result.exit_code == 0, result.output
    assert "Kernels compiled and cached" in result.output
    assert "300 x 8, k = 3, float32" in result.output
