"""Files written whole or not at all: staged beside the target, renamed into place.

A signal, a full disk or a crash mid-write must never leave a manifest, a lock or a report
half-written, since a CI step may read it next.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Mapping


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
