"""Run a composite GitHub Action's shell steps as a runner would, without a runner.

What the runner does for a composite action, and this module does too:

- inputs: the caller's `with:` values (strings), else each input's `default`; an unknown input is
  an error here (the runner only warns, but a test that misspells one would prove nothing);
- `${{ … }}` expressions in `if:`, `env:`, `working-directory:`, `run:` and the action's
  `outputs:` are replaced by their values: contexts `inputs`, `github`, `runner`, `steps`
  (`steps.<id>.outputs.<name>`) and `env`; a missing property is the empty string. Only property
  references and `==` / `!=` against a string literal are understood: anything else raises, so a
  richer expression added to action.yml fails the test instead of being half-evaluated;
- each `run:` step is written to a file and run as GitHub's `shell: bash` runs it,
  `bash --noprofile --norc -eo pipefail {0}`, with fresh `GITHUB_OUTPUT`, `GITHUB_ENV`,
  `GITHUB_PATH` and `GITHUB_STEP_SUMMARY` files; the `name=value` and `name<<DELIMITER` entries of
  `GITHUB_OUTPUT` become the step's outputs;
- a failing step stops the action (later steps are skipped, as under `success()`);
- a `uses:` step cannot run here: its outputs are given by the caller (`uses_outputs`).

Steps can also be skipped with outputs supplied (`given`): the tests install pullgate once with the
real install step, then give its outputs to every later run instead of reinstalling.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.DOTALL)
_REFERENCE = r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*"
_COMPARISON = re.compile(rf"^(?P<ref>{_REFERENCE})\s*(?P<op>==|!=)\s*'(?P<literal>(?:[^']|'')*)'$")

SHELLS = {
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"],
    "sh": ["sh", "-e"],
}


class UnsupportedExpression(ValueError):
    """An expression this emulation does not evaluate (extend it rather than guess)."""


def _lookup(contexts: Mapping[str, Any], ref: str) -> str:
    value: Any = contexts
    for part in ref.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return ""
        value = value[part]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        raise UnsupportedExpression(f"{ref} is an object, not a value")
    return str(value)


def evaluate(expression: str, contexts: Mapping[str, Any]) -> str:
    """The value of one expression (the text between `${{` and `}}`)."""
    expression = expression.strip()
    if re.fullmatch(_REFERENCE, expression):
        return _lookup(contexts, expression)
    match = _COMPARISON.match(expression)
    if match:
        # GitHub compares strings case-insensitively.
        left = _lookup(contexts, match["ref"]).casefold()
        right = match["literal"].replace("''", "'").casefold()
        equal = left == right
        return "true" if equal == (match["op"] == "==") else "false"
    raise UnsupportedExpression(f"expression not supported by the test runner: {expression!r}")


def substitute(text: str, contexts: Mapping[str, Any]) -> str:
    """`text` with every `${{ … }}` replaced by its value."""
    return _EXPRESSION.sub(lambda m: evaluate(m.group(1), contexts), text)


def condition(text: str | bool | None, contexts: Mapping[str, Any]) -> bool:
    """An `if:` (with or without `${{ }}`); no `if:` means `success()`, true here."""
    if text is None:
        return True
    if isinstance(text, bool):
        return text
    stripped = text.strip()
    inner = _EXPRESSION.fullmatch(stripped)
    value = evaluate(inner.group(1) if inner else stripped, contexts)
    return value not in ("", "false", "0")


def parse_output_file(text: str) -> dict[str, str]:
    """The runner's GITHUB_OUTPUT / GITHUB_ENV syntax: `name=value` or a heredoc."""
    outputs: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\r")
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value_lines: list[str] = []
            while i < len(lines) and lines[i].rstrip("\r") != delimiter:
                value_lines.append(lines[i].rstrip("\r"))
                i += 1
            if i >= len(lines):
                raise ValueError(f"output {name!r}: delimiter {delimiter!r} never closed")
            i += 1
            outputs[name] = "\n".join(value_lines)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
        else:
            raise ValueError(f"malformed output line {line!r}")
    return outputs


@dataclass
class StepRun:
    id: str
    skipped: bool
    exit_code: int = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    raw_output_file: str = ""
    summary: str = ""


@dataclass
class CompositeRun:
    steps: list[StepRun]
    outputs: dict[str, str]

    @property
    def exit_code(self) -> int:
        """The action's result: the first failing step's code, else 0."""
        for step in self.steps:
            if not step.skipped and step.exit_code != 0:
                return step.exit_code
        return 0

    def step(self, step_id: str) -> StepRun:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


def resolve_inputs(
    action: Mapping[str, Any], given: Mapping[str, str], contexts: Mapping[str, Any]
) -> dict[str, str]:
    declared: Mapping[str, Any] = action.get("inputs") or {}
    unknown = set(given) - set(declared)
    if unknown:
        raise ValueError(f"inputs not declared by the action: {sorted(unknown)}")
    resolved: dict[str, str] = {}
    for name, spec in declared.items():
        if name in given:
            resolved[name] = given[name]
            continue
        if spec.get("required") and "default" not in spec:
            raise ValueError(f"required input {name!r} not given")
        default = spec.get("default", "")
        resolved[name] = substitute(str(default), contexts)
    return resolved


