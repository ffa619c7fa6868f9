"""The progress line: on a terminal only, outside CI, cleared at the end."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gate.pipeline import CheckOptions, run_check
from gate.report.progress import ProgressLine
from tests.support.images import push_image
from tests.support.registry import RegistryServer


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_shown_on_a_terminal_and_cleared(
    tmp_path: Path, registry: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    push_image(registry, "progress/a", "1.0")
    push_image(registry, "progress/b", "1.0")
    path = tmp_path / "pod.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        f"    - {{name: a, image: {registry.host}/progress/a:1.0}}\n"
        f"    - {{name: b, image: {registry.host}/progress/b:1.0}}\n"
    )
    stream = Terminal()
    line = ProgressLine.for_terminal(stream)
    assert line.enabled
    run_check(CheckOptions(paths=(str(path),), ci_logins=False), progress=line)
    line.close()
    text = stream.getvalue()
    assert "Resolving 1/2" in text and "Resolving 2/2" in text
    assert text.endswith("\r\033[K")  # cleared, so the report starts on a clean line


def test_progress_is_off_in_ci_off_a_terminal_and_on_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert not ProgressLine.for_terminal(io.StringIO()).enabled
    assert not ProgressLine.for_terminal(Terminal(), disabled=True).enabled
    monkeypatch.setenv("CI", "true")
    stream = Terminal()
    line = ProgressLine.for_terminal(stream)
    line(1, 2, "nginx:1.27")
    line.close()
    assert not line.enabled and stream.getvalue() == ""
