"""Dask fits on real multi-process LocalClusters: the same centers for 1, 2 and 4 workers
and any threads per worker, and after a worker dies or the cluster restarts mid-fit."""

import os
import signal

import dask
import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster

from centroids import KMeans
from centroids.engine import dask as dask_engine


def blob_rows(n, d, k, seed):
    """Gaussian blobs in random order."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(-30, 30, (k, d))
    return means[rng.integers(0, k, n)] + rng.normal(0, 1.5, (n, d))


def cluster(n_workers, threads_per_worker):
    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        dashboard_address=":0",
    )


@pytest.fixture(scope="module")
def data():
    return blob_rows(n=60_000, d=4, k=12, seed=5)


@pytest.fixture(scope="module")
def reference(data):
    """The fit on one worker: dask's synchronous scheduler, in this process."""
    with dask.config.set(scheduler="sync"):
        model = KMeans(n_clusters=12, random_state=3).fit(da.from_array(data, chunks=(60_000, 4)))
    return model.cluster_centers_, model.inertia_


@pytest.fixture(scope="module")
def two_workers():
    with cluster(2, 2) as local_cluster, Client(local_cluster) as client:
        yield client


@pytest.fixture(scope="module")
def four_workers():
    with cluster(4, 1) as local_cluster, Client(local_cluster) as client:
        yield client


def fit_on(client, data, rows_per_chunk):
    with client.as_current():
        model = KMeans(n_clusters=12, random_state=3)
        return model.fit(da.from_array(data, chunks=(rows_per_chunk, 4)))


def test_same_centers_on_two_workers_of_two_threads(data, reference, two_workers):
    model = fit_on(two_workers, data, 11_000)
    assert len(two_workers.scheduler_info()["workers"]) == 2
    assert np.array_equal(model.cluster_centers_, reference[0])
    assert model.inertia_ == reference[1]


def test_same_centers_on_four_workers(data, reference, four_workers):
    model = fit_on(four_workers, data, 8_500)
    assert np.array_equal(model.cluster_centers_, reference[0])
    assert model.inertia_ == reference[1]


def _interrupt_second_pass(monkeypatch, interrupt):
    """Run ``interrupt`` just before the second Lloyd pass of the next fit."""
    original = dask_engine._Fit.lloyd_pass
    calls = {"n": 0}

    def lloyd_pass(self, centers):
        calls["n"] += 1
        if calls["n"] == 2:
            interrupt()
        return original(self, centers)

    monkeypatch.setattr(dask_engine._Fit, "lloyd_pass", lloyd_pass)
    return calls


def test_worker_killed_mid_fit_gives_the_same_centers(data, reference, four_workers, monkeypatch):
    """A worker process killed (SIGKILL) between two passes takes its partitions with it;
    the scheduler recomputes them, or the pass is run again: the centers do not change."""
    pids = four_workers.run(os.getpid)
    victim = sorted(pids)[0]
    calls = _interrupt_second_pass(monkeypatch, lambda: os.kill(pids[victim], signal.SIGKILL))
    try:
        model = fit_on(four_workers, data, 7_000)
    except dask_engine.DaskFitError as error:  # the other allowed outcome: a clear error
        assert "lost the data" in str(error)
    else:
        assert np.array_equal(model.cluster_centers_, reference[0])
        assert model.inertia_ == reference[1]
    assert calls["n"] >= 2
    four_workers.wait_for_workers(4, timeout=60)


def test_client_restart_mid_fit_gives_the_same_centers(data, reference, two_workers, monkeypatch):
    """``client.restart`` drops every persisted partition; the pass is run again from the
    source data and the fit ends with the same centers.

    Each attempt runs on blocks of names not used before: the client keeps a key's
    cancelled state while any Future of it is alive or its release is still queued on
    the client's event loop, and a retry under the same task names fails again at once
    whenever that race goes the wrong way (as it did, four times in a row, on a loaded
    machine)."""
    calls = _interrupt_second_pass(monkeypatch, lambda: two_workers.restart())
    attempts = []
    original_run = dask_engine._run_pass

    def run_pass(rows, build):
        attempts.append(rows.X.name)
        return original_run(rows, build)

    monkeypatch.setattr(dask_engine, "_run_pass", run_pass)
    model = fit_on(two_workers, data, 7_000)
    assert calls["n"] >= 2
    retried = [i for i in range(1, len(attempts)) if attempts[i] != attempts[i - 1]]
    assert retried, "the restart should have cost the pass its persisted data"
    first_retry = retried[0]
    assert attempts[first_retry] not in attempts[:first_retry]
    assert np.array_equal(model.cluster_centers_, reference[0])
    assert model.inertia_ == reference[1]


def test_a_retry_persists_the_same_rows_under_new_names():
    rows_source = blob_rows(n=3_000, d=3, k=4, seed=1)
    with dask.config.set(scheduler="sync"):
        model = KMeans(n_clusters=4, random_state=0)
        rows = dask_engine.DaskRows(model, da.from_array(rows_source, chunks=1_000), None, "fit")
        first = rows.X.name
        rows.persist(fresh_keys=True)
        second = rows.X.name
        rows.persist(fresh_keys=True)
        assert len({first, second, rows.X.name}) == 3
        assert np.array_equal(rows.X.compute(), rows_source)
