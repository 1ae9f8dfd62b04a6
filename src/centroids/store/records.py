"""Plain values the store keeps: JSON-safe copies of a model's parts, names, environment.

The small conversions between a fitted segmentation (numpy arrays, pandas frames) and
what a database column or an export file holds (JSON values, strings).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd


def jsonable(value):
    """A JSON-safe copy of ``value`` (numpy scalars and arrays become Python values)."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return repr(value)


def optional_str(value):
    """``str(value)``, None kept as None."""
    return None if value is None else str(value)


def library_versions() -> dict[str, str]:
    """The versions of the libraries a fit depends on, as stored with each version."""
    import numba
    import sklearn

    import centroids

    return {
        "centroids_version": centroids.__version__,
        "numpy_version": np.__version__,
        "numba_version": numba.__version__,
        "sklearn_version": sklearn.__version__,
        "python_version": platform.python_version(),
    }


def thread_count() -> int:
    """numba's thread count (stored with a version: a fit's environment)."""
    import numba

    return int(numba.get_num_threads())


def segment_names(model, count: int) -> list[str | None]:
    """The names the segmentation suggests for its ``count`` clusters (None where none)."""
    names = getattr(model, "names_", None)
    if names is None:
        return [None] * count
    if isinstance(names, dict):
        return [None if names.get(i) is None else str(names.get(i)) for i in range(count)]
    names = list(names)
    if len(names) != count:
        return [None] * count
    return [None if name is None else str(name) for name in names]


def per_segment(values, count: int, what: str) -> list:
    """``values`` checked to hold one entry (a string or None) per cluster; None: all None."""
    if values is None:
        return [None] * count
    if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
        raise TypeError(f"{what} must be a list with one entry per cluster, got {type(values)!r}")
    if len(values) != count:
        raise ValueError(f"{what} has {len(values)} entries but the model has {count} clusters")
    return [None if value is None else str(value) for value in values]


def center_records(frame: pd.DataFrame) -> list[dict]:
    """One JSON-safe dict per center (row of ``frame``)."""
    return jsonable(frame.to_dict(orient="records"))


def preparation_description(model):
    """The JSON-safe description of the model's preparation, None when it has none."""
    preparation = getattr(model, "preparation_", None)
    if preparation is None or not hasattr(preparation, "to_dict"):
        return None
    return jsonable(preparation.to_dict())


def write_json_atomically(path: Path, value) -> None:
    """Write ``value`` as JSON to ``path`` whole or not at all (a temporary file renamed)."""
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ValueError(f"the folder {str(folder)!r} does not exist; create it first")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(value, file, indent=2, sort_keys=True)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
