"""The torch backend (centroids.engine.torch_backend) against the numba engine.

Runs on torch's CPU build wherever torch is installed (``pip install torch==2.13.0`` or
the ``gpu`` extra; ``make test-gpu``); the tests that need a CUDA device are marked
``cuda`` and skipped without one.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_blobs
from sklearn.utils import check_random_state

torch = pytest.importorskip(
    "torch",
    reason="torch is an optional extra (pip install 'centroids[gpu]' or torch==2.13.0); "
    "these tests compare its backend with the numba engine",
)

from centroids import KMeans  # noqa: E402
from centroids.engine import engine_data, fit_kmeans, lloyd  # noqa: E402
from centroids.engine import torch_backend as tb  # noqa: E402
from centroids.errors import BadDataError, BadParameterError  # noqa: E402
from centroids.models.minibatch import MiniBatchKMeans  # noqa: E402
from centroids.models.spherical import SphericalKMeans  # noqa: E402

RNG = np.random.default_rng(0)

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda.is_available())"
)


def random_data(n, d, dtype, seed, offset=0.0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, d)) + offset).astype(dtype)


def device_rows(X, weights=None, **options):
    weights = np.ones(X.shape[0]) if weights is None else weights
    return tb.DeviceRows(X, weights, "cpu", **options)


# -- the same labels as the numba engine from the same start ------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_features", [3, 16])
@pytest.mark.parametrize("n_clusters", [5, 24])
@pytest.mark.parametrize("seed", [0, 1])
def test_lloyd_same_labels_as_numba_from_the_same_start(dtype, n_features, n_clusters, seed):
    X = random_data(2500, n_features, dtype, seed)
    weights = np.random.default_rng(seed + 10).uniform(0.5, 2.0, size=X.shape[0]).astype(dtype)
    start = X[np.random.default_rng(seed).choice(X.shape[0], n_clusters, replace=False)]
    expected = lloyd(engine_data(X), weights, start, 300, 0.0)
    found = tb.lloyd_torch(device_rows(X, weights), start, 300, 0.0)
    np.testing.assert_array_equal(found.labels, expected.labels)
    assert found.n_iter == expected.n_iter
    assert found.centers.dtype == dtype
    np.testing.assert_allclose(found.centers, expected.centers, rtol=1e-6, atol=1e-6)
    assert found.inertia == pytest.approx(expected.inertia, rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_estimator_same_result_as_numba_from_the_same_start(dtype):
    X, _ = make_blobs(3000, n_features=10, centers=12, random_state=4)
    X = X.astype(dtype)
    start = X[:12]
    numba_fit = KMeans(12, init=start, backend="numba").fit(X)
    torch_fit = KMeans(12, init=start, backend="torch", device="cpu").fit(X)
    np.testing.assert_array_equal(torch_fit.labels_, numba_fit.labels_)
    assert torch_fit.n_iter_ == numba_fit.n_iter_
    assert torch_fit.inertia_ == pytest.approx(numba_fit.inertia_, rel=1e-6)
    assert isinstance(torch_fit.cluster_centers_, np.ndarray)
    assert torch_fit.cluster_centers_.dtype == dtype
    # predict on either backend, from either fit
    for model in (numba_fit, torch_fit):
        for backend in ("numba", "torch"):
            model.set_params(backend=backend)
            np.testing.assert_array_equal(model.predict(X), numba_fit.labels_)
    assert torch_fit.score(X) == pytest.approx(numba_fit.score(X), rel=1e-6)


@pytest.mark.parametrize("product_dtype", ["bfloat16", "float16", "float32"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_low_precision_products_give_the_exact_labels(product_dtype, dtype):
    """The rows within the half-precision bound are re-checked: the labels, and so the
    whole run, are those of products in X's dtype."""
    X = random_data(3000, 20, dtype, 5, offset=40.0)  # far from the origin: shifted first
    start = X[:16]
    rows = device_rows(X)
    expected = tb.lloyd_torch(rows, start, 300, 0.0)
    found = tb.lloyd_torch(rows, start, 300, 0.0, product_dtype=product_dtype)
    np.testing.assert_array_equal(found.labels, expected.labels)
    np.testing.assert_array_equal(found.centers, expected.centers)
    assert found.inertia == pytest.approx(expected.inertia, rel=1e-9)


