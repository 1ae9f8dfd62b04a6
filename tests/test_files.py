import pytest

from centroids._utils.files import replaced_atomically


def test_success_replaces_the_file_whole(tmp_path):
    target = tmp_path / "labels.csv"
    target.write_text("old")
    with replaced_atomically(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".csv") and tmp != target
        tmp.write_text("new")
        assert target.read_text() == "old"
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["labels.csv"]


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(RuntimeError), replaced_atomically(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_bad_targets_are_named(tmp_path):
    with (
        pytest.raises(ValueError, match="does not exist"),
        replaced_atomically(tmp_path / "missing" / "x.csv"),
    ):
        pass
    with pytest.raises(ValueError, match="is a folder"), replaced_atomically(tmp_path):
        pass
