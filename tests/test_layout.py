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


# -- the layout read from the source (tests/layout_scan.py) ---------------------------------

import ast  # noqa: E402

import layout_scan  # noqa: E402

#: Imports against the data flow that are known and have an owner; each says why it is
#: there. Anything else found by the scan fails the test below.
KNOWN_AGAINST_THE_FLOW = {
    # The Dask backend fits the estimators' own MiniBatch / spherical variants; owned by
    # the lead (engine/dask.py), to move beside the estimators.
    ("centroids/engine/dask.py", "engine", "models"),
    # The torch spherical pass reuses the estimator's center rule (_unit_centers).
    ("centroids/engine/torch_backend.py", "engine", "models"),
}


def test_no_package_imports_one_to_its_right_in_the_data_flow():
    # read -> prepare (data) -> engine -> models -> evaluate -> segments/store/report/serve
    found = set()
    for row in layout_scan.rightward_imports():
        where, arrow = row.split(" ", 1)
        source, target = arrow.split(" -> ")
        found.add((where.rsplit(":", 1)[0], source, target))
    assert found <= KNOWN_AGAINST_THE_FLOW, sorted(found - KNOWN_AGAINST_THE_FLOW)


def test_every_package_of_the_source_has_a_place_in_the_data_flow():
    packages = {layout_scan.package_of(path) for path in layout_scan.source_files()}
    assert packages <= set(layout_scan.RANKS), sorted(packages - set(layout_scan.RANKS))


def test_the_scan_sees_a_rightward_import_when_there_is_one(tmp_path, monkeypatch):
    # The rule can fail: a kernel that imports the estimators is caught.
    root = tmp_path / "centroids"
    (root / "_kernels").mkdir(parents=True)
    (root / "_kernels" / "bad.py").write_text("from ..models import KMeans\n")
    monkeypatch.setattr(layout_scan, "SRC", root)
    assert layout_scan.rightward_imports() == ["centroids/_kernels/bad.py:1 _kernels -> models"]


def _settings_without_a_reason():
    """Settings that no ``#:`` comment above (or docstring below) explains.

    A setting on the line right after another one belongs to its group and shares the
    group's comment (``SERVE_TOKEN_VARIABLE`` and ``SERVE_TOKEN_FILE_VARIABLE``).
    """
    text = (layout_scan.SRC / "settings.py").read_text()
    tree, lines = ast.parse(text), text.splitlines()
    missing, previous = [], None  # previous: (end line, explained) of the last setting
    for index, node in enumerate(tree.body):
        if isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name) and t.id.isupper()]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id] if node.target.id.isupper() else []
        else:
            names = []
        if not names:
            continue
        above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
        after = tree.body[index + 1] if index + 1 < len(tree.body) else None
        explained = (
            above.startswith("#:")
            or (previous is not None and previous[0] == node.lineno - 1 and previous[1])
            or (
                isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            )
        )
        if not explained:
            missing.extend(names)
        previous = (node.end_lineno, explained)
    return missing


def test_settings_check_finds_a_setting_without_a_reason(tmp_path, monkeypatch):
    (tmp_path / "settings.py").write_text("#: why\nA = 1\nB = 2\n\nC = 3\n")
    monkeypatch.setattr(layout_scan, "SRC", tmp_path)
    assert _settings_without_a_reason() == ["C"]


def test_every_setting_says_why_it_has_its_value():
    # Each setting is introduced by a ``#:`` comment (or followed by a docstring) giving
    # its reason: the documentation of the settings is read from there.
    assert _settings_without_a_reason() == []