def run_composite(
    action: Mapping[str, Any],
    *,
    inputs: Mapping[str, str],
    action_path: Path,
    workspace: Path,
    runner_temp: Path,
    github: Mapping[str, str] | None = None,
    base_env: Mapping[str, str] | None = None,
    uses_outputs: Mapping[str, Mapping[str, str]] | None = None,
    given: Mapping[str, Mapping[str, str]] | None = None,
    only: tuple[str, ...] | None = None,
    timeout: float = 300,
) -> CompositeRun:
    """Run the action's steps; `only` limits the run to those step ids (others are skipped)."""
    runs = action["runs"]
    if runs.get("using") != "composite":
        raise ValueError("not a composite action")
    runner_temp.mkdir(parents=True, exist_ok=True)
    github_context = {
        "action_path": str(action_path),
        "workspace": str(workspace),
        "token": "",
        **(github or {}),
    }
    runner_context = {"temp": str(runner_temp), "os": "Linux", "arch": "X64"}
    env = dict(base_env if base_env is not None else os.environ)
    env.update(
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ACTION_PATH": str(action_path),
            "RUNNER_TEMP": str(runner_temp),
            "RUNNER_OS": "Linux",
        }
    )
    steps_context: dict[str, dict[str, Any]] = {}
    contexts: dict[str, Any] = {
        "github": github_context,
        "runner": runner_context,
        "steps": steps_context,
        "env": env,
    }
    contexts["inputs"] = resolve_inputs(action, inputs, contexts)

    results: list[StepRun] = []
    failed = False
    for index, step in enumerate(runs["steps"]):
        step_id = str(step.get("id") or f"__step{index}")
        supplied = (given or {}).get(step_id)
        if failed or (only is not None and step_id not in only and supplied is None):
            results.append(StepRun(step_id, skipped=True))
            continue
        if supplied is not None:
            outputs = dict(supplied)
            results.append(StepRun(step_id, skipped=True, outputs=outputs))
            steps_context[step_id] = {"outputs": outputs, "outcome": "success"}
            continue
        if not condition(step.get("if"), contexts):
            results.append(StepRun(step_id, skipped=True))
            steps_context[step_id] = {"outputs": {}, "outcome": "skipped"}
            continue
        if "uses" in step:
            action_name = str(step["uses"]).split("@", 1)[0]
            if uses_outputs is None or action_name not in uses_outputs:
                raise ValueError(f"step {step_id}: no stand-in outputs for {step['uses']}")
            outputs = dict(uses_outputs[action_name])
            results.append(StepRun(step_id, skipped=False, outputs=outputs))
            steps_context[step_id] = {"outputs": outputs, "outcome": "success"}
            continue
        result = _run_step(step, step_id, index, contexts, env, workspace, runner_temp, timeout)
        results.append(result)
        steps_context[step_id] = {
            "outputs": result.outputs,
            "outcome": "success" if result.exit_code == 0 else "failure",
        }
        failed = result.exit_code != 0

    outputs = {
        name: substitute(str(spec.get("value", "")), contexts)
        for name, spec in (action.get("outputs") or {}).items()
    }
    return CompositeRun(results, outputs)


def _run_step(
    step: Mapping[str, Any],
    step_id: str,
    index: int,
    contexts: Mapping[str, Any],
    env: Mapping[str, str],
    workspace: Path,
    runner_temp: Path,
    timeout: float,
) -> StepRun:
    shell = step.get("shell")
    if shell not in SHELLS:
        raise ValueError(f"step {step_id}: shell {shell!r} not emulated")
    script = runner_temp / f"step-{index}-{step_id}.sh"
    script.write_text(substitute(str(step["run"]), contexts), encoding="utf-8")
    output_file = runner_temp / f"step-{index}-{step_id}.output"
    output_file.write_text("", encoding="utf-8")
    step_env = dict(env)
    for name, value in (step.get("env") or {}).items():
        step_env[str(name)] = substitute(str(value), contexts)
    step_env["GITHUB_OUTPUT"] = str(output_file)
    for name, suffix in (("GITHUB_ENV", "env"), ("GITHUB_PATH", "path")):
        extra = runner_temp / f"step-{index}-{step_id}.{suffix}"
        extra.write_text("", encoding="utf-8")
        step_env[name] = str(extra)
    summary = runner_temp / f"step-{index}-{step_id}.summary.md"
    summary.write_text("", encoding="utf-8")
    step_env["GITHUB_STEP_SUMMARY"] = str(summary)
    cwd = workspace / substitute(str(step.get("working-directory", ".")), contexts)
    command = [*SHELLS[shell], str(script)]
    proc = subprocess.run(
        command,
        cwd=cwd,
        env=step_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    raw = output_file.read_text(encoding="utf-8")
    return StepRun(
        step_id,
        skipped=False,
        exit_code=proc.returncode,
        stdout=proc.stdout,
        stderr=proc.stderr,
        outputs=parse_output_file(raw),
        command=command,
        raw_output_file=raw,
        summary=summary.read_text(encoding="utf-8"),
    )
