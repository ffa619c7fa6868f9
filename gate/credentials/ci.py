"""The CI machine's own logins: what the job running the gate can pull with.

These are not the kubelet's credentials: no node has seen `GITHUB_TOKEN`, runs docker credential
helpers or reads an `identitytoken`. A pod that only a CI login could pull goes ImagePullBackOff
on the cluster. They serve one purpose, to verify on behalf of a credential the gate cannot
replay (a pull secret that exists without readable values, a registry declared in `nodes:
registries`), and to tell, when a pull is refused, that the image does exist.

They come by three routes, all read here:

1. A docker config, the first that exists of: the explicit `--docker-config` (a file, or a
   directory holding `config.json`; it must exist), `$DOCKER_CONFIG/config.json`,
   `~/.docker/config.json`, and the legacy `~/.dockercfg`. First wins, as docker reads exactly
   one config directory.
2. A containers auth file (podman, buildah, skopeo; docker's `auths` format):
   `$REGISTRY_AUTH_FILE` if set, else `$XDG_RUNTIME_DIR/containers/auth.json`, the same either/or
   as containers/image's `getPathToAuth`.
3. The CI's own registry login from the environment: GitHub's `GITHUB_TOKEN` for `ghcr.io`,
   GitLab's `CI_REGISTRY_USER`/`CI_REGISTRY_PASSWORD` (else `CI_JOB_TOKEN`) for `$CI_REGISTRY`.

Routes 1 and 2 are merged, not first-wins: a job may log in with docker or with podman, and
since every matching login is tried until one works, a second file can only add a login, never
hide one. Both files go into one keyring: the most specific key wins across files, and the file
order breaks ties.

`lookup` order: file entries (keyring matching, most specific key first); then credential
helpers, asked only now and only for this registry (`credHelpers` entries whose key matches,
else the `credsStore`); then the environment logins. Entries without any value (`{}`, which
docker writes beside a `credsStore`) are skipped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from gate.credentials import Credential, CredentialConfigError
from gate.credentials.dockerconfig import (
    DockerConfig,
    DockerConfigError,
    docker_config_source,
    parse_docker_config,
    parse_dockercfg,
)
from gate.credentials.helpers import (
    DEFAULT_TIMEOUT,
    CredentialHelperError,
    CredentialHelpers,
    helper_source,
)
from gate.credentials.keyring import KeyIndex, Keyring, is_default_registry_match
from gate.reference import DOCKER_HUB_LOGIN_KEY

log = logging.getLogger(__name__)

GHCR = "ghcr.io"
GITHUB_PLACEHOLDER_USER = "x-access-token"
"""Username with `GITHUB_TOKEN` when `GITHUB_ACTOR` is unset: Basic auth needs a non-empty one,
and ghcr.io is documented to authenticate by the token (not verified against ghcr.io here)."""
GITLAB_JOB_TOKEN_USER = "gitlab-ci-token"
"""The server name docker and its credential helpers use for Docker Hub."""


def discover_config_files(
    docker_config: str | None, environ: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(path, format) of the CI login files to read, in order; format is `json`
    (config.json / auth.json) or `dockercfg` (legacy). See the module docstring."""
    files: list[tuple[str, str]] = []
    home = environ.get("HOME") or os.path.expanduser("~")
    if docker_config:
        path = docker_config
        if os.path.isdir(path):
            path = os.path.join(path, "config.json")
        if not os.path.exists(path):
            raise CredentialConfigError(f"docker config {path}: no such file")
        files.append((path, "dockercfg" if os.path.basename(path) == ".dockercfg" else "json"))
    else:
        candidates: list[tuple[str, str]] = []
        if environ.get("DOCKER_CONFIG"):
            candidates.append((os.path.join(environ["DOCKER_CONFIG"], "config.json"), "json"))
        candidates.append((os.path.join(home, ".docker", "config.json"), "json"))
        candidates.append((os.path.join(home, ".dockercfg"), "dockercfg"))
        for path, kind in candidates:
            if os.path.exists(path):
                files.append((path, kind))
                break
    auth_file = environ.get("REGISTRY_AUTH_FILE")
    if not auth_file and environ.get("XDG_RUNTIME_DIR"):
        auth_file = os.path.join(environ["XDG_RUNTIME_DIR"], "containers", "auth.json")
    if auth_file:
        if os.path.exists(auth_file):
            if not any(_same_file(auth_file, seen) for seen, _ in files):
                files.append((auth_file, "json"))
        else:
            log.debug("no containers auth file at %s", auth_file)
    return files


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def read_config_file(path: str, kind: str = "json") -> DockerConfig:
    """Read one docker config / containers auth file; `CredentialConfigError` with the path
    and the reason if it cannot be read or parsed. An empty file is an empty config, as
    docker reads it."""
    source = docker_config_source(path)
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CredentialConfigError(f"docker config {path}: cannot read it ({reason})") from None
    if not text.strip():
        return DockerConfig(source)
    try:
        if kind == "dockercfg":
            return parse_dockercfg(text, source, what="the file")
        return parse_docker_config(text, source, what="the file")
    except DockerConfigError as exc:
        raise CredentialConfigError(f"docker config {path}: {exc.reason}") from None


