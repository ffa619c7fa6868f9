"""Report stage: one renderer per output format, all reading the same `CheckResult`
(`gate.report.render` picks the module of a format)."""

from __future__ import annotations

FORMATS: dict[str, str] = {
    "text": "text_report",
    "json": "json_report",
    "sarif": "sarif",
    "github": "github",
    "gitlab": "gitlab",
    "junit": "junit",
}
"""Each format and the module that renders it, imported only when that format is asked for."""
