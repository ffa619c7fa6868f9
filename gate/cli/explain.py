"""`pullgate explain`: what a rule means, what the pod would have shown, and the fix."""

from __future__ import annotations

import difflib

import click

from gate.cli.app import fail
from gate.rules import RULES


@click.command()
@click.argument("rule_id", required=False)
def explain(rule_id: str | None) -> None:
    """Explain a rule: what it means, what the pod would have shown, how to fix it.

    Without RULE_ID, list every rule.
    """
    if rule_id is None:
        width = max(len(r) for r in RULES)
        for rule in RULES.values():
            click.echo(f"{rule.id:<{width}}  {rule.severity.value:<7}  {rule.title}")
        return
    if rule_id not in RULES:
        close = difflib.get_close_matches(rule_id, list(RULES), n=3)
        suggestion = f" (did you mean {', '.join(close)}?)" if close else ""
        fail(f"unknown rule {rule_id!r}{suggestion}; `pullgate explain` lists them")
    rule = RULES[rule_id]
    click.echo(f"{rule.id} ({rule.severity.value} by default)\n")
    click.echo(f"What:      {rule.title}")
    click.echo(f"The pod:   {rule.symptom}")
    click.echo(f"Fix:       {rule.fix}")
    click.echo(
        f'Accept it: annotate the object with pullgate.io/ignore-{rule.id}: "<reason>", or '
        "add an `ignore:` entry to .pullgate.yaml."
    )
