"""Report stage: one renderer per output format, all reading the same `CheckResult`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gate.model import CheckResult
from gate.report import github, gitlab, json_report, junit, sarif, text_report


@dataclass(frozen=True)
class RenderContext:
    color: bool = False
    fail_on: str = "error"
    exit_code: int = 0
    show_suppressed: bool = False


Renderer = Callable[[CheckResult, RenderContext], str]

FORMATS: dict[str, Renderer] = {
    "text": text_report.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "github": github.render,
    "gitlab": gitlab.render,
    "junit": junit.render,
}


def render(fmt: str, result: CheckResult, context: RenderContext) -> str:
    return FORMATS[fmt](result, context)
