"""Suppressions: accepted findings stay visible, counted and explained, never dropped.

A finding is suppressed for one object by an annotation on the object or its pod template,
`pullgate.io/ignore-<rule>: "<reason>"`, and project-wide by the config file's `ignore:` entries.
An annotation with an empty reason (or a `<…>` placeholder) or an unknown rule is not honoured
and is itself a finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from fnmatch import fnmatchcase

from gate.config import IgnoreRule
from gate.config_entries import unfilled
from gate.display import shown
from gate.model import Finding
from gate.reference import InvalidReference, parse_reference
from gate.rules import RULES
from gate.workload import ANNOTATION_DOMAIN, NotAString, PodSpec

ANNOTATION_PREFIX = f"{ANNOTATION_DOMAIN}ignore-"

_ObjectKey = tuple[str, str, str, str]


def _key(file: str, kind: str | None, namespace: str | None, name: str | None) -> _ObjectKey:
    """An object as findings name it (their fields are shown escaped, `gate.display`)."""
    return (file, shown(kind or ""), shown(namespace or ""), shown(name or ""))


def annotation_ignores(
    pods: Iterable[PodSpec],
) -> tuple[dict[_ObjectKey, dict[str, str]], list[Finding]]:
    """Valid ignore annotations per object, and findings for the invalid ones."""
    ignores: dict[_ObjectKey, dict[str, str]] = {}
    invalid: list[Finding] = []
    seen: set[tuple[_ObjectKey, str]] = set()
    for pod in pods:
        obj = pod.object
        key = _key(obj.file, obj.kind, obj.namespace, obj.name)
        for annotation, value in pod.annotations.items():
            if not annotation.startswith(ANNOTATION_PREFIX) or (key, annotation) in seen:
                continue
            seen.add((key, annotation))
            rule_id = annotation.removeprefix(ANNOTATION_PREFIX)
            problem = None
            if rule_id not in RULES:
                problem = f"names no known rule ({rule_id!r}; see `pullgate explain`)"
            elif isinstance(value, NotAString):
                problem = (
                    f"has the value {value} unquoted, which is not a string: the API server "
                    "refuses the object (annotations are strings); quote the reason"
                )
            elif not value.strip():
                problem = "has no reason; write why the finding is accepted"
            elif unfilled(value):
                problem = (
                    f"gives the placeholder {value.strip()!r} as its reason; write why the "
                    "finding is accepted"
                )
            if problem is None:
                ignores.setdefault(key, {})[rule_id] = value.strip()
                continue
            invalid.append(
                Finding.about(
                    "ignore-annotation-invalid",
                    pod,
                    pod.annotation_lines.get(annotation, obj.line),
                    f"annotation {annotation} {problem}, so it is not honoured",
                    RULES["ignore-annotation-invalid"].fix,
                )
            )
    return ignores, invalid


def suppress(
    findings: Iterable[Finding], pods: Sequence[PodSpec], config_ignores: Sequence[IgnoreRule]
) -> list[Finding]:
    """Mark findings accepted by an annotation or a config entry; add invalid annotations."""
    by_object, invalid = annotation_ignores(pods)
    result: list[Finding] = []
    for finding in [*findings, *invalid]:
        key = _key(finding.file, finding.kind, finding.namespace, finding.name)
        reason = by_object.get(key, {}).get(finding.rule)
        if reason is not None and finding.rule != "ignore-annotation-invalid":
            result.append(replace(finding, suppressed=reason, suppressed_by="annotation"))
            continue
        entry = next((e for e in config_ignores if _matches(e, finding)), None)
        if entry is not None:
            result.append(replace(finding, suppressed=entry.reason, suppressed_by="config"))
            continue
        result.append(finding)
    return result


def _matches(entry: IgnoreRule, finding: Finding) -> bool:
    if entry.rule != finding.rule:
        return False
    if entry.image is not None and not (
        finding.image and fnmatchcase(_canonical(finding.image), entry.image)
    ):
        return False
    for pattern, value in (
        (entry.namespace, finding.namespace),
        (entry.kind, finding.kind),
        (entry.name, finding.name),
    ):
        if pattern is not None and not (value and fnmatchcase(value, pattern)):
            return False
    return True


def _canonical(image: str) -> str:
    try:
        return parse_reference(image).canonical
    except InvalidReference:
        return image
