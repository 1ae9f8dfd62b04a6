"""The service in-process (httpx's ASGI transport): scoring equals SegmentStore.predict and
`centroids predict`; every error in one shape; writes behind the token; jobs; metrics."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time

import httpx
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from centroids.cli import app as cli_app
from centroids.errors import HTTP_STATUS
from centroids.segments.segmentation import Segmentation
from centroids.serve import create_app, load_token
from centroids.serve.errors import status_of
from centroids.store import SegmentStore

TOKEN = "correct horse battery staple"
FEATURES = ["spend", "visits", "region"]
ERROR_KEYS = {"error", "message", "error_code", "status", "type"}


def customers(n=600, seed=0):
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    return pd.DataFrame(
        {
            "customer_id": np.arange(n) + 1000,
            "spend": rng.normal(group * 20.0, 3.0),
            "visits": rng.normal(group * 4.0, 1.0).round(1),
            "region": np.array(["north", "south", "east"])[rng.integers(0, 3, n)],
        }
    )


def new_rows(n=400, seed=7):
    """Rows to score: some far out, some regions never seen in training."""
    frame = customers(n, seed)
    frame.loc[frame.index[::17], "region"] = "atlantis"
    frame.loc[frame.index[::29], "spend"] *= 5
    return frame


@pytest.fixture
def store(tmp_path):
    url = f"sqlite:///{tmp_path / 'segments.db'}"
    with SegmentStore(url) as store:
        frame = customers()
        model = Segmentation(3, columns=FEATURES, id_column="customer_id", random_state=0)
        store.save_run(model.fit(frame), frame, key_column="customer_id")
        store.save_run(
            Segmentation(4, columns=FEATURES, id_column="customer_id", random_state=1).fit(frame),
            frame,
            key_column="customer_id",
        )
        yield store


def client_for(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def call(app, method, path, **kwargs):
    async def go():
        async with client_for(app) as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


@pytest.fixture
def app(store):
    return create_app(store, token=TOKEN, check_seconds=0)


def oip_by_name(frame):
    return {
        "id": "request-1",
        "inputs": [
            {
                "name": name,
                "shape": [len(frame)],
                "datatype": "BYTES" if name == "region" else "FP64",
                "data": frame[name].tolist(),
            }
            for name in FEATURES
        ],
    }


def outputs_of(response):
    assert response.status_code == 200, response.text
    return {output["name"]: output["data"] for output in response.json()["outputs"]}


def expected(store, frame, version=None):
    scored = store.predict_with_distance(frame, version)
    names = store.segments()["name"]
    return (
        scored["segment_id"].astype(int).tolist(),
        [names[i] for i in scored["segment_id"]],
        scored["distance"].tolist(),
    )


# -- scoring equals the library ------------------------------------------------------------


def test_oip_infer_by_named_tensors_equals_store_predict_exactly(app, store):
    frame = new_rows()
    response = call(app, "POST", "/v2/models/segments/infer", json=oip_by_name(frame))
    body = response.json()
    assert body["model_name"] == "segments" and body["model_version"] == "2"
    assert body["id"] == "request-1"
    out = outputs_of(response)
    ids, names, distances = expected(store, frame)
    assert out["segment_id"] == ids
    assert out["segment_name"] == names
    assert out["distance"] == distances  # bit for bit: same preparation, same kernel


def test_oip_one_2d_tensor_and_versioned_infer(app, store):
    frame = new_rows(50)
    rows = frame[FEATURES].astype(object).to_numpy().tolist()
    body = {"inputs": [{"name": "rows", "shape": [50, 3], "datatype": "BYTES", "data": rows}]}
    out = outputs_of(call(app, "POST", "/v2/models/segments/versions/1/infer", json=body))
    assert (out["segment_id"], out["segment_name"], out["distance"]) == expected(store, frame, 1)
    flat = {"inputs": [{**body["inputs"][0], "data": [value for row in rows for value in row]}]}
    again = outputs_of(call(app, "POST", "/v2/models/segments/versions/1/infer", json=flat))
    assert again == out
    # outputs can be chosen
    body["outputs"] = [{"name": "segment_id"}]
    chosen = outputs_of(call(app, "POST", "/v2/models/segments/infer", json=body))
    assert list(chosen) == ["segment_id"] and chosen["segment_id"] == expected(store, frame)[0]


def test_invocations_json_and_csv_equal_store_predict(app, store):
    frame = new_rows(120)
    ids, names, distances = expected(store, frame)
    want = [
        {"segment_id": i, "segment_name": n, "distance": d}
        for i, n, d in zip(ids, names, distances, strict=True)
    ]
    split = {"dataframe_split": frame[FEATURES].to_dict(orient="split", index=False)}
    records = {"dataframe_records": frame[FEATURES].to_dict(orient="records")}
    instances = {"instances": frame[FEATURES].astype(object).to_numpy().tolist()}
    for body in (split, records, instances):
        response = call(app, "POST", "/invocations", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == want
        assert response.headers["x-model-version"] == "2"
    # CSV with a header (extra columns ignored), and SageMaker's CSV without one
    with_header = frame.to_csv(index=False, float_format="%.17g").encode()
    without = frame[FEATURES].to_csv(index=False, header=False, float_format="%.17g").encode()
    for csv_body in (with_header, without):
        response = call(
            app, "POST", "/invocations", content=csv_body, headers={"content-type": "text/csv"}
        )
        assert response.json()["predictions"] == want
    response = call(
        app,
        "POST",
        "/invocations",
        content=with_header,
        headers={"content-type": "text/csv", "accept": "text/csv"},
    )
    answer = pd.read_csv(io.StringIO(response.text))
    assert answer["segment_id"].tolist() == ids
    assert answer["distance"].tolist() == distances


def test_scores_equal_the_predict_command(app, store, tmp_path):
    frame = new_rows(80)
    path = tmp_path / "new.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    result = CliRunner().invoke(
        cli_app,
        ["predict", str(path), "--id-column", "customer_id", "--db", str(store.url), "--json"],
    )
    assert result.exit_code == 0, result.output
    command = [json.loads(line) for line in result.output.splitlines()]
    response = call(
        app, "POST", "/invocations", content=path.read_bytes(), headers={"content-type": "text/csv"}
    )
    served = response.json()["predictions"]
    assert [r["segment_id"] for r in served] == [r["segment_id"] for r in command]
    assert [r["segment_name"] for r in served] == [r["segment_name"] for r in command]
    assert [r["distance"] for r in served] == [r["distance"] for r in command]


def test_median_model_takes_missing_values_as_the_library_does(tmp_path):
    frame = customers(300)
    with SegmentStore(f"sqlite:///{tmp_path / 'm.db'}") as store:
        store.save(Segmentation(3, columns=FEATURES, missing="median", random_state=0).fit(frame))
        rows = new_rows(40)
        rows.loc[rows.index[::5], "spend"] = np.nan
        rows.loc[rows.index[::7], "region"] = None
        body = {
            "dataframe_records": [
                {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
                for r in rows[FEATURES].to_dict(orient="records")
            ]
        }
        response = call(create_app(store, check_seconds=0), "POST", "/invocations", json=body)
        ids, _, distances = expected(store, rows)
        predictions = response.json()["predictions"]
        assert [p["segment_id"] for p in predictions] == ids
        assert [p["distance"] for p in predictions] == distances


def test_nan_literals_read_as_missing_values_like_null(tmp_path):
    # pandas and MLflow clients write NaN as a bare literal, which strict JSON parsers refuse
    frame = customers(300)
    with SegmentStore(f"sqlite:///{tmp_path / 'm.db'}") as store:
        store.save(Segmentation(3, columns=FEATURES, missing="median", random_state=0).fit(frame))
        app = create_app(store, check_seconds=0)
        rows = new_rows(30)
        rows.loc[rows.index[::4], "spend"] = np.nan
        split = rows[FEATURES].to_dict(orient="split")
        body = {"dataframe_split": {"columns": split["columns"], "data": split["data"]}}
        literal = json.dumps(body)
        assert "NaN" in literal
        response = call(
            app,
            "POST",
            "/invocations",
            content=literal,
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 200
        ids, _, distances = expected(store, rows)
        predictions = response.json()["predictions"]
        assert [p["segment_id"] for p in predictions] == ids
        assert [p["distance"] for p in predictions] == distances
        # an integer past 64 bits (strict parsers refuse it) scores as the float it is
        body["dataframe_split"]["data"][0][0] = 10**30
        response = call(
            app,
            "POST",
            "/invocations",
            content=json.dumps(body),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 200
        rows.iloc[0, rows.columns.get_loc("spend")] = 1e30
        assert [p["segment_id"] for p in response.json()["predictions"]] == expected(store, rows)[0]


def test_metadata_lists_raw_features_datatypes_and_versions(app):
    body = call(app, "GET", "/v2/models/segments").json()
    assert body["name"] == "segments"
    assert body["versions"] == ["1", "2"]
    assert [(i["name"], i["datatype"]) for i in body["inputs"]] == [
        ("spend", "FP64"),
        ("visits", "FP64"),
        ("region", "BYTES"),
    ]
    assert body["inputs"][2]["parameters"]["categories"] == ["east", "north", "south"]
    assert [o["name"] for o in body["outputs"]] == ["segment_id", "segment_name", "distance"]
    assert call(app, "GET", "/v2/models/segments/versions/1").json()["parameters"]["version"] == "1"
    assert call(app, "GET", "/v2/health/live").json() == {"live": True}
    assert call(app, "GET", "/v2/health/ready").json()["ready"] is True
    assert call(app, "GET", "/ping").status_code == 200


def test_empty_store_is_not_ready(tmp_path):
    app = create_app(f"sqlite:///{tmp_path / 'empty.db'}")
    assert call(app, "GET", "/v2/health/live").status_code == 200
    for path in ("/v2/health/ready", "/ping", "/v2/models/segments"):
        response = call(app, "GET", path)
        assert response.status_code == 503
        assert "no version" in response.json()["error"]


# -- bad requests ----------------------------------------------------------------------------


def bad_requests():
    """(method, path, kwargs, status, row, column, words in the message)."""
    good = oip_by_name(new_rows(5))

    def with_data(name, data):
        body = json.loads(json.dumps(good))
        for tensor in body["inputs"]:
            if tensor["name"] == name:
                tensor["data"] = data
        return body

    infer = "/v2/models/segments/infer"
    without_region = {"inputs": good["inputs"][:2]}
    return [
        (
            "POST",
            infer,
            {"json": with_data("spend", [1, 2, "lots", 4, 5])},
            422,
            2,
            "spend",
            "lots",
        ),
        (
            "POST",
            infer,
            {"json": with_data("visits", [1, 2, 3, None, 5])},
            422,
            3,
            "visits",
            "missing",
        ),
        (
            "POST",
            infer,
            {"json": with_data("spend", [1, True, 3, 4, 5])},
            422,
            1,
            "spend",
            "boolean",
        ),
        (
            "POST",
            infer,
            {"json": with_data("region", ["a", ["b"], "c", "d", "e"])},
            422,
            1,
            "region",
            "list",
        ),
        ("POST", infer, {"json": without_region}, 422, None, "region", "lacks"),
        ("POST", infer, {"json": with_data("spend", [1, 2])}, 400, None, None, "needs 5 values"),
        (
            "POST",
            infer,
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
            None,
            None,
            "not JSON",
        ),
        ("POST", infer, {"json": {"inputs": []}}, 400, None, None, "inputs"),
        (
            "POST",
            "/invocations",
            {
                "json": {
                    "dataframe_records": [{"spend": 1, "visits": 2, "region": "x"}, {"spend": 1}]
                }
            },
            422,
            1,
            "visits",
            "lacks",
        ),
        (
            "POST",
            "/invocations",
            {
                "content": b"spend,visits,region\n1,2,north\n1,oops,south\n",
                "headers": {"content-type": "text/csv"},
            },
            422,
            1,
            "visits",
            "oops",
        ),
        (
            "POST",
            "/invocations",
            {"content": b"x", "headers": {"content-type": "application/xml"}},
            415,
            None,
            None,
            "text/csv",
        ),
        (
            "POST",
            "/v2/models/segments/versions/9/infer",
            {"json": good},
            404,
            None,
            None,
            "no version 9",
        ),
        ("GET", "/v1/versions/0/segments", {}, 422, None, None, "1 or more"),
        ("GET", "/v1/versions/abc", {}, 422, None, None, "version"),
        ("GET", "/v1/nothing-here", {}, 404, None, None, "Not Found"),
        ("DELETE", "/v1/versions", {}, 405, None, None, "Method Not Allowed"),
        ("GET", "/v1/drift?from_version=2&to_version=7", {}, 404, None, None, "no version 7"),
        ("GET", "/v1/versions/1/centers?space=nowhere", {}, 422, None, None, "space"),
    ]


@pytest.mark.parametrize(
    "method, path, kwargs, status, row, column, words",
    bad_requests(),
    ids=lambda value: value if isinstance(value, str) and value.startswith("/") else None,
)
def test_bad_requests_get_one_error_shape_naming_row_and_column(
    app, method, path, kwargs, status, row, column, words
):
    response = call(app, method, path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= ERROR_KEYS, body
    assert body["status"] == status and body["error"] == body["message"]
    assert words.lower() in body["error"].lower()
    assert body.get("row") == row and body.get("column") == column


def test_limits_answer_413(store):
    app = create_app(store, max_rows=10, max_body_bytes=2000)
    response = call(app, "POST", "/v2/models/segments/infer", json=oip_by_name(new_rows(11)))
    assert response.status_code == 413 and "11 rows" in response.json()["error"]
    big = {"dataframe_records": new_rows(9)[FEATURES].to_dict(orient="records")}
    big["padding"] = "x" * 3000
    response = call(app, "POST", "/invocations", json=big)
    assert response.status_code == 413 and "bytes" in response.json()["error"]
    assert response.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"


def test_ids_past_64_bits_are_a_422_not_a_database_overflow(app):
    huge = 2**64
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for method, path, kwargs in (
        ("GET", f"/v1/versions/{huge}/centers", {}),
        ("GET", f"/v1/versions/{huge}", {}),
        ("GET", f"/v1/drift?from_version={huge}", {}),
        ("GET", f"/v2/models/segments/versions/{huge}", {}),
        ("POST", f"/v1/versions/{huge}/promote", {"headers": auth}),
        ("PATCH", f"/v1/segments/{huge}", {"headers": auth, "json": {"name": "x"}}),
    ):
        response = call(app, method, path, **kwargs)
        assert response.status_code == 422, (path, response.text)
        assert set(response.json()) >= ERROR_KEYS
    # the largest id a database integer holds is simply not there
    response = call(app, "GET", f"/v1/versions/{2**63 - 1}")
    assert response.status_code == 404, response.text


def test_the_error_mapping_follows_the_librarys_table():
    for kind, status in HTTP_STATUS:
        assert status_of(kind("x")) == status
    assert status_of(RuntimeError("a bug")) == 500


def test_an_internal_failure_is_a_500_in_the_same_shape_without_details(app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.state.store, "versions", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def go():
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/v1/versions")

    response = asyncio.run(go())
    assert response.status_code == 500
    body = response.json()
    assert set(body) >= ERROR_KEYS and "secret" not in body["error"]


# -- writes ------------------------------------------------------------------------------------


def test_writes_need_the_token(app, store):
    path, body = "/v1/segments/1", {"name": "Big spenders"}
    assert call(app, "PATCH", path, json=body).status_code == 401
    assert call(app, "PATCH", path, json=body).headers["www-authenticate"].startswith("Bearer")
    assert (
        call(app, "PATCH", path, json=body, headers={"Authorization": "Basic x"}).status_code == 401
    )
    wrong = call(app, "PATCH", path, json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403 and set(wrong.json()) >= ERROR_KEYS
    assert store.segments().loc[1, "name"] != "Big spenders"
    right = call(app, "PATCH", path, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200 and right.json()["name"] == "Big spenders"
    assert store.segments().loc[1, "name"] == "Big spenders"
    # the new name is what scoring answers at once
    frame = new_rows(30)
    out = outputs_of(call(app, "POST", "/v2/models/segments/infer", json=oip_by_name(frame)))
    assert out["segment_name"] == expected(store, frame)[1]
    missing = call(
        app, "PATCH", "/v1/segments/99", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert missing.status_code == 404 and "no segment with id 99" in missing.json()["error"]
    # without a configured token every write is refused
    closed = create_app(store)
    response = call(closed, "PATCH", path, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 403 and "disabled" in response.json()["error"]


def test_promote_changes_the_served_version(app, store):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    frame = new_rows(60)
    assert call(app, "POST", "/v1/versions/1/promote").status_code == 401
    response = call(app, "POST", "/v1/versions/1/promote", headers=auth, json={"note": "back"})
    assert response.json() == {"served_version": 1}
    body = call(app, "POST", "/v2/models/segments/infer", json=oip_by_name(frame)).json()
    assert body["model_version"] == "1"
    assert body["outputs"][0]["data"] == expected(store, frame, 1)[0]
    versions = call(app, "GET", "/v1/versions").json()
    assert versions["served_version"] == 1
    assert [v["served"] for v in versions["versions"]] == [True, False]
    assert call(app, "POST", "/v1/versions/5/promote", headers=auth).status_code == 404


def test_a_version_saved_elsewhere_is_served_after_the_check_interval(app, store):
    frame = new_rows(40)
    assert call(app, "GET", "/ping").json()["model_version"] == "2"
    with SegmentStore(store.url) as other:  # another process's batch job, say
        other.save(Segmentation(2, columns=FEATURES, random_state=3).fit(customers()))
    body = call(app, "POST", "/v2/models/segments/infer", json=oip_by_name(frame)).json()
    assert body["model_version"] == "3"
    assert body["outputs"][0]["data"] == expected(store, frame, 3)[0]


def test_the_model_is_loaded_again_only_when_the_served_version_changes(app, store):
    frame = new_rows(20)

    def infer():
        return call(app, "POST", "/v2/models/segments/infer", json=oip_by_name(frame))

    infer()
    loaded = app.state.cache._served.segmentation
    for _ in range(3):  # check_seconds=0: every request asks the store which version it serves
        assert infer().status_code == 200
    assert app.state.cache._served.segmentation is loaded
    # a rename by another process shows without loading the model again
    segment = int(store.segment_ids(2)[0])
    with SegmentStore(store.url) as other:
        other.rename(segment, "Renamed elsewhere")
    names = outputs_of(infer())["segment_name"]
    assert names == expected(store, frame)[1]
    assert app.state.cache._served.names[segment] == "Renamed elsewhere"
    assert app.state.cache._served.segmentation is loaded
    # a new served version is loaded
    with SegmentStore(store.url) as other:
        other.save(Segmentation(2, columns=FEATURES, random_state=3).fit(customers()))
    assert infer().json()["model_version"] == "3"
    assert app.state.cache._served.segmentation is not loaded


def wait_for(app, job_id, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = call(app, "GET", f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job['status']}")


def test_retrain_jobs_from_a_table_and_from_an_upload(app, store):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    frame = customers(500, seed=3)
    frame.to_sql("customers", store.engine, index=False)
    assert call(app, "POST", "/v1/jobs/retrain", json={"table": "customers"}).status_code == 401
    response = call(
        app,
        "POST",
        "/v1/jobs/retrain",
        headers=auth,
        json={"table": "customers", "id_column": "customer_id", "k": 3, "promote": True},
    )
    assert response.status_code == 202, response.text
    job = wait_for(app, response.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["version"] == 3 and job["result"]["k"] == 3
    assert store.served_version == 3
    assert len(store.assignments(3)) == len(frame)
    assert call(app, "GET", "/ping").json()["model_version"] == "3"

    csv = customers(400, seed=4).to_csv(index=False).encode()
    response = call(
        app,
        "POST",
        "/v1/jobs/retrain",
        headers=auth,
        files={"file": ("new.csv", csv, "text/csv")},
        data={"id_column": "customer_id", "k": "2-4"},
    )
    assert response.status_code == 202, response.text
    job = wait_for(app, response.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["version"] == 4 and job["result"]["rows"] == 400
    assert store.served_version == 3  # not promoted: the promotion holds
    listed = call(app, "GET", "/v1/jobs").json()["jobs"]
    assert [j["status"] for j in listed] == ["succeeded", "succeeded"]


def test_a_failed_retrain_job_says_why_and_leaves_the_store_as_it_was(app, store):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    response = call(app, "POST", "/v1/jobs/retrain", headers=auth, json={"table": "no_such"})
    job = wait_for(app, response.json()["job_id"])
    assert job["status"] == "failed"
    assert "no_such" in job["error"]["message"] and job["error"]["status"] in (404, 422)
    assert store.latest_version == 2
    bad_k = call(app, "POST", "/v1/jobs/retrain", headers=auth, json={"table": "t", "k": "lots"})
    assert bad_k.status_code == 422 and "k must be" in bad_k.json()["error"]
    unknown = call(app, "GET", "/v1/jobs/deadbeef")
    assert unknown.status_code == 404 and set(unknown.json()) >= ERROR_KEYS


# -- reads ---------------------------------------------------------------------------------------


def test_segments_centers_map_and_drift(app, store):
    segments = call(app, "GET", "/v1/segments").json()
    assert segments["version"] == 2 and segments["n_members"] == 600
    first = segments["segments"][0]
    assert {"segment_id", "name", "size", "share", "profile"} <= set(first)
    spend = first["profile"]["numeric"][0]
    assert spend["feature"] == "spend"
    assert spend["z"] == pytest.approx(
        (spend["center"] - spend["population_mean"]) / spend["population_std"]
    )
    assert {c["level"] for c in first["profile"]["categorical"]} == {"east", "north", "south"}
    assert sum(s["size"] for s in segments["segments"]) == 600
    centers = call(app, "GET", "/v1/versions/1/centers").json()
    want = store.centers(1)
    assert [c["segment_id"] for c in centers["centers"]] == want.index.tolist()
    assert centers["centers"][0]["values"]["spend"] == want.iloc[0]["spend"]
    model_space = call(app, "GET", "/v1/versions/1/centers?space=model").json()
    assert model_space["columns"] == [
        "spend",
        "visits",
        "region=east",
        "region=north",
        "region=south",
    ]
    map_ = call(app, "GET", "/v1/versions/2/map").json()
    assert map_["n_sampled"] == 600 and len(map_["centers"]) == 4
    assert {p["segment_id"] for p in map_["points"]} == set(store.segment_ids(2).tolist())
    drift = call(app, "GET", "/v1/drift").json()
    assert (drift["from_version"], drift["to_version"]) == (1, 2)
    assert drift["records_compared"] == 600
    assert call(app, "GET", "/v1/versions/2").json()["n_clusters"] == 4


# -- operator ------------------------------------------------------------------------------------


def test_metrics_count_requests_errors_rows_and_version(app):
    call(app, "POST", "/v2/models/segments/infer", json=oip_by_name(new_rows(7)))
    call(app, "GET", "/v1/versions/0/segments")
    text = call(app, "GET", "/metrics").text
    assert (
        'centroids_requests_total{method="POST",route="/v2/models/segments/infer",status="200"} 1.0'
        in text
    )
    assert 'centroids_rows_scored_total{version="2"} 7.0' in text
    assert (
        'centroids_errors_total{route="/v1/versions/{version}/segments",'
        'type="BadParameterError"} 1.0' in text
    )
    assert "centroids_model_version 2.0" in text
    assert "centroids_request_duration_seconds_bucket" in text


def test_logs_are_structured_and_hold_no_token(app, caplog):
    with caplog.at_level(logging.INFO, logger="centroids.serve"):
        call(
            app,
            "PATCH",
            "/v1/segments/1",
            json={"name": "x"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        call(
            app,
            "PATCH",
            "/v1/segments/1",
            json={"name": "x"},
            headers={"Authorization": "Bearer guess"},
        )
    requests = [r for r in caplog.records if r.getMessage() == "request"]
    assert [(r.route, r.status) for r in requests] == [
        ("/v1/segments/{segment_id}", 200),
        ("/v1/segments/{segment_id}", 403),
    ]
    from centroids.serve.observe import JsonLogFormatter

    lines = [JsonLogFormatter().format(r) for r in caplog.records]
    assert all(json.loads(line)["logger"].startswith("centroids") for line in lines)
    assert not any(TOKEN in line or "guess" in line for line in lines)


def test_cors_is_off_unless_origins_are_given(store):
    preflight = {
        "Origin": "https://shop.example",
        "Access-Control-Request-Method": "POST",
    }
    off = call(create_app(store), "OPTIONS", "/invocations", headers=preflight)
    assert "access-control-allow-origin" not in off.headers
    on = call(
        create_app(store, cors_origins=["https://shop.example"]),
        "OPTIONS",
        "/invocations",
        headers=preflight,
    )
    assert on.headers["access-control-allow-origin"] == "https://shop.example"


def test_token_comes_from_the_environment_or_a_file(tmp_path):
    assert load_token({}) is None
    assert load_token({"CENTROIDS_TOKEN": " abc "}) == "abc"
    path = tmp_path / "token"
    path.write_text("from-file\n")
    assert load_token({"CENTROIDS_TOKEN_FILE": str(path)}) == "from-file"
    with pytest.raises(ValueError, match="cannot read the token file"):
        load_token({"CENTROIDS_TOKEN_FILE": str(tmp_path / "absent")})
    with pytest.raises(ValueError, match="empty"):
        load_token({"CENTROIDS_TOKEN": "  "})


def test_explorer_page_is_self_contained(app):
    page = call(app, "GET", "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>" in page.text and "http://" not in page.text.replace("http://www.w3.org", "")
    assert "https://" not in page.text
