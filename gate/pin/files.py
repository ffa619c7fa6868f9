"""The files a pin reads and writes: exact text in, a diff out, every write staged atomically."""

from __future__ import annotations

import contextlib
import difflib
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from gate.errors import GateError
from gate.lock import Lock, dump_lock
from gate.pin.plan import PinError


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


def write_files(texts: Mapping[str, str]) -> None:
    """Replace every file with its new text, atomically per file, all staged before any lands.

    Each text goes to a temporary file in the target's own directory (so `os.replace` is a
    rename on one file system), with the target's mode; only when every one is written and
    synced are they renamed into place. A failure while staging leaves every file untouched.
    """
    staged: list[tuple[str, str]] = []
    try:
        for path, text in texts.items():
            target = os.path.realpath(path)  # edit through a symlink, do not replace it
            staged.append((_stage(target, text.encode("utf-8")), target))
        while staged:
            temp, target = staged[0]
            os.replace(temp, target)
            staged.pop(0)
    finally:
        for temp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def _stage(target: str, data: bytes) -> str:
    directory, name = os.path.split(target)
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    fd, temp = tempfile.mkstemp(dir=directory or ".", prefix=f".{name}.", suffix=".pullgate")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, stat.S_IMODE(info.st_mode) if info is not None else _new_file_mode())
        if info is not None and hasattr(os, "chown"):
            with contextlib.suppress(OSError):  # only root may give a file away; best effort
                os.chown(temp, info.st_uid, info.st_gid)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return temp


def _new_file_mode() -> int:
    """0666 less the umask, as `open()` would create a file (mkstemp makes 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_lock(path: str, lock: Lock) -> None:
    """Write the lock file atomically (same staging as `write_files`)."""
    write_files({path: dump_lock(lock)})
