"""Scoring requests: the served model in memory, request rows read and checked, scored.

:class:`ServedModel` holds one version's segmentation, its stable segment ids and the
segments' names, and scores columns of raw values (before scaling and encoding) in one
call of the engine: the same preparation and the same assignment kernel as
:meth:`centroids.store.SegmentStore.predict`, so the answers are the same, bit for bit.
What it adds is the checking a service needs: a value the model cannot take (text in a
numeric column, a missing value under ``missing='drop'``, an infinity, a nested list) is a
:class:`~centroids.serve.errors.BadRowError` naming its row and column.

:class:`ModelCache` keeps the served version's model and looks at the store at most every
``check_seconds`` for a promotion or a new version; the service's own writes tell it at
once (:meth:`ModelCache.invalidate`).
"""

from __future__ import annotations

import copy
import io
import math
import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import settings
from .errors import BadRequestError, BadRowError, NotReadyError, PayloadTooLargeError

#: Open Inference Protocol datatypes that hold numbers, and the one that holds text.
NUMERIC_DATATYPES = {
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
}
DATATYPES = NUMERIC_DATATYPES | {"BYTES"}

#: Set by :func:`centroids.serve.serve` once it has limited BLAS to one thread for the
#: whole process; scoring then skips limiting it around every call (as KMeans.predict
#: does), which costs more than scoring one row.
BLAS_LIMITED_FOR_PROCESS = False

OUTPUTS = (
    ("segment_id", "INT64"),
    ("segment_name", "BYTES"),
    ("distance", "FP64"),
)


@dataclass
class Scored:
    """The answer for a batch: segment ids, names and distances (model space), in order."""

    version: int
    segment_ids: list
    segment_names: list
    distances: list

    def __len__(self):
        return len(self.segment_ids)

    def records(self) -> list[dict]:
        return [
            {"segment_id": i, "segment_name": n, "distance": d}
            for i, n, d in zip(self.segment_ids, self.segment_names, self.distances, strict=True)
        ]


