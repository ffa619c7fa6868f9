"""Each distinct hint in full once per report: five copies of one long hint bury the findings
they explain. The text report and the step summary share this."""

from __future__ import annotations

from gate.display import shown
from gate.model import Finding
from gate.rules import RULES


class HintsOnce:
    """A hint in full where it first applies, ending with the command that explains its rule;
    a later finding with the same hint points back to that place, adding its own config entry
    where it is not the one shown there (the same hint for another object differs only in the
    names the entry fills in, and pasting the entry shown above would accept that object)."""

    def __init__(self) -> None:
        self._first: dict[str, tuple[str, str | None]] = {}  # hint -> where, the entry there

    def text(self, finding: Finding) -> str:
        entry = finding.entry.inline() if finding.entry is not None else None
        common = finding.hint.replace(entry, "") if entry else finding.hint
        if common in self._first:
            where, entry_there = self._first[common]
            here = f"; here: `{entry}`" if entry is not None and entry != entry_there else ""
            return f"as for {where} above{here}"
        self._first[common] = (f"{shown(finding.file)}:{finding.line}", entry)
        if finding.rule in RULES:
            return f"{finding.hint} (more: pullgate explain {finding.rule})"
        return finding.hint
