"""Fitted K-Means models as ONNX graphs, for scoring outside Python (onnxruntime, Triton,
ONNX Runtime Web, databases with ONNX inference).

The graph takes one input ``X`` of shape ``[N, n_features]`` (float32 or float64) and
gives two outputs:

- ``label`` (int64, ``[N]``): the predicted cluster, the lowest index on an exact tie;
- ``distances`` (``[N, n_clusters]``, X's dtype): what the model's ``transform`` gives,
  Euclidean distances for :class:`~centroids.KMeans` and
  :class:`~centroids.MiniBatchKMeans`, cosine distances ``1 - cos(x, c)`` for
  :class:`~centroids.SphericalKMeans`.

Distances come from one matrix product, ``||x||² - 2 x·c + ||c||²`` clipped at 0, the
way ONNX runtimes compute fastest. The estimators' own ``predict`` settles rows whose two
nearest centers are within rounding of each other with exact float64 distances, so on
such near-ties (a row on the bisector of two centers, to the last few bits) a float32
graph may name the other center. A row with a missing value gives NaN distances; the
missing-value policies of ``missing='kpod'``/``'masked'`` are not part of the graph.

The same builder serves :func:`to_onnx` and the converter registered with skl2onnx
(:func:`register_skl2onnx`), so a scikit-learn pipeline that ends in one of these
estimators converts with ``skl2onnx.convert_sklearn``.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._utils.files import replaced_atomically
from ..errors import BadParameterError, BadParameterTypeError

__all__ = ["register_skl2onnx", "save_onnx", "to_onnx"]

INSTALL_HINT = "pip install 'centroids[onnx]'"
#: The opset of the graphs :func:`to_onnx` writes: every op used (MatMul, Mul, Add, Sub,
#: Div, Max, Min, Sqrt, ArgMin) has had its present form since opset 13; 17 is read by
#: every onnxruntime of the last three years.
DEFAULT_OPSET = 17
#: Smallest row norm divided by, so a row of zeros in a spherical model gets cosine 0 to
#: every center (hence cluster 0, as ``SphericalKMeans.predict`` gives it).
_TINY_NORM = 1e-30


def _require_onnx():
    try:
        import onnx
    except ImportError as error:
        raise ImportError(
            f"Exporting to ONNX needs the onnx package, which is not installed; {INSTALL_HINT}"
        ) from error
    return onnx


def _model_kind(model):
    from ..models import KMeans, MiniBatchKMeans, SphericalKMeans

    if isinstance(model, SphericalKMeans):
        return "cosine"
    if isinstance(model, (KMeans, MiniBatchKMeans)):
        return "euclidean"
    raise BadParameterTypeError(
        "to_onnx exports centroids.KMeans, MiniBatchKMeans and SphericalKMeans; got "
        f"{type(model).__name__}."
    )


def _graph_dtype(model, dtype):
    centers = model.cluster_centers_
    if dtype is None:
        return np.dtype(np.float32 if centers.dtype == np.float32 else np.float64)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise BadParameterError(f"dtype must be float32 or float64; got {dtype}.")
    return dtype


def build_scoring_graph(model, dtype, emit, X, label, distances):
    """Add the nodes that score ``X`` with a fitted model to a graph being built.

    ``emit`` is the graph under construction: ``emit.constant(base, array)`` adds an
    initializer and returns its name, ``emit.name(base)`` a fresh value name and
    ``emit.node(op_type, inputs, outputs, **attributes)`` a node. ``X``, ``label`` and
    ``distances`` are the names of the input and of the two outputs.
    """
    kind = _model_kind(model)
    centers = np.asarray(model.cluster_centers_, dtype=np.float64)
    n_features = centers.shape[1]
    ones = emit.constant("ones", np.ones((n_features, 1), dtype=dtype))
    squares = emit.name("squares")
    emit.node("Mul", [X, X], [squares])
    row_sq = emit.name("row_sq")
    emit.node("MatMul", [squares, ones], [row_sq])
    if kind == "cosine":
        norms = np.sqrt(np.einsum("ij,ij->i", centers, centers))
        unit = centers / np.where(norms > 0, norms, 1.0)[:, None]
        row_norm, safe_norm, unit_rows = emit.name("row_norm"), emit.name("safe"), emit.name("u")
        emit.node("Sqrt", [row_sq], [row_norm])
        emit.node(
            "Max", [row_norm, emit.constant("tiny", np.array(_TINY_NORM, dtype))], [safe_norm]
        )
        emit.node("Div", [X, safe_norm], [unit_rows])
        similarity, raw = emit.name("similarity"), emit.name("raw")
        emit.node(
            "MatMul", [unit_rows, emit.constant("centers_t", unit.T.astype(dtype))], [similarity]
        )
        emit.node("Sub", [emit.constant("one", np.array(1, dtype)), similarity], [raw])
        clipped = emit.name("clipped")
        emit.node("Max", [raw, emit.constant("zero", np.array(0, dtype))], [clipped])
        emit.node("Min", [clipped, emit.constant("two", np.array(2, dtype))], [distances])
        emit.node("ArgMin", [distances], [label], axis=1, keepdims=0)
        return
    products, scaled, partial, squared_raw, squared = (
        emit.name(base) for base in ("products", "scaled", "partial", "sq_raw", "sq")
    )
    emit.node("MatMul", [X, emit.constant("centers_t", centers.T.astype(dtype))], [products])
    emit.node("Mul", [products, emit.constant("minus_two", np.array(-2, dtype))], [scaled])
    emit.node("Add", [scaled, row_sq], [partial])
    center_sq = np.einsum("ij,ij->i", centers, centers)[None, :].astype(dtype)
    emit.node("Add", [partial, emit.constant("center_sq", center_sq)], [squared_raw])
    emit.node("Max", [squared_raw, emit.constant("zero", np.array(0, dtype))], [squared])
    emit.node("Sqrt", [squared], [distances])
    emit.node("ArgMin", [squared], [label], axis=1, keepdims=0)


class _StandaloneGraph:
    """The ``emit`` of :func:`build_scoring_graph` for a graph of its own."""

    def __init__(self, onnx):
        self.onnx = onnx
        self.nodes = []
        self.initializers = []
        self._count = 0

    def name(self, base):
        self._count += 1
        return f"{base}_{self._count}"

    def constant(self, base, array):
        name = self.name(base)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op_type, inputs, outputs, **attributes):
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, outputs, **attributes))


def to_onnx(model, *, dtype=None, opset=None):
    """The ONNX graph that scores rows with a fitted model.

    Parameters
    ----------
    model : KMeans, MiniBatchKMeans or SphericalKMeans
        A fitted estimator.
    dtype : {None, numpy.float32, numpy.float64}, default=None
        The input's (and the distances') type; None takes the centers' dtype.
    opset : int or None, default=None
        The ONNX opset (13 or later); None is :data:`DEFAULT_OPSET`.

    Returns
    -------
    onnx.ModelProto
        Input ``X`` ``[N, n_features]``; outputs ``label`` (int64 ``[N]``) and
        ``distances`` ``[N, n_clusters]``, as the module docstring says.

    Examples
    --------
    >>> import numpy as np, onnxruntime
    >>> from centroids import KMeans
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> model = KMeans(4, random_state=0).fit(X)
    >>> session = onnxruntime.InferenceSession(
    ...     to_onnx(model).SerializeToString(), providers=["CPUExecutionProvider"])
    >>> label, distances = session.run(None, {"X": X})
    >>> bool((label == model.predict(X)).all()), distances.shape
    (True, (200, 4))
    """
    onnx = _require_onnx()
    _model_kind(model)
    check_is_fitted(model, "cluster_centers_")
    dtype = _graph_dtype(model, dtype)
    opset = DEFAULT_OPSET if opset is None else opset
    if isinstance(opset, bool) or not isinstance(opset, int) or opset < 13:
        raise BadParameterError(f"opset must be an integer of at least 13; got {opset!r}.")
    n_clusters, n_features = model.cluster_centers_.shape
    element = onnx.helper.np_dtype_to_tensor_dtype(dtype)
    graph = _StandaloneGraph(onnx)
    build_scoring_graph(model, dtype, graph, "X", "label", "distances")
    proto = onnx.helper.make_graph(
        graph.nodes,
        f"centroids_{type(model).__name__}",
        [onnx.helper.make_tensor_value_info("X", element, ["N", n_features])],
        [
            onnx.helper.make_tensor_value_info("label", onnx.TensorProto.INT64, ["N"]),
            onnx.helper.make_tensor_value_info("distances", element, ["N", n_clusters]),
        ],
        initializer=graph.initializers,
    )
    opsets = [onnx.helper.make_opsetid("", opset)]
    exported = onnx.helper.make_model(
        proto,
        opset_imports=opsets,
        # the oldest IR that carries the opset: what most runtimes read
        ir_version=onnx.helper.find_min_ir_version_for(opsets),
        producer_name="centroids",
        doc_string=f"{type(model).__name__} with {n_clusters} clusters of {n_features} features",
    )
    onnx.checker.check_model(exported)
    return exported


def save_onnx(model, path, *, dtype=None, opset=None):
    """Write :func:`to_onnx`'s graph to ``path`` whole or not at all; returns the path."""
    exported = to_onnx(model, dtype=dtype, opset=opset)
    with replaced_atomically(path) as tmp:
        tmp.write_bytes(exported.SerializeToString())
    return path