class ServedModel:
    """One version's segmentation, segment ids and names, ready to score raw columns."""

    def __init__(self, version: int, segmentation, segment_ids, names: dict):
        from ..engine import blas_limited_to_one_thread, engine_data
        from ..models import KMeans

        self.version = int(version)
        self.segmentation = segmentation
        self.segment_ids = np.asarray(segment_ids, dtype=np.int64)
        self.names = dict(names)
        self.preparation = segmentation.preparation_
        self.specs = list(self.preparation.specs)
        self.feature_names = [spec.name for spec in self.specs]
        self.n_model_features = len(self.preparation.model_feature_names_)
        self.centers = segmentation.centers_
        model = segmentation.model_
        # The engine's own assignment, as KMeans.predict runs it once X is validated: the
        # service validates the rows itself (naming row and column), so it goes straight
        # to the kernel. Another model (none stored today) goes through predict.
        self._direct = isinstance(model, KMeans) and model.cluster_centers_ is self.centers
        self._engine_data = engine_data
        self._blas_one_thread = blas_limited_to_one_thread
        self._id_names = [self.names.get(int(i), "") for i in self.segment_ids]
        # categorical columns whose categories are all text: category → one-hot column
        self._text_levels = {
            spec.name: {c: j for j, c in enumerate(spec.categories)}
            for spec in self.specs
            if spec.kind == "categorical" and all(isinstance(c, str) for c in spec.categories)
        }

    def renamed(self, names: dict) -> ServedModel:
        """This model under other segment names (a copy: requests in flight keep theirs)."""
        other = copy.copy(self)
        other.names = dict(names)
        other._id_names = [other.names.get(int(i), "") for i in self.segment_ids]
        return other

    # -- metadata -------------------------------------------------------------------------

    def inputs(self) -> list[dict]:
        """The Open Inference Protocol input tensors: one per raw feature column."""
        return [
            {
                "name": spec.name,
                "datatype": "FP64" if spec.kind == "numeric" else "BYTES",
                "shape": [-1],
                "parameters": {"kind": spec.kind}
                | ({"categories": list(spec.categories)} if spec.kind == "categorical" else {})
                | (
                    {"missing": self.preparation.missing}
                    if spec.kind == "numeric"
                    else {"missing": "level" if spec.missing_level else "none of the levels"}
                ),
            }
            for spec in self.specs
        ]

    # -- scoring --------------------------------------------------------------------------

    def prepare(self, columns: dict, n_rows: int) -> np.ndarray:
        """The model matrix of raw columns (name → sequence of values), checked cell by cell."""
        Z = np.empty((n_rows, self.n_model_features), dtype=np.float64)
        position = 0
        for spec in self.specs:
            values = columns[spec.name]
            if spec.kind == "numeric":
                x = _numbers(values, spec.name)
                missing = np.isnan(x)
                if missing.any():
                    if self.preparation.missing != "median":
                        row = int(np.flatnonzero(missing)[0])
                        raise BadRowError(
                            f"row {row}, column {spec.name!r}: the value is missing, and this "
                            "model (missing='drop') places only rows with every numeric "
                            f"value; send a number ({int(missing.sum())} row(s) lack one)",
                            row=row,
                            column=spec.name,
                        )
                    x = np.where(missing, spec.median, x)
                infinite = np.isinf(x)
                if infinite.any():
                    row = int(np.flatnonzero(infinite)[0])
                    raise BadRowError(
                        f"row {row}, column {spec.name!r}: {x[row]} is not a finite number",
                        row=row,
                        column=spec.name,
                    )
                np.divide(x - spec.center, spec.scale, out=Z[:, position])
                position += 1
            else:
                width = len(spec.levels)
                block = Z[:, position : position + width]
                if not self._one_hot_text(spec, values, block):
                    column = _categories(values, spec.name)
                    self.preparation._one_hot(spec, column, block)
                position += width
        return Z

    def _one_hot_text(self, spec, values, block) -> bool:
        """One-hot cells of a column of text (or missing) values under text categories, as
        :meth:`Preparation._one_hot` sets them (each value its category's column, an
        unknown one none, a missing one the missing level's); False for any other column,
        which that method then handles."""
        if isinstance(values, pd.Series) or not set(map(type, values)) <= {str, type(None)}:
            return False
        index = self._text_levels.get(spec.name)
        if index is None:
            return False
        missing = len(spec.categories) if spec.missing_level else -1
        positions = np.fromiter(
            (missing if v is None else index.get(v, -1) for v in values),
            dtype=np.int64,
            count=len(values),
        )
        block[:] = 0.0
        rows = np.flatnonzero(positions >= 0)
        block[rows, positions[rows]] = spec.weight
        return True

    def score(self, columns: dict, n_rows: int) -> Scored:
        """Segment ids, names and distances of the rows: one call of the engine."""
        if n_rows == 0:
            return Scored(self.version, [], [], [])
        Z = self.prepare(columns, n_rows)
        if self._direct:
            data = self._engine_data(Z)
            weights = np.ones(n_rows, dtype=Z.dtype)
            if BLAS_LIMITED_FOR_PROCESS:
                labels, _, _ = data.assign_labels(weights, self.centers)
            else:
                with self._blas_one_thread():
                    labels, _, _ = data.assign_labels(weights, self.centers)
            labels = labels.astype(np.int64)
        else:  # pragma: no cover - every stored model is a KMeans over its centers
            labels = np.asarray(self.segmentation.model_.predict(Z), dtype=np.int64)
        # as Segmentation.predict_with_distance computes them
        difference = Z - self.centers[labels]
        distances = np.sqrt(np.einsum("ij,ij->i", difference, difference))
        names = self._id_names
        return Scored(
            self.version,
            self.segment_ids[labels].tolist(),
            [names[label] for label in labels.tolist()],
            distances.tolist(),
        )


_NUMBER_TYPES = {float, int, type(None)}
_NUMBER_OR_TEXT_TYPES = _NUMBER_TYPES | {str}


