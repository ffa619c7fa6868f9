"""Running a credential program: no shell, its own process group, killed whole on timeout.

Docker credential helpers and the kubelet's credential provider plugins are both programs whose
answer on stdout holds a secret, and both may hang (a helper waiting for a desktop keychain
prompt, a plugin waiting for a metadata server). Both are run here alike: the argument vector
as given, without a shell; the caller's environment; the request on stdin; in a new session, so
that a timeout kills the program and everything it started, not only the first process. Nothing
here logs or words what the program printed: the callers decide what may be said about it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

REAP_TIMEOUT = 5.0
"""Seconds to wait for a killed program to be reaped."""


@dataclass(frozen=True)
class Finished:
    """A program that ended by itself: its status and what it printed (which may be secret)."""

    returncode: int
    """The exit status; negative: killed by that signal."""
    stdout: bytes = field(repr=False)
    stderr: bytes = field(repr=False)
    """Empty unless the caller asked to capture it."""


class TimedOut(Exception):
    """The program did not finish in time; it and its process group were killed."""


def run_program(
    argv: Sequence[str],
    stdin: bytes,
    env: Mapping[str, str],
    timeout: float,
    *,
    capture_stderr: bool = False,
) -> Finished:
    """Run `argv` with `stdin` as its input and wait at most `timeout` seconds.

    Raises what `subprocess.Popen` raises when the program cannot be started (`OSError`,
    `ValueError`), and `TimedOut` after killing the program and its children. Without
    `capture_stderr` the program's error output is discarded, never read.
    """
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if capture_stderr else subprocess.DEVNULL,
        env=dict(env),
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise TimedOut(f"no answer within {timeout:g} s") from None
    return Finished(process.returncode, stdout, stderr or b"")


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the program and everything it started, then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=REAP_TIMEOUT)
