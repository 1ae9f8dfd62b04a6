"""Colour quantization: an image redrawn with a palette of a few colours found by k-means."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

from .._kernels.palette import redraw_with_palette
from .._utils.files import replaced_atomically
from ..models import KMeans
from ..settings import CHUNK_ROWS

# Pixels the palette is fitted on. A 12-megapixel photo has far more pixels than 16 or
# 64 colours need: on a uniform sample of this size, refined k-means (swap steps after
# Lloyd) places the centers better than plain k-means on four times as many pixels, in
# less time (benchmarks/quantize_speed.py), and the full image is then assigned in one pass.
DEFAULT_SAMPLE_SIZE = 50_000


@dataclass
class QuantizedImage:
    """An image redrawn with ``len(palette)`` colours.

    Attributes
    ----------
    image : ndarray of shape (height, width, channels), uint8
        The quantized pixels (RGB, or RGBA with the original alpha kept).
    palette : ndarray of shape (n_colors, 3), uint8
        The colours, most used first.
    counts : ndarray of shape (n_colors,), int64
        Pixels drawn in each colour.
    labels : ndarray of shape (height, width), int32
        Index into ``palette`` of every pixel.
    mean_squared_error : float
        Mean over pixels of the squared RGB distance to the palette colour (0-255 units).
    """

    image: np.ndarray
    palette: np.ndarray
    counts: np.ndarray
    labels: np.ndarray
    mean_squared_error: float

    @property
    def hex_colors(self):
        """The palette as ``#rrggbb`` strings, most used first."""
        return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in self.palette.tolist()]

    def save(self, path):
        """Write the quantized image (format from the suffix), whole or not at all."""
        _save_pixels(self.image, path)

    def save_swatch(self, path, *, swatch_size=64):
        """Write the palette as a strip of squares, widths proportional to use."""
        _save_pixels(palette_swatch(self.palette, self.counts, swatch_size=swatch_size), path)


