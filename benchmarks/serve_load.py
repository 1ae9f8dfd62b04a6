"""Load test of `centroids serve` next to the FastAPI app a user would write around
scikit-learn's ``KMeans.predict``, on loopback, at a fixed concurrency.

Run from the project root (``make bench`` runs it after the suite)::

    .venv/bin/python benchmarks/serve_load.py [--concurrency 8] [--seconds 12] [--rounds 4]
                                               [--markdown PATH]

Both services hold the same model: a segmentation of a generated 100,000-row table (four
numeric columns and one categorical column of five levels, K = 8), fitted once; the
baseline's ``sklearn.cluster.KMeans`` carries its centers. Each runs in its own uvicorn
process (one worker, access log off). The baseline is sent rows already prepared (scaled
and one-hot encoded, as its model needs them) and answers the labels; centroids is sent
the raw columns (Open Inference Protocol, one tensor per column) and answers segment ids,
names and distances, so it also prepares the rows and looks up the names.

For each service and batch size (1 row, 1,000 rows) a client process keeps
``--concurrency`` requests in flight for ``--seconds`` in all, in ``--rounds`` runs that
alternate with the other service's (each after a warm-up), and reports, over the pooled
runs, the requests per second, rows per second, the p50 and p99 latency and the errors.
Before timing, the two services' labels are checked to agree on 2,000 rows. The load generator
shares the machine's cores with the service under test: both services pay the same.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ["amount", "frequency", "recency", "tenure", "channel"]
CHANNELS = ["web", "store", "phone", "app", "partner"]

BASELINE_APP = """
import pickle, sys
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

with open(sys.argv[1], "rb") as file:
    model = pickle.load(file)

class Rows(BaseModel):
    instances: list[list[float]]

app = FastAPI()

@app.post("/predict")
def predict(rows: Rows):
    return {"predictions": model.predict(np.asarray(rows.instances)).tolist()}

@app.get("/health")
def health():
    return {"ok": True}
"""


def generated_table(n, seed=0):
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 8, n)
    centers = rng.normal(0, 4, (8, 4))
    values = centers[group] + rng.normal(0, 1, (n, 4))
    frame = pd.DataFrame(values * [50, 3, 20, 12] + [200, 10, 60, 36], columns=FEATURES[:4])
    frame["channel"] = np.array(CHANNELS)[(group + rng.integers(0, 2, n)) % 5]
    frame.insert(0, "customer_id", np.arange(n))
    return frame


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url, process, timeout=60):
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited: {process.stderr.read()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def prepare_models(folder: Path):
    """The store (for centroids) and the pickled sklearn KMeans (for the baseline)."""
    from sklearn.cluster import KMeans

    from centroids.segments.segmentation import Segmentation
    from centroids.store import SegmentStore

    frame = generated_table(100_000)
    url = f"sqlite:///{folder / 'segments.db'}"
    with SegmentStore(url) as store:
        segmentation = Segmentation(
            8, columns=FEATURES, id_column="customer_id", random_state=0
        ).fit(frame)
        store.save(segmentation)
        segmentation = store.load()
    centers = np.asarray(segmentation.centers_, dtype=np.float64)
    kmeans = KMeans(n_clusters=len(centers), n_init=1)
    kmeans.cluster_centers_ = centers
    kmeans.n_features_in_ = centers.shape[1]
    kmeans._n_threads = 1
    import pickle

    (folder / "kmeans.pkl").write_bytes(pickle.dumps(kmeans))
    return url, segmentation, kmeans


def requests_for(segmentation, n_rows, seed):
    rows = generated_table(n_rows, seed=seed)[FEATURES]
    prepared = segmentation.transform(rows)
    ours = {
        "inputs": [
            {
                "name": name,
                "shape": [n_rows],
                "datatype": "BYTES" if name == "channel" else "FP64",
                "data": rows[name].tolist(),
            }
            for name in FEATURES
        ]
    }
    baseline = {"instances": prepared.tolist()}
    return json.dumps(ours).encode(), json.dumps(baseline).encode()


CLIENT = """
# A light keep-alive HTTP/1.1 client on raw asyncio streams: the request bytes are built
# once, each answer is read by its Content-Length; so the load generator costs little of
# the CPU it shares with the service under test.
import asyncio, json, sys, time
from urllib.parse import urlsplit

url, body_file, concurrency, seconds, warmup = sys.argv[1:6]
body = open(body_file, "rb").read()
concurrency, seconds, warmup = int(concurrency), float(seconds), float(warmup)
parts = urlsplit(url)
request = (
    f"POST {parts.path} HTTP/1.1\\r\\nHost: {parts.netloc}\\r\\n"
    f"Content-Type: application/json\\r\\nContent-Length: {len(body)}\\r\\n\\r\\n"
).encode() + body

async def main():
    latencies, errors = [], 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + seconds

    async def worker():
        nonlocal errors
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        while True:
            began = time.perf_counter()
            if began >= stop:
                writer.close()
                return
            writer.write(request)
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\\r\\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            ended = time.perf_counter()
            if began >= measure_from:
                errors += status != 200
                latencies.append(ended - began)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - measure_from
    print(json.dumps({"latencies": latencies, "errors": errors, "elapsed": elapsed}))

