"""`pullgate pin`: pin every image to its digest, as a diff, in place, or through stdin."""

from __future__ import annotations

import io
import sys
from dataclasses import replace
from typing import Any

import click

from gate.cli.app import UsageError, fail
from gate.cli.check import run
from gate.cli.logs import configure_logging
from gate.cli.options import env, shared_options
from gate.cli.settings import Settings, load_settings_file
from gate.load import STDIN
from gate.pin import (
    pin_texts,
    plan_check,
    read_manifest,
    unified_diff,
    write_files,
    write_lock,
)
from gate.report.progress import ProgressLine
from gate.verdict import EXIT_OK


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
    configure_logging(params["verbose"])
    if not paths:
        raise UsageError("no manifests given: pass files, directories, or - for stdin")
    if STDIN in paths and len(paths) > 1:
        raise UsageError("- (stdin) cannot be mixed with other paths")
    if STDIN in paths and params["write"]:
        raise UsageError("--write edits files; with - the pinned stream goes to stdout")
    stdin_text: str | None = None
    if STDIN in paths:
        try:  # bytes, so that CRLF and a missing final newline survive
            stdin_text = sys.stdin.buffer.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            fail(f"stdin: not UTF-8 text: {exc.reason}")
    config = load_settings_file(params["config_path"])
    lock_path = params.pop("lock_path")
    options = Settings(ctx, params, config).check_options(paths)
    if stdin_text is not None:
        options = replace(options, stdin=io.StringIO(stdin_text))
    progress = ProgressLine.for_terminal(sys.stderr, disabled=params["no_progress"])
    result = run(options, progress)
    plan = plan_check(result)
    if not plan.complete:
        for problem in plan.problems:
            click.echo(f"pullgate: {problem}", err=True)
        click.echo("pullgate: nothing pinned: every image must resolve first", err=True)
        sys.exit(plan.exit_code)
    try:
        texts = {f: stdin_text if f == STDIN else read_manifest(f) for f in plan.files}
        changed = pin_texts(plan, {f: t for f, t in texts.items() if t is not None})
    except OSError as exc:
        fail(f"cannot read {exc.filename}: {exc.strerror or exc}")
    try:
        if params["write"]:
            write_files(changed)
        if lock_path:
            write_lock(lock_path, plan.lock)
    except OSError as exc:
        fail(f"cannot write {exc.filename}: {exc.strerror or exc}")
    stdout = sys.stdout.buffer  # bytes: CRLF in a manifest stays CRLF
    if stdin_text is not None:
        stdout.write(changed.get(STDIN, stdin_text).encode("utf-8"))
    elif params["write"]:
        click.echo(
            f"pullgate: pinned {len(plan.edits)} image(s) in {len(changed)} file(s)", err=True
        )
    else:
        diff = "".join(unified_diff(f, texts[f] or "", new) for f, new in changed.items())
        stdout.write(diff.encode("utf-8"))
    stdout.flush()
    sys.exit(EXIT_OK)
