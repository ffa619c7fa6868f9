"""A Secret that a rendered object makes once applied: its namespace, name, type and keys."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MadeSecret:
    """One Secret an object makes."""

    namespace: str
    name: str
    line: int
    type: str | None = None
    keys: frozenset[str] | None = None
