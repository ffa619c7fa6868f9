"""The check, stage by stage: load, extract, reference, resolve, policy.

The CLI builds `CheckOptions` and hands them here; nothing in this module parses arguments or
prints, so the whole gate can be driven (and tested) as a library call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, TextIO

from gate import policy
from gate.config import IgnoreRule
from gate.credentials.node import NodeCredentials
from gate.credentials.pods import Keychain
from gate.extract import read_object
from gate.inventory import (
    ExternalPattern,
    Inventory,
    add_cluster_state,
    add_rendered,
    add_rendered_object,
)
from gate.load import KubeObject, NothingToCheck, load_paths
from gate.lock import Lock
from gate.model import CheckResult, ImageUse, Outcome, Resolution
from gate.platform import CRIO, DEFAULT_RUNTIME, Platform, Runtime
from gate.policy.lock import lock_findings
from gate.policy.platforms import DEFAULT_PLATFORMS, platform_findings
from gate.policy.pull_secrets import pull_secret_invalid_findings
from gate.policy.ratelimit import rate_limit_findings
from gate.policy.secrets import secret_findings
from gate.policy.suppress import suppress
from gate.policy.volumes import volume_support_findings
from gate.reference import Reference
from gate.registry.options import TransportOptions
from gate.registry.ratelimit import RateBudgets
from gate.rules import Severity
from gate.workload import DEFAULT_NAMESPACE, ImagePaths, PodSpec, UncheckedImage

if TYPE_CHECKING:
    from gate.credentials.ci import CILogins
    from gate.registry.resolver import Progress


@dataclass(frozen=True)
class ClusterOptions:
    """`--cluster`: ask the live cluster which Secrets and ServiceAccounts exist."""

    kubeconfig: str | None = None
    context: str | None = None
    read_pull_secrets: bool = False
    """`--cluster-credentials`: read the values of the pull secrets pods use (and only those)."""


@dataclass(frozen=True)
class NodeOptions:
    """What the nodes hold, as declared: `--node-docker-config`, the kubelet's credential
    provider flags, config `nodes: registries`."""

    docker_configs: tuple[str, ...] = ()
    provider_config: str | None = None
    provider_bin_dir: str | None = None
    registries: tuple[str, ...] = ()
    count: int | None = None
    """`--nodes N`, config `nodes: {count: N}`: how many nodes run a DaemonSet's pods."""


@dataclass(frozen=True)
class CheckOptions:
    paths: tuple[str, ...]
    namespace: str = DEFAULT_NAMESPACE
    offline: bool = False
    transport: TransportOptions = field(default_factory=TransportOptions)
    platforms: tuple[Platform, ...] = DEFAULT_PLATFORMS
    """Where a pod without node constraints may run."""
    runtime: Runtime = DEFAULT_RUNTIME
    """`--runtime`: the nodes' container runtime, whose rule decides which platforms match."""
    severity: Mapping[str, Severity] = field(default_factory=dict)
    ignores: Sequence[IgnoreRule] = ()
    lock: Lock | None = None
    """`check --lock`: the digests every image must still resolve to."""
    image_paths: Sequence[ImagePaths] = ()
    cluster_state: tuple[str, ...] = ()
    external_secrets: Sequence[ExternalPattern] = ()
    cluster: ClusterOptions | None = None
    nodes: NodeOptions = field(default_factory=NodeOptions)
    docker_config: str | None = None
    """`--docker-config`: the CI machine's docker config (it only verifies, see `CILogins`)."""
    ci_logins: bool = True
    """False (`--no-ci-logins`): do not read the CI machine's logins at all."""
    environ: Mapping[str, str] | None = None
    """Where CI logins are read from and providers run with (default: the process
    environment)."""
    stdin: TextIO | None = None
    allow_empty: bool = False
    """`--allow-empty`: paths without any Kubernetes object pass (a commit that changed no
    manifest); otherwise they are `NothingToCheck` (exit 2)."""


def run_check(options: CheckOptions, progress: Progress | None = None) -> CheckResult:
    """Run every stage.

    Raises `gate.load.LoadError` for paths that cannot be read (`NothingToCheck` when they
    hold no Kubernetes object, unless `allow_empty`), `ClusterError` when the live
    cluster cannot be asked, `ClusterStateError` for a cluster-state file that cannot be read, and
    `gate.credentials.CredentialConfigError` when the credentials cannot be set up: all of them
    `GateError`s, each with its exit code.
    """
    # One pass, one document at a time: each object's pods, blind spots and what it creates
    # are taken as it is parsed, and the object is not kept (memory follows the pods, not
    # the size of the input).
    pods: list[PodSpec] = []
    unchecked: list[UncheckedImage] = []
    inventory = Inventory()
    add_rendered(inventory, (), options.namespace)

    def take(obj: KubeObject) -> None:
        its_pods, its_unchecked = read_object(obj, options.namespace, options.image_paths)
        pods.extend(its_pods)
        unchecked.extend(its_unchecked)
        add_rendered_object(inventory, obj, options.namespace)

    loaded = load_paths(options.paths, stdin=options.stdin, sink=take)
    if not loaded.object_count and not loaded.invalid and not options.allow_empty:
        raise NothingToCheck(
            f"no Kubernetes objects found in {' '.join(options.paths)}: nothing was checked "
            "(did the render step write them?); pass --allow-empty when that is expected"
        )
    _complete_inventory(options, inventory, pods)
    keychain = Keychain(inventory, _node_credentials(options))
    budgets = RateBudgets()
    if options.offline:
        uses = policy.image_uses(pods, cache(_skipped))
    else:
        uses = policy.image_uses(pods)
        from gate.net import run_cancellable  # the network stack, only to resolve

        ci_logins = _ci_logins(options)  # this machine's logins: only to verify what resolves
        uses = run_cancellable(
            _resolve(
                uses, keychain, ci_logins, options.transport, progress, options.runtime, budgets
            )
        )
    findings = [
        *policy.document_findings(loaded.invalid),
        *policy.api_findings(pods),
        *policy.static_findings(uses),
        *policy.resolution_findings(uses),
        *platform_findings(uses, options.platforms, options.runtime),
        *volume_support_findings(uses, options.runtime),
        *(lock_findings(uses, options.lock) if options.lock is not None else []),
        *secret_findings(pods, inventory),
        *pull_secret_invalid_findings(pods, keychain),
        *rate_limit_findings(uses, budgets, options.nodes.count),
    ]
    findings = suppress(policy.apply_severities(findings, options.severity), pods, options.ignores)
    findings = policy.sort_findings(findings)
    return CheckResult(
        files=loaded.files,
        objects=loaded.object_count,
        documents=loaded.documents,
        skipped_documents=loaded.skipped_documents,
        pods=pods,
        uses=uses,
        findings=findings,
        offline=options.offline,
        unchecked=unchecked,
    )


