"""The one base of every error a user sees: a message, a hint, and the exit code it means.

Each stage raises its own subclass (`LoadError`, `ConfigError`, `LockError`, …); the CLI has a
single `except GateError` that prints the message and exits with `exit_code`.
"""

from __future__ import annotations

from gate.exits import EXIT_USAGE


class GateError(Exception):
    """A problem the user can fix; never a bug. `exit_code` defaults to 2 (usage or setup)."""

    exit_code: int = EXIT_USAGE


class Terminated(KeyboardInterrupt):
    """SIGTERM (how CI cancels a job), raised in the main thread so that every `finally`
    runs: staged files are removed, nothing is left half-written. A KeyboardInterrupt, as
    Ctrl-C's is, so that no `except Exception` swallows it."""
