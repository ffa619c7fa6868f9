"""The `pullgate` group and its error boundary: every failure becomes one line and an exit code.

A `GateError` (a problem the user can fix) prints as `pullgate: error: …` and exits with its
own code; anything else is a bug, reported in one plain line with exit 2, never a traceback
that CI would read as a verdict.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any, NoReturn

import click

from gate import __version__
from gate.display import TEXT_LIMIT, shown
from gate.errors import GateError, Terminated
from gate.exits import EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE


class UsageError(click.UsageError):
    """A usage error that exits with the contract's code 2 (click's default is 2 as well)."""

    exit_code = EXIT_USAGE


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print `message` as pullgate's error line and exit with `code`."""
    click.echo(f"pullgate: error: {shown(message, TEXT_LIMIT)}", err=True)
    sys.exit(code)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def _signal_in(exc: BaseException) -> type[BaseException] | None:
    """`Terminated` or `KeyboardInterrupt` if `exc` is one, or carries one: a signal raised
    inside a task group (httpx's connection setup uses anyio) arrives wrapped in an exception
    group."""
    for kind in (Terminated, KeyboardInterrupt):
        if isinstance(exc, kind):
            return kind
    for inner in getattr(exc, "exceptions", ()):
        found = _signal_in(inner)
        if found is not None:
            return found
    return None


def _interrupted(name: str, code: int) -> NoReturn:
    """One line, no report, the shell's code for the signal: a cancelled job is not a
    violation (exit 1) and not a pass. Files are whole: a pin's are all written or none."""
    click.echo(f"pullgate: interrupted by {name} before the end; no report (exit {code})", err=True)
    sys.exit(code)


class _Gate(click.Group):
    """The command group, with the one place where errors turn into exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _terminate)
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except GateError as exc:
            fail(str(exc), exc.exit_code)
        except BaseException as exc:
            signalled = _signal_in(exc)
            if signalled is Terminated:
                _interrupted("SIGTERM", EXIT_SIGTERM)
            if signalled is KeyboardInterrupt:
                _interrupted("SIGINT", EXIT_SIGINT)
            if not isinstance(exc, Exception):
                raise  # SystemExit and the like
            import logging  # only for a crash: `-v` shows its traceback

            logging.getLogger("gate").debug("internal error", exc_info=True)
            click.echo(
                f"pullgate: internal error: {type(exc).__name__}: {exc} (a bug in pullgate; "
                "run with -vv for the traceback and please report it)",
                err=True,
            )
            sys.exit(EXIT_USAGE)


@click.group(
    cls=_Gate,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="pullgate")
def main() -> None:
    """pullgate: prove, before a deploy, that every pod's images pull and its secrets exist."""