def _complete_inventory(
    options: CheckOptions, inventory: Inventory, pods: Sequence[PodSpec]
) -> None:
    """What exists beyond the rendered set (already in `inventory`): snapshots, then the live
    cluster, then config."""
    for path in options.cluster_state:
        add_cluster_state(inventory, path, options.namespace)
    if options.cluster is not None:
        from gate.inventory.cluster import load_config, read_cluster  # only with --cluster

        config = load_config(options.cluster.kubeconfig, options.cluster.context)
        # --timeout and --retries govern every network call, the API server's included.
        config = replace(
            config,
            timeout=options.transport.timeout,
            retries=options.transport.retries,
            backoff=options.transport.backoff,
        )
        read_cluster(config, inventory, pods, credentials=options.cluster.read_pull_secrets)
    for entry in options.external_secrets:
        inventory.add_external_pattern(entry)


def _node_credentials(options: CheckOptions) -> NodeCredentials:
    nodes = options.nodes
    return NodeCredentials.load(
        nodes.docker_configs,
        nodes.provider_config,
        nodes.provider_bin_dir,
        nodes.registries,
        options.environ,
    )


def _ci_logins(options: CheckOptions) -> CILogins:
    from gate.credentials.ci import CILogins

    if options.offline or not options.ci_logins:
        return CILogins()
    return CILogins.discover(options.docker_config, options.environ)


def _skipped(reference: Reference) -> Resolution:
    """Offline, every reference is answered SKIPPED (cached: one answer per reference)."""
    return Resolution(reference, Outcome.SKIPPED)


async def _resolve(
    uses: list[ImageUse],
    keychain: Keychain,
    ci_logins: CILogins,
    transport: TransportOptions,
    progress: Progress | None,
    runtime: Runtime = DEFAULT_RUNTIME,
    budgets: RateBudgets | None = None,
) -> list[ImageUse]:
    """Resolve each distinct (reference, offer) once; hand every use its pod's answer.

    containerd's CRI hands the kubelet's credential to every host, mirrors included; CRI-O
    keeps it for the registry the image names."""
    from gate.registry.client import RegistryClient
    from gate.registry.resolver import Request, Resolver

    requests: dict[Request, Request] = {}
    keys: list[Request | None] = []
    with_credentials: list[ImageUse] = []
    for use in uses:
        reference = use.reference
        if reference is None:
            keys.append(None)
            with_credentials.append(use)
            continue
        if use.container.pull_policy == "Never":
            # The kubelet never asks the registry (nor builds a keyring) for such an image: it
            # runs what the node holds, or fails with ErrImageNeverPull.
            keys.append(None)
            unasked = Resolution(reference, Outcome.NOT_PULLED)
            with_credentials.append(replace(use, resolution=unasked))
            continue
        offered = keychain.credentials(use.pod, reference.name)
        use = replace(
            use,
            unmatched_secrets=offered.unmatched_secrets,
            on_behalf_of=offered.on_behalf_of,
            unreplayable=offered.unreplayable,
            provider_failures=offered.provider_failures,
            skipped_providers=offered.skipped_providers,
        )
        if offered.keyring_error is not None:
            keys.append(None)
            failed = Resolution(reference, Outcome.KEYRING_INVALID, detail=offered.keyring_error)
            with_credentials.append(replace(use, resolution=failed))
            continue
        request = Request(
            reference,
            offered.credentials,
            offered.on_behalf_of,
            offered.unreplayable,
        )
        requests.setdefault(request, request)
        keys.append(request)
        with_credentials.append(use)
    async with RegistryClient(transport) as client:
        resolver = Resolver(
            client,
            ci_logins.lookup if ci_logins else None,
            credentials_to_mirrors=runtime.engine != CRIO,
            node_declared=keychain.node.declared_for,
        )
        answers = await resolver.resolve_all(list(requests), progress, transport.deadline)
        if budgets is not None:  # Docker Hub's pull budgets, for the policy stage
            budgets.extend(client.budgets)
    by_key = dict(zip(requests, answers, strict=True))
    return [
        replace(use, resolution=by_key[key]) if key is not None else use
        for use, key in zip(with_credentials, keys, strict=True)
    ]