def load_image_pixels(image):
    """An RGB or RGBA uint8 array from a path, a PIL image or an array."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, str | Path):
        path = Path(image)
        if not path.exists():
            raise ValueError(f"No such image file: {path}")
        try:
            with Image.open(path) as opened:
                image = opened.convert("RGBA" if _has_alpha(opened) else "RGB")
        except (UnidentifiedImageError, OSError) as e:
            raise ValueError(f"Can't read {path} as an image: {e}") from e
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGBA" if _has_alpha(image) else "RGB"))
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(
            f"An image must be (height, width, 3 or 4 channels); got shape {pixels.shape}"
        )
    if pixels.dtype != np.uint8:
        if np.issubdtype(pixels.dtype, np.floating) and pixels.size and pixels.max() <= 1.0:
            pixels = pixels * 255.0
        pixels = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    if pixels.shape[0] * pixels.shape[1] == 0:
        raise ValueError("The image has no pixels")
    return pixels


def quantize_image(image, n_colors=16, *, sample_size=DEFAULT_SAMPLE_SIZE, random_state=0):
    """Redraw an image with ``n_colors`` colours chosen by k-means in RGB space.

    The palette is fitted on a uniform sample of ``sample_size`` pixels (all of them
    when the image is smaller) by one k-means run (k-means++ seeding, then swap
    refinement);
    then one pass over the image, straight from its bytes, assigns every pixel to its
    nearest center (in float32, as the engine does), redraws it in that center's
    rounded colour and counts the error.

    Parameters
    ----------
    image : str, path, PIL image or ndarray (height, width, 3|4)
        The picture. An alpha channel is kept as it is and does not take part.
    n_colors : int, default=16
        Palette size, 1 to 65,536 (no more than the number of distinct colours).
    sample_size : int or None, default=50_000
        Pixels to fit the palette on; None fits on every pixel.
    random_state : int, RandomState or None, default=0

    Returns
    -------
    QuantizedImage

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> picture = rng.choice([0, 255], size=(40, 60, 3)).astype(np.uint8)
    >>> result = quantize_image(picture, n_colors=8)
    >>> result.image.shape, len(result.palette)
    ((40, 60, 3), 8)
    >>> float(result.mean_squared_error)
    0.0
    """
    pixels = load_image_pixels(image)
    if not isinstance(n_colors, int | np.integer) or not 1 <= n_colors <= 65_536:
        raise ValueError(f"n_colors must be an integer from 1 to 65536, got {n_colors!r}")
    height, width = pixels.shape[:2]
    rgb = pixels[:, :, :3].reshape(-1, 3)
    rng = check_random_state(random_state)
    fit_on = rgb
    if sample_size is not None and len(rgb) > sample_size:
        # Drawn with replacement: a permutation of 12 million indices costs seconds,
        # and repeats among the draws only reweight a few pixels.
        fit_on = rgb[rng.randint(0, len(rgb), size=sample_size)]
    if _count_distinct_colours(fit_on) < n_colors:
        fit_on = rgb
        n_distinct = _count_distinct_colours(rgb)
        if n_distinct < n_colors:
            raise ValueError(
                f"The image has only {n_distinct} distinct colours, fewer than "
                f"n_colors={n_colors}; ask for fewer colours"
            )
    model = KMeans(n_colors, n_init=1, refine=True, random_state=rng)
    centers = model.fit(fit_on.astype(np.float32)).cluster_centers_.astype(np.float32)
    palette = np.clip(np.rint(centers), 0, 255).astype(np.uint8)
    labels, quantized, counts, squared_error = _redraw(np.ascontiguousarray(rgb), centers, palette)
    # Most used colour first.
    order = np.argsort(-counts, kind="stable")
    rank = np.empty(n_colors, dtype=np.int32)
    rank[order] = np.arange(n_colors, dtype=np.int32)
    labels = rank[labels]
    palette, counts = palette[order], counts[order]
    if pixels.shape[2] == 4:
        quantized = np.concatenate([quantized, pixels[:, :, 3].reshape(-1, 1)], axis=1)
    return QuantizedImage(
        image=quantized.reshape(height, width, pixels.shape[2]),
        palette=palette,
        counts=counts,
        labels=labels.reshape(height, width),
        mean_squared_error=squared_error / len(rgb),
    )


def palette_swatch(palette, counts=None, *, swatch_size=64):
    """An RGB strip of the palette's colours, each as wide as its share of ``counts``
    (equal widths without counts), at least 4 pixels each."""
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    n = len(palette)
    if counts is None:
        widths = np.full(n, swatch_size)
    else:
        share = np.asarray(counts, dtype=np.float64) / max(1, np.sum(counts))
        widths = np.maximum(4, np.rint(share * swatch_size * n)).astype(int)
    return np.repeat(palette, widths, axis=0)[None, :, :].repeat(swatch_size, axis=0)


def _redraw(rgb, centers, palette):
    """(labels, redrawn pixels, pixels per colour, total squared error) in one pass."""
    n, k = len(rgb), len(centers)
    n_chunk = max(1, -(-n // CHUNK_ROWS))
    labels = np.empty(n, dtype=np.int32)
    out = np.empty((n, 3), dtype=np.uint8)
    chunk_counts = np.empty((n_chunk, k), dtype=np.int64)
    chunk_error = np.empty(n_chunk, dtype=np.int64)
    kernel = redraw_with_palette.for_work(n * k * 3)
    kernel(rgb, np.ascontiguousarray(centers.T), palette, labels, out, chunk_counts, chunk_error)
    return labels, out, chunk_counts.sum(axis=0), int(chunk_error.sum())


def _count_distinct_colours(rgb):
    """Number of distinct RGB triples, by marking their 24-bit codes in a bitmap."""
    codes = (rgb[:, 0].astype(np.uint32) << 16) | (rgb[:, 1].astype(np.uint32) << 8) | rgb[:, 2]
    seen = np.zeros(1 << 24, dtype=np.bool_)
    seen[codes] = True
    return int(np.count_nonzero(seen))


def _has_alpha(image):
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _save_pixels(pixels, path):
    from PIL import Image

    path = Path(path)
    picture = Image.fromarray(pixels)
    if picture.mode == "RGBA" and path.suffix.lower() in (".jpg", ".jpeg"):
        picture = picture.convert("RGB")
    try:
        with replaced_atomically(path) as tmp:
            picture.save(tmp)
    except (KeyError, ValueError) as e:
        if isinstance(e, ValueError) and "folder" in str(e):
            raise
        raise ValueError(f"Can't write an image as {path.suffix!r}: use .png or .jpg") from e