class _Skl2OnnxGraph:
    """The ``emit`` of :func:`build_scoring_graph` inside skl2onnx's conversion."""

    def __init__(self, scope, container):
        self.scope = scope
        self.container = container

    def name(self, base):
        return self.scope.get_unique_variable_name(base)

    def constant(self, base, array):
        import onnx

        array = np.asarray(array)
        name = self.name(base)
        self.container.add_initializer(
            name,
            onnx.helper.np_dtype_to_tensor_dtype(array.dtype),
            list(array.shape),
            array.ravel().tolist(),
        )
        return name

    def node(self, op_type, inputs, outputs, **attributes):
        self.container.add_node(
            op_type, inputs, outputs, name=self.scope.get_unique_operator_name(op_type),
            **attributes,
        )  # fmt: skip


def _skl2onnx_shapes(operator):
    n_rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type.shape = [n_rows]
    operator.outputs[1].type.shape = [n_rows, operator.raw_operator.cluster_centers_.shape[0]]


def _skl2onnx_convert(scope, operator, container):
    from skl2onnx.common.data_types import DoubleTensorType

    dtype = np.float64 if isinstance(operator.inputs[0].type, DoubleTensorType) else np.float32
    build_scoring_graph(
        operator.raw_operator,
        np.dtype(dtype),
        _Skl2OnnxGraph(scope, container),
        operator.inputs[0].full_name,
        operator.outputs[0].full_name,
        operator.outputs[1].full_name,
    )


def register_skl2onnx():
    """Register the converters of KMeans, MiniBatchKMeans and SphericalKMeans with skl2onnx.

    Afterwards ``skl2onnx.convert_sklearn`` converts them, alone or as the last step of a
    pipeline; their outputs there are ``label`` and ``scores`` (the distances). Called on
    import of :mod:`centroids.export` when skl2onnx is installed.
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError as error:
        raise ImportError(
            f"Registering with skl2onnx needs the skl2onnx package; {INSTALL_HINT}"
        ) from error
    from ..models import KMeans, MiniBatchKMeans, SphericalKMeans

    for estimator in (KMeans, MiniBatchKMeans, SphericalKMeans):
        update_registered_converter(
            estimator, f"Centroids{estimator.__name__}", _skl2onnx_shapes, _skl2onnx_convert
        )
