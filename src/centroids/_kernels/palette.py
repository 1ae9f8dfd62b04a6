"""Colour quantization's full-image pass: nearest palette colour, redrawn pixel, error."""

import numpy as np
from numba import prange

from ..settings import CHUNK_ROWS
from ._compile import chunked_kernel
from .dense import n_chunks


@chunked_kernel
def redraw_with_palette(rgb, centers_T, palette, labels, out, chunk_counts, chunk_error):
    """Every pixel to its nearest center, drawn in that center's palette colour.

    ``labels[i] = argmin_c Σ_j (rgb[i, j] - centers_T[j, c])²`` in float32 (the sums of
    the engine's direct assignment, ties to the lowest index), ``out[i] = palette[labels[i]]``;
    per chunk, the pixels of each colour and the squared error of the redrawn pixels,
    ``Σ_i ||out[i] - rgb[i]||²``, both integers, so their totals do not depend on the order
    the chunks are added in.

    rgb : (n, 3) uint8 IN; centers_T : (3, k) float32 IN; palette : (k, 3) uint8 IN (the
    centers rounded); labels : (n,) int32 OUT; out : (n, 3) uint8 OUT; chunk_counts :
    (n_chunks(n), k) int64 OUT; chunk_error : (n_chunks(n),) int64 OUT.
    """
    n = rgb.shape[0]
    k = centers_T.shape[1]
    for chunk in prange(n_chunks(n)):
        start = chunk * CHUNK_ROWS
        stop = min(start + CHUNK_ROWS, n)
        dist = np.empty(k, dtype=np.float32)
        error = 0
        for c in range(k):
            chunk_counts[chunk, c] = 0
        for i in range(start, stop):
            for c in range(k):
                dist[c] = 0
            for j in range(3):
                x = np.float32(rgb[i, j])
                for c in range(k):
                    diff = x - centers_T[j, c]
                    dist[c] += diff * diff
            best_c = 0
            best = dist[0]
            for c in range(1, k):
                if dist[c] < best:
                    best = dist[c]
                    best_c = c
            labels[i] = best_c
            chunk_counts[chunk, best_c] += 1
            for j in range(3):
                value = palette[best_c, j]
                out[i, j] = value
                diff_int = np.int64(value) - np.int64(rgb[i, j])
                error += diff_int * diff_int
        chunk_error[chunk] = error
