"""`pullgate init`: what a directory's manifests say about the cluster they are deployed to,
written as the start of a commented `.pullgate.yaml`.

The manifests are checked offline (`run_check`, no registry asked), and the result is read for
what a config would say: the platforms the node selectors and required node affinity name (the
nodes have them), the namespaces objects are written in, the registries the images come from,
and the Secrets the pods need that nothing in the set creates. Every setting it cannot know is
written commented out, with the value pullgate uses without it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gate import platform as platforms
from gate.config_entries import external_secret
from gate.display import counted
from gate.load import NothingToCheck
from gate.model import CheckResult
from gate.pipeline import CheckOptions, run_check
from gate.policy.platforms import ARCH_LABELS, OS_LABELS, required_terms
from gate.workload import DEFAULT_NAMESPACE, PodSpec


@dataclass(frozen=True)
class Survey:
    """What the manifests under the surveyed paths show."""

    files: int = 0
    objects: int = 0
    platforms: tuple[str, ...] = ()
    """`os/arch` of every node the pods' selectors or required affinity ask for."""
    namespaces: Mapping[str, int] = field(default_factory=dict)
    """Each namespace objects are written in, with how many pods are in it."""
    unnamespaced: int = 0
    """Pods whose object names no namespace (they go to `namespace:`, default `default`)."""
    registries: Mapping[str, int] = field(default_factory=dict)
    """Each registry the images come from, with how many distinct images."""
    missing_secrets: tuple[tuple[str, str], ...] = ()
    """(namespace, name) of each Secret the pods need that the set does not create."""

    @property
    def counts(self) -> str:
        """`2 files, 4 objects`."""
        return f"{counted(self.files, 'file')}, {counted(self.objects, 'object')}"


_UNSET = "pullgate-init-no-namespace"
"""The namespace the first pass checks unnamespaced objects in, to tell them apart."""


def survey(paths: Iterable[str]) -> Survey:
    """Survey `paths` (files or directories); an empty directory is an empty survey.

    Two offline passes: the first tells the objects that name a namespace from those that do
    not; the second checks the latter in the namespace the config will say (the one most pods
    are written in, else `default`), so the Secrets found missing are the ones a check with
    the written config finds missing."""
    paths = tuple(paths)
    try:
        first = run_check(CheckOptions(paths=paths, offline=True, namespace=_UNSET))
    except NothingToCheck:
        return Survey()
    namespaces: Counter[str] = Counter(pod.object.namespace for pod in first.pods)
    unnamespaced = namespaces.pop(_UNSET, 0)
    chosen = namespaces.most_common(1)[0][0] if namespaces and unnamespaced else DEFAULT_NAMESPACE
    result = run_check(CheckOptions(paths=paths, offline=True, namespace=chosen))
    return _read(result, dict(namespaces.most_common()), unnamespaced)


def _read(result: CheckResult, namespaces: dict[str, int], unnamespaced: int) -> Survey:
    platforms: list[str] = []
    for pod in result.pods:
        for platform in _asked_platforms(pod):
            if platform not in platforms:
                platforms.append(platform)
    images: dict[str, str] = {}
    for use in result.uses:
        if use.reference is not None:
            images.setdefault(use.reference.name, use.reference.domain)
    missing: list[tuple[str, str]] = []
    for finding in result.findings:
        if finding.subject_kind == "Secret" and finding.subject is not None:
            entry = (finding.namespace or "", finding.subject)
            if entry not in missing:
                missing.append(entry)
    return Survey(
        files=len(result.files),
        objects=result.objects,
        platforms=tuple(sorted(platforms)),
        namespaces=namespaces,
        unnamespaced=unnamespaced,
        registries=dict(Counter(images.values()).most_common()),
        missing_secrets=tuple(missing),
    )


