"""`docker-hub-rate-limit`: the Docker Hub pulls a change makes, against the budget left.

Nodes behind one NAT address share Docker Hub's anonymous pull budget; pods pulling with one
login share its account's. A rollout that pulls more than is left ends in ImagePullBackOff
(`toomanyrequests`). The budget is what Docker Hub's answers to this run stated
(`gate.registry.ratelimit`): the runner's view, which the nodes' may not match.

Pulls per pod template: its distinct Docker Hub image references (containers, init containers,
image volumes) times the pods the object runs from it (`PodSpec.replicas`; a DaemonSet one per
node, `--nodes`), grouped by the host and credential they pull with.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from gate import config_entries
from gate.model import Finding, ImageUse, Outcome
from gate.policy.images import finding_for
from gate.reference import DEFAULT_DOMAIN, api_host, is_docker_hub
from gate.registry.ratelimit import Budget, RateBudgets, Seen, duration, spent_message, who
from gate.workload import PodSpec

RULE = "docker-hub-rate-limit"

HINT = (
    "Nodes behind one NAT address share Docker Hub's anonymous budget, pods pulling with one "
    "login share its account's; the pods pulled after it runs out show ImagePullBackOff "
    "(`toomanyrequests: You have reached your pull rate limit`). The nodes' budget may differ "
    "from this runner's. Give the pods a Docker Hub login with a higher limit, pull through a "
    "mirror or pull-through cache, copy the images to your own registry, or spread the "
    "rollout over time."
)
HUB_MIRROR = config_entries.mirror(DEFAULT_DOMAIN)
"""The entry naming the mirror the nodes pull Docker Hub images through."""


@dataclass(frozen=True)
class Share:
    """One pod template's pulls from one (host, credential) budget."""

    pod: PodSpec
    first: ImageUse
    """Its first Docker Hub image pulled with that budget: where the finding sits."""
    images: tuple[str, ...]
    """Its distinct Docker Hub images (canonical) pulled with that budget."""
    pods: int
    """Pods the object runs from the template (1 where unknown)."""
    how: str
    """How `pods` was counted, for the message (`30 replicas`, `50 nodes`)."""

    @property
    def pulls(self) -> int:
        return len(self.images) * self.pods


def pods_of(pod: PodSpec, nodes: int | None) -> tuple[int, str]:
    """(pods the object runs from `pod`, how that was counted)."""
    if pod.per_node:
        if nodes is not None:
            return nodes, _plural(nodes, "node")
        return 1, (
            "1 node: pass --nodes N (or config `nodes: {count: N}`) to count one pull per node "
            "exactly"
        )
    if pod.replicas is None:
        return 1, "1 pod (how many it runs is not known)"
    word = "parallel pod" if pod.object.kind in ("Job", "CronJob") else "replica"
    return pod.replicas, _plural(pod.replicas, word)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _host(use: ImageUse) -> str:
    """The host that served the use's image (the one whose budget its pulls spend)."""
    resolution = use.resolution
    assert resolution is not None and use.reference is not None
    url = resolution.endpoint or resolution.mirror
    if url:
        netloc = urlsplit(url).netloc
        if netloc:
            return netloc.lower()
    return api_host(use.reference.domain).lower()


def _budget_for(budgets: RateBudgets, host: str, credential: str) -> Seen | None:
    """The budget the host that served stated for the credential (a mirror that states none
    spends none of it: a pull-through cache pulls from Docker Hub once, not once per node)."""
    seen = budgets.get(host, credential)
    return seen if seen is not None and seen.docker_hub else None