def _numbers(values, column: str) -> np.ndarray:
    """float64 values of a numeric column (NaN where missing), or a BadRowError."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return values.astype(np.float64, copy=False)
    if isinstance(values, pd.Series) and values.dtype.kind in "fiu":
        return values.to_numpy(dtype=np.float64)
    values = list(values)
    if set(map(type, values)) <= _NUMBER_TYPES:
        try:
            return np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            pass
    elif set(map(type, values)) <= _NUMBER_OR_TEXT_TYPES:
        try:  # numbers as text (CSV); a bad one is found one by one below
            return np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            pass
    for row, value in enumerate(values):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if type(value) is bool or isinstance(value, np.bool_):
            problem = f"{value!r} is a boolean, not a number"
        elif isinstance(value, int | float | np.number):
            continue
        elif isinstance(value, str):
            try:
                float(value)
                continue
            except ValueError:
                problem = f"{value!r} is not a number"
        else:
            problem = f"a {type(value).__name__} is not a number"
        raise BadRowError(
            f"row {row}, column {column!r}: {problem}; this column is numeric",
            row=row,
            column=column,
        )
    # every value passed one by one: strings with spaces, for example
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _categories(values, column: str) -> pd.Series:
    """An object Series of a categorical column's values, or a BadRowError for a nested one."""
    if isinstance(values, pd.Series):
        return values
    values = list(values)
    for row, value in enumerate(values):
        if isinstance(value, list | dict):
            raise BadRowError(
                f"row {row}, column {column!r}: a {type(value).__name__} is not a category; "
                "send a string or a number",
                row=row,
                column=column,
            )
    return pd.Series(values, dtype=object)


# -- reading requests ---------------------------------------------------------------------


def check_row_count(n_rows: int, limit: int) -> None:
    if n_rows > limit:
        raise PayloadTooLargeError(
            f"the request has {n_rows:,} rows, more than the {limit:,} this service takes "
            "in one request; split it into smaller batches"
        )


def _flatten(data, what: str) -> list:
    if not isinstance(data, list):
        raise BadRequestError(f"{what}: 'data' must be a list, got {type(data).__name__}")
    if data and all(isinstance(item, list) for item in data):
        flat = []
        for item in data:
            if item and any(isinstance(inner, list) for inner in item):
                raise BadRequestError(f"{what}: 'data' nests lists more than two deep")
            flat.extend(item)
        return flat
    return data


def _shape(tensor: dict, what: str) -> list[int]:
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
    ):
        raise BadRequestError(f"{what}: 'shape' must be a list of non-negative integers")
    return shape


def columns_from_oip(body, model: ServedModel, max_rows: int) -> tuple[dict, int]:
    """Raw columns from an Open Inference Protocol request's ``inputs``.

    Either one tensor per feature column, named after it (shape ``[n]`` or ``[n, 1]``),
    or one 2-D tensor of shape ``[n, n_features]`` whose columns are the features in the
    order of the model's metadata.
    """
    if not isinstance(body, dict):
        raise BadRequestError("the request body must be a JSON object with 'inputs'")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise BadRequestError(
            "the request needs 'inputs': a list of tensors, one per feature column "
            f"{model.feature_names} (or one 2-D tensor)"
        )
    _check_tensor_headers(inputs)
    names = [tensor["name"] for tensor in inputs]
    features = model.feature_names
    if len(inputs) == 1 and names[0] not in features and len(_shape(inputs[0], names[0])) == 2:
        return _columns_of_matrix(inputs[0], features, max_rows)
    unknown = [name for name in names if name not in features]
    if unknown:
        raise BadRowError(
            f"input(s) {unknown} are not features of the model; it takes one tensor per "
            f"feature column {features}, or one 2-D tensor of shape [rows, {len(features)}]",
            column=unknown[0],
        )
    if len(set(names)) != len(names):
        raise BadRequestError(f"an input is named twice: {names}")
    absent = [name for name in features if name not in names]
    if absent:
        raise BadRowError(
            f"the request lacks the input(s) {absent}: the model takes one tensor per "
            f"feature column {features}",
            column=absent[0],
        )
    return _columns_of_tensors(inputs, max_rows)


def _check_tensor_headers(inputs):
    """Every input tensor is an object with a name and one of the protocol's datatypes."""
    for position, tensor in enumerate(inputs):
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise BadRequestError(f"inputs[{position}] must be an object with a 'name'")
        datatype = tensor.get("datatype")
        if datatype not in DATATYPES:
            raise BadRequestError(
                f"input {tensor['name']!r}: datatype {datatype!r} is not one of the "
                f"protocol's {sorted(DATATYPES)}"
            )


def _columns_of_matrix(tensor, features, max_rows):
    """The feature columns of one 2-D tensor of shape [rows, n_features]."""
    n_rows, width = _shape(tensor, tensor["name"])
    if width != len(features):
        raise BadRequestError(
            f"input {tensor['name']!r} has {width} columns but the model takes "
            f"{len(features)}: {features} (in this order)"
        )
    check_row_count(n_rows, max_rows)
    flat = _flatten(tensor.get("data"), f"input {tensor['name']!r}")
    if len(flat) != n_rows * width:
        raise BadRequestError(
            f"input {tensor['name']!r}: shape {[n_rows, width]} needs {n_rows * width} "
            f"values, 'data' has {len(flat)}"
        )
    columns = {name: flat[j::width] for j, name in enumerate(features)}
    return columns, n_rows


