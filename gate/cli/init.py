"""`pullgate init`: write a commented .pullgate.yaml from what the manifests show."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import click

from gate.cli.app import fail

DEFAULT_OUTPUT = ".pullgate.yaml"


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--output",
    "-o",
    default=DEFAULT_OUTPUT,
    show_default=True,
    metavar="FILE",
    help="Where to write it (- for stdout); an existing file is never overwritten.",
)
def init(paths: tuple[str, ...], output: str) -> None:
    """Write a commented .pullgate.yaml for the manifests under PATHS (default: .).

    What the manifests show is set: the platforms their node selectors ask for, the namespace
    unnamespaced objects go to; the registries the images come from and the Secrets nothing
    here creates are listed, commented out; every other setting is there with its default.
    Exit codes: 0 written; 2 the file exists (never overwritten) or cannot be written.
    """
    from gate.atomic import create_file
    from gate.config import CONFIG_NAMES
    from gate.survey import config_text, survey

    if output != "-":
        if output.endswith(("/", os.sep)):
            fail(f"--output {output}: give a file name, not a directory")
        target = Path(output)
        # a config beside it under the other name would be read instead of, or before, it
        near = (
            [target.with_name(name) for name in CONFIG_NAMES] if target.name in CONFIG_NAMES else []
        )
        for existing in [target, *near]:
            if existing.exists():
                _refuse(existing)
    found = survey(paths or (".",))
    text = config_text(found)
    if output == "-":
        click.echo(text, nl=False)
        return
    try:
        create_file(output, text)
    except FileExistsError:  # it appeared after the look above
        _refuse(Path(output))
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    click.echo(
        f"pullgate: wrote {output} ({found.counts}); read it, then run pullgate check", err=True
    )


def _refuse(existing: Path) -> NoReturn:
    fail(f"{existing} already exists: not overwritten (remove it, or pass --output)")
