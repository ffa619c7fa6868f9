"""Rendering: the context every format reads, and the one call that picks a format's module.

`gate.report` itself holds only `FORMATS`, so that the command line can offer the formats
without importing any of this (`pullgate --version` loads no stage).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gate.report import FORMATS
from gate.verdict import Verdict

if TYPE_CHECKING:
    from gate.model import CheckResult


@dataclass(frozen=True)
class RenderContext:
    verdict: Verdict = field(default_factory=Verdict)
    color: bool = False
    show_suppressed: bool = False
    width: int | None = None
    """Columns the text report's lines are cut to (a terminal's); None: never cut."""

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    @property
    def fail_on(self) -> str:
        return self.verdict.fail_on.value


Renderer = Callable[["CheckResult", RenderContext], str]


def renderer(fmt: str) -> Renderer:
    module = importlib.import_module(f"gate.report.{FORMATS[fmt]}")
    render_one: Renderer = module.render
    return render_one


def render(fmt: str, result: CheckResult, context: RenderContext) -> str:
    return renderer(fmt)(result, context)


def render_pieces(fmt: str, result: CheckResult, context: RenderContext) -> Iterator[str]:
    """The report in the pieces its format makes (JSON: an entry at a time, so that a large
    report written as it is made is never whole in memory; the others: their text)."""
    module = importlib.import_module(f"gate.report.{FORMATS[fmt]}")
    pieces: Callable[[CheckResult, RenderContext], Iterator[str]] | None = getattr(
        module, "pieces", None
    )
    if pieces is None:
        yield renderer(fmt)(result, context)
    else:
        yield from pieces(result, context)
