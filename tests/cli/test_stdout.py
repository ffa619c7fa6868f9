"""Stdout carries the report, whole, and only the report."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import pytest


def test_a_large_report_reaches_stdout_whole_in_pieces(capsys: pytest.CaptureFixture[str]) -> None:
    """The report is echoed a piece at a time (memory), cut after line feeds, and what
    arrives is the report exactly, whatever its lines' lengths."""
    from gate.cli.check import echo_in_pieces

    lines = [f"line {i} " + "x" * (i % 97) for i in range(5000)]
    text = "\n".join(lines) + "\n" + "y" * 2500 + "\n" + "z" * 300
    echo_in_pieces([text], color=False, piece=1000)
    assert capsys.readouterr().out == text
    cuts = [0, 1, 7, 999, 1000, 1001, 4321, len(text) - 5, len(text)]
    echo_in_pieces((text[a:b] for a, b in pairwise(cuts)), color=False, piece=1000)
    assert capsys.readouterr().out == text
    echo_in_pieces([], color=False, piece=1000)
    echo_in_pieces([""], color=False, piece=1000)
    assert capsys.readouterr().out == ""


def test_a_report_made_an_entry_at_a_time_is_written_as_it_is_made(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The JSON report's entries reach stdout while later ones are still to be made: it is
    never whole in memory (on a large set it is tens of megabytes)."""
    from gate.cli.check import echo_in_pieces

    out: list[str] = []
    made = 0
    held_back: list[int] = []

    def entries() -> Iterator[str]:
        nonlocal made
        for index in range(100):
            out.append(capsys.readouterr().out)
            held_back.append(made - sum(map(len, out)))
            entry = f'  {{"entry": {index:3}, "padding": "{"x" * 80}"}},\n'
            made += len(entry)
            yield entry

    echo_in_pieces(entries(), color=False, piece=1000)
    out.append(capsys.readouterr().out)
    assert "".join(out) == "".join(
        f'  {{"entry": {i:3}, "padding": "{"x" * 80}"}},\n' for i in range(100)
    )
    assert made > 9000 and max(held_back) < 1100  # never more than about a piece in memory
