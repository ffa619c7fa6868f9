"""What to fix, grouped: the closing digest of the text report and the top of the step summary.

Findings name the same fix many times: one missing Secret referred to by five pods is one
Secret to create, one image on `latest` in three objects one tag to choose. So the digest
counts the distinct things to fix, errors first, and gathers the `.pullgate.yaml` entries the
hints offer into one block per top-level key (YAML takes each key once, so two pasted
`secrets:` blocks would be a duplicate key). `ignore:` entries are left to each finding's own
hint: a block accepting everything at once would be pasted without reading what it accepts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gate.config_entries import ConfigEntry, block
from gate.display import counted
from gate.model import Finding
from gate.rules import Severity

IMAGE_TROUBLE = {
    "image-latest-tag": "on `latest`",
    "image-no-tag": "without a tag",
    "image-tag-not-found": "whose tag is not in the registry",
    "image-repository-not-found": "whose repository does not exist",
    "image-digest-not-found": "whose digest is not in the registry",
    "image-pull-unauthorized": "the pods' credentials cannot pull",
    "image-platform-missing": "with no build for the nodes' platforms",
    "image-registry-unreachable": "whose registry could not be reached",
    "image-reference-invalid": "with an invalid reference",
    "image-manifest-invalid": "served damaged",
    "image-pull-unverified": "whose pull could not be verified",
    "image-platform-unverified": "whose platform could not be read",
    "image-not-runnable": "packed as an OCI artifact (nothing to run)",
    "image-volume-unsupported": "mounted as a volume the runtime cannot mount",
    "image-pull-policy-never": "never pulled (`imagePullPolicy: Never`)",
    "image-tag-digest-mismatch": "whose tag has moved off the pinned digest",
    "image-lock-mismatch": "resolving to another digest than the lock file's",
    "pull-secret-invalid": "whose pod's pull secret the kubelet cannot read",
}
"""How the digest says what is wrong with the images of a rule (after `1 image` or `2 images`:
no verb, so no agreement to get wrong)."""
OBJECT_TROUBLE = {"docker-hub-rate-limit": "over Docker Hub's pull budget"}
"""Rules found once per pod template, whichever of its images the finding points at: the
digest counts their objects (three Deployments over the budget are not one image's three
uses)."""
LISTED = 8
"""Names a digest line lists before it says how many more there are."""

PASTE_LEADS = {
    "secrets": "Secrets made outside these manifests? declare them in .pullgate.yaml:",
    "nodes": "Registries the nodes reach by their own means (an instance role, a kubelet "
    "credential)? declare them in .pullgate.yaml; a CI login then verifies on their behalf:",
    "registries": "Nodes that pull through a mirror? name it in .pullgate.yaml (the URL is "
    "yours to fill in):",
}
"""What each gathered block is for, by its top-level key; only these keys are gathered."""


@dataclass(frozen=True)
class Line:
    """One thing to fix: `3 Secrets missing in namespace kong`, the rules that said so, and
    the names (`a (3 uses), b, and 4 more`; empty for a rule counted as a whole)."""

    head: str
    rules: tuple[str, ...]
    names: str
    errors: bool


@dataclass(frozen=True)
class Paste:
    """A block of `.pullgate.yaml` to paste, and the question it answers."""

    lead: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Digest:
    findings: int
    lines: tuple[Line, ...]
    pastes: tuple[Paste, ...]


def digest(findings: Iterable[Finding]) -> Digest | None:
    """The digest of the findings that count (suppressed ones are left out), or None."""
    active = [f for f in findings if f.suppressed is None and f.severity is not Severity.OFF]
    if not active:
        return None
    groups: dict[tuple[str, str, str], _Group] = {}
    entries: dict[str, list[ConfigEntry]] = {}
    for finding in active:
        if finding.subject is not None and finding.subject_kind is not None:
            key = ("missing", finding.subject_kind, finding.namespace or "")
            name: str | None = finding.subject
        elif finding.rule in OBJECT_TROUBLE:
            key = ("object", finding.rule, "")
            name = f"{finding.kind} {finding.namespace}/{finding.name}"
        elif finding.image is not None:
            key, name = ("image", finding.rule, ""), finding.image
        else:
            key, name = ("rule", finding.rule, ""), None
        groups.setdefault(key, _Group()).add(finding, name)
        if finding.entry is not None and finding.entry.top in PASTE_LEADS:
            entries.setdefault(finding.entry.top, []).append(finding.entry)
    ordered = sorted(groups.items(), key=lambda item: not item[1].errors)  # errors first
    return Digest(
        len(active),
        tuple(group.line(*key) for key, group in ordered),
        tuple(Paste(PASTE_LEADS[top], tuple(block(found))) for top, found in entries.items()),
    )


class _Group:
    """One line of the digest: its findings' rules, and the uses of each name it lists."""

    def __init__(self) -> None:
        self.rules: list[str] = []
        self.uses: dict[str, int] = {}
        self.findings = 0
        self.errors = False

    def add(self, finding: Finding, name: str | None) -> None:
        if finding.rule not in self.rules:
            self.rules.append(finding.rule)
        if name is not None:
            self.uses[name] = self.uses.get(name, 0) + 1
        self.findings += 1
        self.errors = self.errors or finding.severity is Severity.ERROR

    def line(self, shape: str, what: str, namespace: str) -> Line:
        if shape == "rule":
            head = counted(self.findings, "finding") + " of"
            return Line(head, tuple(self.rules), "", self.errors)
        if shape == "missing":
            head = f"{counted(len(self.uses), what)} missing in namespace {namespace}"
        elif shape == "object":
            head = f"{counted(len(self.uses), 'object')} {OBJECT_TROUBLE[what]}"
        else:
            head = f"{counted(len(self.uses), 'image')} {IMAGE_TROUBLE.get(what, 'with findings')}"
        return Line(head, tuple(self.rules), _names(self.uses), self.errors)


def _names(uses: dict[str, int]) -> str:
    """`a (3 uses), b, c, and 4 more`: the names in the order first seen."""
    shown_names = [
        f"{name} ({count} uses)" if count > 1 else name
        for name, count in list(uses.items())[:LISTED]
    ]
    rest = len(uses) - LISTED
    return ", ".join(shown_names) + (f", and {rest} more" if rest > 0 else "")
