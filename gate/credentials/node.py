"""The nodes' own credentials, as the user declares them: CI cannot look at a node.

After a pod's pull secrets, the kubelet offers a registry what the node holds. Three kinds are
declared here, each read the way the kubelet reads it:

1. Node docker configs (`--node-docker-config`, config `nodes: docker-config`): the file the
   kubelet finds in its root or working directory, `~/.docker` or `/.docker`. Parsed by the
   kubelet's Go types (`pkg/credentialprovider/config.go`, `ReadDockerConfigFile`): `auths`
   only, no `credHelpers`/`credsStore`, no `identitytoken`. A directory means its
   `config.json`, else `.dockercfg`, in the kubelet's order. One kubelet reads one file; given
   several, the gate models nodes that hold them all (one keyring, most specific key first).
2. Credential provider plugins (`--image-credential-provider-config` and `-bin-dir`, config
   `nodes: credential-providers`): run as the kubelet runs them (`gate.credentials.providers`).
   A provider that needs the pod's service-account token cannot be run in CI, and one that
   fails or times out here may work with the node's identity: what only they could pull
   cannot be verified here. Providers run with the CI job's environment (its cloud identity
   is what lets the same binary work here) less the CI's registry logins.
3. `nodes: registries` patterns: registries the nodes pull from by means the gate cannot replay
   (an instance role, a provider binary that is not in CI). Matched with the keyring's rules; a
   CI login may verify on their behalf.

Node docker configs and provider answers are two keyrings, looked up in that order
(`kuberuntime_image.go` `PullImage`: `UnionDockerKeyring{the docker config keyring, the
external credential provider keyring}`); each falls back to `index.docker.io` on its own.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gate.credentials import Credential, CredentialConfigError
from gate.credentials.dockerconfig import (
    DockerConfig,
    DockerConfigError,
    read_kubelet_docker_config,
)
from gate.credentials.keyring import KeyIndex, Keyring

if TYPE_CHECKING:
    from gate.credentials.providers import CredentialProviders

log = logging.getLogger(__name__)

CI_LOGIN_VARIABLES = frozenset(
    {"GITHUB_TOKEN", "CI_REGISTRY_PASSWORD", "CI_JOB_TOKEN", "CI_REGISTRY_USER", "DOCKER_CONFIG"}
)
"""The CI's registry logins: no node has them, so no provider run here sees them."""

NODE_CONFIG_NAMES = ("config.json", ".dockercfg")
"""What the kubelet looks for in a directory, in its order (`ReadDockerConfigFile`)."""


def node_config_source(path: str) -> str:
    return f"node-config:{path}"


def nodes_source(pattern: str) -> str:
    return f"nodes:{pattern}"


