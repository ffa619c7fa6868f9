"""The JSON string scanner: where each string value of a JSON manifest ends in its text."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from gate.load import PathKey
from gate.pin.plan import PinEdit, PinError

_JSON_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"', re.DOTALL)
_JSON_LITERAL = re.compile(
    r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|NaN|-?Infinity"
)
_JSON_WHITESPACE = " \t\n\r"


def json_positions(text: str, edits: Sequence[PinEdit]) -> dict[PinEdit, list[int]]:
    """Closing-quote index of each JSON string that is an edit's value.

    JSON is matched by path and value only: `gate.load` gets JSON lines from the YAML parser,
    which gives up on tab-indented JSON, so lines may be coarse there.
    """
    found: dict[PinEdit, list[int]] = {}
    for path, value, close in _json_strings(text):
        for edit in edits:
            if value == edit.old and edit.matches(path):
                found.setdefault(edit, []).append(close)
    return found


def _json_strings(text: str) -> list[tuple[PathKey, str, int]]:
    """Every string value of a JSON document: (path, value, index of its closing quote)."""
    strings: list[tuple[PathKey, str, int]] = []

    def skip(i: int) -> int:
        while i < len(text) and text[i] in _JSON_WHITESPACE:
            i += 1
        return i

    def string_at(i: int) -> tuple[str, int]:
        match = _JSON_STRING.match(text, i)
        if match is None:
            raise PinError(f"unexpected JSON at character {i}")
        value: str = json.loads(match.group(0))
        return value, match.end()

    def value_at(i: int, path: PathKey) -> int:
        i = skip(i)
        char = text[i : i + 1]
        if char == '"':
            value, end = string_at(i)
            strings.append((path, value, end - 1))
            return end
        if char in "{[":
            closing = "}" if char == "{" else "]"
            i = skip(i + 1)
            index = 0
            while text[i : i + 1] != closing:
                if char == "{":
                    key, i = string_at(i)
                    i = skip(i)
                    if text[i : i + 1] != ":":
                        raise PinError(f"unexpected JSON at character {i}")
                    i = value_at(i + 1, (*path, key))
                else:
                    i = value_at(i, (*path, index))
                    index += 1
                i = skip(i)
                if text[i : i + 1] == ",":
                    i = skip(i + 1)
                elif text[i : i + 1] != closing:
                    raise PinError(f"unexpected JSON at character {i}")
            return i + 1
        match = _JSON_LITERAL.match(text, i)
        if match is None:
            raise PinError(f"unexpected JSON at character {i}")
        return match.end()

    value_at(0, ())
    return strings