def _columns_of_tensors(inputs, max_rows):
    """The feature columns of one tensor each, of shape [rows] or [rows, 1]."""
    columns = {}
    n_rows = None
    for tensor in inputs:
        name = tensor["name"]
        shape = _shape(tensor, name)
        if (len(shape) == 2 and shape[1] != 1) or len(shape) not in (1, 2):
            raise BadRequestError(
                f"input {name!r}: a feature's tensor has shape [rows] or [rows, 1], not {shape}"
            )
        check_row_count(shape[0], max_rows)
        flat = _flatten(tensor.get("data"), f"input {name!r}")
        if len(flat) != shape[0]:
            raise BadRequestError(
                f"input {name!r}: shape {shape} needs {shape[0]} values, 'data' has {len(flat)}"
            )
        if n_rows is not None and shape[0] != n_rows:
            raise BadRequestError(
                f"inputs have different row counts: {n_rows} and {shape[0]} (input {name!r})"
            )
        n_rows = shape[0]
        columns[name] = flat
    return columns, n_rows


def requested_outputs(body) -> list[str]:
    """Names of the outputs an Open Inference Protocol request asks for (default: all)."""
    known = [name for name, _ in OUTPUTS]
    outputs = body.get("outputs") if isinstance(body, dict) else None
    if outputs is None:
        return known
    if not isinstance(outputs, list):
        raise BadRequestError("'outputs' must be a list of {'name': ...} objects")
    names = []
    for item in outputs:
        name = item.get("name") if isinstance(item, dict) else None
        if name not in known:
            raise BadRequestError(f"unknown output {name!r}; the model gives {known}")
        names.append(name)
    return names


def oip_response(scored: Scored, outputs: list[str], request_id=None) -> dict:
    data = {
        "segment_id": scored.segment_ids,
        "segment_name": scored.segment_names,
        "distance": scored.distances,
    }
    types = dict(OUTPUTS)
    response = {
        "model_name": "segments",
        "model_version": str(scored.version),
        "outputs": [
            {"name": name, "datatype": types[name], "shape": [len(scored)], "data": data[name]}
            for name in outputs
        ],
    }
    if request_id is not None:
        response["id"] = str(request_id)
    return response


def _columns_from_rows(rows, header, features, what: str) -> dict:
    """Columns from rows (lists) under ``header``; every feature must be in the header."""
    absent = [name for name in features if name not in header]
    if absent:
        raise BadRowError(
            f"{what} lacks the column(s) {absent}; the model takes {features}",
            column=absent[0],
        )
    width = len(header)
    for row, values in enumerate(rows):
        if not isinstance(values, list) or len(values) != width:
            raise BadRowError(
                f"row {row}: expected a list of {width} values (one per column {header})",
                row=row,
            )
    where = {name: header.index(name) for name in features}
    return {name: [values[j] for values in rows] for name, j in where.items()}


def columns_from_mlflow(body, model: ServedModel, max_rows: int) -> tuple[dict, int]:
    """Raw columns from an MLflow scoring request: ``dataframe_split``, ``dataframe_records``
    or ``instances`` (records, or rows in the order of the model's features)."""
    features = model.feature_names
    if not isinstance(body, dict):
        raise BadRequestError(
            "the JSON body must be an object with 'dataframe_split', 'dataframe_records' "
            "or 'instances'"
        )
    given = [key for key in ("dataframe_split", "dataframe_records", "instances") if key in body]
    if len(given) != 1:
        raise BadRequestError(
            "the JSON body needs exactly one of 'dataframe_split' ({columns, data}), "
            "'dataframe_records' ([{column: value}, ...]) or 'instances'"
            + (f"; it has {given}" if given else "")
        )
    key = given[0]
    payload = body[key]
    if key == "dataframe_split":
        if not isinstance(payload, dict) or not isinstance(payload.get("columns"), list):
            raise BadRequestError("'dataframe_split' must be an object with 'columns' and 'data'")
        rows = payload.get("data")
        if not isinstance(rows, list):
            raise BadRequestError("'dataframe_split.data' must be a list of rows")
        check_row_count(len(rows), max_rows)
        header = [str(c) for c in payload["columns"]]
        return _columns_from_rows(rows, header, features, "'dataframe_split'"), len(rows)
    if not isinstance(payload, list):
        raise BadRequestError(f"{key!r} must be a list")
    check_row_count(len(payload), max_rows)
    if key == "instances" and payload and all(isinstance(r, list) for r in payload):
        return _columns_from_rows(payload, features, features, "'instances'"), len(payload)
    columns = {name: [] for name in features}
    for row, record in enumerate(payload):
        if not isinstance(record, dict):
            raise BadRowError(f"row {row}: a record must be an object {{column: value}}", row=row)
        for name in features:
            if name not in record:
                raise BadRowError(
                    f"row {row} lacks the column {name!r}; the model takes {features}",
                    row=row,
                    column=name,
                )
            columns[name].append(record[name])
    return columns, len(payload)


