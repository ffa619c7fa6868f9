"""`--format junit`: JUnit XML for GitLab's `artifacts:reports:junit` (and Jenkins & co.).

A test case is one thing the gate checked: each container image of each pod spec, each
`imagePullSecrets` entry and each secret reference (`PodSpec.secret_refs`, where the model has
them). Each case has exactly one status, so the counts on the suites are plain sums:

- `<failure>` (one per finding) when a finding at or above `--fail-on` is a violation;
- `<error>` when the only failing findings say "could not verify" (registry unreachable,
  exit 3): JUnit's "the test could not run", which GitLab shows apart from failures;
- `<skipped>` for an image that `--offline` did not resolve and that has no failing finding:
  GitLab shows skipped tests as such, and a pass would claim a pull that was never tried;
- otherwise a pass.

Findings below the fail level (warnings, by default) and, with `--show-suppressed`, suppressed
ones go to the case's `<system-out>`: they do not fail the gate, so they fail no test. GitLab
reads only the element text of a failure (not its `message`), so the text repeats the message
with the hint and location. A finding that belongs to no case (an unparsable document, a
service account) gets a case of its own. Cases are grouped in one `<testsuite>` per file;
`classname` is file and object, as GitLab shows it as the suite; names are unique per class,
since GitLab keeps only the first of two equal names.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gate import __version__
from gate.display import shown
from gate.model import CheckResult, Finding, ImageUse, Outcome
from gate.report.sarif import message_with_hint, report_path
from gate.rules import Severity
from gate.verdict import UNVERIFIED_RULES
from gate.workload import PodSpec, SecretRef

if TYPE_CHECKING:
    from gate.report.render import RenderContext

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(result: CheckResult, context: RenderContext) -> str:
    return to_xml(build(result, context, env=os.environ))


def to_xml(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


@dataclass
class _Case:
    file: str
    classname: str
    name: str
    use: ImageUse | None = None
    findings: list[Finding] = field(default_factory=list)


def build(
    result: CheckResult, context: RenderContext, env: Mapping[str, str] | None = None
) -> ET.Element:
    """The `<testsuites>` element; `env` supplies CI_PROJECT_DIR (paths become relative)."""
    root_dir = (env or {}).get("CI_PROJECT_DIR") or None
    cases = _cases(result, root_dir, context.show_suppressed)
    fail_level = _fail_level(context.fail_on)

    suites: dict[str, list[ET.Element]] = {report_path(f, root_dir): [] for f in result.files}
    for case in cases:
        shown = [f for f in case.findings if f.suppressed is None or context.show_suppressed]
        suites.setdefault(case.file, []).append(_testcase(case, shown, fail_level, root_dir))

    top = ET.Element("testsuites", name="pullgate")
    for file, elements in suites.items():
        if elements:
            top.append(_suite(file, elements, result, context))
    if len(top) == 0:
        top.append(_suite("pullgate", [], result, context))
    _count(top, [case for suite in top for case in suite.iter("testcase")])
    top.set("time", "0")
    return top


def _fail_level(fail_on: str) -> Severity:
    try:
        return Severity(fail_on)
    except ValueError:
        return Severity.ERROR


def _cases(result: CheckResult, root_dir: str | None, show_suppressed: bool) -> list[_Case]:
    """Every checked thing, with the findings that belong to it, in document order."""
    cases: list[_Case] = []
    by_image: dict[tuple[str, int, str], _Case] = {}
    by_line: dict[tuple[str, int], _Case] = {}
    uses_of: dict[int, list[ImageUse]] = {}
    for use in result.uses:
        uses_of.setdefault(id(use.pod), []).append(use)
    for pod in result.pods:
        file = report_path(pod.object.file, root_dir)
        classname = _classname(pod, file)
        for use in uses_of.pop(id(pod), []):
            case = _image_case(use, file, classname)
            cases.append(case)
            by_image[(pod.object.file, use.container.line, shown(use.container.name))] = case
        for _name, line, label in _secret_refs(pod):
            case = _Case(file, classname, label)
            cases.append(case)
            by_line.setdefault((pod.object.file, line), case)
    for leftover in uses_of.values():  # uses whose pod is not listed: still checked images
        for use in leftover:
            file = report_path(use.pod.object.file, root_dir)
            case = _image_case(use, file, _classname(use.pod, file))
            cases.append(case)
            by_image[(use.pod.object.file, use.container.line, shown(use.container.name))] = case
    for finding in result.findings:
        if finding.severity is Severity.OFF:
            continue
        target = None
        if finding.target is not None:
            target = by_image.get((finding.file, finding.line, finding.target))
        if target is None:
            target = by_line.get((finding.file, finding.line))
        if target is None:
            if finding.suppressed is not None and not show_suppressed:
                continue  # nothing was checked there but this finding, and it is not shown
            file = report_path(finding.file, root_dir)
            classname = file
            if finding.kind is not None:
                classname += f" {finding.kind} {finding.namespace}/{finding.name}"
            target = _Case(file, classname, f"{finding.rule} (line {finding.line})")
            cases.append(target)
        target.findings.append(finding)
    _unique_names(cases)
    return cases


def _image_case(use: ImageUse, file: str, classname: str) -> _Case:
    container = use.container
    label = shown(container.name)
    if container.is_volume:
        label = container.label
    elif container.field != "containers":  # initContainer / ephemeralContainer
        label = f"{container.field.removesuffix('s')} {container.name}"
    image = shown(container.image) if container.image is not None else "no image"
    return _Case(file, classname, f"{label} ({image})", use=use)


def _secret_refs(pod: PodSpec) -> Iterable[tuple[str, int, str]]:
    """(name, line, case label) of each secret the pod names (pull secrets, then the secrets
    its containers and volumes use) and of its service account, checked the same way."""
    for secret, secret_line in pod.image_pull_secrets:
        yield secret, secret_line, f"imagePullSecret {secret}"
    for ref in pod.secret_refs:
        yield ref.name, ref.line, f"secret {ref.name}{_via(ref)}"
    if pod.service_account and pod.service_account_line is not None:
        yield pod.service_account, pod.service_account_line, f"serviceAccount {pod.service_account}"


def _via(ref: SecretRef) -> str:
    """` (env key password in app)`, ` (volume)`, ...: where the pod names the secret."""
    detail: list[str] = [ref.via]
    if ref.key:
        detail.append(f"key {ref.key}")
    if ref.volume:
        detail.append(ref.volume)
    if ref.container:
        detail.append(f"in {ref.container}")
    return f" ({' '.join(detail)})"


def _classname(pod: PodSpec, file: str) -> str:
    obj = pod.object
    return f"{file} {shown(obj.kind)} {shown(obj.namespace)}/{shown(obj.name)}"


def _unique_names(cases: list[_Case]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for case in cases:
        key = (case.classname, case.name)
        count = seen.get(key, 0) + 1
        seen[key] = count
        if count > 1:
            case.name = f"{case.name} #{count}"


def _testcase(
    case: _Case, findings: list[Finding], fail_level: Severity, root_dir: str | None
) -> ET.Element:
    element = ET.Element(
        "testcase",
        classname=_clean(case.classname),
        name=_clean(case.name),
        file=_clean(case.file),
        time="0",
    )
    failing = [f for f in findings if f.suppressed is None and f.severity.rank >= fail_level.rank]
    violations = [f for f in failing if f.rule not in UNVERIFIED_RULES]
    output: list[str] = []
    if violations:
        for finding in failing:
            _problem(element, "failure", finding, root_dir)
    elif failing:
        for finding in failing:
            _problem(element, "error", finding, root_dir)
    elif _not_resolved_offline(case.use):
        ET.SubElement(element, "skipped", message="not resolved: --offline asks no registry")
    failing_ids = {id(f) for f in failing}
    for finding in findings:
        if id(finding) in failing_ids:
            continue
        label = finding.severity.value
        if finding.suppressed is not None:
            label = f"suppressed {label} ({finding.suppressed})"
        output.append(f"{label} [{finding.rule}] {message_with_hint(finding)}")
    resolution = case.use.resolution if case.use is not None else None
    if resolution is not None and resolution.ok:
        output.append(f"resolved to {resolution.digest} with {resolution.credential}")
    if output:
        ET.SubElement(element, "system-out").text = _clean("\n".join(output))
    return element


def _problem(parent: ET.Element, tag: str, finding: Finding, root_dir: str | None) -> None:
    where = f"{report_path(finding.file, root_dir)}:{finding.line}"
    if finding.kind is not None:
        where += f" {finding.kind} {finding.namespace}/{finding.name}"
    if finding.container is not None:
        where += f", container {finding.container}"
    elif finding.volume is not None:
        where += f", image volume {finding.volume}"
    if finding.image is not None:
        where += f", image {finding.image}"
    problem = ET.SubElement(parent, tag, message=_clean(finding.message), type=_clean(finding.rule))
    problem.text = _clean(f"[{finding.rule}] {finding.message}\n{finding.hint}\nat {where}")


def _not_resolved_offline(use: ImageUse | None) -> bool:
    return (
        use is not None
        and use.resolution is not None
        and (use.resolution.outcome is Outcome.SKIPPED)
    )


def _suite(
    name: str, cases: list[ET.Element], result: CheckResult, context: RenderContext
) -> ET.Element:
    suite = ET.Element("testsuite", name=_clean(name))
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("pullgate.version", __version__),
        ("pullgate.exit_code", str(context.exit_code)),
        ("pullgate.fail_on", context.fail_on),
        ("pullgate.offline", str(result.offline).lower()),
    ):
        ET.SubElement(properties, "property", name=key, value=value)
    suite.extend(cases)
    _count(suite, cases)
    suite.set("time", "0")
    return suite


def _count(element: ET.Element, cases: list[ET.Element]) -> None:
    element.set("tests", str(len(cases)))
    for attribute, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        element.set(attribute, str(sum(1 for c in cases if c.find(tag) is not None)))


def _clean(text: str) -> str:
    """Drop what XML 1.0 cannot carry (control characters from a manifest)."""
    return _NOT_XML.sub("\ufffd", text)
