"""Drift between two versions, checked against counts computed by hand in pandas."""

import numpy as np
import pandas as pd
import pytest

from centroids.segments.segmentation import Segmentation
from centroids.store.repository import SegmentStore

from store_backends import CENTERS, blob_frame, store_url  # noqa: F401


def fit(frame, k, seed=0):
    return Segmentation(k, id_column="id", random_state=seed).fit(frame)


@pytest.fixture
def two_versions(store_url):  # noqa: F811
    """Version 1 on four blobs, version 2 on five (one born), both assigned to records."""
    store = SegmentStore(store_url)
    store.save(fit(blob_frame(centers=CENTERS[:4]), 4))
    records = blob_frame(centers=CENTERS, seed=9, n_per_cluster=20)
    store.record_assignments(records, key_column="id")
    store.save(fit(blob_frame(centers=CENTERS, seed=1), 5, seed=3))
    store.record_assignments(records.iloc[10:], key_column="id")  # 10 records only in v1
    yield store, records
    store.close()


def test_changed_records_and_transitions_match_pandas(two_versions):
    store, records = two_versions
    drift = store.drift()
    assert (drift.from_version, drift.to_version) == (1, 2)
    before = store.predict(records, 1).to_numpy()[10:]
    after = store.predict(records, 2).to_numpy()[10:]
    assert drift.records_compared == len(records) - 10
    assert drift.records_changed == int((before != after).sum())
    assert drift.records_changed == 20  # the new blob's records all moved to the new segment
    expected = pd.crosstab(pd.Series(before, name="b"), pd.Series(after, name="a"))
    assert drift.transitions.to_numpy().tolist() == expected.to_numpy().tolist()
    assert drift.changed_share == pytest.approx(20 / 90)


def test_sizes_shifts_born_retired(two_versions):
    store, _ = two_versions
    drift = store.drift(1, 2)
    assert drift.born == (5,) and drift.retired == ()
    v1, v2 = store.load(1), store.load(2)
    ids1, ids2 = store.segment_ids(1), store.segment_ids(2)
    sizes = drift.sizes
    for segment_id in range(1, 6):
        before = v1.sizes_[ids1 == segment_id].sum()
        after = v2.sizes_[ids2 == segment_id].sum()
        assert sizes.loc[segment_id, "size_before"] == before
        assert sizes.loc[segment_id, "size_after"] == after
        assert sizes.loc[segment_id, "size_change"] == after - before
    assert sizes.loc[5, "size_before"] == 0
    shifts = drift.center_shifts
    assert list(shifts.index) == [i for i in ids2 if i != 5]
    for segment_id in shifts.index:
        old = v1.centers_original_.loc[np.flatnonzero(ids1 == segment_id)[0], "spend"]
        new = v2.centers_original_.loc[np.flatnonzero(ids2 == segment_id)[0], "spend"]
        assert shifts.loc[segment_id, "spend"] == pytest.approx(new - old)
    # retiring goes the other way
    back = store.drift(2, 1)
    assert back.born == () and back.retired == (5,)


def test_text_report(two_versions):
    store, _ = two_versions
    store.rename(5, "Newcomers")
    text = str(store.drift())
    assert text.startswith("Drift from version 1 to version 2")
    assert "changed segment: 20 (22.2%)" in text
    assert "segments born: 5 (Newcomers)" in text
    assert "segments retired: none" in text
    assert "Center shifts in original units" in text and "spend" in text


def test_no_recorded_assignments_says_so(store_url):  # noqa: F811
    with SegmentStore(store_url) as store:
        store.save(fit(blob_frame(), 5))
        store.save(fit(blob_frame(seed=1), 5, seed=1))
        drift = store.drift()
    assert drift.records_compared == 0 and np.isnan(drift.changed_share)
    assert "none recorded" in drift.to_text()
