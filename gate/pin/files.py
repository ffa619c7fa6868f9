"""The files a pin reads and writes: exact text in, a diff out, every write staged atomically."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import BinaryIO

from gate.atomic import write_files
from gate.errors import GateError
from gate.lock import Lock, dump_lock
from gate.pin.plan import PinError

__all__ = [
    "PinFileError",
    "read_manifest",
    "read_stdin",
    "unified_diff",
    "write_files",
    "write_lock",
]


class PinFileError(GateError):
    """A manifest, stdin or the lock file could not be read or written (exit 2, as for setup)."""


def read_stdin(stream: BinaryIO) -> str:
    """The whole stream as text; read as bytes, so that CRLF and a missing final newline survive."""
    try:
        return stream.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PinFileError(f"stdin: not UTF-8 text: {exc.reason}") from None


def read_manifest(path: str) -> str:
    """A file's exact text: no newline translation (CRLF stays CRLF), a BOM kept."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PinError(f"{path}: not UTF-8 text: {exc.reason}") from exc


def unified_diff(path: str, old: str, new: str) -> str:
    """What a pin would change in one file, as `git diff` shows it (`a/PATH`, `b/PATH`)."""
    name = path.replace(os.sep, "/")
    while name.startswith("./"):
        name = name[2:]
    name = name.lstrip("/")
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    out: list[str] = []
    for line in lines:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def write_lock(path: str, lock: Lock) -> None:
    """Write the lock file atomically (same staging as `write_files`)."""
    write_files({path: dump_lock(lock)})
