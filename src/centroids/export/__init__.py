"""Fitted models in formats other programs score with: ONNX (:mod:`centroids.export.onnx`).

Importing this package registers the estimators' converters with skl2onnx when it is
installed, so ``skl2onnx.convert_sklearn`` converts pipelines that hold them.
"""

import contextlib

from .onnx import register_skl2onnx, save_onnx, to_onnx

__all__ = ["register_skl2onnx", "save_onnx", "to_onnx"]

# skl2onnx is optional: to_onnx works without it
with contextlib.suppress(ImportError):
    register_skl2onnx()