def _asked_platforms(pod: PodSpec) -> list[str]:
    """`os/arch` for each architecture a pod's node selector or required affinity names
    (`In` requirements of the terms as the scheduler parses them, `required_terms`)."""
    os_names = [pod.node_selector[k] for k in OS_LABELS if k in pod.node_selector]
    arches = [pod.node_selector[k] for k in ARCH_LABELS if k in pod.node_selector]
    for term in required_terms(pod.affinity) or []:
        for requirement in term or []:  # None: a term that does not parse selects no node
            if requirement.operator != "In":
                continue
            if requirement.key in ARCH_LABELS:
                arches.extend(requirement.values)
            elif requirement.key in OS_LABELS:
                os_names.extend(requirement.values)
    found = []
    for arch in arches:
        candidate = f"{os_names[0] if os_names else 'linux'}/{arch}"
        try:  # a label value no node can have (empty, a typo) names no platform to write
            platforms.parse(candidate)
        except ValueError:
            continue
        found.append(candidate)
    return found


def config_text(found: Survey) -> str:
    """The commented `.pullgate.yaml` for `found`: what the manifests show is set, the rest is
    commented out with pullgate's default."""
    lines = [
        "# .pullgate.yaml, written by `pullgate init`: what the manifests here show, and every",
        "# other setting commented out with its default. `pullgate explain` lists the rules.",
        f"# Surveyed: {found.counts}.",
        "",
    ]
    if found.namespaces:
        seen = ", ".join(f"{ns} ({n})" for ns, n in list(found.namespaces.items())[:6])
        lines.append(f"# Namespaces objects are written in (pods): {seen}.")
    if found.unnamespaced and found.namespaces:
        lines.append(
            f"# {counted(found.unnamespaced, 'pod')} name no namespace; they are checked in this "
            "one (as `kubectl apply -n`, default `default`):"
        )
        lines.append(f"namespace: {json.dumps(next(iter(found.namespaces)))}")  # `123` a string
    else:
        lines.append("# The namespace of objects that name none (as `kubectl apply -n`):")
        lines.append("# namespace: default")
    lines.append("")
    if found.platforms:
        lines.append("# The nodes' platforms: those the pods' node selectors and affinity ask for.")
        lines.append("# A pod that asks for none may land on any of them, so its images need all.")
        lines.append(f"platforms: [{', '.join(json.dumps(p) for p in found.platforms)}]")
    else:
        lines.append("# The nodes' platforms (no pod here asks for one; pods may land on any):")
        lines.append("# platforms: [linux/amd64]")
    lines.extend(
        [
            "# runtime: containerd-2.1             # or containerd-2.0, containerd-1.7, cri-o",
            "",
            "# fail-on: error                      # or warning",
            "# severity:                           # per rule: error | warning | off",
            "#   image-pull-policy-never: error",
            "# ignore:                             # accepted findings (each needs a reason)",
            "#   - rule: image-latest-tag",
            '#     image: "docker.io/library/busybox*"',
            '#     reason: "<why it is accepted>"',
            "",
        ]
    )
    if found.registries:
        seen = ", ".join(f"{host} ({n})" for host, n in list(found.registries.items())[:8])
        lines.append(f"# Registries the images come from (distinct images): {seen}.")
        lines.append("# Their TLS and mirrors, as the nodes' containerd is configured:")
        lines.append("# registries:")
        for host in list(found.registries)[:8]:
            lines.append(f"#   {host}:")
            lines.append("#     ca-file: /path/to/ca.pem")
            lines.append("#     mirrors: [https://mirror.example.com]")
        lines.append("")
    if found.missing_secrets:
        lines.append("# Secrets the pods need that these manifests do not create. If they are made")
        lines.append(
            "# elsewhere (an operator, a vault agent, by hand), say by whom and uncomment:"
        )
        lines.append("# secrets:")
        lines.append("#   external:")
        for namespace, name in found.missing_secrets:
            entry = external_secret(namespace, name)
            if entry is not None:  # a name no Secret can have is the manifests' mistake
                lines.append(f"#     - {entry.item}")
        lines.append("")
    lines.extend(
        [
            "# What the nodes hold (CI cannot see a node): docker configs, credential providers,",
            "# and registries they pull from by means pullgate cannot replay:",
            "# nodes:",
            "#   docker-config: [nodes/config.json]",
            '#   registries: ["*.dkr.ecr.*.amazonaws.com"]',
        ]
    )
    return "\n".join(lines) + "\n"