def environment_logins(environ: Mapping[str, str]) -> list[tuple[str, Credential]]:
    """(registry key, credential) for the CI's own registry login, named `env:<VARIABLE>`."""
    logins: list[tuple[str, Credential]] = []
    token = environ.get("GITHUB_TOKEN")
    if token:
        actor = environ.get("GITHUB_ACTOR") or GITHUB_PLACEHOLDER_USER
        logins.append((GHCR, Credential("env:GITHUB_TOKEN", username=actor, password=token)))
    registry = environ.get("CI_REGISTRY")
    if registry:
        user, password = environ.get("CI_REGISTRY_USER"), environ.get("CI_REGISTRY_PASSWORD")
        job_token = environ.get("CI_JOB_TOKEN")
        if user and password:
            credential = Credential("env:CI_REGISTRY_PASSWORD", username=user, password=password)
            logins.append((registry, credential))
        elif job_token:
            credential = Credential(
                "env:CI_JOB_TOKEN", username=GITLAB_JOB_TOKEN_USER, password=job_token
            )
            logins.append((registry, credential))
    return logins


def helper_server_url(image_name: str) -> str:
    """The server name a credential helper is asked about for `domain/path`: the domain, or
    docker's `https://index.docker.io/v1/` for Docker Hub (where `docker login` stores it)."""
    domain = image_name.partition("/")[0]
    if is_default_registry_match(image_name):
        return DOCKER_HUB_LOGIN_KEY
    return domain


class CILogins:
    """The CI machine's logins: docker config entries, credential helpers, environment."""

    def __init__(
        self,
        configs: Sequence[DockerConfig] = (),
        environment: Sequence[tuple[str, Credential]] = (),
        helpers: CredentialHelpers | None = None,
    ) -> None:
        self._configs = list(configs)
        self._entries = Keyring()
        self._helpers_by_key: KeyIndex[str] = KeyIndex()
        self._stores: list[str] = []
        for config in self._configs:
            for entry in config.auths:
                if entry.credential.anonymous:
                    continue  # `{}` beside a credsStore: a marker, not a login
                self._entries.add(entry.key, entry.credential)
            for key, name in config.cred_helpers:
                self._helpers_by_key.add(key, name)
            if config.creds_store and config.creds_store not in self._stores:
                self._stores.append(config.creds_store)
        self._environment = Keyring()
        for key, credential in environment:
            self._environment.add(key, credential)
        self._environment_sources = [credential.source for _, credential in environment]
        self._helpers = helpers or CredentialHelpers()
        self._warned: set[tuple[str, str]] = set()

    @classmethod
    def discover(
        cls,
        docker_config: str | None = None,
        environ: Mapping[str, str] | None = None,
        helper_timeout: float = DEFAULT_TIMEOUT,
    ) -> CILogins:
        """Read the CI login files and environment logins (helpers run later, lazily).

        Raises `CredentialConfigError` for a named `--docker-config` that does not exist, or a
        credential file that cannot be read or parsed.
        """
        env = os.environ if environ is None else environ
        configs = [
            read_config_file(path, kind) for path, kind in discover_config_files(docker_config, env)
        ]
        logins = cls(configs, environment_logins(env), CredentialHelpers(env, helper_timeout))
        log.debug("CI logins: %s", ", ".join(logins.sources()) or "none")
        return logins

    @property
    def files(self) -> list[str]:
        """Paths of the credential files read, in order."""
        return [config.source.partition(":")[2] for config in self._configs]

    def sources(self) -> list[str]:
        """Every source that may offer a credential, in lookup order (for logging; no helper
        is run)."""
        names = [config.source for config in self._configs]
        helpers = [name for config in self._configs for _, name in config.cred_helpers]
        for name in [*helpers, *self._stores]:
            if helper_source(name) not in names:
                names.append(helper_source(name))
        for source in self._environment_sources:
            if source not in names:
                names.append(source)
        return names

    def lookup(self, image_name: str) -> list[Credential]:
        """Every CI login for `domain/path`, in the order documented above.

        Runs a credential helper only for a registry looked up (each at most once per run). A
        helper that fails is skipped with one warning: the other logins still count.
        """
        found = self._entries.lookup(image_name)
        helpers = self._helpers_by_key.lookup(image_name) or self._stores
        if helpers:
            server = helper_server_url(image_name)
            for name in helpers:
                try:
                    credential = self._helpers.get(name, server)
                except CredentialHelperError as exc:
                    if (name, server) not in self._warned:
                        self._warned.add((name, server))
                        log.warning("CI logins: %s", exc)
                    continue
                if credential is not None:
                    found.append(credential)
        found.extend(self._environment.lookup(image_name))
        unique: list[Credential] = []
        for credential in found:
            if credential not in unique:
                unique.append(credential)
        return unique

    def __bool__(self) -> bool:
        return bool(self._entries or self._helpers_by_key or self._stores or self._environment)
