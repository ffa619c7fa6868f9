"""Values decoded as the kubelet's Go codec decodes them: strict JSON and YAML, Go durations.

The kubelet's codec is strict: a key written twice is an error, in JSON as in YAML, and JSON has
no NaN or Infinity. Messages built here name a key (quoted and bounded by `show`) or a value's
JSON type (`kind_of`), never a value: a config's `env` and a plugin's answer may hold secrets.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from typing import Any, NoReturn

import yaml

_MAX_SHOWN = 100

_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC Greek small letter mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"([0-9]*)(\.([0-9]*))?([^0-9.]*)")
_MAX_NANOSECONDS = (1 << 63) - 1


def parse_go_duration(text: str) -> int:
    """Go's `time.ParseDuration`, in nanoseconds: a sign, then one or more decimal numbers with
    a unit (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), such as `300ms`, `-1.5h` or `2h45m`; `0` needs
    no unit. `ValueError` otherwise, or past Go's int64 range. Fractions below a nanosecond are
    dropped, as Go truncates them."""
    rest = text
    negative = False
    if rest[:1] in ("-", "+"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f"invalid duration {text!r}")
    total = 0
    position = 0
    while position < len(rest):
        part = _DURATION_PART.match(rest, position)
        assert part is not None  # every group may be empty
        whole, fraction, unit = part.group(1), part.group(3) or "", part.group(4)
        if not whole and not fraction:  # no digits before the unit (or a sign, a space)
            raise ValueError(f"invalid duration {text!r}")
        if not unit:
            raise ValueError(f"missing unit in duration {text!r}")
        scale = _DURATION_UNITS.get(unit)
        if scale is None:
            raise ValueError(f"unknown unit {unit[:10]!r} in duration {text!r}")
        value = int(whole or "0") * scale
        if fraction:
            value += int(Fraction(int(fraction), 10 ** len(fraction)) * scale)
        total += value
        if total > _MAX_NANOSECONDS + 1:
            raise ValueError(f"invalid duration {text!r} (out of range)")
        position = part.end()
    if negative:
        return -total
    if total > _MAX_NANOSECONDS:
        raise ValueError(f"invalid duration {text!r} (out of range)")
    return total


class _Duplicate(ValueError):
    pass


class StrictYAMLLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping, as `YAMLToJSONStrict` does."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the constructor will say so
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {show(str(key))} is written twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _Duplicate(f"key {show(key)} is written twice")
        document[key] = value
    return document


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def strict_json(text: str) -> Any:
    """JSON as Go reads it: no NaN or Infinity; here also no key twice (the codec is strict)."""
    return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)


def show(text: str) -> str:
    """A name or pattern, quoted and bounded, for a message (never used for a secret)."""
    return repr(text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "...")


def kind_of(value: Any) -> str:
    """What a value is, in JSON's words (never the value itself)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a YAML {type(value).__name__}"
