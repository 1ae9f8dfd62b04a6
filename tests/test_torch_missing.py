"""Without torch installed: the numba backend as always, and a clear error for 'torch'.

Runs everywhere: torch is hidden from the import system for each test (whether or not
it is installed), so what a user without the ``gpu`` extra sees is checked here too.
"""

import sys

import numpy as np
import pytest

from centroids import KMeans
from centroids.engine import torch_backend as tb

RNG = np.random.default_rng(0)


@pytest.fixture
def no_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    monkeypatch.setattr(tb, "_torch_installed", lambda: False)


def test_torch_backend_says_what_to_install(no_torch):
    with pytest.raises(ImportError, match=r"pip install 'centroids\[gpu\]'"):
        KMeans(2, backend="torch").fit(RNG.random((10, 2)))


def test_cuda_device_without_torch_says_what_to_install(no_torch):
    with pytest.raises(ImportError, match=r"device='cuda' needs PyTorch"):
        KMeans(2, device="cuda").fit(RNG.random((10, 2)))


def test_auto_runs_numba_without_torch(no_torch):
    X = np.random.default_rng(0).normal(size=(200, 3))
    auto = KMeans(3, random_state=0).fit(X)
    numba = KMeans(3, random_state=0, backend="numba").fit(X)
    np.testing.assert_array_equal(auto.cluster_centers_, numba.cluster_centers_)
    assert tb.choose_backend("auto", None, X, 1 << 50).name == "numba"


def test_bad_backend_parameters_are_named():
    with pytest.raises(ValueError, match="backend"):
        KMeans(2, backend="gpu").fit(RNG.random((10, 2)))
    with pytest.raises(ValueError, match="product_dtype"):
        KMeans(2, product_dtype="int8").fit(RNG.random((10, 2)))
    with pytest.raises(ValueError, match="device must be None"):
        KMeans(2, device=1.5).fit(RNG.random((10, 2)))


def test_every_estimator_documents_where_it_runs():
    from centroids import MiniBatchKMeans, SphericalKMeans

    for estimator in (KMeans, MiniBatchKMeans, SphericalKMeans):
        for name in ("backend", "device", "product_dtype"):
            assert f"    {name} : " in estimator.__doc__, (estimator.__name__, name)
            assert name in estimator().get_params()


def test_missing_values_run_on_numba_and_refuse_torch():
    from centroids import MiniBatchKMeans

    X = np.random.default_rng(1).normal(size=(300, 3))
    X[::7, 1] = np.nan
    for estimator in (KMeans, MiniBatchKMeans):
        auto = estimator(3, random_state=0, missing="kpod").fit(X)
        numba = estimator(3, random_state=0, missing="kpod", backend="numba").fit(X)
        np.testing.assert_array_equal(auto.cluster_centers_, numba.cluster_centers_)
        np.testing.assert_array_equal(auto.predict(X), numba.predict(X))
        with pytest.raises(ValueError, match=r"missing='masked' runs on backend='numba' only"):
            estimator(3, missing="masked", backend="torch").fit(X)
        with pytest.raises(ValueError, match=r"missing='kpod' runs on backend='numba' only"):
            estimator(3, missing="kpod", device="cuda").fit(X)