def shares(
    uses: Iterable[ImageUse], budgets: RateBudgets, nodes: int | None = None
) -> dict[tuple[str, str], list[Share]]:
    """Per (host, credential source): each pod template's Docker Hub pulls, in pod order.

    Only images the pod could pull count (their credential and host are known), and only
    where the answers for their repository stated a budget; an image the kubelet never pulls
    (`imagePullPolicy: Never`) or an ephemeral container does not.
    """
    by_pod: dict[int, list[ImageUse]] = {}
    for use in uses:
        ref, resolution = use.reference, use.resolution
        if ref is None or resolution is None or not resolution.ok:
            continue
        if not is_docker_hub(ref.domain) or use.container.pull_policy == "Never":
            continue
        if use.container.field == "ephemeralContainers":
            continue
        if not budgets.counts(_host(use), resolution.credential or "anonymous", ref.path):
            continue
        by_pod.setdefault(id(use.pod), []).append(use)
    found: dict[tuple[str, str], list[Share]] = {}
    for pod_uses in by_pod.values():
        groups: dict[tuple[str, str], list[ImageUse]] = {}
        for use in pod_uses:
            assert use.resolution is not None
            key = (_host(use), use.resolution.credential or "anonymous")
            groups.setdefault(key, []).append(use)
        for key, group in groups.items():
            pod = group[0].pod
            images = tuple(
                dict.fromkeys(u.reference.canonical for u in group if u.reference is not None)
            )
            count, how = pods_of(pod, nodes)
            found.setdefault(key, []).append(Share(pod, group[0], images, count, how))
    return found


def total_pulls(group: Sequence[Share], nodes: int | None) -> int:
    """Pulls the nodes make: each image once per node that runs a pod of it (with
    `IfNotPresent` the kubelet pulls an image a node already has no more; `Always` asks with a
    HEAD, which is free) — at most the pods that use it, at most the nodes where known."""
    pods: dict[str, int] = {}
    for share in group:
        for image in share.images:
            pods[image] = pods.get(image, 0) + share.pods
    return sum(min(n, nodes) if nodes is not None else n for n in pods.values())


def _left(budget: Budget) -> str:
    left = budget.left
    if budget.limit is None:
        return f"{left} pulls"
    per = f" per {duration(budget.window)}" if budget.window else ""
    return f"{left} of {budget.limit} pulls{per}"


def rate_limit_findings(
    uses: Sequence[ImageUse], budgets: RateBudgets, nodes: int | None = None
) -> list[Finding]:
    """One finding per pod template that pulls from Docker Hub with a budget the whole run's
    pulls exceed; and one per pod template whose Docker Hub image met a spent budget."""
    findings: list[Finding] = []
    for (host, credential), group in shares(uses, budgets, nodes).items():
        seen = _budget_for(budgets, host, credential)
        if seen is None or seen.budget.left is None:
            continue
        total = total_pulls(group, nodes)
        if total <= seen.budget.left:
            continue
        for share in group:
            kind = share.pod.object.kind
            findings.append(
                finding_for(
                    RULE,
                    share.first,
                    f"Docker Hub's pull budget for {who(credential)} has "
                    f"{_left(seen.budget)} left, as this runner sees it, but this change's pods "
                    f"would make up to {total} pulls, each image once per node "
                    f"(this {kind}: {_plural(len(share.images), 'image')} × {share.how})",
                    HINT,
                    HUB_MIRROR,
                )
            )
    findings.extend(_spent_findings(uses, budgets))
    return findings


def _spent_findings(uses: Sequence[ImageUse], budgets: RateBudgets) -> list[Finding]:
    """Docker Hub answered 429 `TOOMANYREQUESTS`: each pod template with a Docker Hub image
    left unverified hears of it (the image itself is `image-registry-unreachable`, exit 3;
    through a mirror, that finding names where the image was asked last)."""
    spent = [s for s in budgets.docker_hub() if s.budget.spent]
    if not spent:
        return []
    said = "; ".join(dict.fromkeys(spent_message(s.credential, s.budget) for s in spent))
    findings: list[Finding] = []
    reported: set[int] = set()
    for use in uses:
        ref, resolution = use.reference, use.resolution
        if ref is None or resolution is None or resolution.outcome is not Outcome.UNREACHABLE:
            continue
        if not is_docker_hub(ref.domain) or id(use.pod) in reported:
            continue
        reported.add(id(use.pod))
        findings.append(
            finding_for(
                RULE,
                use,
                f"{said}; so {ref.familiar} could not be verified (this runner's budget, which "
                "need not be the nodes')",
                HINT,
                HUB_MIRROR,
            )
        )
    return findings
