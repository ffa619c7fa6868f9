"""The keyring the kubelet builds for one pod, and what the gate can and cannot replay of it.

For an image, the kubelet offers (`MakeDockerKeyring` → `UnionDockerKeyring{secrets, node}`):
the pod's `imagePullSecrets` (or, when it has none, its service account's, as the admission
plugin copies them), every matching key of them in one keyring; then the node's credentials.
Every matching credential is tried until one works; anonymous only when nothing matched.

What the gate cannot replay is kept apart, never dropped and never guessed: a pull secret that
exists without readable values, a `nodes: registries` pattern and a provider that gave nothing
here (a CI login may verify for them), and a provider that needs the pod's service-account
token (cannot be verified here). The CI machine's logins are never the pod's credentials; the
resolver asks them only to verify (`Resolver.resolve`).

A pull secret whose data the kubelet's decoder rejects makes `MakeDockerKeyring` fail, and with
it every image pull of the pod (`pkg/credentialprovider/secrets/secrets.go`); one of another
type is skipped, as `secretsToTrackedDockerConfigs` skips it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from gate.credentials import ANONYMOUS, Credential
from gate.credentials.dockerconfig import (
    SECRET_KEYS,
    DockerConfig,
    Effect,
    PullSecretInvalid,
    parse_pull_secret,
    pull_secret_source,
)
from gate.credentials.keyring import KeyIndex, Keyring
from gate.credentials.node import NodeCredentials, NodeOffer
from gate.inventory import DEFAULT_SERVICE_ACCOUNT, Inventory, SecretEntry
from gate.workload import PodSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PullSecretProblem:
    """A pull secret the pod names that exists but cannot be used (`pull-secret-invalid`)."""

    name: str
    reason: str
    effect: Effect = Effect.REJECTED


@dataclass
class PodKeyring:
    """One pod's parsed pull secrets."""

    keyring: Keyring
    secrets: tuple[str, ...]
    """The names of the pull secrets in use (the pod's own, or its service account's)."""
    inherited_from: str | None
    """The service account they came from, when the pod names none itself."""
    configs: dict[str, DockerConfig] = field(default_factory=dict)
    problems: tuple[PullSecretProblem, ...] = ()
    unreadable: tuple[str, ...] = ()
    """Pull secrets that exist but whose values the gate could not read (made by a controller,
    a snapshot or cluster listing without values)."""

    @property
    def broken(self) -> PullSecretProblem | None:
        """The first secret that makes the kubelet's keyring fail, if any."""
        return next((p for p in self.problems if p.effect is Effect.BREAKS_KEYRING), None)


@dataclass(frozen=True)
class PodCredentials:
    """What to offer a registry for one image of one pod, and what stands behind it."""

    credentials: tuple[Credential, ...]
    """What the kubelet would try that the gate can replay, in order (`anonymous` when nothing
    matched and nothing unreplayable may have)."""
    unmatched_secrets: tuple[str, ...] = ()
    """Usable pull secrets with no entry for this image's registry (named in the hint)."""
    on_behalf_of: tuple[str, ...] = ()
    """Sources the kubelet would offer that the gate cannot replay, but a CI login may verify
    for: `secret:<ns>/<name>` without readable values, `nodes:<pattern>`."""
    unreplayable: tuple[str, ...] = ()
    """Sources that cannot be verified here at all: `provider:<name>` needing a pod's token."""
    provider_failures: tuple[tuple[str, str], ...] = ()
    """(`provider:<name>`, why) of node providers that gave nothing here (in `on_behalf_of`)."""
    skipped_providers: tuple[tuple[str, str], ...] = ()
    """(`provider:<name>`, why) of token providers the kubelet does not run for this pod."""
    keyring_error: str | None = None
    """Why the kubelet cannot build this pod's keyring at all (every pull fails)."""


