"""Golden output of the text report (issue 16): a failing set with repeated rules, a passing
set and an unverified set, each unwrapped (a CI log, a pipe, a file) and cut to 80 columns
(a terminal). The files under golden/ are the report a person reads; a change to them is a
change to what users see, reviewed as such (regenerate with PULLGATE_UPDATE_GOLDEN=1)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gate.pipeline import CheckOptions, run_check
from gate.registry.options import TransportOptions
from gate.report import text_report
from gate.report.render import RenderContext
from gate.rules import Severity
from gate.verdict import Verdict
from tests.report.test_text import REPEATED

GOLDEN = Path(__file__).parent / "golden"

SETS = {
    "failing": REPEATED
    + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: debug, namespace: kong}\n"
    "spec: {containers: [{name: shell, image: 'busybox:latest'},\n"
    "  {name: tools, image: 'nicolaka/netshoot'}]}\n",
    "passing": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
    "spec: {template: {spec: {containers: [{name: web, image: 'nginx:1.27'}]}}}\n",
    "unverified": "apiVersion: v1\nkind: Pod\nmetadata: {name: app, namespace: shop}\n"
    "spec: {containers: [{name: app, image: '127.0.0.1:1/team/app:1.0'}]}\n",
}


def _report(name: str, width: int | None, directory: Path) -> str:
    (directory / "set.yaml").write_text(SETS[name])
    cwd = os.getcwd()
    os.chdir(directory)  # the report names set.yaml as a user who ran it here sees it
    try:
        result = run_check(
            CheckOptions(
                paths=("set.yaml",),
                offline=name != "unverified",
                transport=TransportOptions(retries=0, timeout=5),
                ci_logins=False,
                environ={},
            )
        )
    finally:
        os.chdir(cwd)
    verdict = Verdict.of(result.findings, Severity.ERROR)
    return text_report.render(result, RenderContext(verdict=verdict, width=width))


@pytest.mark.parametrize("width", [None, 80], ids=["unwrapped", "80"])
@pytest.mark.parametrize("name", list(SETS))
def test_the_text_report_reads_as_its_golden_file(
    name: str, width: int | None, tmp_path: Path
) -> None:
    text = _report(name, width, tmp_path)
    golden = GOLDEN / f"{name}{'' if width is None else f'-{width}'}.txt"
    if os.environ.get("PULLGATE_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()
    if width is not None:  # only one word (an image), or a config entry to paste, may be longer
        for line in text.splitlines():
            assert len(line) <= width or " " not in line.strip() or _pasted(line), line


def _pasted(line: str) -> bool:
    """A line that is one config entry: a digest block's item, or a hint's entry kept whole
    (cut, it could not be copied as it is)."""
    entry = line.strip().rstrip(".")
    return entry.startswith("- {") or bool(re.fullmatch(r"`[a-z-]+: [\[{][^`]*`", entry))


def test_the_golden_files_are_what_each_set_should_say() -> None:
    """What the golden files hold, said once in words (so a regenerated file that lost a
    piece fails here too)."""
    failing = (GOLDEN / "failing.txt").read_text()
    assert failing.count("(more: pullgate explain ") == 5  # each distinct hint once
    assert "To fix (8 findings):" in failing
    assert "FAILED: findings at or above error (exit 1)" in failing
    passing = (GOLDEN / "passing.txt").read_text()
    assert "To fix" not in passing and "PASSED" in passing
    unverified = (GOLDEN / "unverified.txt").read_text()
    assert "[image-registry-unreachable]" in unverified
    assert "NOT VERIFIED" in unverified and "(exit 3)" in unverified
    for name in SETS:
        wrapped = (GOLDEN / f"{name}-80.txt").read_text()
        plain = (GOLDEN / f"{name}.txt").read_text()
        assert " ".join(wrapped.split()) == " ".join(plain.split())  # the same words


def test_on_a_terminal_the_report_is_cut_to_its_width(tmp_path: Path) -> None:
    """Run as a user would, stdout a real terminal (a pty) of 60 columns: every line that can
    be cut is, and the same run into a pipe is not cut at all."""
    (tmp_path / "set.yaml").write_text(SETS["failing"])
    command = [sys.executable, "-m", "gate", "check", "--offline", "set.yaml"]
    env = {**os.environ, "COLUMNS": "60", "NO_COLOR": "1", "PULLGATE_NO_PROGRESS": "1"}
    leader, follower = os.openpty()
    try:
        run = subprocess.run(
            command, cwd=tmp_path, stdout=follower, stderr=subprocess.PIPE, env=env, timeout=60
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    assert run.returncode == 1
    shown = b"".join(chunks).decode().replace("\r\n", "\n")
    lines = shown.splitlines()
    cut = [line for line in lines if " " in line.strip() and not _pasted(line)]
    assert max(len(line) for line in cut) <= 60, max(cut, key=len)
    piped = subprocess.run(command, cwd=tmp_path, capture_output=True, env=env, timeout=60)
    assert max(len(line) for line in piped.stdout.decode().splitlines()) > 60
    assert " ".join(shown.split()) == " ".join(piped.stdout.decode().split())


@pytest.mark.parametrize("width", [1, 20, 30, 40, 50])
def test_a_narrow_terminal_loses_and_repeats_no_word(width: int, tmp_path: Path) -> None:
    """Below the width a state or a label fits in, lines are left uncut rather than cut
    inside them (a reviewer found `(offline)` printed twice at 40 columns)."""
    for name in SETS:
        if name == "unverified":
            continue
        plain = _report(name, None, tmp_path)
        narrow = _report(name, width, tmp_path)
        assert narrow.split() == plain.split()
