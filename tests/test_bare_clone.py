"""The front door on a bare clone: without `../shared`, the tests that need the shared corpus
and schemas skip with a one-line reason, and in CI a missing corpus is a failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT

NEEDS_SHARED = ["tests/test_corpus.py", "tests/pin/test_pin.py", "tests/report/test_formats.py"]


def _pytest(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS")}
    env["PULLGATE_SHARED"] = str(tmp_path / "no-shared-here")
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *NEEDS_SHARED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_without_the_corpus_the_tests_skip_outside_ci(tmp_path: Path) -> None:
    run = _pytest(tmp_path, ci=None)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "skipped" in run.stdout and "failed" not in run.stdout
    assert "not found at" in run.stdout and "with CI=true this fails" in run.stdout


def test_in_ci_a_missing_corpus_fails(tmp_path: Path) -> None:
    run = _pytest(tmp_path, ci="true")
    assert run.returncode == 1, run.stdout[-3000:]
    assert "in CI the shared corpus and schemas are required" in run.stdout
