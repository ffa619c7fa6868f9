"""Files written whole or not at all: staged beside the target, renamed into place.

A signal, a full disk or a crash mid-write must never leave a manifest, a lock or a report
half-written, since a CI step may read it next.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator, Mapping
from types import FrameType
from typing import Any


def write_files(texts: Mapping[str, str]) -> None:
    """Replace every file with its new text, atomically per file, all staged before any lands.

    Each text goes to a temporary file in the target's own directory (so `os.replace` is a
    rename on one file system), with the target's mode; only when every one is written and
    synced are they renamed into place. A failure or a signal while staging leaves every file
    untouched and removes the staged ones; SIGINT and SIGTERM wait until the renames are done.
    """
    # marks this call's staged files, so that cleanup finds each one even when a signal
    # lands between creating a file and recording its name
    token = secrets.token_hex(6)
    staged: list[tuple[str, str]] = []
    directories: set[str] = set()
    streams: list[tuple[str, str]] = []
    done = False
    try:
        for path, text in texts.items():
            if _is_stream(path):
                streams.append((path, text))  # /dev/stdout, a pipe: nothing to rename over
                continue
            target = os.path.realpath(path)  # edit through a symlink, do not replace it
            directories.add(os.path.dirname(target) or ".")
            staged.append((_stage(target, text.encode("utf-8"), token), target))
        replaced: list[str] = []
        with _signals_held():  # every rename lands, then a pending SIGINT/SIGTERM is handled
            while staged:
                temp, target = staged[0]
                try:
                    os.replace(temp, target)
                except OSError as exc:
                    raise PartialWrite(exc, replaced) from None
                replaced.append(target)
                staged.pop(0)
        done = True
    finally:
        if not done:
            _remove_staged(directories, token)
    for path, text in streams:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)


class PartialWrite(OSError):
    """A rename failed after others had landed: says exactly which files were replaced."""

    def __init__(self, cause: OSError, replaced: list[str]) -> None:
        done = ", ".join(replaced) if replaced else "none"
        super().__init__(
            cause.errno,
            f"{cause.strerror or cause} (files already replaced: {done})",
            cause.filename,
        )
        self.replaced = tuple(replaced)


def is_writable_target(path: str) -> bool:
    """Whether `write_files` could write `path`: a stream that exists and is writable, or a
    file whose directory takes a staged file."""
    if _is_stream(path):
        return os.access(path, os.W_OK)
    directory = os.path.dirname(os.path.realpath(path)) or "."
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".pullgate-check."):
            return True
    except OSError:
        return False


def _is_stream(path: str) -> bool:
    """An existing target that is not a regular file (`/dev/stdout`, a FIFO, `>(...)`): it
    is written in place, as nothing can be renamed over it."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _remove_staged(directories: set[str], token: str) -> None:
    """Every file this call staged and did not rename, found by its token."""
    marker = f".{token}."
    for directory in directories:
        with contextlib.suppress(OSError), os.scandir(directory) as entries:
            for entry in entries:
                if marker in entry.name and entry.name.endswith(_SUFFIX):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the block (renames take microseconds each), so a set of
    files is never left half renamed; a signal that came meanwhile is handled after it.

    Python runs signal handlers in the main thread whichever thread the signal reaches, so
    the handlers are swapped for one that only notes the signal (a thread's signal mask would
    not hold it off)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous: dict[int, Any] = {}
    try:
        for held in _HELD:  # each recorded as it is swapped, so each is put back
            previous[int(held)] = signal.getsignal(held)
            signal.signal(held, note)
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if pending:
            handler = previous[pending[0]]
            if callable(handler):
                handler(pending[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(pending[0])


_HELD = (signal.SIGINT, signal.SIGTERM)


_SUFFIX = ".pullgate"


def _stage(target: str, data: bytes, token: str) -> str:
    directory, name = os.path.split(target)
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    fd, temp = tempfile.mkstemp(dir=directory or ".", prefix=f".{name}.{token}.", suffix=_SUFFIX)
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


def create_file(path: str, text: str) -> None:
    """Write a new file whole, or not at all, and never over an existing one: the text is
    staged beside it and linked into place, which fails (FileExistsError) if `path` exists."""
    target = os.path.abspath(path)
    temp = _stage(target, text.encode("utf-8"), secrets.token_hex(6))
    try:
        with _signals_held():
            os.link(temp, target)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)