def test_low_precision_bound_sends_rows_to_the_recheck():
    """Random rows lie near many boundaries: bfloat16's bound must flag some of them (a
    bound that flags none is not a bound), and fewer with float16's finer mantissa."""
    X = random_data(4000, 32, np.float32, 2)
    rows = device_rows(X)
    centers = X[:64]
    shares = {}
    for product_dtype in ("bfloat16", "float16"):
        low = tb.DeviceCenters(rows, centers, product_dtype).low
        scores, x_sq = low.scores(rows.X, torch)
        best = scores.min(dim=1).values
        scale, floor, c_sq_max = low.slack
        slack = scale * (x_sq + c_sq_max) + floor * (1 + x_sq)
        near, _ = tb._near_tie_rows(scores, best, slack)
        shares[product_dtype] = float(near.float().mean())
    assert 0 < shares["float16"] < shares["bfloat16"] <= 1


def test_rows_beyond_float16_range_are_rechecked():
    X = random_data(1000, 8, np.float32, 4)
    X[::100] *= 1e6  # outliers whose scaled values overflow float16
    centers = X[1:11].copy()
    rows = device_rows(X)
    expected, _, _ = tb.assign_rows(rows, centers)
    found, _, inertia = tb.assign_rows(rows, centers, product_dtype="float16")
    np.testing.assert_array_equal(found.numpy(), expected.numpy())
    assert np.isfinite(inertia)


def test_equidistant_rows_take_the_lowest_center_index():
    """Rows exactly between two centers are ties: the lowest index, as the numba engine."""
    centers = np.array([[1.0, 0, 0, 0, 0, 0, 0, 0], [-1.0, 0, 0, 0, 0, 0, 0, 0]], np.float32)
    rng = np.random.default_rng(0)
    X = np.zeros((500, 8), np.float32)
    X[:, 1:] = rng.normal(size=(500, 7))  # x₀ = 0: at the same distance from both
    labels, _, _ = tb.assign_rows(device_rows(X), centers, product_dtype="float16")
    assert not labels.any()
    numba_labels, _, _ = engine_data(X).assign_labels(np.ones(500, np.float32), centers)
    assert not numba_labels.any()


def test_chunks_and_streaming_do_not_change_the_result():
    X = random_data(3000, 12, np.float32, 3)
    start = X[:9]
    whole = tb.lloyd_torch(device_rows(X), start, 100, 0.0)
    # many small chunks, the rows copied to the device chunk by chunk at every pass
    streamed = tb.lloyd_torch(device_rows(X, resident=False, chunk_bytes=4096), start, 100, 0.0)
    assert device_rows(X, resident=False).resident is False
    np.testing.assert_array_equal(streamed.labels, whole.labels)
    np.testing.assert_allclose(streamed.centers, whole.centers, rtol=1e-6)


