"""Facts about the run that every benchmark report prints: source revision, interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def progress(message: str) -> None:
    """A progress line on stderr, so that stdout keeps only the report."""
    print(message, file=sys.stderr, flush=True)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def source_revision() -> str:
    """The commit of the checkout and whether src/ has uncommitted changes (read-only git)."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        changes = _git("status", "--porcelain", "--", "src")
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"git {commit}" + (", with uncommitted changes under src/" if changes else "")


def python_command() -> str:
    """The interpreter as typed from the project root: ``.venv/bin/python`` when inside it."""
    relative = os.path.relpath(sys.executable)
    return sys.executable if relative.startswith("..") else relative
