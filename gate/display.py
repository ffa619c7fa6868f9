"""Values from manifests and servers, made safe to show: control characters escaped, length
capped.

A newline inside an image reference printed raw starts a new log line, which in GitHub Actions
may be a workflow command (`::set-output`, `::add-mask`); an escape sequence recolours or hides
a terminal's text; a one-megabyte namespace floods every finding. Every string a report shows
a person goes through `shown`.
"""

from __future__ import annotations

import re

VALUE_LIMIT = 1024
"""Longest name, image or namespace shown whole: above any valid one (an image reference of
a 253-character host, long paths, a tag and a digest stays well under it)."""
TEXT_LIMIT = 4000
"""Longest message or hint shown whole."""

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if char in named:
        return named[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(value: str, limit: int = VALUE_LIMIT) -> str:
    """`value` with every control, line-separator and bidi-override character escaped
    (`\\n`, `\\x1b`, `\\u202e`), cut to `limit` characters with the count of the rest."""
    safe = _UNSAFE.sub(_escape, value)
    if len(safe) <= limit:
        return safe
    keep = limit
    while True:  # the whole result fits `limit`, so showing it again changes nothing
        suffix = f"… ({len(safe) - keep} more characters)"
        if keep + len(suffix) <= limit or keep <= 1:
            return safe[:keep] + suffix
        keep = max(limit - len(suffix), 1)


def shown_or_none(value: str | None, limit: int = VALUE_LIMIT) -> str | None:
    return None if value is None else shown(value, limit)


def counted(number: int, noun: str) -> str:
    """`1 file`, `2 files`, `0 errors`: a count as a person reads it."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
