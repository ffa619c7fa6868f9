"""`pullgate explain`: what a rule means, what the pod would have shown, and the fix."""

from __future__ import annotations

import click

from gate.cli.app import fail


@click.command()
@click.argument("rule_id", required=False)
def explain(rule_id: str | None) -> None:
    """Explain a rule: what it means, what the pod would have shown, how to fix it.

    Without RULE_ID, list every rule; `kinds` lists the custom resources read by their own rule.
    """
    from gate.rules import RULES  # the rules, only when asked (every run imports this module)

    if rule_id == "kinds":
        _explain_kinds()
        return
    if rule_id is None:
        width = max(len(r) for r in RULES)
        for rule in RULES.values():
            click.echo(f"{rule.id:<{width}}  {rule.severity.value:<7}  {rule.title}")
        return
    if rule_id not in RULES:
        import difflib  # only to suggest a rule's name (every run imports this module)

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


def _explain_kinds() -> None:
    from gate.extract.kinds import KINDS

    click.echo(
        "Custom resources read by their own rule (any version of the group), with the same\n"
        "rules, credentials, platforms, pin and lock as a Deployment's pods:\n"
    )
    group = None
    for kind in KINDS:
        if kind.group != group:
            group = kind.group
            click.echo(group)
        scope = "  (cluster-scoped: its pods are checked in --namespace)"
        click.echo(f"  {kind.kind}{scope if kind.cluster_scoped else ''}")
        for path in kind.paths or ("(no image of its own)",):
            click.echo(f"      {path}")
        click.echo(f"      from {kind.source}")
    click.echo(
        "\nOther kinds: a `containers` or `initContainers` list whose entries have a string\n"
        "`image` is read as a pod's containers. Any `image` string no reading takes, in any\n"
        "kind, is listed under unchecked_image_fields. Describe such fields with an `images:`\n"
        "entry in .pullgate.yaml (kind and apiVersion globs, paths, pull-secrets,\n"
        "service-account, node-selector, namespace): it adds the paths its kind's own reading\n"
        "does not take, so no image is counted twice."
    )
