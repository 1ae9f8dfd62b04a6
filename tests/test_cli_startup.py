"""Commands that do not cluster start without numba (issue 16, item 2).

``centroids --help``, ``versions``, ``name`` and ``drift`` read or write the segment store
only, so they must not import numba (whose import and kernel compilation are most of the
package's fixed start-up cost). Each check runs in a fresh interpreter, because the test
process itself has long imported numba through the other tests.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import centroids

SRC = str(Path(centroids.__file__).resolve().parent.parent)

#: Runs the CLI app in-process on the given argument lists and prints, as JSON, the exit
#: code of each and whether numba / scikit-learn were imported by then.
PROBE = """
import json, sys
from centroids.cli import app
report = []
for args in json.loads(sys.argv[1]):
    try:
        # standalone_mode=False: click returns the code of typer.Exit instead of exiting
        code = app(args, standalone_mode=False) or 0
    except SystemExit as exc:
        code = exc.code
    report.append({"args": args, "code": code, "numba": "numba" in sys.modules})
print("PROBE" + json.dumps({"runs": report, "sklearn": "sklearn" in sys.modules}))
"""


def _python(code, *args):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _probe(argument_lists):
    out = _python(PROBE, json.dumps(argument_lists))
    line = next(line for line in out.splitlines() if line.startswith("PROBE"))
    return json.loads(line[len("PROBE") :])


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    """A SQLite store holding two versions, saved by this (numba-loaded) process."""
    from centroids.datasets import make_customers
    from centroids.segments.segmentation import Segmentation
    from centroids.store import SegmentStore

    url = f"sqlite:///{tmp_path_factory.mktemp('startup') / 'segments.db'}"
    with SegmentStore(url) as store:
        for seed in (0, 1):
            frame = make_customers(400, random_state=seed).drop(columns="customer_id")
            store.save(Segmentation(3, random_state=0).fit(frame))
    return url


def test_import_centroids_does_not_import_numba():
    out = _python(
        "import sys, centroids; "
        "print('numba' in sys.modules, 'sklearn' in sys.modules, 'KMeans' in dir(centroids))"
    )
    assert out.split() == ["False", "False", "True"]


def test_from_centroids_import_kmeans_still_works():
    out = _python(
        "import sys, centroids; from centroids import KMeans; import centroids.vq; "
        "missing = [n for n in centroids.__all__ if not hasattr(centroids, n)]; "
        "print(KMeans.__module__, 'numba' in sys.modules, missing)"
    )
    assert out.split()[:2] == ["centroids.models.kmeans", "True"]
    assert out.strip().endswith("[]")


def test_store_commands_do_not_import_numba(store_url):
    runs = [
        ["--help"],
        ["versions", "--db", store_url],
        ["versions", "--db", store_url, "--json"],
        ["name", "1", "loyal", "--db", store_url],
        ["drift", "1", "2", "--db", store_url],
        ["drift", "1", "2", "--db", store_url, "--json"],
    ]
    report = _probe(runs)
    for run in report["runs"]:
        assert run["code"] == 0, run
        assert not run["numba"], f"{run['args']} imported numba"
    assert not report["sklearn"]


def test_failing_store_command_does_not_import_numba(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    report = _probe([["drift", "1", "2", "--db", url], ["name", "7", "x", "--db", url]])
    for run in report["runs"]:
        assert run["code"] == 2, run
        assert not run["numba"], run


def test_cli_default_store_is_the_pipelines():
    from centroids import cli
    from centroids.segments import pipeline

    assert cli.DEFAULT_DB == pipeline.DEFAULT_DB