def columns_from_csv(body: bytes, model: ServedModel, max_rows: int) -> tuple[dict, int]:
    """Raw columns from CSV: with a header row naming the columns, or (SageMaker batch
    transform's way) without one, the columns in the order of the model's features."""
    features = model.feature_names
    text = body.decode("utf-8-sig", errors="strict") if body else ""
    if not text.strip():
        return {name: [] for name in features}, 0
    first = text.splitlines()[0]
    header_cells = [cell.strip().strip('"') for cell in first.split(",")]
    has_header = set(features) <= set(header_cells)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            header=0 if has_header else None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, ValueError) as error:
        raise BadRequestError(f"the CSV body cannot be read: {error}") from None
    if not has_header:
        if frame.shape[1] != len(features):
            raise BadRowError(
                f"the CSV rows have {frame.shape[1]} columns but the model takes "
                f"{len(features)} ({features}, in this order) or a header row naming them"
            )
        frame.columns = features
    check_row_count(len(frame), max_rows)
    columns = {}
    for spec in model.specs:
        cells = frame[spec.name].tolist()
        # an empty cell is a missing value, as when the CLI reads a CSV file
        columns[spec.name] = [None if cell == "" else cell for cell in cells]
    return columns, len(frame)


def csv_response(scored: Scored) -> str:
    frame = pd.DataFrame(
        {
            "segment_id": scored.segment_ids,
            "segment_name": scored.segment_names,
            "distance": scored.distances,
        }
    )
    return frame.to_csv(index=False, float_format="%.17g")


# -- the cache ----------------------------------------------------------------------------


class ModelCache:
    """The served version's model in memory; other versions loaded when asked for."""

    def __init__(self, store, check_seconds: float = settings.SERVE_VERSION_CHECK_SECONDS):
        self.store = store
        self.check_seconds = float(check_seconds)
        self._lock = threading.Lock()
        self._served: ServedModel | None = None
        self._checked_at = -math.inf
        self._others: dict[int, ServedModel] = {}

    def due(self) -> bool:
        """Whether the next :meth:`served` asks the store which version it serves."""
        return time.monotonic() - self._checked_at >= self.check_seconds

    def invalidate(self) -> None:
        """Look at the store on the next request (after a write of this service)."""
        with self._lock:
            self._checked_at = -math.inf
            self._others.clear()

    def served(self) -> ServedModel:
        if not self.due() and self._served is not None:
            return self._served
        with self._lock:
            if not self.due() and self._served is not None:
                return self._served
            version = self.store.served_version
            if version is None:
                raise NotReadyError(
                    "the store holds no version yet: run `centroids segment` (or a retrain "
                    "job) first"
                )
            served = self._served
            if served is None or served.version != version:
                self._served = self._build(version)
            else:
                # the same version: the model stays loaded; only the names can have changed
                # (a rename by another process)
                names = self.store.segments()["name"].to_dict()
                if names != served.names:
                    self._served = served.renamed(names)
            self._checked_at = time.monotonic()
            return self._served

    def version(self, version: int) -> ServedModel:
        served = self._served
        if served is not None and served.version == version and not self.due():
            return served
        with self._lock:
            cached = self._others.get(version)
            if cached is None:
                cached = self._build(version)
                if len(self._others) >= 8:
                    self._others.pop(next(iter(self._others)))
                self._others[version] = cached
            return cached

    def _build(self, version: int) -> ServedModel:
        segmentation = self.store.load(version)
        ids = self.store.segment_ids(version)
        names = self.store.segments()["name"].to_dict()
        return ServedModel(version, segmentation, ids, names)
