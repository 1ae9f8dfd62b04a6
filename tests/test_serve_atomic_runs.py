"""A run of `centroids segment` changes the store as one unit, even when killed.

The real command runs on a generated 200,000-row table and is killed with SIGKILL at
several points of its run (fractions of the time one whole run took, measured here);
after every kill the store holds either the versions it had before or one more, and every
version it holds has all its centers and all its assignments. The schema upgrade that
brought promotions is checked here too.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from centroids.segments.segmentation import Segmentation
from centroids.store import SegmentStore
from centroids.store import schema as store_schema

from store_backends import blob_frame, postgres_engine_url, store_url  # noqa: F401

N_ROWS = 200_000
# Kill points as fractions of a whole run's wall time. Where a kill lands depends on the
# machine's load, so the test asserts only what holds wherever it lands (every version
# whole, at most one added); the first point (2%: the process is still importing) makes
# sure at least one run really dies part-way.
KILL_FRACTIONS = (0.02, 0.3, 0.55, 0.7, 0.8, 0.86, 0.9, 0.94, 0.97, 0.99)


@pytest.fixture(scope="module")
def big_table(tmp_path_factory):
    rng = np.random.default_rng(0)
    cluster = rng.integers(0, 4, N_ROWS)
    frame = pd.DataFrame(
        {
            "id": np.arange(N_ROWS),
            "spend": rng.normal(cluster * 10.0, 2.0),
            "visits": rng.normal(cluster * 3.0, 1.0),
            "region": np.array(["north", "south", "east", "west"])[rng.integers(0, 4, N_ROWS)],
        }
    )
    path = tmp_path_factory.mktemp("atomic") / "customers.csv"
    frame.to_csv(path, index=False)
    return path


def segment_command(table, url):
    command = Path(sys.executable).with_name("centroids")
    options = ["--id-column", "id", "--k", "4", "--db", url, "--json"]
    return [str(command), "segment", str(table), *options]


def store_state(url):
    """Per version: (n_clusters, centers stored, assignments stored, segments known)."""
    engine = sa.create_engine(postgres_engine_url(url) if url.startswith("postgres") else url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(
                sa.text("SELECT version, n_clusters FROM centroids_versions ORDER BY version")
            ).all()
            state = {}
            for version, n_clusters in versions:
                centers = connection.execute(
                    sa.text("SELECT count(*) FROM centroids_centers WHERE version = :v"),
                    {"v": version},
                ).scalar()
                assigned = connection.execute(
                    sa.text("SELECT count(*) FROM centroids_assignments WHERE version = :v"),
                    {"v": version},
                ).scalar()
                orphans = connection.execute(
                    sa.text(
                        "SELECT count(*) FROM centroids_centers c LEFT JOIN centroids_segments "
                        "s ON s.segment_id = c.segment_id WHERE c.version = :v "
                        "AND s.segment_id IS NULL"
                    ),
                    {"v": version},
                ).scalar()
                state[version] = (n_clusters, centers, assigned, orphans)
            return state
    finally:
        engine.dispose()


def assert_every_version_whole(state):
    for version, (n_clusters, centers, assigned, orphans) in state.items():
        assert centers == n_clusters, f"version {version}: {centers} of {n_clusters} centers"
        assert assigned == N_ROWS, f"version {version}: {assigned} of {N_ROWS} assignments"
        assert orphans == 0, f"version {version}: centers without their segment"


def test_killed_segment_runs_leave_whole_versions_or_none(big_table, store_url):  # noqa: F811
    environment = {**os.environ, "CENTROIDS_DEBUG": "1"}
    started = time.perf_counter()
    completed = subprocess.run(
        segment_command(big_table, store_url),
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    whole_run = time.perf_counter() - started
    assert completed.returncode == 0, completed.stderr
    state = store_state(store_url)
    assert list(state) == [1]
    assert_every_version_whole(state)

    outcomes = []
    for fraction in KILL_FRACTIONS:
        before = set(state)
        process = subprocess.Popen(
            segment_command(big_table, store_url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=environment,
        )
        time.sleep(whole_run * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        state = store_state(store_url)
        added = set(state) - before
        assert set(state) >= before
        assert len(added) <= 1, f"one killed run added versions {sorted(added)}"
        assert_every_version_whole(state)
        outcomes.append((fraction, process.returncode, sorted(added)))
    # at least one run died part-way, and one that died added nothing
    killed = [o for o in outcomes if o[1] == -signal.SIGKILL]
    assert killed, outcomes
    assert any(not added for _, _, added in killed), outcomes
    # and the store still takes a run afterwards
    again = subprocess.run(
        segment_command(big_table, store_url),
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    assert_every_version_whole(store_state(store_url))


def test_save_run_is_one_transaction(store_url, monkeypatch):  # noqa: F811
    from centroids.store import repository

    frame = blob_frame(seed=1, n_per_cluster=30)
    model = Segmentation(3, random_state=0).fit(frame)

    def fail(stage):
        assert stage == "save_run"
        raise RuntimeError("stopped before the commit")

    with SegmentStore(store_url) as store:
        monkeypatch.setattr(repository, "_before_commit_hook", fail)
        with pytest.raises(RuntimeError, match="before the commit"):
            store.save_run(model, frame)
        assert store.latest_version is None
        monkeypatch.setattr(repository, "_before_commit_hook", None)
        saved = store.save_run(model, frame)
        assert saved.version.version == 1
        assert saved.n_assigned == len(frame)
        assignments = store.assignments(1)
        assert len(assignments) == len(frame)
        expected = store.predict(frame, 1)
        by_key = assignments.set_index("record_key")["segment_id"]
        assert [by_key[str(k)] for k in frame.index] == expected.tolist()
        rows, ids, n_members = store.member_sample(1)
        assert n_members == len(frame) and rows.shape == (len(frame), model.centers_.shape[1])
        assert ids.tolist() == expected.tolist()  # every row sampled: it is small


def test_promotion_chooses_the_served_version(store_url):  # noqa: F811
    frame = blob_frame(seed=1, n_per_cluster=30)
    with SegmentStore(store_url) as store:
        assert store.served_version is None
        store.save(Segmentation(3, random_state=0).fit(frame))
        store.save(Segmentation(3, random_state=1).fit(frame))
        assert store.served_version == 2  # nothing promoted: the latest
        store.promote(1, note="roll back")
        assert store.served_version == 1
        store.save(Segmentation(3, random_state=2).fit(frame))
        assert store.served_version == 1  # a promotion holds until the next one
        store.promote(3)
        assert store.served_version == 3
        with pytest.raises(LookupError, match="no version 9"):
            store.promote(9)


def test_save_run_promotes_in_its_own_transaction(store_url, monkeypatch):  # noqa: F811
    """promote=True: the served version changes with the save or not at all."""
    from centroids.store import repository

    frame = blob_frame(seed=1, n_per_cluster=30)
    with SegmentStore(store_url) as store:
        store.save_run(Segmentation(3, random_state=0).fit(frame), frame, promote=True)
        store.save(Segmentation(3, random_state=1).fit(frame))
        assert store.served_version == 1

        def fail(stage):
            raise RuntimeError("stopped before the commit")

        monkeypatch.setattr(repository, "_before_commit_hook", fail)
        with pytest.raises(RuntimeError, match="before the commit"):
            store.save_run(Segmentation(3, random_state=2).fit(frame), frame, promote=True)
        assert store.latest_version == 2 and store.served_version == 1
        monkeypatch.setattr(repository, "_before_commit_hook", None)
        saved = store.save_run(Segmentation(3, random_state=2).fit(frame), frame, promote=True)
        assert saved.version.version == 3 and store.served_version == 3


def test_schema_1_store_upgrades_to_promotions(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with SegmentStore(url) as store:
        store.save(Segmentation(3, random_state=0).fit(blob_frame(seed=1, n_per_cluster=30)))
    engine = sa.create_engine(url)
    with engine.begin() as connection:  # what a store written by schema 1 looks like
        connection.exec_driver_sql("DROP TABLE centroids_promotions")
        connection.exec_driver_sql("DROP TABLE centroids_member_samples")
        connection.exec_driver_sql("UPDATE centroids_schema SET schema_version = 1")
    engine.dispose()
    with pytest.raises(ValueError, match="older than version 2"):
        SegmentStore(url)
    with SegmentStore.upgrade(url) as store:
        assert store.schema_version == store_schema.SCHEMA_VERSION == 2
        assert store.served_version == 1
        store.promote(1)
        assert store.served_version == 1
