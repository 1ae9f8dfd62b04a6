"""ONNX export: the graphs give predict's labels and transform's distances in onnxruntime."""

import builtins

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from centroids import KMeans, MiniBatchKMeans, SphericalKMeans
from centroids.errors import BadParameterError, BadParameterTypeError
from centroids.export import onnx as export

onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx extra")
onnxruntime = pytest.importorskip("onnxruntime", reason="scoring the graphs needs onnxruntime")


def run(model_proto, X):
    session = onnxruntime.InferenceSession(
        model_proto.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {session.get_inputs()[0].name: X}), strict=True))


def clear_rows(distances, margin):
    """Rows whose two nearest centers are further apart than ``margin`` (no near-tie)."""
    two = np.sort(distances, axis=1)[:, :2]
    return two[:, 1] - two[:, 0] > margin


def draw(seed, dtype):
    rng = np.random.default_rng(seed)
    n, d, k = int(rng.integers(200, 3_000)), int(rng.integers(2, 40)), int(rng.integers(2, 30))
    centers = rng.normal(scale=rng.uniform(1, 10), size=(k, d))
    X = centers[rng.integers(0, k, n)] + rng.normal(size=(n, d))
    return X.astype(dtype), k


@pytest.mark.parametrize("estimator", [KMeans, MiniBatchKMeans])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(4))
def test_euclidean_models_score_like_predict_and_transform(estimator, dtype, seed):
    X, k = draw(seed, dtype)
    model = estimator(n_clusters=k, random_state=seed).fit(X)
    scored = run(model.to_onnx(), X)
    expected = model.transform(X)
    assert scored["distances"].dtype == dtype and scored["label"].dtype == np.int64
    rtol, atol = (1e-3, 1e-3) if dtype == np.float32 else (1e-9, 1e-7)
    np.testing.assert_allclose(scored["distances"], expected, rtol=rtol, atol=atol)
    clear = clear_rows(expected, 1e-3 * (1 + expected.max()))
    assert clear.mean() > 0.95
    np.testing.assert_array_equal(scored["label"][clear], model.predict(X)[clear])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(3))
def test_spherical_model_scores_cosine_distances(dtype, seed):
    X, k = draw(seed, dtype)
    X[3] = 0  # a row of zeros: cluster 0, as predict gives it
    model = SphericalKMeans(n_clusters=k, random_state=seed).fit(X)
    scored = run(model.to_onnx(), X)
    expected = model.transform(X)
    np.testing.assert_allclose(
        scored["distances"], expected, atol=1e-5 if dtype == np.float32 else 1e-12
    )
    clear = clear_rows(expected, 1e-4)
    clear[3] = True
    np.testing.assert_array_equal(scored["label"][clear], model.predict(X)[clear])
    assert scored["label"][3] == model.predict(X[3:4])[0] == 0


def test_dtype_of_the_graph_can_differ_from_the_fit():
    X, k = draw(7, np.float64)
    model = KMeans(k, random_state=0).fit(X)
    graph = model.to_onnx(dtype=np.float32)
    assert graph.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    scored = run(graph, X.astype(np.float32))
    clear = clear_rows(model.transform(X), 1e-2)
    np.testing.assert_array_equal(scored["label"][clear], model.predict(X)[clear])


def test_skl2onnx_converts_a_pipeline_that_ends_in_our_estimator():
    skl2onnx = pytest.importorskip("skl2onnx", reason="the converter registry is skl2onnx's")
    from skl2onnx.common.data_types import FloatTensorType

    X, k = draw(11, np.float32)
    X[:, 0] *= 100
    pipeline = Pipeline([("scale", StandardScaler()), ("km", KMeans(k, random_state=0))]).fit(X)
    converted = skl2onnx.convert_sklearn(
        pipeline, initial_types=[("X", FloatTensorType([None, X.shape[1]]))]
    )
    scored = run(converted, X)
    expected = pipeline.transform(X)
    clear = clear_rows(expected, 1e-3 * (1 + expected.max()))
    np.testing.assert_array_equal(scored["label"][clear], pipeline.predict(X)[clear])
    np.testing.assert_allclose(scored["scores"], expected, rtol=1e-3, atol=1e-3)


def test_save_onnx_writes_a_loadable_file_and_nothing_on_error(tmp_path):
    X, k = draw(3, np.float64)
    model = KMeans(k, random_state=0).fit(X)
    path = model.save_onnx(tmp_path / "model.onnx")
    np.testing.assert_array_equal(
        run(onnx.load(path), X)["label"], run(model.to_onnx(), X)["label"]
    )
    with pytest.raises(ValueError, match="does not exist"):
        model.save_onnx(tmp_path / "absent" / "model.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_bad_requests_are_explained():
    with pytest.raises(NotFittedError):
        KMeans(3).to_onnx()
    model = KMeans(3, random_state=0).fit(np.random.default_rng(0).normal(size=(50, 2)))
    with pytest.raises(BadParameterError, match="float32 or float64"):
        model.to_onnx(dtype=np.int64)
    with pytest.raises(BadParameterError, match="opset"):
        model.to_onnx(opset=9)
    with pytest.raises(BadParameterTypeError, match=r"exports centroids\.KMeans"):
        export.to_onnx(StandardScaler().fit(np.ones((3, 2))))


def test_missing_onnx_package_says_what_to_install(monkeypatch):
    real_import = builtins.__import__

    def without_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError("No module named 'onnx'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_onnx)
    model = KMeans(2, random_state=0).fit(np.random.default_rng(0).normal(size=(20, 2)))
    with pytest.raises(ImportError, match=r"centroids\[onnx\]"):
        model.to_onnx()
