"""Stdout carries the report, whole, and only the report."""

from __future__ import annotations

import pytest


def test_a_large_report_reaches_stdout_whole_in_pieces(capsys: pytest.CaptureFixture[str]) -> None:
    """The report is echoed a piece at a time (memory), cut after line feeds, and what
    arrives is the report exactly, whatever its lines' lengths."""
    from gate.cli.check import echo_in_pieces

    lines = [f"line {i} " + "x" * (i % 97) for i in range(5000)]
    text = "\n".join(lines) + "\n" + "y" * 2500 + "\n" + "z" * 300
    echo_in_pieces(text, color=False, piece=1000)
    assert capsys.readouterr().out == text
    echo_in_pieces("", color=False, piece=1000)
    assert capsys.readouterr().out == ""
