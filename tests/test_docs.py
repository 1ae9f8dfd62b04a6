"""The documentation site: every Python example in docs/ runs, and the site builds.

The examples of a page run in order in one namespace (a page is one session, as a
reader would type it), in a temporary folder so the files they write go nowhere.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def pages_with_examples():
    return sorted(p for p in DOCS.rglob("*.md") if FENCE.search(p.read_text()))


def test_the_guides_have_examples():
    guides = {p.stem for p in (DOCS / "guide").glob("*.md")}
    with_examples = {p.stem for p in pages_with_examples()}
    assert guides, "docs/guide is empty"
    # every guide but the one about the shell command shows Python code
    assert guides - {"command-line"} <= with_examples


@pytest.mark.parametrize("page", pages_with_examples(), ids=lambda p: str(p.relative_to(DOCS)))
def test_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    text = page.read_text()
    for block in FENCE.finditer(text):
        # padded with blank lines so a traceback names the line of the page itself
        padding = "\n" * (text[: block.start()].count("\n") + 1)
        code = compile(padding + block.group(1), str(page.relative_to(ROOT)), "exec")
        exec(code, namespace)  # our own documentation's examples


def test_every_page_is_in_the_navigation():
    config = (ROOT / "mkdocs.yml").read_text()
    for page in DOCS.rglob("*.md"):
        assert str(page.relative_to(DOCS)) in config, f"{page} is not in mkdocs.yml's nav"


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None,
    reason="the site builder is in the dev extra; install it with pip install -e '.[dev]'",
)
def test_the_site_builds_without_warnings(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    api = (tmp_path / "reference" / "estimators" / "index.html").read_text()
    # the reference is generated from the docstrings, not written by hand
    assert "n_clusters" in api and "cluster_centers_" in api
