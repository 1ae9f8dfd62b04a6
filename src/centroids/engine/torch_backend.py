"""The engine on a torch device (a CUDA GPU, or torch's CPU build): seeding, Lloyd passes.

The same k-means as the numba engine, for the rows of X held on a device:

* **Rows on the device.** :class:`DeviceRows` holds X as a torch tensor: a tensor
  already on the device is used as it is (no copy), a CuPy array arrives through
  DLPack (no copy), a NumPy array is copied once when it fits the device's free memory
  (``TORCH_RESIDENT_SHARE``) and otherwise stays on the host and travels to the device
  in row chunks at every pass. On the CPU device a NumPy array is shared, not copied.
* **Assignment.** Per chunk of rows, one matrix product ``x·cᵀ`` (``||c||² - 2 x·c``),
  then the argmin of the chunk's (m, k) block; only that block exists at a time, never
  n × k. The labels are the exact nearest centers, as the numba engine's: each row
  whose two nearest centers lie within the product's rounding error of each other (a
  bound from the precision and ``||x||² + max ||c||²``) gets its distances to those
  centers again, in float64 by direct differences. With ``product_dtype`` below the
  data's (bfloat16 or float16 products, accumulated in float32 where the device
  allows, the rows centred and scaled by a power of two so that the range fits), the
  rows within the half-precision bound are first re-checked by a product in the data's
  dtype, then as above.
* **Sums.** The weighted sums of each cluster's rows are float64: per chunk, the rows
  sorted by label (a stable sort), a float64 prefix sum, and its differences at the
  cluster boundaries; chunks are added in order. No atomic additions, so the same
  input gives the same bits on the same device and library versions.
* **Seeding.** Greedy k-means++ (the candidates of a step evaluated together, by one
  product per chunk against all of them) and k-means|| (rounds of independent
  oversampling, then weighted greedy k-means++ over the candidates), drawn from a
  ``torch.Generator`` seeded from ``random_state``.
* **Iterations** are :func:`centroids.engine.lloyd.lloyd`'s: the same stopping rule,
  the same relocation of empty clusters (run on the host, on the rare passes that need
  it), the same final assignment.

torch is imported only when this backend runs (the optional extra ``centroids[gpu]``).
Prior validation of X, sample_weight and init is assumed from :func:`fit_kmeans_torch`
on, as in the rest of the engine.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import sys
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..errors import BadDataError, BadParameterError
from ..settings import (
    TORCH_AUTO_MIN_WORK,
    TORCH_CHUNK_BYTES_CPU,
    TORCH_CHUNK_BYTES_CUDA,
    TORCH_EXACT_BLOCK,
    TORCH_RESIDENT_SHARE,
)
from .data import product_error_bound
from .lloyd import KMeansRun, centers_from_sums, relocate_empty_clusters, stopping_rule

__all__ = [
    "BACKENDS",
    "PRODUCT_DTYPES",
    "TORCH_INSTALL_HINT",
    "Backend",
    "DeviceRows",
    "assign_rows",
    "choose_backend",
    "fit_kmeans_torch",
    "import_torch",
    "is_device_array",
    "kmeans_parallel_torch",
    "kmeans_plusplus_torch",
    "lloyd_torch",
]

#: The values of the estimators' ``backend`` parameter.
BACKENDS = ("auto", "numba", "torch")

#: The values of the estimators' ``product_dtype`` parameter besides None (X's dtype).
PRODUCT_DTYPES = ("float32", "bfloat16", "float16")

TORCH_INSTALL_HINT = (
    "backend='torch' needs PyTorch, which is not installed. Install the GPU extra: "
    "pip install 'centroids[gpu]' (or pip install torch; for the CPU build only: "
    "pip install torch --index-url https://download.pytorch.org/whl/cpu), or use "
    "backend='numba'."
)


def import_torch():
    """The torch module, or an ImportError that says what to install."""
    try:
        import torch
    except ImportError as error:
        raise ImportError(TORCH_INSTALL_HINT) from error
    return torch


def _torch_installed():
    """Whether torch can be imported, without importing it (cheap)."""
    return "torch" in sys.modules or importlib.util.find_spec("torch") is not None


def is_device_array(X):
    """Whether X is a torch tensor or another array that crosses by DLPack (CuPy)."""
    if isinstance(X, np.ndarray):
        return False
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(X, torch.Tensor):
        return True
    return hasattr(X, "__dlpack__") and hasattr(X, "__cuda_array_interface__")


def _is_cuda_input(X):
    if not is_device_array(X):
        return False
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(X, torch.Tensor):
        return X.device.type != "cpu"
    return True  # CuPy and other CUDA arrays


class Backend:
    """Where a fit or a prediction runs: ``name`` 'numba' or 'torch', and the device."""

    def __init__(self, name, device=None):
        self.name = name
        self.device = device

    @property
    def is_torch(self):
        return self.name == "torch"

    def __repr__(self):
        return f"Backend({self.name!r}, device={self.device!r})"


def _device_name(device):
    if device is None:
        return None
    if isinstance(device, str):
        return device
    if isinstance(device, int) and not isinstance(device, bool):
        return f"cuda:{device}"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(device, torch.device):
        return str(device)
    raise BadParameterError(
        f"device must be None, a string such as 'cpu', 'cuda' or 'cuda:1', a CUDA device "
        f"index or a torch.device; got {device!r}."
    )


def choose_backend(backend, device, X, work):
    """The :class:`Backend` a fit or prediction of ``work`` multiply-adds a pass runs on.

    ``backend='numba'``: the CPU engine (``device`` must be None or 'cpu').
    ``backend='torch'``: torch on ``device``; None means X's device for a tensor or
    CuPy array, else 'cuda' when a CUDA device is present, else 'cpu'.
    ``backend='auto'``: torch for X already on a CUDA device; for other X torch on a
    CUDA device (``device`` or the default one) when torch is installed, CUDA present
    and one pass does at least ``TORCH_AUTO_MIN_WORK`` multiply-adds (rows × features
    × clusters), else numba. torch is imported only when it may be used.
    """
    device = _device_name(device)
    if backend == "numba":
        if device is not None and device != "cpu":
            raise BadParameterError(
                f"backend='numba' runs on the CPU, but device={device!r} was given: use "
                "backend='torch' (or 'auto') to run on a GPU, or leave device=None."
            )
        if _is_cuda_input(X):
            raise BadDataError(
                "X is on a CUDA device, but backend='numba' runs on the CPU: use "
                "backend='torch' (or 'auto'), or pass X.cpu().numpy()."
            )
        return Backend("numba")
    if backend == "torch":
        torch = import_torch()
        if device is None:
            if isinstance(X, torch.Tensor):
                device = str(X.device)
            elif is_device_array(X):
                device = "cuda"
            else:
                device = "cuda" if torch.cuda.is_available() else "cpu"
        _check_device(torch, device)
        return Backend("torch", device)
    if backend != "auto":
        raise BadParameterError(f"backend must be one of {BACKENDS}; got {backend!r}.")
    if _is_cuda_input(X):
        torch = import_torch()
        device = device or (str(X.device) if isinstance(X, torch.Tensor) else "cuda")
        _check_device(torch, device)
        return Backend("torch", device)
    if device == "cpu":
        return Backend("numba")
    wants_cuda = device is not None
    if not wants_cuda and work < TORCH_AUTO_MIN_WORK:
        return Backend("numba")
    if not _torch_installed():
        if wants_cuda:
            raise ImportError(TORCH_INSTALL_HINT.replace("backend='torch'", f"device={device!r}"))
        return Backend("numba")
    torch = import_torch()
    if not torch.cuda.is_available():
        if wants_cuda:
            _check_device(torch, device)
        return Backend("numba")
    device = device or "cuda"
    _check_device(torch, device)
    if work < TORCH_AUTO_MIN_WORK:
        return Backend("numba")
    return Backend("torch", device)


def _check_device(torch, device):
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise BadParameterError(f"device={device!r} is not a torch device: {error}") from error
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise BadParameterError(
                f"device={device!r} asks for CUDA, but torch finds no CUDA device "
                f"(torch {torch.__version__}, torch.cuda.is_available() is False): run on "
                "a machine with an NVIDIA GPU and a CUDA build of torch, or use device='cpu'."
            )
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise BadParameterError(
                f"device={device!r}: torch sees {torch.cuda.device_count()} CUDA device(s)."
            )
    elif parsed.type != "cpu":
        raise BadParameterError(
            f"device={device!r}: the torch backend runs on 'cpu' or 'cuda' devices."
        )


# -- input ---------------------------------------------------------------------------------


def as_tensor_input(X, where):
    """X (a torch tensor or a DLPack array such as CuPy's) as a validated 2-D float tensor.

    float32 and float64 stay as they are (no copy); other floating types (float16,
    bfloat16) and integers become float32 (as the device would compute them anyway);
    NaN or infinity is an error naming the first row and column that hold one.
    """
    torch = import_torch()
    if not isinstance(X, torch.Tensor):
        try:
            X = torch.from_dlpack(X)
        except (TypeError, RuntimeError, BufferError) as error:
            raise BadDataError(
                f"X passed to {where} is a {type(X).__name__} that torch cannot take through "
                f"DLPack ({error}); pass a NumPy array or a torch tensor."
            ) from error
    if X.ndim != 2:
        raise BadDataError(
            f"X passed to {where} must be 2-D (rows × features); got a tensor of shape "
            f"{tuple(X.shape)}. Reshape it, e.g. X.reshape(-1, 1) for one feature."
        )
    if X.is_complex() or X.dtype == torch.bool:
        raise BadDataError(f"X passed to {where} must hold real numbers; got {X.dtype}.")
    if X.dtype not in (torch.float32, torch.float64):
        X = X.to(torch.float32)
    if X.requires_grad:
        X = X.detach()
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise BadDataError(
            f"X passed to {where} is empty (shape {tuple(X.shape)}); it needs at least one "
            "row and one feature."
        )
    finite = torch.isfinite(X)
    if not bool(finite.all()):
        bad = torch.nonzero(~finite)[0].tolist()
        value = float(X[bad[0], bad[1]])
        raise BadDataError(
            f"X passed to {where} contains {value} in column {bad[1]}, first at row "
            f"{bad[0]}. K-Means needs finite numbers: drop those rows or impute them."
        )
    return X if X.is_contiguous() else X.contiguous()


def weights_as_numpy(sample_weight):
    """A sample_weight given as a tensor (any device) as NumPy; anything else unchanged."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(sample_weight, torch.Tensor):
        return sample_weight.detach().cpu().numpy()
    if hasattr(sample_weight, "__cuda_array_interface__"):
        return np.asarray(import_torch().from_dlpack(sample_weight).cpu())
    return sample_weight


def numpy_dtype(tensor_dtype):
    return np.float64 if str(tensor_dtype) == "torch.float64" else np.float32


# -- the rows on the device ------------------------------------------------------------------


class DeviceRows:
    """X seen by the torch kernels: resident on the device, or streamed in row chunks.

    ``X`` is a validated C-ordered float32/float64 NumPy array or a validated tensor.
    ``resident`` None decides by the device's free memory (a NumPy array is copied when
    it takes at most ``TORCH_RESIDENT_SHARE`` of it); False keeps a NumPy array on the
    host and copies each chunk at each pass. The weights live on the device as float64.
    """

    def __init__(self, X, sample_weight, device, *, resident=None, chunk_bytes=None):
        torch = import_torch()
        self.torch = torch
        self.device = torch.device(device)
        if isinstance(X, torch.Tensor):
            self.host = None
            self.X = X.to(self.device)
        else:
            self.host = X
            if resident is None:
                resident = self._fits_device(X.nbytes)
            self.X = self._to_device(torch.from_numpy(X)) if resident else None
        source = self.X if self.X is not None else self.host
        self.n_rows, self.n_features = source.shape
        self.dtype = torch.float64 if str(source.dtype).endswith("float64") else torch.float32
        self.np_dtype = numpy_dtype(self.dtype)
        self.weights = torch.as_tensor(
            np.asarray(sample_weight, dtype=np.float64), device=self.device
        )
        if chunk_bytes is None:
            chunk_bytes = TORCH_CHUNK_BYTES_CUDA if self.is_cuda else TORCH_CHUNK_BYTES_CPU
        self.chunk_bytes = int(chunk_bytes)
        self._x_sq_norms = None
        self._column_means = None  # the shift of the low-precision products

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def resident(self):
        return self.X is not None

    def _fits_device(self, n_bytes):
        if not self.is_cuda:
            return True
        free, _ = self.torch.cuda.mem_get_info(self.device)
        return n_bytes <= TORCH_RESIDENT_SHARE * free

    def _to_device(self, tensor):
        if self.device.type == "cpu":
            return tensor
        return tensor.pin_memory().to(self.device, non_blocking=True)

    def chunk_rows(self, n_columns):
        """Rows per chunk for a pass whose (rows, n_columns) blocks take 4-8 bytes a value."""
        item = 8 if self.dtype == self.torch.float64 else 4
        per_row = max(1, n_columns + self.n_features) * item
        return max(1, min(self.n_rows, self.chunk_bytes // per_row))

    def chunks(self, n_columns):
        """(start, stop, rows on the device) for every chunk of a pass."""
        step = self.chunk_rows(n_columns)
        for start in range(0, self.n_rows, step):
            stop = min(start + step, self.n_rows)
            yield start, stop, self.rows_between(start, stop)

    def rows_between(self, start, stop):
        if self.X is not None:
            return self.X[start:stop]
        return self._to_device(self.torch.from_numpy(self.host[start:stop]))

    def rows(self, indices):
        """The rows at ``indices`` (NumPy or tensor of int64) as a tensor on the device."""
        torch = self.torch
        if self.X is not None:
            index = torch.as_tensor(np.asarray(indices, dtype=np.int64), device=self.device)
            return self.X[index]
        return self._to_device(torch.from_numpy(self.host[np.asarray(indices, dtype=np.int64)]))

    def host_rows(self, indices):
        """The rows at ``indices`` as a NumPy array (for the host-side relocation)."""
        return self.rows(indices).cpu().numpy()

    @property
    def x_sq_norms(self):
        """||x||² of every row, float64 on the device; computed on first use and kept."""
        if self._x_sq_norms is None:
            parts = []
            for _, _, x in self.chunks(0):
                x64 = x.to(self.torch.float64)
                parts.append((x64 * x64).sum(dim=1))
            self._x_sq_norms = self.torch.cat(parts)
        return self._x_sq_norms

    def column_variances(self):
        """float64 variance of every column, in two passes over the chunks."""
        torch = self.torch
        total = torch.zeros(self.n_features, dtype=torch.float64, device=self.device)
        for _, _, x in self.chunks(0):
            total += x.to(torch.float64).sum(dim=0)
        mean = total / self.n_rows
        spread = torch.zeros_like(total)
        for _, _, x in self.chunks(0):
            centred = x.to(torch.float64) - mean
            spread += (centred * centred).sum(dim=0)
        return (spread / self.n_rows).cpu().numpy()

    def column_means(self):
        torch = self.torch
        total = torch.zeros(self.n_features, dtype=torch.float64, device=self.device)
        for _, _, x in self.chunks(0):
            total += x.to(torch.float64).sum(dim=0)
        return total / self.n_rows

    def generator(self, random_state):
        """A torch.Generator on the device, seeded from the NumPy ``random_state``."""
        generator = self.torch.Generator(device=self.device)
        generator.manual_seed(int(random_state.randint(0, 2**62, dtype=np.int64)))
        return generator


class _HostView:
    """What :func:`relocate_empty_clusters` reads of the data: rows by index, on the host."""

    def __init__(self, rows):
        self._rows = rows

    def rows(self, indices):
        return self._rows.host_rows(np.asarray(indices, dtype=np.int64))


@contextlib.contextmanager
def full_precision_products(torch):
    """Products that accumulate in float32 (no TF32, no reduced-precision reductions),
    which the error bounds assume; the caller's settings come back afterwards."""
    matmul = torch.backends.cuda.matmul
    names = (
        "allow_tf32",
        "allow_fp16_reduced_precision_reduction",
        "allow_bf16_reduced_precision_reduction",
    )
    saved = {name: getattr(matmul, name) for name in names if hasattr(matmul, name)}
    saved_cudnn = torch.backends.cudnn.allow_tf32
    try:
        for name in saved:
            setattr(matmul, name, False)
        torch.backends.cudnn.allow_tf32 = False
        yield
    finally:
        for name, value in saved.items():
            setattr(matmul, name, value)
        torch.backends.cudnn.allow_tf32 = saved_cudnn


# -- assignment ------------------------------------------------------------------------------


class DeviceCenters:
    """The centers as the assignment takes them, on the device, for one pass.

    ``centers`` (k, d) NumPy of the data's dtype. ``product_dtype`` None or the name of
    a lower precision ('float32' for float64 data, 'bfloat16', 'float16') for the first
    product; the data's dtype then re-checks the rows within its bound.
    """

    def __init__(self, rows, centers, product_dtype=None):
        torch = rows.torch
        self.rows = rows
        self.k, d = centers.shape
        self.centers = torch.as_tensor(np.ascontiguousarray(centers), device=rows.device).to(
            rows.dtype
        )
        self.centers64 = self.centers.to(torch.float64)
        self.c_sq64 = (self.centers64 * self.centers64).sum(dim=1)
        self.neg2_cT = (self.centers * -2).T.contiguous()
        self.c_sq = self.c_sq64.to(rows.dtype)
        c_sq_max = float(self.c_sq64.max()) if self.k else 0.0
        scale, floor = product_error_bound(rows.np_dtype, d)
        # The scores ||c||² - 2 x·c are added in the data's dtype, not float64 as in the
        # numba kernel: one more rounding of each of the two terms.
        scale += 4 * float(np.finfo(rows.np_dtype).eps)
        self.slack = (scale * (1 + 2.0**-10), floor, c_sq_max)
        self.low = None
        if product_dtype is not None and _lower_precision(product_dtype, rows.dtype):
            self.low = _LowPrecisionCenters(rows, centers, product_dtype)


def _lower_precision(product_dtype, data_dtype):
    return product_dtype != "float32" or str(data_dtype).endswith("float64")


class _LowPrecisionCenters:
    """Centers for products in bfloat16/float16 (or float32 for float64 data).

    Rows and centers are shifted by the data's column means and scaled by a power of
    two (exact) that brings the largest centered coordinate of the centers to about 1:
    distances are translation invariant, and the scaled values stay within float16's
    range. The bound on the product's error, per row: ``scale · (||x'||² + max ||c'||²)
    + floor`` in the scaled units, from the input roundings (2u), the float32
    accumulation (γ_d), the output rounding (u) and the float32 additions.
    """

    def __init__(self, rows, centers, product_dtype):
        torch = rows.torch
        self.dtype = getattr(torch, product_dtype)
        c64 = torch.as_tensor(centers, dtype=torch.float64, device=rows.device)
        if rows._column_means is None:
            rows._column_means = rows.column_means()
        self.shift64 = rows._column_means
        self.shift = self.shift64.to(rows.dtype)
        shifted = c64 - self.shift64
        largest = float(shifted.abs().max()) if shifted.numel() else 0.0
        # A power of two: scaling is exact; rows far out may exceed 1 but stay in range.
        self.factor = 2.0 ** -math.ceil(math.log2(largest)) if largest > 0 else 1.0
        scaled = (shifted * self.factor).to(torch.float32)
        low = scaled.to(self.dtype)
        self.neg2_cT = (low * -2).T.contiguous()
        low32 = low.to(torch.float32)
        self.c_sq = (low32 * low32).sum(dim=1)
        d = centers.shape[1]
        unit = {"bfloat16": 2.0**-8, "float16": 2.0**-11, "float32": 2.0**-24}[product_dtype]
        u32 = 2.0**-24
        gamma = d * u32 / (1 - d * u32)
        # |x'·c' - fl(x'_low·c'_low)| ≤ (3u + u² + γ_d (1+u)²) ||x'|| ||c'|| ≤ that · S/2, the
        # score takes twice it; the differences between the rounded and the exact centers'
        # norms and the float32 additions add a few u32 · S.
        scale = (3 * unit + unit * unit + gamma * (1 + unit) ** 2) + 8 * u32 + 2 * unit
        floor = 0.0
        if product_dtype == "float16":
            # float16's subnormals: an absolute error of 2^-25 per rounded coordinate, on
            # terms |x_j c_j| with |c_j| ≤ 1 and |x_j| ≤ 1 + ||x'||² (applied per row).
            floor = 4.0 * (d + 1) * 2.0**-24
        c_sq_max = float(self.c_sq.max()) if self.c_sq.numel() else 0.0
        self.slack = (scale * (1 + 2.0**-10), floor, c_sq_max * (1 + 4 * unit) + 4 * unit)

    def scores(self, x, torch):
        """(scores ||c'||² - 2 x'·c' in float32, ||x'||² float32) of a chunk."""
        scaled = ((x - self.shift) * self.factor).to(torch.float32)
        low = scaled.to(self.dtype)
        products = _low_product(torch, low, self.neg2_cT)
        low32 = low.to(torch.float32)
        return products + self.c_sq, (low32 * low32).sum(dim=1)


def _low_product(torch, a, b):
    """a @ b with a float32 result: accumulated in float32 on CUDA (``out_dtype``),
    rounded to the inputs' dtype elsewhere (the error bound allows for that rounding)."""
    if a.device.type == "cuda":
        try:
            return torch.mm(a, b, out_dtype=torch.float32)
        except (TypeError, RuntimeError):
            pass
    return torch.mm(a, b).to(torch.float32)


def _near_tie_rows(scores, best, slack_rows):
    """Rows of a chunk where a second center's score is within ``2 · slack`` of the best."""
    reach = best + 2 * slack_rows
    return (scores <= reach[:, None]).sum(dim=1) > 1, reach


def _exact_labels(torch, x, centers64, scores, reach, rows_at):
    """Labels of rows ``rows_at`` of a chunk by direct float64 distances to the centers
    within their ``reach`` (the others cannot be nearest), lowest index on ties; and those
    distances."""
    k, d = centers64.shape
    block = max(1, TORCH_EXACT_BLOCK // max(1, k * d))
    labels = []
    dists = []
    for lo in range(0, rows_at.shape[0], block):
        at = rows_at[lo : lo + block]
        diff = x[at].to(torch.float64)[:, None, :] - centers64[None, :, :]
        exact = (diff * diff).sum(dim=2)
        exact = torch.where(scores[at] <= reach[at, None], exact, torch.inf)
        labels.append(torch.argmin(exact, dim=1))
        dists.append(torch.gather(exact, 1, labels[-1][:, None])[:, 0])
    return torch.cat(labels), torch.cat(dists)


def assign_chunk(rows, centers, x, x_sq):
    """(labels int64, squared distances float64) of the rows ``x`` of one chunk.

    ``x_sq`` their float64 ``||x||²``. The labels are the exact nearest centers (see the
    module notes); the distance of a row is the product's distance to its center, or the
    direct one where it was re-checked.
    """
    torch = rows.torch
    if centers.low is not None:
        return _assign_low_precision(rows, centers, x, x_sq)
    scores = torch.addmm(centers.c_sq, x, centers.neg2_cT)  # one kernel: bias in the epilogue
    labels = torch.argmin(scores, dim=1)
    best = torch.gather(scores, 1, labels[:, None])[:, 0]
    scale, floor, c_sq_max = centers.slack
    slack = (scale * (x_sq + c_sq_max) + floor).to(scores.dtype)
    near, reach = _near_tie_rows(scores, best, slack)
    sq_dist = (x_sq + best.to(torch.float64)).clamp_(min=0.0)
    rows_at = torch.nonzero(near)[:, 0]
    if rows_at.numel():
        exact_labels, exact_dist = _exact_labels(
            torch, x, centers.centers64, scores, reach, rows_at
        )
        labels[rows_at] = exact_labels
        sq_dist[rows_at] = exact_dist
    return labels, sq_dist


def _assign_low_precision(rows, centers, x, x_sq):
    """:func:`assign_chunk` with a low-precision first product: the rows within its bound
    are assigned again by the product in the data's dtype (and so exactly)."""
    torch = rows.torch
    low = centers.low
    scores, x_sq_scaled = low.scores(x, torch)
    labels = torch.argmin(scores, dim=1)
    best = torch.gather(scores, 1, labels[:, None])[:, 0]
    scale, floor, c_sq_max = low.slack
    slack = scale * (x_sq_scaled + c_sq_max) + floor * (1 + x_sq_scaled)
    near, _ = _near_tie_rows(scores, best, slack)
    # A row beyond float16's range (an outlier far outside the centers) is re-checked too.
    near |= ~torch.isfinite(best)
    # The distance to the chosen center, directly in float64 (the product's is too coarse).
    diff = x.to(torch.float64) - centers.centers64[labels]
    sq_dist = (diff * diff).sum(dim=1)
    rows_at = torch.nonzero(near)[:, 0]
    if rows_at.numel():
        full = DeviceCenters.__new__(DeviceCenters)
        full.__dict__.update(centers.__dict__)
        full.low = None
        again, again_dist = assign_chunk(rows, full, x[rows_at], x_sq[rows_at])
        labels[rows_at] = again
        sq_dist[rows_at] = again_dist
    return labels, sq_dist


def _cluster_sums_of_chunk(torch, x, w, labels, k):
    """float64 (sums (k, d), weights (k,)) of a chunk's rows by label, without atomics:
    rows sorted by label (stable), a prefix sum, differences at the boundaries."""
    order = torch.argsort(labels, stable=True)
    weighted = x[order].to(torch.float64) * w[order, None]
    counts = torch.bincount(labels, minlength=k)
    ends = torch.cumsum(counts, dim=0)
    starts = ends - counts
    prefix = torch.cumsum(weighted, dim=0)
    prefix = torch.cat([torch.zeros_like(prefix[:1]), prefix])
    prefix_w = torch.cumsum(w[order], dim=0)
    prefix_w = torch.cat([torch.zeros_like(prefix_w[:1]), prefix_w])
    return prefix[ends] - prefix[starts], prefix_w[ends] - prefix_w[starts]


def assign_rows(rows, centers, *, product_dtype=None, sums=False):
    """One pass: (labels int32, min_sq_dist float64, inertia), all rows, on the device;
    with ``sums`` also the float64 cluster sums and weights as NumPy (k, d) and (k,)."""
    torch = rows.torch
    prepared = DeviceCenters(rows, centers, product_dtype)
    k = prepared.k
    labels = torch.empty(rows.n_rows, dtype=torch.int32, device=rows.device)
    min_sq_dist = torch.empty(rows.n_rows, dtype=torch.float64, device=rows.device)
    inertia = torch.zeros((), dtype=torch.float64, device=rows.device)
    total = torch.zeros((k, rows.n_features), dtype=torch.float64, device=rows.device)
    total_w = torch.zeros(k, dtype=torch.float64, device=rows.device)
    x_sq_norms = rows.x_sq_norms
    with full_precision_products(torch):
        for start, stop, x in rows.chunks(k):
            chunk_labels, chunk_dist = assign_chunk(rows, prepared, x, x_sq_norms[start:stop])
            labels[start:stop] = chunk_labels
            min_sq_dist[start:stop] = chunk_dist
            w = rows.weights[start:stop]
            inertia += (w * chunk_dist).sum()
            if sums:
                chunk_sums, chunk_w = _cluster_sums_of_chunk(torch, x, w, chunk_labels, k)
                total += chunk_sums
                total_w += chunk_w
    if not sums:
        return labels, min_sq_dist, float(inertia)
    return labels, min_sq_dist, float(inertia), total.cpu().numpy(), total_w.cpu().numpy()


def cluster_sums_torch(rows, labels, n_clusters):
    """float64 (sums (k, d), weights (k,)) as NumPy of the rows by the given ``labels``."""
    torch = rows.torch
    total = torch.zeros((n_clusters, rows.n_features), dtype=torch.float64, device=rows.device)
    total_w = torch.zeros(n_clusters, dtype=torch.float64, device=rows.device)
    for start, stop, x in rows.chunks(0):
        chunk_sums, chunk_w = _cluster_sums_of_chunk(
            torch, x, rows.weights[start:stop], labels[start:stop].long(), n_clusters
        )
        total += chunk_sums
        total_w += chunk_w
    return total.cpu().numpy(), total_w.cpu().numpy()


def labelled_inertia(rows, centers, labels):
    """Σ w ||x - c_label||², float64, by direct differences."""
    torch = rows.torch
    c64 = torch.as_tensor(centers, dtype=torch.float64, device=rows.device)
    inertia = torch.zeros((), dtype=torch.float64, device=rows.device)
    for start, stop, x in rows.chunks(0):
        diff = x.to(torch.float64) - c64[labels[start:stop].long()]
        inertia += (rows.weights[start:stop] * (diff * diff).sum(dim=1)).sum()
    return float(inertia)


# -- seeding -----------------------------------------------------------------------------------


def _sq_dist_to(rows, points):
    """(n, p) float64 squared distances of all rows to ``points`` (p, d) on the device,
    from one product per chunk, clamped at 0; only for few points (seeding)."""
    torch = rows.torch
    points = points.to(rows.dtype)
    neg2_pT = (points * -2).T.contiguous()
    p_sq = (points.to(torch.float64) ** 2).sum(dim=1)
    x_sq = rows.x_sq_norms
    for start, stop, x in rows.chunks(points.shape[0]):
        products = torch.mm(x, neg2_pT).to(torch.float64)
        yield start, stop, (products + p_sq + x_sq[start:stop, None]).clamp_(min=0.0)


def _draw_by_mass(torch, mass_cumsum, uniforms):
    """Rows drawn ∝ mass at ``uniforms`` in [0, 1): the searchsorted of their scaled
    values into the running sum (right side), as scikit-learn draws."""
    total = mass_cumsum[-1]
    drawn = torch.searchsorted(mass_cumsum, uniforms * total, right=True)
    return drawn.clamp_(max=mass_cumsum.shape[0] - 1)


def _first_center(rows, generator):
    torch = rows.torch
    cumulative = torch.cumsum(rows.weights, dim=0)
    uniform = torch.rand(1, generator=generator, dtype=torch.float64, device=rows.device)
    return int(_draw_by_mass(torch, cumulative, uniform)[0])


def kmeans_plusplus_torch(rows, n_clusters, random_state, n_local_trials=None, generator=None):
    """Greedy k-means++ on the device: (centers (k, d) NumPy, row indices (k,)).

    The first center is a row drawn ∝ w; then each step draws ``n_local_trials``
    candidates (``2 + ln k`` by default) ∝ ``w · D²`` (D: distance to the nearest center
    so far), measures the potential ``Σ w min(D², d(x, cand)²)`` of all of them in one
    pass (one product per chunk against the candidates) and keeps the lowest.
    """
    torch = rows.torch
    generator = generator or rows.generator(random_state)
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    indices = [_first_center(rows, generator)]
    closest = torch.empty(rows.n_rows, dtype=torch.float64, device=rows.device)
    with full_precision_products(torch):
        for start, stop, dist in _sq_dist_to(rows, rows.rows(indices)):
            closest[start:stop] = dist[:, 0]
        for _ in range(1, n_clusters):
            mass = torch.cumsum(rows.weights * closest, dim=0)
            if not float(mass[-1]) > 0:
                # Every row sits on a center (fewer distinct rows than k): any row will do.
                candidates = torch.randint(
                    rows.n_rows, (1,), generator=generator, device=rows.device
                )
            else:
                uniforms = torch.rand(
                    n_local_trials, generator=generator, dtype=torch.float64, device=rows.device
                )
                candidates = _draw_by_mass(torch, mass, uniforms)
            points = rows.rows(candidates.cpu().numpy())
            potentials = torch.zeros(candidates.shape[0], dtype=torch.float64, device=rows.device)
            for start, stop, dist in _sq_dist_to(rows, points):
                nearer = torch.minimum(dist, closest[start:stop, None])
                potentials += (rows.weights[start:stop, None] * nearer).sum(dim=0)
            best = int(torch.argmin(potentials))
            indices.append(int(candidates[best]))
            for start, stop, dist in _sq_dist_to(rows, points[best : best + 1]):
                torch.minimum(closest[start:stop], dist[:, 0], out=closest[start:stop])
    indices = np.asarray(indices, dtype=np.int64)
    return rows.host_rows(indices).astype(rows.np_dtype, copy=False), indices


def kmeans_parallel_torch(
    rows, n_clusters, random_state, n_rounds=5, oversampling_factor=2.0, generator=None
):
    """k-means|| on the device (the numba engine's rule, see
    :func:`centroids.engine.seeding.kmeans_parallel_centers`): (centers, row indices).

    A first row drawn ∝ w; ``n_rounds`` rounds each keep every row independently with
    probability ``min(1, ℓ w D² / φ)`` (ℓ = oversampling_factor · k, φ = Σ w D²); rows
    drawn ∝ w D² top the candidates up to k; each candidate is weighted by the weight of
    the rows nearest to it; weighted greedy k-means++ over the candidates picks k.
    """
    torch = rows.torch
    generator = generator or rows.generator(random_state)
    ell = oversampling_factor * n_clusters
    candidates = [_first_center(rows, generator)]
    closest = torch.empty(rows.n_rows, dtype=torch.float64, device=rows.device)
    with full_precision_products(torch):
        for start, stop, dist in _sq_dist_to(rows, rows.rows(candidates)):
            closest[start:stop] = dist[:, 0]

        def add(new_rows):
            candidates.extend(new_rows.tolist())
            for start, stop, dist in _sq_dist_to(rows, rows.rows(new_rows)):
                torch.minimum(closest[start:stop], dist.min(dim=1).values, out=closest[start:stop])

        for _ in range(n_rounds):
            mass = rows.weights * closest
            potential = mass.sum()
            if not float(potential) > 0:
                break
            uniforms = torch.rand(
                rows.n_rows, generator=generator, dtype=torch.float64, device=rows.device
            )
            keep = torch.nonzero(uniforms * potential < ell * mass)[:, 0].cpu().numpy()
            if keep.size:
                add(keep)
        while len(candidates) < n_clusters:
            mass = torch.cumsum(rows.weights * closest, dim=0)
            if not float(mass[-1]) > 0:
                break
            uniforms = torch.rand(
                n_clusters - len(candidates),
                generator=generator,
                dtype=torch.float64,
                device=rows.device,
            )
            add(np.unique(_draw_by_mass(torch, mass, uniforms).cpu().numpy()))
        candidates = np.asarray(candidates, dtype=np.int64)
        points = rows.host_rows(candidates)
        # The weight of the rows nearest to each candidate.
        candidate_weights = assign_rows(rows, points, sums=True)[4]
    if candidates.shape[0] <= n_clusters:
        chosen = np.arange(candidates.shape[0])
        while chosen.shape[0] < n_clusters:  # fewer distinct rows than k: repeat some
            chosen = np.concatenate([chosen, chosen[: n_clusters - chosen.shape[0]]])
    else:
        candidate_rows = DeviceRows(
            points, candidate_weights, rows.device, chunk_bytes=rows.chunk_bytes
        )
        _, chosen = kmeans_plusplus_torch(
            candidate_rows, n_clusters, random_state, generator=generator
        )
    indices = candidates[chosen]
    return points[chosen].astype(rows.np_dtype, copy=False), indices


def random_centers_torch(rows, n_clusters, random_state, generator=None):
    """``n_clusters`` distinct rows drawn ∝ weight (without replacement) on the device."""
    torch = rows.torch
    generator = generator or rows.generator(random_state)
    chosen = torch.multinomial(rows.weights, n_clusters, replacement=False, generator=generator)
    indices = torch.sort(chosen).values.cpu().numpy()
    return rows.host_rows(indices).astype(rows.np_dtype, copy=False)


# -- iterations and the driver ---------------------------------------------------------------


def lloyd_torch(rows, centers_init, max_iter, tol, verbose=False, product_dtype=None):
    """:func:`centroids.engine.lloyd.lloyd` on the device: the same iterations, the same
    stopping rule and relocation; a :class:`KMeansRun` with NumPy centers and labels."""
    torch = rows.torch
    centers = np.array(centers_init, dtype=rows.np_dtype, order="C", copy=True)
    labels_old = None
    strict_convergence = False
    centers_moved = True
    iteration = 0
    for iteration in range(max_iter):
        labels, min_sq_dist, inertia, sums, weights = assign_rows(
            rows, centers, product_dtype=product_dtype, sums=True
        )
        if np.any(weights == 0):
            relocate_empty_clusters(
                _HostView(rows),
                rows.weights.cpu().numpy(),
                labels.cpu().numpy(),
                min_sq_dist.cpu().numpy(),
                sums,
                weights,
            )
        del min_sq_dist
        new_centers = centers_from_sums(sums, weights, centers)
        center_shift = float(((new_centers.astype(np.float64) - centers) ** 2).sum())
        if verbose:
            print(f"Iteration {iteration}, inertia {inertia}.")
        centers_moved = not np.array_equal(new_centers, centers)
        centers = new_centers
        unchanged = labels_old is not None and bool(torch.equal(labels, labels_old))
        stop = stopping_rule(iteration, unchanged, center_shift, tol, verbose)
        if stop is not None:
            strict_convergence = stop == "strict"
            break
        labels_old = labels
    del labels_old
    if strict_convergence and not centers_moved:
        inertia = labelled_inertia(rows, centers, labels)
    else:
        del labels
        labels, _, inertia = assign_rows(rows, centers, product_dtype=product_dtype)
    return KMeansRun(
        centers=centers,
        labels=labels.cpu().numpy(),
        inertia=inertia,
        n_iter=iteration + 1,
    )


def initial_centers_torch(rows, X, n_clusters, init, random_state, generator):
    """Centers to start a run from, on the device: by name, a callable or an array."""
    if isinstance(init, str):
        if init == "k-means++":
            return kmeans_plusplus_torch(rows, n_clusters, random_state, generator=generator)[0]
        if init == "k-means||":
            return kmeans_parallel_torch(rows, n_clusters, random_state, generator=generator)[0]
        if init == "random":
            return random_centers_torch(rows, n_clusters, random_state, generator=generator)
        raise BadParameterError(
            f"init={init!r} does not run on backend='torch': use 'k-means++', 'k-means||', "
            "'random', an array or a callable, or backend='numba'."
        )
    if callable(init):
        return init(X, n_clusters, random_state=random_state)
    return np.array(init, dtype=rows.np_dtype, order="C", copy=True)


def fit_kmeans_torch(
    X,
    sample_weight,
    *,
    n_clusters,
    init,
    n_init,
    max_iter,
    tol,
    random_state,
    device,
    product_dtype=None,
    verbose=False,
    resident=None,
):
    """Best of ``n_init`` k-means runs on a torch device, as
    :func:`centroids.engine.fit_kmeans` (no swap refinement: the iterations are Lloyd's).

    X is a validated C-ordered float32/float64 NumPy array or tensor; ``sample_weight``
    NumPy; ``random_state`` a ``numpy.random.RandomState``, from which one
    ``torch.Generator`` is seeded for all the runs. Warns with ``ConvergenceWarning``
    when fewer than ``n_clusters`` distinct clusters were found.
    """
    if product_dtype is not None and product_dtype not in PRODUCT_DTYPES:
        raise BadParameterError(
            f"product_dtype must be None or one of {PRODUCT_DTYPES}; got {product_dtype!r}."
        )
    rows = DeviceRows(X, sample_weight, device, resident=resident)
    torch = rows.torch
    if tol:
        tol = float(np.mean(rows.column_variances()) * tol)
    generator = rows.generator(random_state)
    best = None
    with torch.no_grad():
        for _ in range(n_init):
            centers = initial_centers_torch(rows, X, n_clusters, init, random_state, generator)
            if verbose:
                print("Initialization complete")
            run = lloyd_torch(rows, centers, max_iter, tol, verbose, product_dtype)
            if best is None or run.inertia < best.inertia:
                best = run
    n_distinct = int(np.unique(best.labels).shape[0])
    if n_distinct < n_clusters:
        warnings.warn(
            f"Number of distinct clusters ({n_distinct}) found smaller than "
            f"n_clusters ({n_clusters}): X probably has fewer than {n_clusters} distinct "
            "points (duplicate rows). Some centers are duplicates; lower n_clusters.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return best


def predict_torch(X, centers, device, sample_weight=None, product_dtype=None):
    """(labels as NumPy int32, inertia) of validated X under ``centers`` on ``device``."""
    n = X.shape[0]
    weights = np.ones(n) if sample_weight is None else sample_weight
    rows = DeviceRows(X, weights, device)
    with rows.torch.no_grad():
        labels, _, inertia = assign_rows(rows, centers, product_dtype=product_dtype)
    return labels.cpu().numpy(), inertia


# -- spherical k-means -----------------------------------------------------------------------


def unit_rows_torch(X):
    """(X with every non-zero row scaled to unit norm, mask of zero rows), on X's device."""
    torch = import_torch()
    norms = torch.linalg.vector_norm(X.to(torch.float64), dim=1)
    zero_rows = norms == 0
    inverse = torch.where(zero_rows, 0.0, 1.0 / torch.where(zero_rows, 1.0, norms))
    return (X * inverse[:, None].to(X.dtype)).contiguous(), zero_rows


def _assign_by_cosine_torch(rows, centers, zero_rows, zero_weight):
    """:func:`centroids.models.spherical.assign_by_cosine` on the device: (labels,
    min_sq_dist, Σ w (1 - cos)); rows of zeros get label 0, distance 1."""
    labels, min_sq_dist, _ = assign_rows(rows, centers)
    labels[zero_rows] = 0
    min_sq_dist[zero_rows] = 1.0
    inertia = float((rows.weights * min_sq_dist)[~zero_rows].sum()) / 2 + zero_weight
    return labels, min_sq_dist, inertia


def spherical_lloyd_torch(rows, zero_rows, centers_init, max_iter, tol, verbose=False):
    """:func:`centroids.models.spherical.spherical_lloyd` on the device (unit rows)."""
    from ..models.spherical import _unit_centers  # the same center rule

    torch = rows.torch
    centers = np.array(centers_init, dtype=rows.np_dtype, order="C", copy=True)
    n_clusters = centers.shape[0]
    zero_weight = float(rows.weights[zero_rows].sum())
    labels_old = None
    iteration = 0
    for iteration in range(max_iter):
        labels, min_sq_dist, inertia = _assign_by_cosine_torch(
            rows, centers, zero_rows, zero_weight
        )
        sums, weights = cluster_sums_torch(rows, labels, n_clusters)
        min_sq_dist[zero_rows] = 0.0
        if np.any(weights == 0):
            relocate_empty_clusters(
                _HostView(rows),
                rows.weights.cpu().numpy(),
                labels.cpu().numpy(),
                min_sq_dist.cpu().numpy(),
                sums,
                weights,
            )
        new_centers = _unit_centers(sums, centers.astype(np.float64)).astype(rows.np_dtype)
        center_shift = float(((new_centers.astype(np.float64) - centers) ** 2).sum())
        if verbose:
            print(f"Iteration {iteration}, inertia {inertia}.")
        centers = new_centers
        unchanged = labels_old is not None and bool(torch.equal(labels, labels_old))
        if stopping_rule(iteration, unchanged, center_shift, tol, verbose):
            break
        labels_old = labels
    labels, _, inertia = _assign_by_cosine_torch(rows, centers, zero_rows, zero_weight)
    return KMeansRun(
        centers=centers, labels=labels.cpu().numpy(), inertia=inertia, n_iter=iteration + 1
    )


def fit_spherical_torch(
    X, sample_weight, *, n_clusters, init, n_init, max_iter, tol, random_state, device, verbose
):
    """Best of ``n_init`` spherical k-means runs on the device; X validated (NumPy or
    tensor, any row norms), init 'k-means++', 'random' or unit centers. Returns
    (the best :class:`KMeansRun`, the zero-row mask as NumPy)."""
    torch = import_torch()
    if not isinstance(X, torch.Tensor):
        X = torch.from_numpy(X)
    X = X.to(torch.device(device))
    unit, zero_rows = unit_rows_torch(X)
    seed_weight = np.where(zero_rows.cpu().numpy(), 0, sample_weight)
    n_directions = int(np.count_nonzero(seed_weight))
    if n_directions < n_clusters:
        raise BadDataError(
            f"Only {n_directions} rows have both a positive sample_weight and a non-zero "
            f"vector, fewer than n_clusters={n_clusters}: rows of zeros have no "
            "direction to seed a cluster with. Lower n_clusters or pass more rows."
        )
    seeding = DeviceRows(unit, seed_weight, device)
    rows = DeviceRows(unit, sample_weight, device)
    generator = rows.generator(random_state)
    best = None
    with torch.no_grad():
        for _ in range(n_init):
            if isinstance(init, str) and init == "k-means++":
                centers = kmeans_plusplus_torch(
                    seeding, n_clusters, random_state, generator=generator
                )[0]
            elif isinstance(init, str):
                centers = random_centers_torch(
                    seeding, n_clusters, random_state, generator=generator
                )
            else:
                centers = init
            if verbose:
                print("Initialization complete")
            run = spherical_lloyd_torch(rows, zero_rows, centers, max_iter, tol, verbose)
            if best is None or run.inertia < best.inertia:
                best = run
    return best


# -- mini-batch steps ------------------------------------------------------------------------


class MiniBatchData:
    """What :class:`centroids.models.minibatch.MiniBatchSteps` and the estimator's fit read
    of the data, for rows on a torch device: the step kernel (:meth:`minibatch_steps`),
    rows by index (as NumPy, for the reassignments), the column variances and a full
    assignment pass."""

    X = None  # not a sparse matrix: the steps take the dense path's settings

    def __init__(self, rows):
        self.device_rows = rows
        self.n_rows = rows.n_rows
        self.n_features = rows.n_features
        self.dtype = np.dtype(rows.np_dtype)

    def rows(self, indices):
        return self.device_rows.host_rows(np.asarray(indices, dtype=np.int64))

    def column_variances(self):
        return self.device_rows.column_variances()

    def assign_labels(self, sample_weight, centers):
        rows = self.device_rows
        with rows.torch.no_grad():
            labels, _, inertia = assign_rows(rows, np.asarray(centers, dtype=rows.np_dtype))
        return labels.cpu().numpy(), None, inertia

    def minibatch_steps(self, sample_weight, use_weights, indices, batch_starts, first_step,
                        step_offset, centers, counts, ewa_state, reassign_state, settings,
                        batch_inertia_out, center_shift_out, batch_labels):  # fmt: skip
        """:func:`centroids._kernels.minibatch.dense_steps` on the device: the same
        arguments (``sample_weight`` NumPy), the same exit states; ``centers`` and
        ``counts`` (float64 NumPy) are updated in place when it returns."""
        from .._kernels import minibatch as kernels

        rows = self.device_rows
        torch = rows.torch
        device = rows.device
        alpha, tol = float(settings[0]), float(settings[1])
        max_no_improvement = int(settings[2])
        checking = settings[3] > 0
        reassign_every, ratio, reassign_after = int(settings[4]), settings[5], int(settings[6])
        c64 = torch.as_tensor(centers, device=device)
        n64 = torch.as_tensor(counts, device=device)
        all_rows = torch.as_tensor(indices, device=device)
        weights = rows.weights if use_weights else None
        n_batches = batch_starts.shape[0] - 1
        state, last = kernels.RAN_ALL_STEPS, n_batches - 1
        labels = None
        with torch.no_grad(), full_precision_products(torch):
            for s in range(first_step, n_batches):
                start, stop = int(batch_starts[s]), int(batch_starts[s + 1])
                batch = all_rows[start:stop]
                x = rows.X[batch] if rows.resident else rows.rows(indices[start:stop])
                w = (
                    weights[batch]
                    if weights is not None
                    else torch.ones(stop - start, dtype=torch.float64, device=device)
                )
                c = c64.to(rows.dtype)
                c_sq = (c.to(torch.float64) ** 2).sum(dim=1).to(rows.dtype)
                scores = torch.addmm(c_sq, x, (c * -2).T)
                labels = torch.argmin(scores, dim=1)
                best = torch.gather(scores, 1, labels[:, None])[:, 0].to(torch.float64)
                x_sq = (x.to(torch.float64) ** 2).sum(dim=1)
                inertia = (w * (x_sq + best).clamp_(min=0.0)).sum()
                sums, batch_w = _cluster_sums_of_chunk(torch, x, w, labels, c64.shape[0])
                got = batch_w > 0
                total = n64 + batch_w
                moved = (c64 * n64[:, None] + sums) / torch.where(got, total, 1.0)[:, None]
                moved = torch.where(got[:, None], moved, c64)
                shift = ((moved - c64) ** 2).sum()
                c64, n64 = moved, torch.where(got, total, n64)
                inertia, batch_weight, shift = torch.stack([inertia, batch_w.sum(), shift]).tolist()
                batch_inertia_out[s] = inertia / batch_weight if batch_weight > 0 else 0.0
                center_shift_out[s] = shift
                last = s
                if _reassignment_due(
                    reassign_state, stop - start, reassign_every, reassign_after, n64, ratio
                ):
                    state = kernels.REASSIGN_DUE
                    break
                if checking:
                    state = kernels.check_convergence(
                        ewa_state, step_offset + s, batch_inertia_out[s], shift, alpha, tol,
                        max_no_improvement,
                    )  # fmt: skip
                    if state != kernels.RAN_ALL_STEPS:
                        break
        centers[:] = c64.cpu().numpy()
        counts[:] = n64.cpu().numpy()
        if labels is not None:
            batch_labels[: labels.shape[0]] = labels.cpu().numpy()
        return state, last


def _reassignment_due(reassign_state, batch_rows, every, after, counts, ratio):
    """The numba kernels' rule (``_reassignment_due``), reading the device's counts only
    when it has to look at them."""
    reassign_state[1] += batch_rows  # ROWS_SEEN
    reassign_state[0] += batch_rows  # ROWS_SINCE_REASSIGN
    if reassign_state[1] < after:
        return False
    host = counts.cpu().numpy()
    if not np.any(host == 0) and reassign_state[0] < every:
        return False
    reassign_state[0] = 0
    if ratio <= 0.0:
        return False
    return bool(np.any(host < ratio * host.max()))


class HostSubsampler:
    """A tensor X seen by the mini-batch seeding, which reads small row subsets on the
    host: ``X[rows]`` is NumPy, ``shape`` and ``dtype`` are NumPy's."""

    def __init__(self, X):
        self._X = X
        self.shape = tuple(int(s) for s in X.shape)
        self.dtype = np.dtype(numpy_dtype(X.dtype))

    def __getitem__(self, rows):
        import_torch()
        index = np.asarray(rows, dtype=np.int64)
        return self._X[import_torch().as_tensor(index, device=self._X.device)].cpu().numpy()
