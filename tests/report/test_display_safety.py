"""Values from manifests are shown escaped and capped in every format (gate/display.py): a
newline in an image printed raw by the text report became a workflow command in GitHub
Actions, and a 1 MB namespace was echoed whole in every finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.display import shown
from tests.support.cli import pullgate

HOSTILE = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n"
    '  name: "p\\u001b[31mred"\n'
    "  namespace: {namespace}\n"
    "spec:\n  containers:\n"
    '    - name: "app\\n::add-mask::x"\n'
    '      image: "nginx\\n::error title=pwned::owned\\u202e"\n'
)


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE.format(namespace="n" * 1_000_000))
    return path


def test_shown_escapes_controls_and_caps_length() -> None:
    assert shown("a\nb\x1b[0m\u202ec\td") == "a\\nb\\x1b[0m\\u202ec\\td"
    capped = shown("x" * 10_000)
    assert len(capped) < 1100 and capped.endswith("more characters)")
    assert shown(shown("a\nb")) == shown("a\nb")  # idempotent


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "gitlab", "junit"])
def test_no_format_shows_a_raw_control_character_or_a_megabyte(hostile: Path, fmt: str) -> None:
    result = pullgate("check", "--offline", "--format", fmt, str(hostile))
    assert result.exit_code == 1, result.stderr
    out = result.stdout
    assert "\x1b" not in out and "\u202e" not in out
    assert len(out) < 200_000, len(out)  # the namespace is not repeated whole
    if fmt == "github":
        # our own commands only: annotations, then the text report between stop-commands
        commands = [line for line in out.splitlines() if line.startswith("::")]
        assert all(
            line.startswith(("::error ", "::warning ", "::notice ", "::stop-commands::"))
            or (line.startswith("::") and line.endswith("::") and " " not in line)
            for line in commands
        ), commands
        assert not any(line.startswith("::add-mask::") for line in out.splitlines())
    if fmt == "text":
        assert not any(line.startswith("::") for line in out.splitlines())
        assert "nginx\\n::error title=pwned::owned\\u202e" in out
    if fmt == "json":
        report = json.loads(out)
        for finding in report["findings"]:
            assert "\n" not in finding["message"] and "\n" not in finding["hint"]
            assert len(finding["namespace"] or "") < 1100


def test_a_finding_copied_keeps_its_text() -> None:
    """Findings are copied (severity, suppression) with `dataclasses.replace`, which shows the
    values again: the second pass must change nothing."""
    for value in ("a" * 100_000, "x\n" * 5000, "ok"):
        assert shown(shown(value)) == shown(value)
        assert len(shown(value)) <= 1024


def test_summary_counts_are_singular_or_plural(tmp_path: Path) -> None:
    """ "1 files", "1 pods", "1 errors" read badly (issue 16)."""
    path = tmp_path / "one.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  containers: [{name: a, image: 'nginx'}]\n"
    )
    out = pullgate("check", "--offline", str(path)).stdout
    assert "1 file, 1 object, 1 pod, 1 image (1 unique, 0 resolved)" in out
    assert "1 error, 0 warnings" in out


def test_json_locations_are_in_file_and_line_order(tmp_path: Path) -> None:
    """Init containers were listed first (extraction order), not where the file has them."""
    path = tmp_path / "pod.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  containers:\n    - {name: late, image: 'busybox:1.36'}\n"
        "  initContainers:\n    - {name: early, image: 'busybox:1.36'}\n"
    )
    report = json.loads(pullgate("check", "--offline", "--format", "json", str(path)).stdout)
    (image,) = report["images"]
    assert [(loc["container"], loc["line"]) for loc in image["locations"]] == [
        ("late", 6),
        ("early", 8),
    ]
