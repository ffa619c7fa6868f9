"""Command line: parse options, wire the stages, print the report, exit with the contract's code.

Nothing here decides anything about images or secrets; it only connects `gate.pipeline` to the
terminal. Every option can also be set as `PULLGATE_<OPTION>` in the environment.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import NoReturn

import click

from gate import __version__
from gate import platform as platforms
from gate.load import LoadError
from gate.pipeline import CheckOptions, run_check
from gate.policy import EXIT_USAGE, exit_code
from gate.policy.platforms import DEFAULT_PLATFORMS
from gate.registry.transport import (
    DEFAULT_BACKOFF,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    TransportOptions,
)
from gate.report import FORMATS, RenderContext, render
from gate.rules import Severity

log = logging.getLogger("gate")

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class _UsageError(click.UsageError):
    """A usage error that exits with the contract's code 2 (click's default is 2 as well)."""

    exit_code = EXIT_USAGE


def _env(name: str) -> str:
    return f"PULLGATE_{name}"


def _report_target(value: str) -> tuple[str, str]:
    fmt, sep, path = value.partition("=")
    if not sep or not path:
        raise _UsageError(f"--report wants FORMAT=PATH, got {value!r}")
    if fmt not in FORMATS:
        raise _UsageError(f"--report: unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    return fmt, path


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="pullgate")
def main() -> None:
    """pullgate: prove, before a deploy, that every pod's images pull and its secrets exist."""


@main.command()
@click.argument("paths", nargs=-1, type=str, envvar=_env("PATHS"))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default="text",
    show_default=True,
    envvar=_env("FORMAT"),
    help="Report printed on stdout.",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT=PATH",
    envvar=_env("REPORT"),
    help="Also write a report in FORMAT to PATH (repeatable).",
)
@click.option(
    "-n",
    "--namespace",
    default="default",
    show_default=True,
    envvar=_env("NAMESPACE"),
    help="Namespace of objects that do not name one.",
)
@click.option(
    "--offline",
    is_flag=True,
    envvar=_env("OFFLINE"),
    help="Ask no registry: static rules only; images are reported as not resolved.",
)
@click.option(
    "--platform",
    "platform_names",
    multiple=True,
    metavar="OS/ARCH[/VARIANT]",
    envvar=_env("PLATFORM"),
    help="Platform of the nodes a pod without node selectors may land on (repeatable).",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default="error",
    show_default=True,
    envvar=_env("FAIL_ON"),
    help="Lowest severity that fails the gate.",
)
@click.option(
    "--insecure-registry",
    "insecure",
    multiple=True,
    metavar="HOST[:PORT]",
    envvar=_env("INSECURE_REGISTRY"),
    help="Allow plain HTTP and unverified TLS for this registry (repeatable).",
)
@click.option(
    "--ca-file",
    "ca_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    envvar=_env("CA_FILE"),
    help="Trust this PEM CA bundle too (repeatable).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    envvar=_env("TIMEOUT"),
    help="Seconds to wait for a registry to answer one request.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0, max=10),
    default=DEFAULT_RETRIES,
    show_default=True,
    envvar=_env("RETRIES"),
    help="Retries on network trouble, 429 and 5xx, with exponential backoff.",
)
@click.option(
    "--color/--no-color",
    default=None,
    envvar=_env("COLOR"),
    help="Colour the text report (default: only on a terminal, and never with NO_COLOR).",
)
@click.option("-v", "--verbose", count=True, help="Log more on stderr (-vv for HTTP).")
def check(
    paths: tuple[str, ...],
    fmt: str,
    reports: tuple[str, ...],
    namespace: str,
    offline: bool,
    platform_names: tuple[str, ...],
    fail_on: str,
    insecure: tuple[str, ...],
    ca_files: tuple[str, ...],
    timeout: float,
    retries: int,
    color: bool | None,
    verbose: int,
) -> None:
    """Check rendered manifests: every image pulls, nothing refers to what is not there.

    PATHS are files, directories (searched for *.yaml, *.yml, *.json) or - for stdin.

    Exit codes: 0 passed; 1 findings at or above --fail-on; 2 usage or configuration error;
    3 nothing violated, but some image could not be verified (registry unreachable).
    """
    _configure_logging(verbose)
    if not paths:
        raise _UsageError("no manifests given: pass files, directories, or - for stdin")
    if not _DNS1123_LABEL.match(namespace) or len(namespace) > 63:
        raise _UsageError(f"--namespace {namespace!r} is not a valid namespace name")
    targets = [_report_target(value) for value in reports]
    try:
        node_platforms = tuple(platforms.parse(name) for name in platform_names)
    except ValueError as exc:
        raise _UsageError(f"--platform: {exc}") from None
    options = CheckOptions(
        paths=paths,
        namespace=namespace,
        offline=offline,
        platforms=node_platforms or DEFAULT_PLATFORMS,
        transport=TransportOptions(
            insecure_registries=frozenset(insecure),
            ca_files=ca_files,
            timeout=timeout,
            retries=retries,
            backoff=float(os.environ.get("PULLGATE_BACKOFF", DEFAULT_BACKOFF)),
        ),
    )
    try:
        result = run_check(options)
    except LoadError as exc:
        _fail_usage(str(exc))
    fail_level = Severity(fail_on)
    code = exit_code(result.findings, fail_level)
    use_color = color if color is not None else _color_default()
    for target_fmt, target_path in targets:
        context = RenderContext(color=False, fail_on=fail_on, exit_code=code)
        _write_report(target_path, render(target_fmt, result, context))
    context = RenderContext(color=use_color and fmt == "text", fail_on=fail_on, exit_code=code)
    click.echo(render(fmt, result, context), nl=False)
    sys.exit(code)


def _write_report(path: str, text: str) -> None:
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail_usage(f"cannot write report {path}: {exc.strerror or exc}")


def _fail_usage(message: str) -> NoReturn:
    click.echo(f"pullgate: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _color_default() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _configure_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=max(level, logging.DEBUG), format="pullgate: %(message)s", stream=sys.stderr
    )
    if verbose < 2:
        for noisy in ("httpx", "httpcore", "hpack"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
