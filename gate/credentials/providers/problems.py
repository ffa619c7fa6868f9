"""A provider config's problems, worded without secrets and collected as `field.ErrorList` is.

The kubelet names every problem of one config stage together before it refuses to start; so does
the gate. A problem names where it is (`providers[0].env[1].value`) and what is wrong, never a
value that may be secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.credentials.providers.decoding import kind_of, parse_go_duration, show


def os_reason(exc: Exception) -> str:
    """An OS error's fixed description (`No such file or directory`), else the error's type."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


class Problems:
    """Everything wrong with one config, collected as the kubelet's field.ErrorList is."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.items.append(f"{where}: {problem}")

    def fields(self, obj: Mapping[Any, Any], allowed: frozenset[str], where: str) -> None:
        for key in obj:
            if key not in allowed:
                self.add(where, f"unknown field {show(str(key))}")

    def string(self, value: Any, where: str) -> str:
        """A Go `string` field: JSON null leaves it empty; anything but a string is an error."""
        if value is None:
            return ""
        if not isinstance(value, str):
            self.add(where, f"must be a string, not {kind_of(value)}")
            return ""
        return value

    def strings(self, value: Any, where: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(where, f"must be a list of strings, not {kind_of(value)}")
            return []
        return [self.string(item, f"{where}[{index}]") for index, item in enumerate(value)]

    def mapping(self, value: Any, where: str) -> Mapping[Any, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.add(where, f"must be an object, not {kind_of(value)}")
            return None
        return value

    def boolean(self, value: Any, where: str) -> bool | None:
        if value is None:
            return None
        if not isinstance(value, bool):
            self.add(where, f"must be true or false, not {kind_of(value)}")
            return None
        return value

    def duration(self, value: Any, where: str) -> int | None:
        """A `*metav1.Duration`: a Go duration string; null is absent."""
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(where, f"must be a Go duration string such as 12h or 0s, not {kind_of(value)}")
            return None
        try:
            return parse_go_duration(value)
        except ValueError as exc:
            self.add(where, str(exc))
            return None