def test_cluster_sums_match_the_numba_kernel():
    X = random_data(5000, 7, np.float64, 6)
    weights = np.random.default_rng(1).uniform(0, 3, size=5000)
    labels = np.random.default_rng(2).integers(0, 11, size=5000).astype(np.int32)
    expected, expected_w = engine_data(X).cluster_sums(weights, labels, 11)
    rows = device_rows(X, weights, chunk_bytes=1 << 14)
    sums, sums_w = tb.cluster_sums_torch(rows, torch.from_numpy(labels), 11)
    np.testing.assert_allclose(sums, expected, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(sums_w, expected_w, rtol=1e-12)


def test_empty_clusters_are_relocated_as_numba_does():
    X = random_data(1000, 8, np.float64, 7)
    start = np.vstack([X[:4], np.full((2, 8), 100.0)])  # two centers no row is near
    expected = lloyd(engine_data(X), np.ones(1000), start, 100, 0.0)
    found = tb.lloyd_torch(device_rows(X), start, 100, 0.0)
    np.testing.assert_array_equal(found.labels, expected.labels)
    assert len(np.unique(found.labels)) == 6


# -- seeding --------------------------------------------------------------------------------


@pytest.mark.parametrize("init", ["k-means++", "k-means||", "random"])
def test_same_random_state_gives_the_same_centers(init):
    X, _ = make_blobs(4000, n_features=6, centers=10, random_state=1)
    fits = [KMeans(10, init=init, random_state=s, backend="torch").fit(X) for s in (3, 3, 4)]
    np.testing.assert_array_equal(fits[0].cluster_centers_, fits[1].cluster_centers_)
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    assert not np.array_equal(fits[0].cluster_centers_, fits[2].cluster_centers_)


@pytest.mark.parametrize(
    "seeding", [tb.kmeans_plusplus_torch, tb.kmeans_parallel_torch], ids=["k-means++", "k-means||"]
)
def test_seeding_spreads_like_the_numba_engines(seeding):
    """Seeds drawn ∝ D² land in distinct blobs: their potential is within a small factor
    of the numba k-means++'s, and far below uniformly random rows'."""
    X, _ = make_blobs(6000, n_features=5, centers=30, cluster_std=0.3, random_state=2)
    weights = np.ones(6000)
    data = engine_data(X)
    rows = device_rows(X)

    def potential(centers):
        return data.assign_labels(weights, centers)[2]

    numba_pp = np.median(
        [
            potential(fit_kmeans(X, weights, n_clusters=30, init="k-means++", n_init=1,
                                 max_iter=1, tol=0, random_state=check_random_state(s),
                                 refine=False).centers)
            for s in range(5)
        ]
    )  # fmt: skip
    ours = [seeding(rows, 30, check_random_state(s))[0] for s in range(5)]
    uniform = np.median([potential(X[check_random_state(s).choice(6000, 30)]) for s in range(5)])
    found = np.median([potential(c) for c in ours])
    assert found < 3 * numba_pp
    assert found < uniform / 3
    for centers in ours:
        assert len(np.unique(centers, axis=0)) == 30


def test_seeding_with_fewer_distinct_rows_than_clusters():
    X = np.repeat(np.eye(3), 20, axis=0)
    with pytest.warns(Warning, match="distinct clusters"):
        model = KMeans(5, random_state=0, backend="torch").fit(X)
    assert model.cluster_centers_.shape == (5, 3)
    assert model.inertia_ == pytest.approx(0.0)


def test_zero_weight_rows_are_never_seeds():
    X = random_data(500, 4, np.float64, 8)
    weights = np.zeros(500)
    weights[:50] = 1.0
    for seeding in (tb.kmeans_plusplus_torch, tb.kmeans_parallel_torch):
        _, indices = seeding(device_rows(X, weights), 8, check_random_state(0))
        assert (indices < 50).all()


# -- input ------------------------------------------------------------------------------------


def test_tensor_input_is_not_copied_and_predicts():
    X = torch.from_numpy(random_data(2000, 9, np.float32, 9))
    rows = tb.DeviceRows(X, np.ones(2000), "cpu")
    assert rows.X.data_ptr() == X.data_ptr()
    model = KMeans(6, random_state=0, backend="torch").fit(X)
    assert model.n_features_in_ == 9
    assert not hasattr(model, "feature_names_in_")
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    np.testing.assert_array_equal(model.predict(X.numpy()), model.labels_)
    same = KMeans(6, random_state=0, backend="torch").fit(X.numpy())
    np.testing.assert_array_equal(same.cluster_centers_, model.cluster_centers_)
    weighted = KMeans(6, random_state=0, backend="torch").fit(X, sample_weight=torch.ones(2000))
    np.testing.assert_array_equal(weighted.cluster_centers_, model.cluster_centers_)


def test_dlpack_input_crosses_without_a_copy():
    """CuPy arrays arrive through DLPack; any array exporting it does (a CPU stand-in)."""

    class DLPackArray:
        __cuda_array_interface__ = None  # what marks CuPy's arrays; its value is not read

        def __init__(self, tensor):
            self._tensor = tensor

        def __dlpack__(self, **kwargs):
            return self._tensor.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return self._tensor.__dlpack_device__()

    X = torch.from_numpy(random_data(300, 4, np.float64, 1))
    array = DLPackArray(X)
    assert tb.is_device_array(array)
    tensor = tb.as_tensor_input(array, "fit")
    assert tensor.data_ptr() == X.data_ptr()
    model = KMeans(3, random_state=0, backend="torch", device="cpu").fit(array)
    np.testing.assert_array_equal(model.labels_, KMeans(3, random_state=0, backend="torch")
                                  .fit(X).labels_)  # fmt: skip


def test_bad_tensors_are_named():
    X = torch.zeros(10, 3)
    X[4, 2] = float("nan")
    with pytest.raises(BadDataError, match="column 2, first at row 4"):
        KMeans(2, backend="torch").fit(X)
    with pytest.raises(BadDataError, match="must be 2-D"):
        KMeans(2, backend="torch").fit(torch.zeros(10))
    model = KMeans(2, random_state=0, backend="torch").fit(torch.rand(20, 3))
    with pytest.raises(BadDataError, match="X has 4 features, but KMeans is expecting 3"):
        model.predict(torch.rand(5, 4))
    with pytest.raises(BadDataError, match="sparse"):
        KMeans(2, backend="torch").fit(sp.random(20, 5, density=0.3, format="csr"))


def test_half_precision_tensors_are_fitted_in_float32():
    X = torch.rand(200, 5, dtype=torch.float16)
    model = KMeans(3, random_state=0, backend="torch").fit(X)
    assert model.cluster_centers_.dtype == np.float32


# -- backend choice ----------------------------------------------------------------------------


def test_auto_runs_numba_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    big = tb.choose_backend("auto", None, np.zeros((2, 2)), 1 << 40)
    assert big.name == "numba"
    assert tb.choose_backend("auto", "cpu", np.zeros((2, 2)), 1 << 40).name == "numba"
    assert tb.choose_backend("torch", None, np.zeros((2, 2)), 0).device == "cpu"
    with pytest.raises(BadParameterError, match="no CUDA device"):
        tb.choose_backend("torch", "cuda", np.zeros((2, 2)), 0)
    with pytest.raises(BadParameterError, match="no CUDA device"):
        KMeans(2, device="cuda").fit(RNG.random((10, 2)))


def test_auto_picks_torch_on_cuda_for_large_work_only(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    X = np.zeros((2, 2))
    from centroids.settings import TORCH_AUTO_MIN_WORK

    assert tb.choose_backend("auto", None, X, TORCH_AUTO_MIN_WORK).device == "cuda"
    assert tb.choose_backend("auto", None, X, TORCH_AUTO_MIN_WORK - 1).name == "numba"
    assert tb.choose_backend("auto", "cuda:0", X, TORCH_AUTO_MIN_WORK).device == "cuda:0"


def test_numba_refuses_a_gpu_device():
    with pytest.raises(BadParameterError, match="backend='numba' runs on the CPU"):
        KMeans(2, backend="numba", device="cuda").fit(RNG.random((10, 2)))
    with pytest.raises(BadParameterError, match="afk-mc2"):
        KMeans(2, init="afk-mc2", backend="torch").fit(RNG.random((10, 2)))
    with pytest.raises(BadParameterError, match="refine=True"):
        KMeans(2, refine=True, backend="torch").fit(RNG.random((10, 2)))


def test_failed_torch_fit_leaves_the_estimator_unchanged():
    model = KMeans(2, random_state=0, backend="torch").fit(RNG.random((30, 3)))
    centers = model.cluster_centers_.copy()
    with pytest.raises(BadDataError):
        model.fit(torch.zeros(1, 3))  # fewer rows than clusters
    np.testing.assert_array_equal(model.cluster_centers_, centers)
    assert model.n_features_in_ == 3


# -- the other estimators ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_spherical_same_labels_as_numba_from_the_same_start(dtype):
    X = random_data(2000, 12, dtype, 11)
    X[7] = 0.0  # a row of zeros: label 0, cosine distance 1
    start = X[20:28]
    expected = SphericalKMeans(8, init=start, backend="numba").fit(X)
    found = SphericalKMeans(8, init=start, backend="torch").fit(X)
    np.testing.assert_array_equal(found.labels_, expected.labels_)
    assert found.labels_[7] == 0
    assert found.n_iter_ == expected.n_iter_
    assert found.inertia_ == pytest.approx(expected.inertia_, rel=1e-6)
    np.testing.assert_allclose(np.linalg.norm(found.cluster_centers_, axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(found.predict(torch.from_numpy(X)), expected.labels_)


def test_minibatch_on_torch_reaches_numba_quality_and_repeats():
    X, _ = make_blobs(20000, n_features=8, centers=15, random_state=3)
    X = X.astype(np.float32)
    numba_fit = MiniBatchKMeans(15, random_state=0, backend="numba").fit(X)
    fits = [MiniBatchKMeans(15, random_state=0, backend="torch").fit(X) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].cluster_centers_, fits[1].cluster_centers_)
    assert fits[0].inertia_ <= 1.01 * numba_fit.inertia_
    np.testing.assert_array_equal(fits[0].predict(X), fits[0].labels_)
    tensor_fit = MiniBatchKMeans(15, random_state=0, backend="torch").fit(torch.from_numpy(X))
    assert tensor_fit.inertia_ <= 1.01 * numba_fit.inertia_
    steps = tensor_fit.n_steps_
    tensor_fit.partial_fit(torch.from_numpy(X[:500]))  # partial_fit runs on the host
    assert tensor_fit.n_steps_ == steps + 1


# -- on a CUDA device ------------------------------------------------------------------------------


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_same_labels_as_numba_from_the_same_start(dtype):
    X, _ = make_blobs(20000, n_features=32, centers=40, random_state=5)
    X = X.astype(dtype)
    start = X[:40]
    expected = KMeans(40, init=start, backend="numba").fit(X)
    found = KMeans(40, init=start, backend="torch", device="cuda").fit(X)
    np.testing.assert_array_equal(found.labels_, expected.labels_)
    half = KMeans(40, init=start, backend="torch", device="cuda", product_dtype="float16").fit(X)
    np.testing.assert_array_equal(half.labels_, expected.labels_)


@pytest.mark.cuda
@needs_cuda
def test_cuda_tensor_stays_on_the_device_and_repeats():
    X = torch.randn(50000, 16, device="cuda", generator=torch.Generator("cuda").manual_seed(0))
    rows = tb.DeviceRows(X, np.ones(50000), "cuda")
    assert rows.X.data_ptr() == X.data_ptr()
    fits = [KMeans(64, random_state=1).fit(X) for _ in range(2)]  # auto: X is on CUDA
    np.testing.assert_array_equal(fits[0].cluster_centers_, fits[1].cluster_centers_)
    np.testing.assert_array_equal(fits[0].predict(X), fits[0].labels_)
    streamed = tb.lloyd_torch(
        tb.DeviceRows(X.cpu().numpy(), np.ones(50000), "cuda", resident=False),
        fits[0].cluster_centers_,
        5,
        0.0,
    )
    resident = tb.lloyd_torch(rows, fits[0].cluster_centers_, 5, 0.0)
    np.testing.assert_array_equal(streamed.labels, resident.labels)
