"""A killed writer leaves the old state or the new one; concurrent writers both succeed.

Child processes run the store with ``repository._before_commit_hook`` set to pause inside
the open transaction (after every row is written, before the commit); the test kills them
there with SIGKILL and checks the database.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from centroids.segments.segmentation import Segmentation
from centroids.store.repository import SegmentStore

from store_backends import blob_frame, create_customer_table, read_table, store_url  # noqa: F401

TESTS = Path(__file__).resolve().parent

CHILD = """
import json, pathlib, sys, time
sys.path.insert(0, {tests!r})
from store_backends import blob_frame
from centroids.segments.segmentation import Segmentation
from centroids.store import repository

url, action, folder = sys.argv[1:4]
folder = pathlib.Path(folder)
model = Segmentation.from_dict(json.loads((folder / "model.json").read_text()))

def pause(stage):
    (folder / "paused").write_text(stage)
    time.sleep(600)

if action in ("save", "write_back"):
    repository._before_commit_hook = pause
if action == "save_many":
    (folder / f"ready-{{sys.argv[4]}}").write_text("")
    while not (folder / "go").exists():
        time.sleep(0.01)
store = repository.SegmentStore(url)
if action == "save":
    store.save(model)
elif action == "write_back":
    store.write_back(blob_frame(seed=2, n_per_cluster=20), table="customers",
                     key_column="id", segment_column="segment")
elif action == "save_many":
    for _ in range(3):
        store.save(model)
"""


def start_child(url, action, folder, *extra):
    """A child process running the store on ``url``; it saves the model ``fit(1)``."""
    model_file = folder / "model.json"
    if not model_file.exists():
        model_file.write_text(json.dumps(fit(1).to_dict()))
    return subprocess.Popen(
        [sys.executable, "-c", CHILD.format(tests=str(TESTS)), url, action, str(folder), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for(path: Path, child, timeout=120):
    deadline = time.monotonic() + timeout
    while not path.exists():
        if child.poll() is not None:
            raise AssertionError(f"child exited early: {child.stdout.read().decode()}")
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError(f"child did not reach {path.name} in {timeout} s")
        time.sleep(0.02)


def kill(child):
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def fit(seed):
    return Segmentation(5, id_column="id", random_state=seed).fit(blob_frame(seed=seed))


def snapshot(store):
    return (
        store.versions().drop(columns=["created_at"]).to_dict("records"),
        store.segments().to_dict("index"),
        [store.centers(v).to_dict("index") for v in store.versions()["version"]],
    )


def test_killed_while_saving_a_version_leaves_the_old_state(store_url, tmp_path):  # noqa: F811
    with SegmentStore(store_url) as store:
        store.save(fit(0))
        store.rename(2, "kept name")
        before = snapshot(store)
    child = start_child(store_url, "save", tmp_path)
    wait_for(tmp_path / "paused", child)
    kill(child)
    with SegmentStore(store_url) as store:
        assert snapshot(store) == before
        # the store works on: the next save is version 2, complete
        info = store.save(fit(3))
        assert info.version == 2
        assert len(store.centers(2)) == 5


def test_killed_while_writing_back_leaves_the_old_state(store_url, tmp_path):  # noqa: F811
    records = blob_frame(seed=2, n_per_cluster=20)
    engine = create_customer_table(store_url, records["id"])
    with SegmentStore(store_url) as store:
        store.save(fit(1))
    child = start_child(store_url, "write_back", tmp_path)
    wait_for(tmp_path / "paused", child)
    kill(child)
    assert read_table(engine, "SELECT count(*) FROM customers WHERE segment IS NOT NULL")[0][0] == 0
    with SegmentStore(store_url) as store:
        assert store.assignments().empty
        result = store.write_back(
            records, table="customers", key_column="id", segment_column="segment"
        )
        assert result.rows_changed == len(records)
        assert len(store.assignments()) == len(records)
    engine.dispose()


def test_two_processes_saving_at_once_both_succeed(store_url, tmp_path):  # noqa: F811
    children = [start_child(store_url, "save_many", tmp_path, str(i)) for i in range(2)]
    for i, child in enumerate(children):
        wait_for(tmp_path / f"ready-{i}", child)
    (tmp_path / "go").write_text("")
    for child in children:
        output = child.communicate(timeout=180)[0].decode()
        assert child.returncode == 0, output
    with SegmentStore(store_url) as store:
        versions = store.versions()
        assert versions["version"].tolist() == [1, 2, 3, 4, 5, 6]
        assert versions["parent_version"].tolist()[1:] == [1, 2, 3, 4, 5]
        for version in range(1, 7):
            assert store.segment_ids(version).tolist() == [1, 2, 3, 4, 5]
        assert store.segments().index.tolist() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("stage", ["save_version", "write_back"])
def test_an_error_inside_the_transaction_rolls_everything_back(store_url, monkeypatch, stage):  # noqa: F811
    from centroids.store import repository

    records = blob_frame(seed=2, n_per_cluster=10)
    engine = create_customer_table(store_url, records["id"])
    store = SegmentStore(store_url)
    store.save(fit(1))
    before = snapshot(store)

    def fail(reached):
        if reached == stage:
            raise RuntimeError("interrupted")

    monkeypatch.setattr(repository, "_before_commit_hook", fail)
    with pytest.raises(RuntimeError, match="interrupted"):
        if stage == "save_version":
            store.save(fit(2))
        else:
            store.write_back(records, table="customers", key_column="id", segment_column="segment")
    assert snapshot(store) == before
    assert store.assignments().empty
    assert read_table(engine, "SELECT count(*) FROM customers WHERE segment IS NOT NULL")[0][0] == 0
    store.close()
    engine.dispose()
