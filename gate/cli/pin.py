"""`pullgate pin`: pin every image to its digest, as a diff, in place, or through stdin."""

from __future__ import annotations

import sys
from typing import Any

import click

from gate.cli.app import UsageError
from gate.cli.options import env, shared_options
from gate.display import TEXT_LIMIT, shown
from gate.exits import EXIT_OK


@click.command()
@shared_options
@click.option(
    "--write",
    is_flag=True,
    envvar=env("WRITE"),
    help="Edit the files in place (atomically; nothing is written unless every image resolved).",
)
@click.option(
    "--lock",
    "lock_path",
    type=click.Path(dir_okay=False),
    envvar=env("LOCK"),
    help="Also write what every image resolved to into this lock file.",
)
@click.pass_context
def pin(ctx: click.Context, /, paths: tuple[str, ...], **params: Any) -> None:
    """Pin every container image to the digest it resolves to: name:tag@sha256:...

    Without --write, print what would change as a unified diff. With -, read one stream from
    stdin and write it, pinned, to stdout. Nothing is written unless every image resolved.
    Exit codes as for check: 0 pinned; 1 an image or document blocks the pin; 2 usage error;
    3 a registry could not be reached.
    """
    from gate.cli.logs import configure_logging  # logging, only once a command runs
    from gate.cli.settings import Settings, load_settings_file  # the stages: only to run
    from gate.load import STDIN
    from gate.pin import read_stdin, run_pin
    from gate.report.progress import ProgressLine

    configure_logging(params["verbose"])
    if not paths:
        raise UsageError("no manifests given: pass files, directories, or - for stdin")
    if STDIN in paths and len(paths) > 1:
        raise UsageError("- (stdin) cannot be mixed with other paths")
    if STDIN in paths and params["write"]:
        raise UsageError("--write edits files; with - the pinned stream goes to stdout")
    stdin_text = read_stdin(sys.stdin.buffer) if STDIN in paths else None
    config = load_settings_file(params["config_path"])
    lock_path = params.pop("lock_path")
    options = Settings(ctx, params, config).check_options(paths)
    progress = ProgressLine.for_terminal(sys.stderr, disabled=params["no_progress"])
    try:
        pinned = run_pin(
            options,
            stdin_text=stdin_text,
            write=params["write"],
            lock_path=lock_path,
            progress=progress,
        )
    finally:
        progress.close()
    if not pinned.plan.complete:
        for problem in pinned.plan.problems:
            click.echo(f"pullgate: {shown(str(problem), TEXT_LIMIT)}", err=True)
        click.echo("pullgate: nothing pinned: every image must resolve first", err=True)
        sys.exit(pinned.exit_code)
    stdout = sys.stdout.buffer  # bytes: CRLF in a manifest stays CRLF
    if stdin_text is not None:
        stdout.write(pinned.pinned_stream.encode("utf-8"))
    elif params["write"]:
        click.echo(
            f"pullgate: pinned {len(pinned.plan.edits)} image(s) in {len(pinned.changed)} file(s)",
            err=True,
        )
    else:
        stdout.write(pinned.diff().encode("utf-8"))
    stdout.flush()
    sys.exit(EXIT_OK)
