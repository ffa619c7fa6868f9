"""The keyring the kubelet builds for one pod: its pull secrets, then the node's credentials.

The pod's `imagePullSecrets` (or, when it has none, its service account's, as the admission
plugin copies them) are parsed into one keyring; a lookup returns every credential whose key
matches the image, pod secrets first, then node credentials. Only when nothing matches does the
kubelet pull anonymously.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from gate.credentials import ANONYMOUS, Credential
from gate.credentials.dockerconfig import DockerConfig, PullSecretInvalid, parse_pull_secret
from gate.credentials.keyring import KeyIndex, Keyring
from gate.credentials.node import NodeCredentials
from gate.extract import PodSpec
from gate.inventory import Inventory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PullSecretProblem:
    """A pull secret the pod names that exists but cannot be used (`pull-secret-invalid`)."""

    name: str
    reason: str


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


@dataclass(frozen=True)
class PodCredentials:
    """What to offer a registry for one image of one pod, in order."""

    credentials: tuple[Credential, ...]
    unmatched_secrets: tuple[str, ...]
    """Usable pull secrets with no entry for this image's registry (named in the hint)."""


class Keychain:
    """Builds and caches pod keyrings; the node's credentials are shared by every pod."""

    def __init__(self, inventory: Inventory, node: NodeCredentials | None = None) -> None:
        self.inventory = inventory
        self.node = node or NodeCredentials()
        self._pods: dict[tuple[str, tuple[str, ...]], PodKeyring] = {}
        self._offers: dict[tuple[str, tuple[str, ...], str], PodCredentials] = {}

    def pod_keyring(self, pod: PodSpec) -> PodKeyring:
        source = self.inventory.pull_secrets_for(pod)
        namespace = pod.object.namespace
        key = (namespace, source.names)
        cached = self._pods.get(key)
        if cached is not None:
            return cached
        keyring = Keyring()
        configs: dict[str, DockerConfig] = {}
        problems: list[PullSecretProblem] = []
        for name in source.names:
            secret = self.inventory.secret_object(namespace, name)
            if secret is None:
                continue  # missing (pull-secret-missing) or known without its data
            try:
                config = parse_pull_secret(secret, namespace)
            except PullSecretInvalid as exc:
                problems.append(PullSecretProblem(name, exc.reason))
                continue
            configs[name] = config
            for entry in config.auths:
                keyring.add(entry.key, entry.credential)
        built = PodKeyring(keyring, source.names, source.service_account, configs, tuple(problems))
        self._pods[key] = built
        return built

    def credentials(self, pod: PodSpec, image_name: str) -> PodCredentials:
        """Every credential the kubelet would try for `image_name` (`domain/path`), in order.

        Worked out once per (namespace, pull secrets, image): pods that share their secrets
        share the answer, however many containers name the image.
        """
        key = (pod.object.namespace, self.inventory.pull_secrets_for(pod).names, image_name)
        offered = self._offers.get(key)
        if offered is None:
            offered = self._offers[key] = self._credentials(pod, image_name)
        return offered

    def _credentials(self, pod: PodSpec, image_name: str) -> PodCredentials:
        pod_keyring = self.pod_keyring(pod)
        found = list(pod_keyring.keyring.lookup(image_name))
        found += [c for c in self.node.lookup(image_name) if c not in found]
        unmatched = tuple(
            name for name, config in pod_keyring.configs.items() if not _matches(config, image_name)
        )
        return PodCredentials(tuple(found) or (ANONYMOUS,), unmatched)


def _matches(config: DockerConfig, image_name: str) -> bool:
    index: KeyIndex[str] = KeyIndex()
    for entry in config.auths:
        index.add(entry.key, entry.key)
    return bool(index.lookup(image_name))
