import numpy as np
import pytest
from PIL import Image
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.datasets import load_sample_image

from centroids.apps.quantize import load_image_pixels, palette_swatch, quantize_image


@pytest.fixture(scope="module")
def photo():
    return load_sample_image("china.jpg")[::2, ::2]  # 214 x 320 RGB


def test_every_pixel_gets_its_nearest_palette_colour(photo):
    result = quantize_image(photo, 8, sample_size=5_000, random_state=0)
    assert result.image.shape == photo.shape and result.image.dtype == np.uint8
    rgb = photo.reshape(-1, 3).astype(np.float64)
    palette = result.palette.astype(np.float64)
    d = ((rgb[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2)
    chosen = d[np.arange(len(rgb)), result.labels.ravel()]
    # Labels come from the float centers; rounding them to uint8 moves a center by at
    # most δ = √3/2, so the chosen colour is at most 2δ farther than the nearest one.
    delta = np.sqrt(3) / 2
    assert np.all(np.sqrt(chosen) <= np.sqrt(d.min(axis=1)) + 2 * delta + 1e-9)
    assert np.mean(chosen == d.min(axis=1)) > 0.99
    np.testing.assert_array_equal(
        result.image.reshape(-1, 3), result.palette[result.labels.ravel()]
    )
    assert np.all(np.diff(result.counts) <= 0) and result.counts.sum() == rgb.shape[0]
    assert result.mean_squared_error == pytest.approx(
        np.mean(((result.image.reshape(-1, 3).astype(float) - rgb) ** 2).sum(axis=1))
    )


def test_palette_as_good_as_sklearn_doing_the_same_job(photo):
    rgb = photo.reshape(-1, 3).astype(np.float64)
    ours = quantize_image(photo, 16, sample_size=None, random_state=0)
    theirs = SklearnKMeans(16, n_init=1, random_state=0).fit(rgb)
    assert ours.mean_squared_error <= theirs.inertia_ / len(rgb) * 1.02 + 0.5


def test_same_seed_same_palette_and_alpha_is_kept(photo):
    rgba = np.dstack([photo, np.full(photo.shape[:2], 128, np.uint8)])
    a = quantize_image(rgba, 6, sample_size=3_000, random_state=4)
    b = quantize_image(rgba, 6, sample_size=3_000, random_state=4)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.image.shape[2] == 4 and np.all(a.image[:, :, 3] == 128)


def test_files_in_and_out(tmp_path, photo):
    source = tmp_path / "photo.png"
    Image.fromarray(photo).save(source)
    result = quantize_image(source, 4, random_state=0)
    result.save(tmp_path / "out.png")
    result.save_swatch(tmp_path / "swatch.png")
    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (photo.shape[1], photo.shape[0])
        assert len(out.getcolors(maxcolors=256)) <= 4
    with Image.open(tmp_path / "swatch.png") as swatch:
        assert swatch.size[1] == 64 and swatch.size[0] >= 4 * 4
    assert all(h.startswith("#") and len(h) == 7 for h in result.hex_colors)


def test_swatch_widths_follow_the_counts():
    strip = palette_swatch([[255, 0, 0], [0, 0, 255]], [3, 1], swatch_size=10)
    assert strip.shape == (10, 20, 3)
    assert (strip[0, :, 0] == 255).sum() == 15 and (strip[0, :, 2] == 255).sum() == 5


def test_grey_and_float_images_are_accepted():
    grey = np.tile(np.arange(0, 256, 32, dtype=np.uint8), (8, 1))
    assert load_image_pixels(grey).shape == (8, 8, 3)
    floats = np.random.default_rng(0).uniform(size=(5, 5, 3))
    assert load_image_pixels(floats).dtype == np.uint8


def test_bad_input_is_named(tmp_path):
    with pytest.raises(ValueError, match="No such image"):
        quantize_image(tmp_path / "none.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ValueError, match="Can't read"):
        quantize_image(tmp_path / "text.png")
    two_colours = np.zeros((10, 10, 3), np.uint8)
    two_colours[5:] = 255
    with pytest.raises(ValueError, match="only 2 distinct colours"):
        quantize_image(two_colours, 3)
    with pytest.raises(ValueError, match="n_colors"):
        quantize_image(two_colours, 0)
    with pytest.raises(ValueError, match="height, width"):
        quantize_image(np.zeros((4, 4, 5), np.uint8))
    result = quantize_image(two_colours, 2)
    with pytest.raises(ValueError, match=r"\.txt"):
        result.save(tmp_path / "out.txt")


@pytest.mark.parametrize("n", [7, 5_000])
def test_redraw_pass_matches_a_plain_numpy_version(n):
    from centroids.apps.quantize import _redraw

    rng = np.random.default_rng(n)
    rgb = rng.integers(0, 256, size=(n, 3), dtype=np.uint8)
    centers = rng.uniform(0, 255, size=(9, 3)).astype(np.float32)
    centers[3] = centers[5]  # an exact tie goes to the lower index
    palette = np.clip(np.rint(centers), 0, 255).astype(np.uint8)
    labels, out, counts, error = _redraw(rgb, centers, palette)
    d = ((rgb[:, None, :].astype(np.float32) - centers[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(labels, np.argmin(d, axis=1))
    np.testing.assert_array_equal(out, palette[labels])
    np.testing.assert_array_equal(counts, np.bincount(labels, minlength=9))
    assert error == int(((out.astype(np.int64) - rgb) ** 2).sum())
    assert not np.any(labels == 5)
