"""Each distinct hint in full once per report: five copies of one long hint bury the findings
they explain. The text report and the step summary share this."""

from __future__ import annotations

from gate.display import shown
from gate.model import Finding
from gate.rules import RULES


class HintsOnce:
    """A hint in full where it first applies, ending with the command that explains its rule;
    a later finding with the same hint points back to that place, keeping only its own config
    entry (the same hint for another object differs only in the names the entry fills in)."""

    def __init__(self) -> None:
        self._first: dict[str, str] = {}
        self._entries: set[str] = set()

    def text(self, finding: Finding) -> str:
        entry = finding.entry.inline() if finding.entry is not None else None
        common = finding.hint.replace(entry, "") if entry else finding.hint
        new_entry = entry is not None and entry not in self._entries
        if entry is not None:
            self._entries.add(entry)
        if common in self._first:
            here = f"; here: `{entry}`" if new_entry else ""  # each entry shown once too
            return f"as for {self._first[common]} above{here}"
        self._first[common] = f"{shown(finding.file)}:{finding.line}"
        if finding.rule in RULES:
            return f"{finding.hint} (more: pullgate explain {finding.rule})"
        return finding.hint
