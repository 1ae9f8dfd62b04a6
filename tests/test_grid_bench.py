"""The generated benchmark grid (benchmarks/grid.py): its draws and one tiny run end to end.

No timing is asserted; the checks are on the draws (deterministic, capped, covering every
spread, order and dtype) and on the shape of the report.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

GRID_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "grid.py"


@pytest.fixture(scope="module")
def grid():
    spec = importlib.util.spec_from_file_location("grid_bench", GRID_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_draws_are_deterministic_for_a_seed(grid):
    assert grid.draw_workloads(3, 40) == grid.draw_workloads(3, 40)
    assert grid.draw_workloads(3, 40) != grid.draw_workloads(4, 40)


@pytest.mark.parametrize("quick", [False, True])
def test_draws_respect_the_caps_and_ranges(grid, quick):
    caps = grid.QUICK_CAPS if quick else grid.FULL_CAPS
    for seed in range(5):
        for draw in grid.draw_workloads(seed, 40, caps):
            assert draw.n * draw.d * draw.k <= caps["work"], draw
            assert draw.n * draw.d * draw.density <= caps["cells"] * 1.0001, draw
            assert grid.N_RANGE[0] <= draw.n <= grid.N_RANGE[1]
            assert grid.D_RANGE[0] <= draw.d <= grid.D_RANGE[1]
            assert grid.K_RANGE[0] <= draw.k <= min(grid.K_RANGE[1], draw.n)
            if draw.layout == "csr":
                assert draw.d >= 100 and 0.01 <= draw.density <= 0.05
            else:
                assert draw.density == 1.0


def test_forty_draws_cover_every_spread_order_dtype_and_layout(grid):
    draws = grid.draw_workloads(0, 40)
    assert {d.spread for d in draws} == set(grid.SPREADS)
    assert {d.order for d in draws} == set(grid.ORDERS)
    assert {d.dtype for d in draws} == set(grid.DTYPES)
    assert {d.layout for d in draws} == {"dense", "csr"}


def test_data_follows_the_draw(grid):
    base = dict(index=0, n=3_000, k=5, data_seed=7)
    dense = grid.Draw(d=4, spread="separated", order="sorted", dtype="float32",
                      layout="dense", density=1.0, **base)  # fmt: skip
    X = grid.make_data(dense)
    assert X.shape == (3_000, 4) and X.dtype == np.float32 and X.flags.c_contiguous
    assert np.all(np.diff(X[:, 0]) >= 0)
    np.testing.assert_array_equal(X, grid.make_data(dense))
    sparse = grid.Draw(d=200, spread="overlapping", order="grouped", dtype="float64",
                       layout="csr", density=0.03, **base)  # fmt: skip
    S = grid.make_data(sparse)
    assert sp.issparse(S) and S.shape == (3_000, 200) and S.dtype == np.float64
    assert 0.02 <= S.nnz / (3_000 * 200) <= 0.04


def test_inertia_is_computed_the_same_way_dense_and_sparse(grid):
    rng = np.random.default_rng(0)
    X = rng.random((50, 6))
    C = rng.random((3, 6))
    expected = ((X[:, None, :] - C[None]) ** 2).sum(axis=2).min(axis=1).sum()
    assert grid.inertia(X, C) == pytest.approx(expected, rel=1e-10)
    assert grid.inertia(sp.csr_matrix(X), C) == pytest.approx(expected, rel=1e-10)


def test_one_tiny_draw_runs_end_to_end(grid, tmp_path):
    draw = grid.Draw(0, 2_000, 3, 4, "separated", "random", "float32", "dense", 1.0, 1)
    X = grid.make_data(draw)
    results = grid.fit_all(X, draw.k)
    assert {"centroids", "sklearn"} <= set(results)
    for peer, row in results.items():
        assert row["time_s"] > 0 and row["inertia"] > 0
        if peer != "centroids":
            assert row["time_ratio"] > 0 and row["inertia_ratio"] > 0
    rows = [{"name": draw.name, "results": results}]
    report = {
        "command": "test", "machine": "test", "seed": 0, "draws": 1,
        "caps": grid.QUICK_CAPS, "total_s": 1.0, "summary": grid.summarise(rows),
        "rows": rows, "named": [],
    }  # fmt: skip
    text = grid.markdown(report)
    assert "| sklearn | 1 |" in text and draw.name in text
