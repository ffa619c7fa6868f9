"""The one way tests run the command line: in-process, as a user would, crashes re-raised.

`pullgate(...)` returns click's `Result` (exit code, stdout, stderr kept apart); an exception
that is not an exit is raised again, so a traceback can never pass for a verdict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from click.testing import CliRunner, Result

from gate.cli import main
from gate.config_entries import CREATOR, REASON


def pullgate(
    *args: str, stdin: str | bytes | None = None, env: Mapping[str, str | None] | None = None
) -> Result:
    """`pullgate ARGS`; `stdin` is fed to standard input, `env` overrides the environment."""
    result = CliRunner().invoke(main, list(args), input=stdin, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def check_json(*args: str, **kwargs: Any) -> tuple[int, Any]:
    """`pullgate check --format json ARGS`: the exit code and the parsed report."""
    result = pullgate("check", "--format", "json", *args, **kwargs)
    return result.exit_code, json.loads(result.stdout)


def filled(config: str) -> str:
    """A `.pullgate.yaml` entry a hint printed, with its `<…>` reasons written as a user writes
    them before pasting (the config refuses a placeholder left as it is)."""
    for placeholder in (CREATOR, REASON):
        config = config.replace(placeholder, "made by the platform team's pipeline")
    return config