asyncio.run(main())
"""


def load(url, body, concurrency, seconds, folder, warmup=2.0):
    """One client run: its latencies (seconds), errors and measured time."""
    body_file = folder / "body.json"
    body_file.write_bytes(body)
    client_file = folder / "client.py"
    client_file.write_text(CLIENT)
    result = subprocess.run(
        [
            sys.executable,
            str(client_file),
            url,
            str(body_file),
            str(concurrency),
            str(seconds),
            str(warmup),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def summary(runs):
    """Requests/s, p50 and p99 over the pooled latencies of several runs."""
    latencies = np.concatenate([np.asarray(run["latencies"]) for run in runs])
    elapsed = sum(run["elapsed"] for run in runs)
    return {
        "requests": len(latencies),
        "errors": sum(run["errors"] for run in runs),
        "rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(latencies, 50) * 1000),
        "p99_ms": float(np.percentile(latencies, 99) * 1000),
    }


def start(command, folder, environ=None):
    return subprocess.Popen(
        command,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(environ or {})},
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="alternate the two services this many times, --seconds split between rounds, "
        "so a change in the machine's other load falls on both alike",
    )
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    import httpx

    with tempfile.TemporaryDirectory(prefix="centroids-serve-bench-") as name:
        folder = Path(name)
        url, segmentation, _ = prepare_models(folder)
        (folder / "baseline.py").write_text(BASELINE_APP)
        ours_port, base_port = free_port(), free_port()
        centroids_command = str(Path(sys.executable).with_name("centroids"))
        quiet = ["--log-level", "warning"]
        ours = start(
            [centroids_command, "serve", "--db", url, "--port", str(ours_port), *quiet],
            folder,
        )
        baseline = start(
            [
                sys.executable,
                "-c",
                "import sys; sys.argv = ['baseline', 'kmeans.pkl']; "
                "import uvicorn; sys.path.insert(0, '.'); from baseline import app; "
                f"uvicorn.run(app, host='127.0.0.1', port={base_port}, access_log=False, "
                "log_level='warning')",
            ],
            folder,
        )
        try:
            ours_base, base_base = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{base_port}"
            wait_for(f"{ours_base}/v2/health/ready", ours)
            wait_for(f"{base_base}/health", baseline)
            # the same answers before any timing
            check_ours, check_base = requests_for(segmentation, 2000, seed=99)
            labels_ours = httpx.post(
                f"{ours_base}/v2/models/segments/infer",
                content=check_ours,
                headers={"content-type": "application/json"},
            ).json()
            labels_base = httpx.post(
                f"{base_base}/predict",
                content=check_base,
                headers={"content-type": "application/json"},
            ).json()
            ids = np.asarray(segmentation_ids(url))
            ours_labels = labels_ours["outputs"][0]["data"]
            assert ours_labels == ids[labels_base["predictions"]].tolist(), "labels differ"
            results = {}
            for n_rows in (1, 1000):
                body_ours, body_base = requests_for(segmentation, n_rows, seed=n_rows)
                services = (
                    ("scikit-learn baseline", f"{base_base}/predict", body_base),
                    ("centroids serve", f"{ours_base}/v2/models/segments/infer", body_ours),
                )
                runs = {service: [] for service, _, _ in services}
                for round_ in range(args.rounds):
                    for service, target, body in services:
                        runs[service].append(
                            load(
                                target,
                                body,
                                args.concurrency,
                                args.seconds / args.rounds,
                                folder,
                                warmup=2.0 if round_ == 0 else 0.5,
                            )
                        )
                for service, _, _ in services:
                    measured = summary(runs[service])
                    measured["rows_per_s"] = measured["rps"] * n_rows
                    results[(service, n_rows)] = measured
                    print(service, n_rows, measured, file=sys.stderr)
        finally:
            for process in (ours, baseline):
                process.terminate()
                process.wait(timeout=30)
    report = render(results, args)
    print(report)
    if args.markdown:
        args.markdown.write_text(report)
    return 0


def segmentation_ids(url):
    from centroids.store import SegmentStore

    with SegmentStore(url) as store:
        return store.segment_ids().tolist()


def render(results, args):
    lines = [
        f"Load test on loopback, {args.concurrency} requests in flight, {args.seconds:g} s per "
        f"service and batch size in {args.rounds} alternating rounds (warm-up 2 s, then "
        f"0.5 s); {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        "| rows / request | service | requests/s | rows/s | p50 ms | p99 ms | errors |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for (service, n_rows), m in results.items():
        lines.append(
            f"| {n_rows:,} | {service} | {m['rps']:,.0f} | {m['rows_per_s']:,.0f} | "
            f"{m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {m['errors']} |"
        )
    lines.append("")
    for n_rows in (1, 1000):
        ours = results[("centroids serve", n_rows)]
        base = results[("scikit-learn baseline", n_rows)]
        lines.append(
            f"- {n_rows:,} row(s): centroids / baseline rows per second "
            f"{ours['rows_per_s'] / base['rows_per_s']:.2f}×, p50 "
            f"{ours['p50_ms'] / base['p50_ms']:.2f}×, p99 {ours['p99_ms'] / base['p99_ms']:.2f}× "
            "(latency ratios below 1 are better)"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
