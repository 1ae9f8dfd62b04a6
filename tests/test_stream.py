"""fit_stream and iter_parquet_batches: mini-batch K-Means over chunks, one in memory."""

import gc
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from centroids.models.minibatch import MiniBatchKMeans
from centroids.stream import fit_stream, iter_parquet_batches

COLUMNS = ["a", "b", "c", "d"]


def separated_blobs(n_rows, seed=0):
    X, y = make_blobs(
        n_rows, n_features=4, centers=5, cluster_std=1.0, center_box=(-30, 30), random_state=seed
    )
    return X, y


def write_parquet(path, X, row_group_rows, weights=None):
    frame = pd.DataFrame(X, columns=COLUMNS[: X.shape[1]])
    if weights is not None:
        frame["weight"] = weights
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_rows
    )
    return path


def chunks_of(X, rows, weights=None, frame=False):
    def chunks():
        for start in range(0, X.shape[0], rows):
            part = X[start : start + rows]
            if frame:
                part = pd.DataFrame(part, columns=COLUMNS[: X.shape[1]])
            if weights is None:
                yield part
            else:
                yield part, weights[start : start + rows]

    return chunks


# -- agreement with the in-memory fit ------------------------------------------------------


def test_parquet_stream_matches_in_memory_fit(tmp_path):
    X, y = separated_blobs(60_000)
    path = write_parquet(tmp_path / "blobs.parquet", X, row_group_rows=7_000)
    streamed = fit_stream(path, 5, batch_rows=5_000, epochs=2, random_state=0)
    in_memory = MiniBatchKMeans(5, random_state=0).fit(X)
    assert streamed.inertia_ == pytest.approx(-streamed.score(pd.DataFrame(X, columns=COLUMNS)))
    assert streamed.inertia_ <= in_memory.inertia_ * 1.01
    labels = streamed.predict(pd.DataFrame(X, columns=COLUMNS))
    assert adjusted_rand_score(labels, in_memory.labels_) == 1.0
    assert adjusted_rand_score(labels, y) == 1.0
    assert list(streamed.feature_names_in_) == COLUMNS
    assert streamed.n_iter_ == 2
    assert streamed.n_steps_ == 2 * sum(
        -(-min(5_000, 60_000 - s) // 1024) for s in range(0, 60_000, 5_000)
    )
    assert not hasattr(streamed, "labels_")


def test_peak_memory_is_bounded_by_a_chunk(tmp_path):
    n_rows, chunk_rows = 400_000, 10_000
    X, _ = separated_blobs(n_rows, seed=1)
    path = write_parquet(tmp_path / "big.parquet", X, row_group_rows=20_000)
    file_bytes = X.nbytes  # 12.8 MB of float64 values
    chunk_bytes = chunk_rows * X.shape[1] * 8  # 320 kB
    del X
    gc.collect()
    # Compile (or load) the kernels and warm pyarrow up outside the measured stretch.
    fit_stream(path, 5, batch_rows=chunk_rows, random_state=0, compute_inertia=False)
    tracemalloc.start()
    try:
        model = fit_stream(path, 5, batch_rows=chunk_rows, random_state=0)
        _, peak = tracemalloc.get_traced_memory()
        print(f"peak {peak / 1e6:.2f} MB, chunk {chunk_bytes / 1e6:.2f} MB")
    finally:
        tracemalloc.stop()
    assert model.inertia_ > 0
    # A chunk as a DataFrame and as a C-ordered array, its shuffled order and weights, the
    # rows kept for seeding (3 × 1024) and the model: a few chunks, far below the file.
    assert peak < 8 * chunk_bytes
    assert peak < file_bytes / 5


def test_iterator_of_arrays_with_weights(tmp_path):
    X, _ = separated_blobs(20_000, seed=2)
    weights = np.where(np.arange(20_000) % 4 == 0, 3.0, 1.0)
    streamed = fit_stream(iter(chunks_of(X, 3_000, weights)()), 5, random_state=0)
    in_memory = MiniBatchKMeans(5, random_state=0).fit(X, sample_weight=weights)
    assert -streamed.score(X, sample_weight=weights) <= in_memory.inertia_ * 1.01
    # A one-shot iterator cannot be read again: inertia_ is the batches' estimate.
    assert streamed.inertia_ == pytest.approx(in_memory.inertia_, rel=0.2)
    assert streamed.n_features_in_ == 4


def test_weight_column_is_a_weight_not_a_feature(tmp_path):
    X, _ = separated_blobs(20_000, seed=3)
    weights = np.random.RandomState(0).randint(0, 3, size=20_000).astype(float)
    path = write_parquet(tmp_path / "weighted.parquet", X, 4_000, weights=weights)
    by_column = fit_stream(path, 5, weight_column="weight", batch_rows=4_000, random_state=0)
    by_tuple = fit_stream(chunks_of(X, 4_000, weights), 5, random_state=0)
    assert by_column.n_features_in_ == 4
    assert list(by_column.feature_names_in_) == COLUMNS
    np.testing.assert_allclose(by_column.cluster_centers_, by_tuple.cluster_centers_)
    assert by_column.inertia_ == pytest.approx(-by_tuple.score(X, sample_weight=weights))


def test_columns_select_features_from_parquet(tmp_path):
    X, _ = separated_blobs(10_000, seed=4)
    path = write_parquet(tmp_path / "points.parquet", X, 2_000)
    model = fit_stream(path, 5, columns=["c", "a"], batch_rows=3_000, random_state=0)
    assert list(model.feature_names_in_) == ["c", "a"]
    assert model.cluster_centers_.shape == (5, 2)


def test_callable_source_runs_several_epochs_and_is_deterministic():
    X, _ = separated_blobs(12_000, seed=5)
    first = fit_stream(chunks_of(X, 2_500, frame=True), 5, epochs=3, random_state=4)
    again = fit_stream(chunks_of(X, 2_500, frame=True), 5, epochs=3, random_state=4)
    np.testing.assert_array_equal(first.cluster_centers_, again.cluster_centers_)
    assert first.inertia_ == again.inertia_
    assert first.n_iter_ == 3


def test_list_of_sparse_chunks_matches_dense_chunks():
    X, _ = separated_blobs(6_000, seed=6)
    X[np.abs(X) < 5] = 0.0
    dense_chunks = [X[s : s + 1_500] for s in range(0, 6_000, 1_500)]
    sparse_chunks = [sp.csr_matrix(part) for part in dense_chunks]
    dense = fit_stream(dense_chunks, 5, epochs=2, random_state=0)
    sparse = fit_stream(sparse_chunks, 5, epochs=2, random_state=0)
    np.testing.assert_allclose(sparse.cluster_centers_, dense.cluster_centers_, atol=1e-9)
    assert sparse.inertia_ == pytest.approx(dense.inertia_)


def test_float32_chunks_stay_float32():
    X, _ = separated_blobs(6_000, seed=7)
    model = fit_stream(chunks_of(X.astype(np.float32), 2_000), 5, random_state=0)
    assert model.cluster_centers_.dtype == np.float32


def test_seeding_waits_for_init_size_rows():
    # Chunks of 100 rows, each from one cluster only (runs of the clusters in turn):
    # seeding from the first chunk alone would put every center in one cluster; with
    # 3 × batch_size = 768 rows kept, the seeding sees every cluster.
    X, y = separated_blobs(10_000, seed=8)
    runs = [np.flatnonzero(y == c)[s : s + 100] for s in range(0, 10_000, 100) for c in range(5)]
    grouped = X[np.concatenate(runs)]
    assert len(np.unique(y[np.concatenate(runs)][:100])) == 1
    model = fit_stream(chunks_of(grouped, 100), 5, batch_size=256, random_state=0)
    assert adjusted_rand_score(model.predict(X), y) == 1.0
    first_chunk_only = fit_stream(
        chunks_of(grouped, 100), 5, batch_size=256, init_size=100, random_state=0
    )
    assert adjusted_rand_score(first_chunk_only.predict(X), y) < 1.0


# -- bad input ----------------------------------------------------------------------------


def test_column_order_change_names_the_chunk():
    X, _ = separated_blobs(3_000)
    frames = [pd.DataFrame(X[s : s + 1_000], columns=COLUMNS) for s in range(0, 3_000, 1_000)]
    frames[2] = frames[2][["b", "a", "c", "d"]]
    with pytest.raises(
        ValueError, match=r"columns of fit_stream \(chunk 3 of epoch 1.*another order"
    ):
        fit_stream(frames, 5, random_state=0)


def test_missing_column_names_the_chunk():
    X, _ = separated_blobs(3_000)
    frames = [pd.DataFrame(X[s : s + 1_000], columns=COLUMNS) for s in range(0, 3_000, 1_000)]
    frames[1] = frames[1].rename(columns={"d": "e"})
    with pytest.raises(
        ValueError, match=r"chunk 2 of epoch 1.*missing \['d'\], unexpected \['e'\]"
    ):
        fit_stream(frames, 5, batch_size=100, random_state=0)


def test_feature_count_change_names_the_chunk():
    X, _ = separated_blobs(3_000)
    chunks = [X[:1_000], X[1_000:2_000], X[2_000:, :3]]
    with pytest.raises(ValueError, match=r"chunk 3 of epoch 1.*has 3 features.*had 4"):
        fit_stream(chunks, 5, batch_size=100, random_state=0)


def test_mixing_frames_and_arrays_is_refused():
    X, _ = separated_blobs(2_000)
    chunks = [pd.DataFrame(X[:1_000], columns=COLUMNS), X[1_000:]]
    with pytest.raises(TypeError, match=r"chunk 2 of epoch 1.*first chunk was one of DataFrames"):
        fit_stream(chunks, 5, batch_size=100, random_state=0)


def test_nan_names_the_chunk_column_and_row():
    X, _ = separated_blobs(3_000)
    X[2_100, 1] = np.nan
    with pytest.raises(ValueError, match=r"chunk 3 of epoch 1.*NaN in column 1, first at row 100"):
        fit_stream(chunks_of(X, 1_000), 5, batch_size=100, random_state=0)


def test_several_epochs_need_a_rereadable_source():
    X, _ = separated_blobs(2_000)
    with pytest.raises(TypeError, match="epochs=2 needs a source that can be read again"):
        fit_stream(iter([X]), 5, epochs=2)


@pytest.mark.parametrize(
    ("source", "kwargs", "error", "message"),
    [
        (np.zeros((10, 2)), {}, TypeError, "not a single ndarray"),
        (42, {}, TypeError, "iterable of chunks"),
        ([], {}, ValueError, "no rows"),
        ([np.zeros((3, 2))], {}, ValueError, "only 3 rows"),
        ([np.zeros((30, 2))], {"epochs": 0}, ValueError, "epochs must be a positive integer"),
        ([np.zeros((30, 2))], {"batch_size": 0}, ValueError, "batch_size"),
        ([(np.zeros((30, 2)), np.ones(5))], {}, ValueError, "chunk 1 of epoch 1.*5 values"),
    ],
)
def test_bad_sources_say_what_is_wrong(source, kwargs, error, message):
    with pytest.raises(error, match=message):
        fit_stream(source, 5, **kwargs)


def test_iter_parquet_batches_reads_in_order(tmp_path):
    X, _ = separated_blobs(2_500)
    path = write_parquet(tmp_path / "points.parquet", X, 1_000)
    chunks = list(iter_parquet_batches(path, columns=["b", "a"], batch_rows=600))
    assert all(list(chunk.columns) == ["b", "a"] for chunk in chunks)
    assert all(len(chunk) <= 600 for chunk in chunks)
    np.testing.assert_array_equal(pd.concat(chunks).to_numpy(), X[:, [1, 0]])


def test_iter_parquet_batches_bad_input(tmp_path):
    X, _ = separated_blobs(100)
    path = write_parquet(tmp_path / "points.parquet", X, 50)
    with pytest.raises(ValueError, match=r"Column\(s\) \['z'\] not in the Parquet file"):
        next(iter_parquet_batches(path, columns=["a", "z"]))
    with pytest.raises(ValueError, match="batch_rows must be a positive integer"):
        next(iter_parquet_batches(path, batch_rows=0))
    with pytest.raises(FileNotFoundError, match="No Parquet file"):
        next(iter_parquet_batches(tmp_path / "missing.parquet"))
