"""The command line's own behaviour: defaults in CI hosts, report files, stdout discipline."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import pullgate
from tests.support.paths import ROOT

LATEST = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ns}
spec:
  containers:
    - name: c
      image: busybox:latest
"""


def _manifest(tmp_path: Path) -> Path:
    path = tmp_path / "pod.yaml"
    path.write_text(LATEST)
    return path


def test_github_actions_defaults_to_annotations_and_writes_the_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    result = pullgate(
        "check",
        "--offline",
        str(_manifest(tmp_path)),
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith("::error file=")
    assert "line=7" in first and "image-latest-tag" in first
    text = summary.read_text()
    assert "image-latest-tag" in text and "busybox:latest" in text


def test_explicit_format_wins_in_github_actions(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    result = pullgate(
        "check",
        "--offline",
        "--format",
        "json",
        str(_manifest(tmp_path)),
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert json.loads(result.stdout)["summary"]["errors"] == 1
    assert not summary.exists()  # no github output asked for, no summary


def test_several_reports_at_once_and_stdout_keeps_the_format(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    args = ["check", "--offline", "--format", "json"]
    for fmt in ("sarif", "gitlab", "junit", "text", "github"):
        args += ["--report", f"{fmt}={out / fmt}"]
    result = pullgate(*args, str(_manifest(tmp_path)))
    assert result.exit_code == 1
    assert json.loads(result.stdout)["version"] == 1
    assert json.loads((out / "sarif").read_text())["version"] == "2.1.0"
    assert json.loads((out / "gitlab").read_text())[0]["check_name"] == "image-latest-tag"
    assert (out / "junit").read_text().startswith("<?xml")
    assert "FAILED" in (out / "text").read_text()
    assert (out / "github").read_text().startswith("::error")


def test_bad_report_option_is_a_usage_error(tmp_path: Path) -> None:
    for value in ("sarif", "pdf=out.pdf"):
        result = pullgate("check", "--report", value, str(_manifest(tmp_path)))
        assert result.exit_code == 2
        assert "--report" in result.stderr
        assert result.stdout == ""


def test_no_paths_and_bad_namespace_are_usage_errors(tmp_path: Path) -> None:
    result = pullgate("check")
    assert result.exit_code == 2 and "no manifests given" in result.stderr
    result = pullgate("check", "-n", "Bad_NS", str(_manifest(tmp_path)))
    assert result.exit_code == 2 and "invalid namespace 'Bad_NS'" in result.stderr


def test_version() -> None:
    result = pullgate("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("pullgate, version ")


def test_readme_lists_every_rule() -> None:
    from gate.rules import RULES

    readme = (ROOT / "README.md").read_text()
    for rule_id in RULES:
        assert f"| `{rule_id}` |" in readme, rule_id


def test_colour_only_when_asked_or_on_a_terminal(tmp_path: Path) -> None:
    path = _manifest(tmp_path)
    plain = pullgate("check", "--offline", str(path))
    assert "\x1b[" not in plain.stdout  # not a terminal: no colour
    coloured = pullgate("check", "--offline", "--color", str(path))
    assert "\x1b[31" in coloured.stdout  # errors in red
    as_json = pullgate("check", "--offline", "--color", "--format", "json", str(path))
    assert "\x1b[" not in as_json.stdout  # machine formats never


def test_nothing_to_check_is_exit_2_unless_allowed(tmp_path: Path) -> None:
    """A render step that wrote nothing (an empty directory, file or stdin, or files holding
    no Kubernetes object) must not pass: exit 2, unless --allow-empty (the pre-commit hooks,
    where a commit may change no manifest)."""
    empty = tmp_path / "rendered"
    empty.mkdir()
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "not-kube.yaml").write_text("name: my-app\nversion: 1\n")
    for args, stdin in (
        ([str(empty)], None),
        ([str(tmp_path / "empty.yaml")], None),
        ([str(tmp_path / "not-kube.yaml")], None),
        (["-"], ""),
    ):
        for command in (["check", "--offline"], ["pin"]):
            result = pullgate(*command, *args, stdin=stdin)
            assert result.exit_code == 2, (command, args, result.stdout)
            assert "no Kubernetes objects found" in result.stderr
            assert "--allow-empty" in result.stderr and result.stdout == ""
        allowed = pullgate("check", "--offline", "--allow-empty", *args, stdin=stdin)
        assert allowed.exit_code == 0
        assert "nothing to check (--allow-empty)" in allowed.stderr
        assert "PASSED" in allowed.stdout
