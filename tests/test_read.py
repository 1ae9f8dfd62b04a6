import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from centroids.data.read import DataError, is_database_url, read_table


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "key": np.arange(50) + 1000,
            "x": rng.normal(size=50),
            "y": rng.normal(size=50),
            "colour": rng.choice(["red", "blue"], size=50),
        }
    )


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.tsv", "t.parquet"])
def test_files_round_trip(tmp_path, frame, name):
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False, sep="\t" if ".tsv" in name else ",")
    got = read_table(path, id_column="key")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), frame, check_dtype=False)


def test_columns_are_selected_in_order_with_the_id_first(tmp_path, frame):
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    got = read_table(path, columns=["y", "x"], id_column="key")
    assert list(got.columns) == ["key", "y", "x"]


def test_database_table(tmp_path, frame):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = sa.create_engine(url)
    frame.to_sql("customers", engine, index=False)
    engine.dispose()
    assert is_database_url(url) and not is_database_url(str(tmp_path / "t.csv"))
    got = read_table(url, table="customers", id_column="key")
    pd.testing.assert_frame_equal(got, frame, check_dtype=False)
    got = read_table(f"{url}#customers", columns=["x"])
    assert list(got.columns) == ["x"]
    with pytest.raises(DataError, match=r"No table 'orders'.*customers"):
        read_table(url, table="orders")
    with pytest.raises(DataError, match="Name the table"):
        read_table(url)


def test_bad_files_say_what_and_where(tmp_path, frame):
    with pytest.raises(DataError, match="No such file"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="no rows"):
        read_table(tmp_path / "header.csv")
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(DataError, match="Can't tell the type"):
        read_table(tmp_path / "t.xlsx")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="Can't read"):
        read_table(tmp_path / "broken.parquet")
    with pytest.raises(DataError, match="folder"):
        read_table(tmp_path)


def test_bad_columns_and_keys_are_named(tmp_path, frame):
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"no column 'income'.*key, x, y, colour"):
        read_table(path, columns=["x", "income"])
    with pytest.raises(DataError, match="columns is empty"):
        read_table(path, columns=[])
    repeated = frame.assign(key=[1, 2] * 25)
    repeated.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"repeats the key 1 \(rows 0 and 2\)"):
        read_table(path, id_column="key")
    holes = frame.assign(key=frame["key"].where(frame.index != 7))
    holes.to_csv(path, index=False)
    with pytest.raises(DataError, match="empty at row 7"):
        read_table(path, id_column="key")


def test_postgresql_urls_use_psycopg_3(monkeypatch):
    seen = []

    def fake_engine(url):
        seen.append(url.drivername)
        raise sa.exc.ArgumentError("stop here")

    monkeypatch.setattr(sa, "create_engine", fake_engine)
    with pytest.raises(DataError, match="Not a usable database URL"):
        read_table("postgresql://user@localhost/shop#customers")
    assert seen == ["postgresql+psycopg"]
