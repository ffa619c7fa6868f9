"""Pod spec fields read as the API server decodes them, each problem located for a finding.

A value of the wrong type (a number where a name goes) is a decoding error that refuses the
whole object; the readers here record it in a `Problems` list and read the field as absent.
"""

from __future__ import annotations

import re
from typing import Any

from gate.load import KubeObject, PathKey, get_path

Problems = list[tuple[str, int]]


def api_strings(
    obj: KubeObject, parent: dict[str, Any], name: str, ppath: PathKey, problems: Problems
) -> None:
    """A `[]string` field (a container's `command`, `args`): each item must be a string."""
    values = parent.get(name)
    items = dict(enumerate(values)) if isinstance(values, list) else {}
    for index in items:
        api_string(obj, items, index, (*ppath, name), problems)


def api_string(
    obj: KubeObject, parent: dict[Any, Any], name: str | int, ppath: PathKey, problems: Problems
) -> str | None:
    """A string field as the API server decodes it: a number, list or object there is a
    decoding error (`cannot unmarshal number into Go struct field ... of type string`) that
    refuses the whole object, recorded in `problems`; None for absent or null."""
    value = parent.get(name)
    if value is None or isinstance(value, str):
        return value
    kind = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
    }
    problems.append(
        (
            f"{dotted((*ppath, name))} must be a string, not {kind.get(type(value), 'an object')}",
            obj.line_of((*ppath, name)),
        )
    )
    return None


def dotted(path: PathKey) -> str:
    """`spec.containers[0].image`: a path as messages write it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def str_dict(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


_PATH_PART = re.compile(r"([^.\[\]]+)(?:\[(\*|\d+)\])?")


def expand_path(data: Any, pattern: str) -> list[PathKey]:
    """Concrete paths in `data` matching `pattern` (`a.b[*].c`, `a.b[0].c`) that exist."""
    found: list[PathKey] = [()]
    for part in pattern.split("."):
        match = _PATH_PART.fullmatch(part)
        if match is None:
            return []
        key, index = match.group(1), match.group(2)
        step: list[PathKey] = []
        for path in found:
            value = get_path(data, path)
            if not isinstance(value, dict) or key not in value:
                continue
            child = value[key]
            if index is None:
                step.append((*path, key))
            elif isinstance(child, list):
                indexes = range(len(child)) if index == "*" else [int(index)]
                step.extend((*path, key, i) for i in indexes if i < len(child))
        found = step
    return found
