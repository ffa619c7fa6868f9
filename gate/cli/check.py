"""`pullgate check`: run the pipeline, write the reports, exit with the verdict's code."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gate.cli.app import UsageError, fail
from gate.cli.options import env, shared_options
from gate.report import FORMATS

if TYPE_CHECKING:
    from gate.model import CheckResult
    from gate.pipeline import CheckOptions
    from gate.report.progress import ProgressLine


def report_target(value: str) -> tuple[str, str]:
    """`--report FORMAT=PATH`."""
    fmt, sep, path = value.partition("=")
    if not sep or not path:
        raise UsageError(f"--report wants FORMAT=PATH, got {value!r}")
    if fmt not in FORMATS:
        raise UsageError(f"--report: unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    return fmt, path


def run(options: CheckOptions, progress: ProgressLine) -> CheckResult:
    """Run the check with a progress line that is gone before anything else is printed."""
    from gate.pipeline import run_check

    try:
        return run_check(options, progress=progress)
    finally:
        progress.close()


@click.command()
@shared_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default="text",
    show_default=True,
    envvar=env("FORMAT"),
    help="Report printed on stdout (in GitHub Actions: github).",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT=PATH",
    envvar=env("REPORT"),
    help="Also write a report in FORMAT to PATH (repeatable).",
)
@click.option(
    "--offline",
    is_flag=True,
    envvar=env("OFFLINE"),
    help="Ask no registry: static rules only; images are reported as not resolved.",
)
@click.option(
    "--platform",
    "platform_names",
    multiple=True,
    metavar="OS/ARCH[/VARIANT]",
    envvar=env("PLATFORM"),
    help="Platform of the nodes a pod without node selectors may land on (repeatable).",
)
@click.option(
    "--runtime",
    "runtime_name",
    metavar="RUNTIME",
    envvar=env("RUNTIME"),
    help="The nodes' container runtime, whose rule decides which image platforms a node "
    "takes: containerd-2.1 (default: 2.1 and later), containerd-2.0, containerd-1.7, cri-o.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default="error",
    show_default=True,
    envvar=env("FAIL_ON"),
    help="Lowest severity that fails the gate.",
)
@click.option(
    "--lock",
    "lock_path",
    type=click.Path(dir_okay=False),
    envvar=env("LOCK"),
    help="Fail images whose digest differs from this lock file (written by pin --lock).",
)
@click.option(
    "--nodes",
    "node_count",
    type=click.IntRange(min=1),
    metavar="N",
    envvar=env("NODES"),
    help="How many nodes the cluster has: a DaemonSet pulls its images on each (for "
    "docker-hub-rate-limit; config `nodes: {count: N}`).",
)
@click.option(
    "--color/--no-color",
    default=None,
    envvar=env("COLOR"),
    help="Colour the text report (default: only on a terminal, and never with NO_COLOR).",
)
@click.option(
    "--show-suppressed",
    is_flag=True,
    envvar=env("SHOW_SUPPRESSED"),
    help="List suppressed findings too (they are always counted).",
)
@click.pass_context
def check(ctx: click.Context, /, paths: tuple[str, ...], **params: Any) -> None:
    """Check rendered manifests: every image pulls, nothing refers to what is not there.

    PATHS are files, directories (searched for *.yaml, *.yml, *.json) or - for stdin.

    Exit codes: 0 passed; 1 findings at or above --fail-on; 2 usage or configuration error;
    3 nothing violated, but something could not be verified (a registry or the API server out
    of reach, or access to the API server denied).
    """
    # the stages are imported here, not at start-up: `--version` and `--help` need none, and
    # each run only the ones it uses (the network stack only to resolve, see gate.pipeline)
    from dataclasses import replace

    from gate.cli.logs import configure_logging  # logging, only once a command runs
    from gate.cli.settings import Settings, load_settings_file
    from gate.report.progress import ProgressLine
    from gate.report.render import RenderContext, render, render_pieces
    from gate.verdict import Verdict

    configure_logging(params["verbose"])
    if not paths:
        raise UsageError("no manifests given: pass files, directories, or - for stdin")
    config = load_settings_file(params["config_path"])
    settings = Settings(ctx, params, config)
    options = settings.check_options(paths)
    targets = [report_target(value) for value in params["reports"]]
    for _, target_path in targets:  # before any network work, so no verdict is lost
        preflight_report(target_path)
    progress = ProgressLine.for_terminal(sys.stderr, disabled=params["no_progress"])
    result = run(options, progress)
    if result.objects == 0 and not result.findings:  # only with --allow-empty
        click.echo(
            f"pullgate: no Kubernetes objects found in {' '.join(paths)}: nothing to check "
            "(--allow-empty)",
            err=True,
        )
    fail_on = settings.fail_on
    verdict = Verdict.of(result.findings, fail_on)
    code = verdict.exit_code
    context = RenderContext(
        verdict=verdict,
        show_suppressed=params["show_suppressed"],
    )
    for target_fmt, target_path in targets:
        write_report(target_path, render(target_fmt, result, context))
    fmt = settings.format
    if os.environ.get("GITHUB_STEP_SUMMARY") and "github" in {fmt, *(f for f, _ in targets)}:
        from gate.report.github import write_step_summary

        try:
            write_step_summary(result, context, os.environ["GITHUB_STEP_SUMMARY"])
        except OSError as exc:
            click.echo(f"pullgate: warning: cannot write the step summary: {exc}", err=True)
    color = params["color"] if params["color"] is not None else color_default()
    stdout_context = replace(
        context, color=color and fmt == "text", width=terminal_width() if fmt == "text" else None
    )
    echo_in_pieces(render_pieces(fmt, result, stdout_context), stdout_context.color)
    sys.exit(code)


def echo_in_pieces(texts: Iterable[str], color: bool, piece: int = 1 << 20) -> None:
    """`click.echo` of the report as it is made, a megabyte at a time, each cut after a line
    feed (no escape sequence spans two): click's copy without colour codes and the encoded
    bytes then cost a piece each, not the whole report each (tens of megabytes on a large
    set), and a report made an entry at a time is never whole in memory."""
    pending: list[str] = []
    size = 0
    for text in texts:
        pending.append(text)
        size += len(text)
        if size >= piece:
            rest = _echo_lines("".join(pending), color, piece)
            pending, size = [rest], len(rest)
    rest = _echo_lines("".join(pending), color, piece)
    if rest:
        click.echo(rest, nl=False, color=color)


def _echo_lines(text: str, color: bool, piece: int) -> str:
    """Echo `text` up to its last line feed in pieces cut after line feeds (a line longer
    than a piece whole); return what follows the last line feed."""
    start = 0
    last = text.rfind("\n") + 1
    while start < last:
        end = last
        if end - start > piece:
            cut = text.rfind("\n", start, start + piece)
            end = cut + 1 if cut >= start else text.find("\n", start + piece) + 1
        click.echo(text[start:end], nl=False, color=color)
        start = end
    return text[last:]


def preflight_report(path: str) -> None:
    """Fail now (exit 2) if the report cannot be written later: its directory is created and
    a file staged in it, as the report will be."""
    from gate.atomic import is_writable_target

    target = Path(path)
    if target.is_dir():
        fail(f"--report {path}: is a directory")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"--report {path}: cannot write there: {exc.strerror or exc}")
    if not is_writable_target(path):
        fail(f"--report {path}: cannot write there")


def write_report(path: str, text: str) -> None:
    """The report whole or not at all (staged and renamed), never half-written."""
    from gate.atomic import write_files

    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_files({path: text})
    except OSError as exc:
        fail(f"cannot write report {path}: {exc.strerror or exc}")


def terminal_width() -> int | None:
    """The terminal's columns when stdout is one (COLUMNS wins, as shutil reads it); None for
    a pipe, a file or a CI log, where lines are never cut."""
    if not sys.stdout.isatty():
        return None
    import shutil

    return shutil.get_terminal_size().columns


def color_default() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()
