"""Report stage: one renderer per output format, all reading the same `CheckResult`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gate.model import CheckResult
from gate.report import github, gitlab, json_report, junit, sarif, text_report
from gate.verdict import Verdict


@dataclass(frozen=True)
class RenderContext:
    verdict: Verdict = field(default_factory=Verdict)
    color: bool = False
    show_suppressed: bool = False

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    @property
    def fail_on(self) -> str:
        return self.verdict.fail_on.value


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
