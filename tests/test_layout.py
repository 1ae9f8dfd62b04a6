"""The package layout: modules that moved keep their old import paths."""

import importlib

import pytest

MOVED = {
    "centroids.pipeline": "centroids.segments.pipeline",
    "centroids.segmentation": "centroids.segments.segmentation",
    "centroids.naming": "centroids.segments.naming",
    "centroids.quantize": "centroids.apps.quantize",
    "centroids.documents": "centroids.apps.documents",
}


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_old_import_path_gives_the_moved_module(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_old_from_import_gives_the_same_objects():
    from centroids.pipeline import segment_data
    from centroids.segmentation import Segmentation
    from centroids.segments.pipeline import segment_data as moved_segment_data
    from centroids.segments.segmentation import Segmentation as MovedSegmentation

    assert segment_data is moved_segment_data
    assert Segmentation is MovedSegmentation


def test_a_module_imported_by_its_old_name_keeps_its_own_spec():
    import centroids.segmentation as old

    assert old.__spec__.name == "centroids.segments.segmentation"
    assert old.__spec__.parent == old.__package__
