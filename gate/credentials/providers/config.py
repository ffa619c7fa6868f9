"""The credential provider config and bin dir, read as the kubelet reads them before it starts.

Reading the config (`load_provider_config`, after `RegisterCredentialProviderPlugins`,
`readCredentialProviderConfig`, `decode`, `validateCredentialProviderConfig`): the bin dir must
exist; the file (YAML or JSON; or a directory of `*.json`/`*.yaml`/`*.yml` files, merged in name
order, as the newest kubelet reads it) is decoded strictly (`entries`); it is then validated
(`validation`); and every provider's binary must be an executable file. Any of these failing
stops the kubelet, so here it is a `ProviderConfigError` (the CLI exits 2): a gate cannot model
a node that would not start.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import dataclass, field
from typing import Any

import yaml

from gate.credentials import CredentialConfigError
from gate.credentials.providers.decoding import StrictYAMLLoader, strict_json
from gate.credentials.providers.entries import ProviderEntry, decode_config
from gate.credentials.providers.problems import Problems, os_reason
from gate.credentials.providers.validation import validate

log = logging.getLogger(__name__)

CONFIG_SUFFIXES = (".json", ".yaml", ".yml")
"""The files read from a config directory."""


class ProviderConfigError(CredentialConfigError):
    """A credential provider config or bin dir the kubelet would refuse to start with.

    The message names the file (and the field or provider), never a value that may be secret
    (an `env` value is never shown).
    """


@dataclass(frozen=True)
class ProviderSpec:
    """One configured provider plugin, validated."""

    name: str
    """The binary's name in the bin dir, and the provider's name in `provider:<name>`."""
    match_images: tuple[str, ...]
    """Image patterns (`URLsMatchStr` globs), as written: they are not normalised like keys."""
    default_cache_duration: float
    """Seconds an answer without `cacheDuration` is cached; 0: not cached."""
    api_version: str
    """The exec protocol's apiVersion, `credentialprovider.kubelet.k8s.io/v1` etc."""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """(name, value) added to the plugin's environment; values may be secrets."""
    needs_service_account_token: bool = False
    """`tokenAttributes` is set: the kubelet sends the pod's service-account token, which CI
    cannot mint, so the plugin is never run here."""
    required_annotation_keys: tuple[str, ...] = ()
    """`tokenAttributes.requiredServiceAccountAnnotationKeys`: the kubelet skips the plugin
    for a pod whose service account lacks one."""


def _config_files(config_path: str) -> list[str]:
    """`readCredentialProviderConfig`: the file, or a directory's config files in name order."""
    if not config_path:
        raise ProviderConfigError("credential provider config: the path is empty")
    try:
        is_dir = stat.S_ISDIR(os.stat(config_path).st_mode)
    except (OSError, ValueError) as exc:
        reason = "no such file" if isinstance(exc, FileNotFoundError) else os_reason(exc)
        raise ProviderConfigError(f"credential provider config {config_path}: {reason}") from None
    if not is_dir:
        return [config_path]
    try:
        with os.scandir(config_path) as entries:
            files = sorted(
                entry.path
                for entry in entries
                if not entry.is_dir(follow_symlinks=False)
                and os.path.splitext(entry.name)[1] in CONFIG_SUFFIXES
            )
    except OSError as exc:
        raise ProviderConfigError(
            f"credential provider config {config_path}: cannot read the directory ({exc.strerror})"
        ) from None
    if not files:
        raise ProviderConfigError(
            f"credential provider config {config_path}: the directory has no "
            f"{', '.join('*' + suffix for suffix in CONFIG_SUFFIXES)} file"
        )
    return files


def _read_document(path: str) -> Any:
    """One config file as data: JSON when it starts with `{` (the codec's recogniser), else
    YAML; `ProviderConfigError` if it does not parse."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ProviderConfigError(
            f"credential provider config {path}: cannot read it ({exc.strerror})"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProviderConfigError(f"credential provider config {path}: not UTF-8 text") from None
    try:
        if text.lstrip().startswith("{"):
            return strict_json(text)
        return yaml.load(text, Loader=StrictYAMLLoader)
    except json.JSONDecodeError as exc:
        # `msg` is a fixed description, never the file's text
        problem = f"invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = f"invalid YAML ({exc.problem or exc.context or 'unreadable'}{line})"
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        problem = f"invalid {'JSON' if text.lstrip().startswith('{') else 'YAML'} ({exc})"
    raise ProviderConfigError(f"credential provider config {path}: {problem}")


def _check_binary(bin_dir: str, provider: ProviderEntry, problems: Problems) -> None:
    """`exec.LookPath(bin-dir/<name>)`: an existing file with an execute bit."""
    program = os.path.join(bin_dir, provider.name)
    try:
        exists = os.path.exists(program)
    except ValueError:  # a NUL in the name
        exists = False
    if not exists:
        problems.add(provider.where, f"the plugin binary {program} does not exist")
    elif os.path.isdir(program) or not os.access(program, os.X_OK):
        problems.add(provider.where, f"the plugin binary {program} is not an executable file")


def load_provider_config(config_path: str, bin_dir: str) -> list[ProviderSpec]:
    """Read and validate as the kubelet's `RegisterCredentialProviderPlugins` does;
    `ProviderConfigError` otherwise.

    The bin dir is checked first, then the config is decoded and validated, then every
    provider's binary is looked up, in the kubelet's order. All problems of one stage are named
    together.
    """
    try:
        os.stat(bin_dir)
    except FileNotFoundError:
        raise ProviderConfigError(
            f"credential provider config {config_path}: the bin dir {bin_dir} does not exist"
        ) from None
    except (OSError, ValueError) as exc:
        raise ProviderConfigError(
            f"credential provider config {config_path}: cannot inspect the bin dir {bin_dir} "
            f"({os_reason(exc)})"
        ) from None
    files = _config_files(config_path)
    directory = len(files) > 1 or files[0] != config_path
    problems = Problems()
    providers: list[ProviderEntry] = []
    for path in files:
        providers += decode_config(
            _read_document(path), os.path.basename(path) if directory else "", problems
        )
    if not problems.items:
        validate(providers, problems)
    if not problems.items:
        for provider in providers:
            _check_binary(bin_dir, provider, problems)
    if problems.items:
        raise ProviderConfigError(
            f"credential provider config {config_path}: {'; '.join(problems.items)} "
            "(the kubelet would not start with it)"
        )
    specs = [
        ProviderSpec(
            name=provider.name,
            match_images=tuple(provider.match_images),
            default_cache_duration=(provider.default_cache_duration or 0) / 1e9,
            api_version=provider.api_version,
            args=tuple(provider.args),
            env=tuple(provider.env),
            needs_service_account_token=provider.token is not None,
            required_annotation_keys=tuple(provider.token.required_keys)
            if provider.token is not None
            else (),
        )
        for provider in providers
    ]
    log.debug("credential providers in %s: %s", config_path, ", ".join(spec.name for spec in specs))
    return specs