@dataclass(frozen=True)
class NodeOffer:
    """What the nodes offer a registry for one image."""

    credentials: tuple[Credential, ...] = ()
    """Replayable logins, in the kubelet's order."""
    declared: tuple[str, ...] = ()
    """`nodes:<pattern>` sources that match: the nodes can pull by means the gate cannot replay;
    a CI login may verify on their behalf."""
    unreplayable: tuple[str, ...] = ()
    """`provider:<name>` of matching providers that need the pod's service-account token."""
    required_annotations: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(`provider:<name>`, keys) for those of them that require service-account annotations."""
    failed: tuple[tuple[str, str], ...] = ()
    """(`provider:<name>`, why) of matching providers that gave nothing here: the node's
    identity may do better, so a CI login may verify on their behalf."""


def read_node_docker_config(path: str) -> DockerConfig:
    """One node docker config (a file, or a directory holding one), read as the kubelet reads
    it; `CredentialConfigError` naming the path and the reason otherwise."""
    target = Path(path)
    if target.is_dir():
        found = next((target / n for n in NODE_CONFIG_NAMES if (target / n).is_file()), None)
        if found is None:
            names = ", ".join(NODE_CONFIG_NAMES)
            raise CredentialConfigError(f"node docker config {path}: the directory has no {names}")
        target = found
    shown = str(target) if target != Path(path) else path
    try:
        text = target.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise CredentialConfigError(f"node docker config {path}: no such file") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CredentialConfigError(
            f"node docker config {path}: cannot read it ({reason})"
        ) from None
    try:
        return read_kubelet_docker_config(
            text, node_config_source(shown), legacy=target.name == ".dockercfg", what="the file"
        )
    except DockerConfigError as exc:
        raise CredentialConfigError(
            f"node docker config {shown}: {exc.reason} (the kubelet would skip this file)"
        ) from None


class NodeCredentials:
    """The declared node credentials; `lookup` answers once per image."""

    def __init__(
        self,
        configs: Sequence[DockerConfig] = (),
        providers: CredentialProviders | None = None,
        registries: Sequence[str] = (),
    ) -> None:
        self._configs = list(configs)
        self._providers = providers
        self._registries: KeyIndex[str] = KeyIndex()
        self._patterns = tuple(registries)
        for pattern in registries:
            if not self._registries.add(pattern, nodes_source(pattern)):
                raise CredentialConfigError(
                    f"nodes.registries: {pattern!r} is not a registry pattern like "
                    "*.dkr.ecr.*.amazonaws.com or registry.example.com/team"
                )
        self._offers: dict[str, NodeOffer] = {}

    @classmethod
    def load(
        cls,
        docker_configs: Sequence[str] = (),
        provider_config: str | None = None,
        provider_bin_dir: str | None = None,
        registries: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> NodeCredentials:
        """Read what the user declared; `CredentialConfigError` for anything the kubelet would
        refuse or that cannot be read (the gate cannot model a node it cannot read)."""
        configs = [read_node_docker_config(path) for path in docker_configs]
        providers = None
        if (provider_config is None) != (provider_bin_dir is None):
            raise CredentialConfigError(
                "credential providers need both --image-credential-provider-config and "
                "--image-credential-provider-bin-dir, as the kubelet does"
            )
        if provider_config is not None and provider_bin_dir is not None:
            # the plugin machinery only where the kubelet's plugins are given
            from gate.credentials.providers import CredentialProviders, load_provider_config

            specs = load_provider_config(provider_config, provider_bin_dir)
            env = os.environ if environ is None else environ
            node_env = {k: v for k, v in env.items() if k not in CI_LOGIN_VARIABLES}
            providers = CredentialProviders(specs, provider_bin_dir, node_env)
        node = cls(configs, providers, registries)
        log.debug("node credentials: %s", ", ".join(node.sources()) or "none declared")
        return node

    def sources(self) -> list[str]:
        """Every declared source, for logging (no provider is run)."""
        names = [config.source for config in self._configs]
        if self._providers is not None:
            from gate.credentials.providers import provider_source

            names += [provider_source(spec.name) for spec in self._providers.specs]
        names += [nodes_source(pattern) for pattern in self._patterns]
        return names

    def lookup(self, image_name: str) -> NodeOffer:
        """What the nodes offer for `domain/path`, worked out (and providers run) once."""
        offer = self._offers.get(image_name)
        if offer is None:
            offer = self._offers[image_name] = self._lookup(image_name)
        return offer

    def _lookup(self, image_name: str) -> NodeOffer:
        configs = Keyring()
        for config in self._configs:
            for entry in config.auths:
                configs.add(entry.key, entry.credential)
        answers = Keyring()
        unreplayable: list[str] = []
        required: list[tuple[str, tuple[str, ...]]] = []
        failed: list[tuple[str, str]] = []
        if self._providers is not None:
            from gate.credentials.providers import provider_source

            for spec in self._providers.matching(image_name):
                if spec.needs_service_account_token:
                    unreplayable.append(provider_source(spec.name))
                    if spec.required_annotation_keys:
                        required.append((provider_source(spec.name), spec.required_annotation_keys))
                    continue
                for key, credential in self._providers.provide(spec, image_name):
                    answers.add(key, credential)
                reason = self._providers.failure(spec, image_name)
                if reason is not None:
                    failed.append((provider_source(spec.name), reason))
        found = configs.lookup(image_name)
        found += [c for c in answers.lookup(image_name) if c not in found]
        return NodeOffer(
            tuple(found),
            tuple(self._registries.lookup(image_name)),
            tuple(unreplayable),
            tuple(required),
            tuple(failed),
        )

    def declared_for(self, image_name: str) -> tuple[str, ...]:
        """The `nodes: registries` patterns that say the nodes hold credentials for
        `image_name` (`host/path`) by means the gate cannot replay (their sources)."""
        return tuple(self._registries.lookup(image_name))

    def __bool__(self) -> bool:
        return bool(self._configs or self._providers or self._registries)
