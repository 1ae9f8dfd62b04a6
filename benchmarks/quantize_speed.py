"""Colour quantization of a 12-megapixel photo: centroids next to scikit-learn doing the same job.

The job: a 16-colour palette for a 4256 × 2832 photo and every pixel redrawn with it.
Both sides fit on a uniform sample of pixels (``DEFAULT_SAMPLE_SIZE``, drawn with the
same seed) with one k-means++ run, then assign all 12 million pixels:

- centroids: ``centroids.apps.quantize.quantize_image`` (the whole job, as the command runs it);
- scikit-learn: ``KMeans(n_clusters, n_init=1).fit(sample)`` then ``predict(all pixels)``
  (scikit-learn's own colour-quantization example does the same, on a smaller sample).

Also timed: scikit-learn fitting on every pixel (``--full-fit``), the job people try
first, to show why sampling is the right default. Figures are ratios within one run.

    .venv/bin/python benchmarks/quantize_speed.py [--colors 16] [--repeats 3] [--full-fit]
"""

import argparse
import time

import numpy as np
from machine import OtherLoad, progress, python_command, source_revision
from PIL import Image
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.datasets import load_sample_image

from centroids.apps.quantize import DEFAULT_SAMPLE_SIZE, quantize_image

WIDTH, HEIGHT = 4256, 2832  # 12.05 megapixels, a common 12 MP sensor size


def photo(name):
    """A 12-megapixel RGB photo: one of scikit-learn's sample images, upscaled (bicubic)."""
    small = Image.fromarray(load_sample_image(name))
    return np.asarray(small.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC))


def sklearn_job(pixels, n_colors, seed):
    rgb = pixels.reshape(-1, 3)
    rng = np.random.RandomState(seed)
    sample = rgb[rng.randint(0, len(rgb), size=DEFAULT_SAMPLE_SIZE)].astype(np.float32)
    model = SklearnKMeans(n_colors, n_init=1, random_state=rng).fit(sample)
    labels = model.predict(rgb.astype(np.float32))
    palette = np.clip(np.rint(model.cluster_centers_), 0, 255).astype(np.uint8)
    return float(np.mean(np.sum((palette[labels].astype(np.float64) - rgb) ** 2, axis=1)))


def sklearn_full_fit(pixels, n_colors, seed):
    rgb = pixels.reshape(-1, 3).astype(np.float32)
    model = SklearnKMeans(n_colors, n_init=1, random_state=seed).fit(rgb)
    palette = np.clip(np.rint(model.cluster_centers_), 0, 255).astype(np.uint8)
    return float(np.mean(np.sum((palette[model.labels_].astype(np.float64) - rgb) ** 2, axis=1)))


def timed(function, repeats):
    """Median wall time of ``repeats`` calls and the last call's result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return float(np.median(times)), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--colors", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--full-fit", action="store_true", help="also fit sklearn on all pixels")
    args = parser.parse_args()
    quantize_image(photo("flower.jpg")[:200, :200], args.colors)  # compile outside the clock
    rows = []
    for name in ("china.jpg", "flower.jpg"):
        pixels = photo(name)
        progress(f"{name}: {pixels.shape[1]}x{pixels.shape[0]}")
        with OtherLoad() as load:
            ours_s, ours = timed(lambda p=pixels: quantize_image(p, args.colors), args.repeats)
            theirs_s, theirs_mse = timed(
                lambda p=pixels: sklearn_job(p, args.colors, 0), args.repeats
            )
            full = (
                timed(lambda p=pixels: sklearn_full_fit(p, args.colors, 0), 1)
                if (args.full_fit)
                else None
            )
        rows.append((name, ours_s, ours.mean_squared_error, theirs_s, theirs_mse, full, load))
    print(
        f"\nCommand: `{python_command()} benchmarks/quantize_speed.py"
        f"{' --full-fit' if args.full_fit else ''}` ({source_revision()}); "
        f"{WIDTH}x{HEIGHT} = {WIDTH * HEIGHT / 1e6:.1f} MP, {args.colors} colours, "
        f"median of {args.repeats} runs.\n"
    )
    print(
        "| photo | centroids (s) | scikit-learn, same job (s) | ratio | MSE centroids | "
        "MSE scikit-learn | scikit-learn fit on all pixels (s) | other load (cores) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, ours_s, ours_mse, theirs_s, theirs_mse, full, load in rows:
        full_text = f"{full[0]:.1f} (MSE {full[1]:.1f})" if full else "not run"
        print(
            f"| {name} upscaled | {ours_s:.2f} | {theirs_s:.2f} | {ours_s / theirs_s:.2f} | "
            f"{ours_mse:.1f} | {theirs_mse:.1f} | {full_text} | {load.cores:.2f} |"
        )


if __name__ == "__main__":
    main()