class Keychain:
    """Builds and caches pod keyrings; node credentials and CI logins are shared by every pod."""

    def __init__(self, inventory: Inventory, node: NodeCredentials | None = None) -> None:
        self.inventory = inventory
        self.node = node or NodeCredentials()
        self._pods: dict[tuple[str, tuple[str, ...], str | None], PodKeyring] = {}
        self._offers: dict[tuple[str, tuple[str, ...], str, str], PodCredentials] = {}

    def pod_keyring(self, pod: PodSpec) -> PodKeyring:
        source = self.inventory.pull_secrets_for(pod)
        namespace = pod.object.namespace
        key = (namespace, source.names, source.service_account)
        cached = self._pods.get(key)
        if cached is not None:
            return cached
        keyring = Keyring()
        configs: dict[str, DockerConfig] = {}
        problems: list[PullSecretProblem] = []
        unreadable: list[str] = []
        for name in source.names:
            secret = self.inventory.secret_object(namespace, name)
            if secret is None:
                if not self.inventory.secret_exists(namespace, name):
                    continue  # pull-secret-missing: the kubelet logs it and pulls without it
                problem = _known_unusable(name, self.inventory.secret(namespace, name))
                if problem is not None:
                    problems.append(problem)
                else:
                    unreadable.append(name)
                continue
            try:
                config = parse_pull_secret(secret, namespace)
            except PullSecretInvalid as exc:
                problems.append(PullSecretProblem(name, exc.reason, exc.effect))
                continue
            configs[name] = config
            for auth in config.auths:
                keyring.add(auth.key, auth.credential)
        built = PodKeyring(
            keyring,
            source.names,
            source.service_account,
            configs,
            tuple(problems),
            tuple(unreadable),
        )
        self._pods[key] = built
        return built

    def credentials(self, pod: PodSpec, image_name: str) -> PodCredentials:
        """What the kubelet would try for `image_name` (`domain/path`), and what backs it.

        Worked out once per (namespace, pull secrets, service account, image): pods that share
        them share the answer, however many containers name the image.
        """
        key = (
            pod.object.namespace,
            self.inventory.pull_secrets_for(pod).names,
            pod.service_account or DEFAULT_SERVICE_ACCOUNT,
            image_name,
        )
        offered = self._offers.get(key)
        if offered is None:
            offered = self._offers[key] = self._credentials(pod, image_name)
        return offered

    def _credentials(self, pod: PodSpec, image_name: str) -> PodCredentials:
        pod_keyring = self.pod_keyring(pod)
        broken = pod_keyring.broken
        if broken is not None:
            return PodCredentials(
                (),
                keyring_error=f"pull secret {broken.name}: {broken.reason}",
            )
        node = self.node.lookup(image_name)
        found = list(pod_keyring.keyring.lookup(image_name))
        found += [c for c in node.credentials if c not in found]
        unmatched = tuple(
            name for name, config in pod_keyring.configs.items() if not _matches(config, image_name)
        )
        namespace = pod.object.namespace
        on_behalf_of = (
            *(pull_secret_source(namespace, name) for name in pod_keyring.unreadable),
            *node.declared,
            *(source for source, _ in node.failed),
        )
        skipped = self._skipped_token_providers(pod, node)
        not_run = {source for source, _ in skipped}
        unreplayable = tuple(s for s in node.unreplayable if s not in not_run)
        return PodCredentials(
            tuple(found) or (ANONYMOUS,),
            unmatched,
            on_behalf_of,
            unreplayable,
            node.failed,
            skipped,
        )

    def _skipped_token_providers(
        self, pod: PodSpec, node: NodeOffer
    ) -> tuple[tuple[str, str], ...]:
        """Token providers the kubelet does not run for `pod`, and why.

        The kubelet reads the pod's service account before it runs such a plugin; when the
        account lacks one of the `requiredServiceAccountAnnotationKeys`, it logs and skips the
        plugin, which then offers nothing (kubernetes `pkg/credentialprovider/plugin/
        plugin.go` `pluginProvider.provide`, `serviceAccountProvider.getServiceAccountData`:
        `required annotation %s not found`). Only an account read whole (a cluster-state
        file, `--cluster`) says which annotations it lacks: a rendered one may gain more
        out of band, which `kubectl apply` keeps. A missing account is
        `service-account-missing` (admission rejects the pod first).
        """
        if not node.required_annotations:
            return ()
        namespace = pod.object.namespace
        name = pod.service_account or DEFAULT_SERVICE_ACCOUNT
        account = self.inventory.service_account(namespace, name)
        if account is None or account.annotation_keys is None:
            return ()
        skipped = []
        for source, keys in node.required_annotations:
            absent = [k for k in keys if k not in account.annotation_keys]
            if absent:
                skipped.append(
                    (
                        source,
                        f"service account {namespace}/{name} lacks the required annotation "
                        f"{', '.join(absent)}",
                    )
                )
        return tuple(skipped)


def _known_unusable(name: str, entry: SecretEntry | None) -> PullSecretProblem | None:
    """What can be told of a pull secret whose values are unknown: its type and key names,
    whoever makes it (an ExternalSecret without `template.type` makes an Opaque one)."""
    kind = entry.type if entry is not None else None
    if kind is None:
        return None
    if kind not in SECRET_KEYS:
        return PullSecretProblem(
            name,
            f"secret type is {kind!r}; the kubelet reads image pull secrets only of type "
            f"{' or '.join(SECRET_KEYS)}",
            Effect.IGNORED,
        )
    assert entry is not None
    if entry.keys is not None and SECRET_KEYS[kind] not in entry.keys:
        return PullSecretProblem(
            name, f"a {kind} secret without a `{SECRET_KEYS[kind]}` key", Effect.REJECTED
        )
    return None


def _matches(config: DockerConfig, image_name: str) -> bool:
    index: KeyIndex[str] = KeyIndex()
    for entry in config.auths:
        index.add(entry.key, entry.key)
    return bool(index.lookup(image_name))
