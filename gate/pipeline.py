"""The check, stage by stage: load, extract, reference, resolve, policy.

The CLI builds `CheckOptions` and hands them here; nothing in this module parses arguments or
prints, so the whole gate can be driven (and tested) as a library call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from gate import policy
from gate.config import IgnoreRule
from gate.credentials import ANONYMOUS
from gate.extract import DEFAULT_NAMESPACE, extract
from gate.load import load_paths
from gate.model import CheckResult, ImageUse, Outcome, Resolution
from gate.pin import Lock
from gate.platform import Platform
from gate.policy.lock import lock_findings
from gate.policy.platforms import DEFAULT_PLATFORMS, platform_findings
from gate.policy.suppress import suppress
from gate.registry.client import RegistryClient
from gate.registry.resolver import Progress, Request, Resolver
from gate.registry.transport import TransportOptions
from gate.rules import Severity


@dataclass(frozen=True)
class CheckOptions:
    paths: tuple[str, ...]
    namespace: str = DEFAULT_NAMESPACE
    offline: bool = False
    transport: TransportOptions = field(default_factory=TransportOptions)
    platforms: tuple[Platform, ...] = DEFAULT_PLATFORMS
    """Where a pod without node constraints may run."""
    severity: Mapping[str, Severity] = field(default_factory=dict)
    ignores: Sequence[IgnoreRule] = ()
    lock: Lock | None = None
    """`check --lock`: the digests every image must still resolve to."""
    stdin: TextIO | None = None


def run_check(options: CheckOptions, progress: Progress | None = None) -> CheckResult:
    """Run every stage; raises `gate.load.LoadError` for paths that cannot be read."""
    loaded = load_paths(options.paths, stdin=options.stdin)
    pods = extract(loaded.objects, options.namespace)
    uses = policy.image_uses(pods)
    if options.offline:
        uses = [_skipped(use) for use in uses]
    else:
        uses = asyncio.run(_resolve(uses, options.transport, progress))
    findings = [
        *policy.document_findings(loaded.invalid),
        *policy.static_findings(uses),
        *policy.resolution_findings(uses),
        *platform_findings(uses, options.platforms),
        *(lock_findings(uses, options.lock) if options.lock is not None else []),
    ]
    findings = suppress(policy.apply_severities(findings, options.severity), pods, options.ignores)
    findings = policy.sort_findings(findings)
    return CheckResult(
        files=loaded.files,
        objects=len(loaded.objects),
        documents=loaded.documents,
        skipped_documents=loaded.skipped_documents,
        pods=pods,
        uses=uses,
        findings=findings,
        offline=options.offline,
    )


def _skipped(use: ImageUse) -> ImageUse:
    if use.reference is None:
        return use
    return replace(use, resolution=Resolution(use.reference, Outcome.SKIPPED))


async def _resolve(
    uses: list[ImageUse], transport: TransportOptions, progress: Progress | None
) -> list[ImageUse]:
    """Resolve each distinct reference once and hand every use its pod's answer."""
    requests: dict[str, Request] = {}
    for use in uses:
        if use.reference is not None:
            requests.setdefault(use.reference.canonical, Request(use.reference, (ANONYMOUS,)))
    async with RegistryClient(transport) as client:
        resolver = Resolver(client)
        answers = await resolver.resolve_all(list(requests.values()), progress)
    by_key: dict[str, Resolution] = {
        key: answer for key, answer in zip(requests, answers, strict=True)
    }
    return [
        replace(use, resolution=by_key[use.reference.canonical]) if use.reference else use
        for use in uses
    ]


def summarize(result: CheckResult) -> dict[str, Any]:
    """The JSON report's `summary` block (also shown by the text report)."""
    unique: dict[str, bool] = {}
    for use in result.uses:
        if use.container.image is None:
            continue
        ok = use.resolution is not None and use.resolution.ok
        unique[use.container.image] = unique.get(use.container.image, False) or ok
    active = result.active_findings
    return {
        "files": len(result.files),
        "objects": result.objects,
        "pods": len(result.pods),
        "images": len(result.uses),
        "unique_images": len(unique),
        "resolved": sum(1 for ok in unique.values() if ok),
        "errors": sum(1 for f in active if f.severity is Severity.ERROR),
        "warnings": sum(1 for f in active if f.severity is Severity.WARNING),
        "suppressed": sum(1 for f in result.findings if f.suppressed is not None),
        "skipped_documents": result.skipped_documents,
    }
