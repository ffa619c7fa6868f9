"""Docker config JSON and Kubernetes pull Secrets, parsed as docker and the kubelet read them.

Two shapes exist: `config.json` / `.dockerconfigjson` wrap registry entries in `auths` (and may
name `credHelpers` and a `credsStore`); the legacy `.dockercfg` is the bare registry map. An
entry carries `auth` (base64 of `user:password`; padding optional, as the kubelet decodes
unpadded values too, and `auth` wins over `username`/`password` when both are there), or
`username`/`password`. Field names match case-insensitively, as Go's `encoding/json` does, and
a JSON `null` reads as empty.

Two readers, because two programs read these files:

- The CI machine's logins (`parse_docker_config`, `parse_dockercfg`) as docker reads them:
  `credHelpers`, `credsStore`, `identitytoken` and `registrytoken` included.
- Pull Secrets and node docker configs (`parse_pull_secret`, `read_kubelet_docker_config`) as
  the kubelet's Go types read them (`pkg/credentialprovider/config.go`): `auths` of
  `username`, `password`, `email`, `auth` strings, and `HttpHeaders`; every other field is
  ignored, so a secret entry with only an `identitytoken` pulls anonymously on the node, and
  does here too (a gate that used the token would pass a pull the node fails).

Every parse error says what is wrong and where (secret, registry key, field), never with the
values: a reason may reach a log, a report or a CI annotation.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from gate.credentials import Credential
from gate.credentials.keyring import redact_key
from gate.errors import GateError

log = logging.getLogger(__name__)

SECRET_TYPE_DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"
SECRET_TYPE_DOCKERCFG = "kubernetes.io/dockercfg"
SECRET_KEYS = {
    SECRET_TYPE_DOCKERCONFIGJSON: ".dockerconfigjson",
    SECRET_TYPE_DOCKERCFG: ".dockercfg",
}
"""The data key each pull secret type must carry."""

_PADDED_B64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_RAW_B64 = re.compile(r"[A-Za-z0-9+/]*")
_MAX_NAME = 100


class DockerConfigError(GateError, ValueError):
    """A docker config that cannot be read as docker and the kubelet read it.

    `reason` is a plain sentence without any secret value.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AuthEntry:
    """One registry entry: the key as written and the login it holds (named by source)."""

    key: str
    credential: Credential


@dataclass(frozen=True)
class DockerConfig:
    """What one docker config (a file or a pull secret) offers, in file order."""

    source: str
    """`docker-config:<path>` or `secret:<namespace>/<name>`: every credential carries it."""
    auths: tuple[AuthEntry, ...] = ()
    cred_helpers: tuple[tuple[str, str], ...] = ()
    """(registry key, helper name) from `credHelpers`; always empty for pull secrets."""
    creds_store: str | None = None
    """`credsStore`: the default helper; always None for pull secrets."""


def docker_config_source(path: str) -> str:
    return f"docker-config:{path}"


def pull_secret_source(namespace: str, name: str) -> str:
    return f"secret:{namespace}/{name}"


# -- decoding helpers ----------------------------------------------------------------------------


def decode_auth(value: str) -> tuple[str, str]:
    """Split an `auth` field into (username, password), as the kubelet does.

    Padded when it ends with `=` (after trimming spaces), unpadded otherwise; line breaks are
    ignored as Go's decoder ignores them; the decoded text must contain a colon.
    """
    try:
        raw = _b64decode(value, padded=value.strip().endswith("="))
    except ValueError:
        raise DockerConfigError("`auth` is not valid base64") from None
    text = raw.decode("utf-8", errors="replace")
    username, colon, password = text.partition(":")
    if not colon:
        raise DockerConfigError("`auth` does not decode to username:password (no colon)")
    return username, password


def _b64decode(value: str, padded: bool) -> bytes:
    cleaned = value.replace("\r", "").replace("\n", "")
    if padded:
        if _PADDED_B64.fullmatch(cleaned) is None:
            raise ValueError("bad base64")
    else:
        if _RAW_B64.fullmatch(cleaned) is None or len(cleaned) % 4 == 1:
            raise ValueError("bad base64")
        cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except binascii.Error:
        raise ValueError("bad base64") from None


def _field(obj: Mapping[str, Any], name: str) -> Any:
    """Go `encoding/json` field lookup: case-insensitive, the last matching key wins."""
    value: Any = None
    lowered = name.lower()
    for key, item in obj.items():
        if isinstance(key, str) and key.lower() == lowered:
            value = item
    return value


def _show(text: str) -> str:
    """A registry key or name, quoted and bounded, for a message."""
    return repr(text if len(text) <= _MAX_NAME else text[:_MAX_NAME] + "...")


def _string_field(entry: Mapping[str, Any], name: str, where: str) -> str:
    value = _field(entry, name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DockerConfigError(f"{where}: `{name}` is not a string")
    return value


def _load_json(data: str | bytes | Mapping[str, Any], what: str) -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        return data
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    if not data.strip():
        raise DockerConfigError(f"{what} is empty")
    try:
        document = json.loads(data)
    except json.JSONDecodeError as exc:
        # `msg` is a fixed description ("Expecting value"...); never the document's text.
        raise DockerConfigError(
            f"{what} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(document, dict):
        raise DockerConfigError(f"{what} is not a JSON object")
    return document


def _login(
    key: str, entry: Any, what: str, fields: tuple[str, ...]
) -> tuple[Mapping[str, Any], str, str, str]:
    """(entry, username, password, where) of one registry entry: `auth` wins over
    `username`/`password`; every name in `fields` must be a string (or null) too."""
    where = f"{what}, entry {_show(redact_key(key))}"
    if entry is None:
        entry = {}
    if not isinstance(entry, Mapping):
        raise DockerConfigError(f"{where} is not a JSON object")
    username = _string_field(entry, "username", where)
    password = _string_field(entry, "password", where)
    for name in fields:
        _string_field(entry, name, where)
    auth = _string_field(entry, "auth", where)
    if auth:
        try:
            username, password = decode_auth(auth)
        except DockerConfigError as exc:
            raise DockerConfigError(f"{where}: {exc.reason}") from None
    return entry, username, password, where


def _entry(key: str, entry: Any, source: str, what: str) -> AuthEntry:
    """One registry entry of a CI login file, tokens included (docker and podman use them)."""
    fields = ("identitytoken", "registrytoken")
    entry, username, password, where = _login(key, entry, what, fields)
    identity = _string_field(entry, "identitytoken", where)
    registry = _string_field(entry, "registrytoken", where)
    credential = Credential(
        source,
        username=username or None,
        password=password or None,
        identity_token=identity or None,
        registry_token=registry or None,
    )
    return AuthEntry(key, credential)


def _entries(auths: Any, source: str, what: str) -> tuple[AuthEntry, ...]:
    if auths is None:
        return ()
    if not isinstance(auths, Mapping):
        raise DockerConfigError(f"{what}: `auths` is not a JSON object")
    return tuple(_entry(str(key), entry, source, what) for key, entry in auths.items())


def _helper_name(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise DockerConfigError(f"{where} is not a string")
    return value


# -- docker config files ---------------------------------------------------------------------


def parse_docker_config(
    data: str | bytes | Mapping[str, Any], source: str, what: str = "docker config"
) -> DockerConfig:
    """A `config.json` (or containers `auth.json`): `auths`, `credHelpers`, `credsStore`.

    `what` names the document in error reasons (a path, a secret's key).
    """
    document = _load_json(data, what)
    auths = _entries(_field(document, "auths"), source, what)
    helpers_value = _field(document, "credHelpers")
    helpers: list[tuple[str, str]] = []
    if helpers_value is not None:
        if not isinstance(helpers_value, Mapping):
            raise DockerConfigError(f"{what}: `credHelpers` is not a JSON object")
        for key, name in helpers_value.items():
            helpers.append(
                (
                    str(key),
                    _helper_name(name, f"{what}: `credHelpers` {_show(redact_key(str(key)))}"),
                )
            )
    store = _field(document, "credsStore")
    store_name = _helper_name(store, f"{what}: `credsStore`") if store is not None else None
    return DockerConfig(source, auths, tuple(helpers), store_name or None)


def parse_dockercfg(
    data: str | bytes | Mapping[str, Any], source: str, what: str = ".dockercfg"
) -> DockerConfig:
    """The legacy `.dockercfg` form: registry keys at the top level, no `auths` wrapper."""
    document = _load_json(data, what)
    auths = _entries(document, source, what)
    return DockerConfig(source, auths)


# -- as the kubelet reads them -----------------------------------------------------------------


def kubelet_entries(auths: Any, source: str, what: str) -> tuple[AuthEntry, ...]:
    """A `map[string]DockerConfigEntry` as the kubelet's Go types decode it.

    `pkg/credentialprovider/config.go`: an entry has `username`, `password`, `email` and `auth`
    strings (`DockerConfigEntry.UnmarshalJSON` via `dockerConfigEntryWithAuth`), `auth` wins and
    must decode to `user:password`. Any other field (`identitytoken`, `registrytoken`, ...) is
    ignored whatever its type; a listed field of another JSON type is a decoding error.
    """
    if auths is None:
        return ()
    if not isinstance(auths, Mapping):
        raise DockerConfigError(f"{what}: `auths` is not a JSON object")
    entries: list[AuthEntry] = []
    for key, entry in auths.items():
        _, username, password, _ = _login(str(key), entry, what, ("email",))
        credential = Credential(source, username=username or None, password=password or None)
        entries.append(AuthEntry(str(key), credential))
    return tuple(entries)


def kubelet_config_json(document: Any, source: str, what: str) -> DockerConfig:
    """A `config.json` / `.dockerconfigjson` as the kubelet reads it (`DockerConfigJSON`):
    `auths` only; `HttpHeaders` must be a map of strings; no helpers, no tokens."""
    if document is None:
        return DockerConfig(source)
    if not isinstance(document, Mapping):
        raise DockerConfigError(f"{what} is not a JSON object")
    headers = _field(document, "HttpHeaders")
    if headers is not None:
        if not isinstance(headers, Mapping):
            raise DockerConfigError(f"{what}: `HttpHeaders` is not a JSON object")
        if any(v is not None and not isinstance(v, str) for v in headers.values()):
            raise DockerConfigError(f"{what}: a `HttpHeaders` value is not a string")
    return DockerConfig(source, kubelet_entries(_field(document, "auths"), source, what))


def kubelet_dockercfg(document: Any, source: str, what: str) -> DockerConfig:
    """The legacy `.dockercfg` (a bare `DockerConfig` map) as the kubelet reads it."""
    if document is None:
        return DockerConfig(source)
    if not isinstance(document, Mapping):
        raise DockerConfigError(f"{what} is not a JSON object")
    return DockerConfig(source, kubelet_entries(document, source, what))


def read_kubelet_docker_config(text: str, source: str, legacy: bool, what: str) -> DockerConfig:
    """A node's docker config file, parsed as the kubelet parses it (`auths` only)."""
    document = _load_json(text, what) if text.strip() else None
    if legacy:
        return kubelet_dockercfg(document, source, what)
    return kubelet_config_json(document, source, what)


# -- pull secrets ----------------------------------------------------------------------------


class Effect(str, Enum):
    """What an unusable pull secret does to the pod, as the cluster handles it."""

    IGNORED = "ignored"
    """Not a pull secret type: `secretsToTrackedDockerConfigs` skips it; the pull goes on
    without it."""
    REJECTED = "rejected"
    """The API server refuses the Secret (`ValidateSecret`: the type's key is required and must
    be a JSON object), so it never exists and the kubelet pulls without it."""
    BREAKS_KEYRING = "breaks-keyring"
    """Valid JSON that the kubelet's Go types cannot decode: `MakeDockerKeyring` returns the
    error, so every image pull of the pod fails."""


class PullSecretInvalid(DockerConfigError):
    """A pull secret of the wrong type or with undecodable data; `effect` says what it does."""

    def __init__(self, reason: str, effect: Effect = Effect.REJECTED) -> None:
        super().__init__(reason)
        self.effect = effect


def parse_pull_secret(
    secret: Mapping[str, Any], default_namespace: str = "default"
) -> DockerConfig:
    """The registry entries of a pull Secret, as the kubelet reads them.

    `secret` is the object as loaded from YAML/JSON. `stringData` wins over `data` for the same
    key, as the API server merges them. Raises `PullSecretInvalid`, whose `effect` tells a
    secret the kubelet ignores (another type) from one the API server refuses (a missing or
    empty key, undecodable base64, not a JSON object) and from one that breaks the pod's
    keyring (a field of the wrong JSON type, an `auth` that is not base64 of `user:password`).
    """
    metadata = secret.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    name = str(metadata.get("name") or "")
    namespace = str(metadata.get("namespace") or default_namespace)
    source = pull_secret_source(namespace, name)
    secret_type = secret.get("type")
    key = SECRET_KEYS.get(secret_type) if isinstance(secret_type, str) else None
    if key is None:
        shown = _show(str(secret_type)) if secret_type else "Opaque (no type)"
        raise PullSecretInvalid(
            f"secret type is {shown}; the kubelet reads image pull secrets only of type "
            f"{SECRET_TYPE_DOCKERCONFIGJSON} or {SECRET_TYPE_DOCKERCFG}",
            Effect.IGNORED,
        )
    try:
        text = _secret_value(secret, key)
        # `null` passes ValidateSecret (it unmarshals into a map) and decodes to nothing
        document = None if text.strip() == "null" else _load_json(text, f"`{key}`")
    except PullSecretInvalid:
        raise
    except DockerConfigError as exc:
        raise PullSecretInvalid(exc.reason, Effect.REJECTED) from None
    try:
        if secret_type == SECRET_TYPE_DOCKERCONFIGJSON:
            config = kubelet_config_json(document, source, f"`{key}`")
        else:
            config = kubelet_dockercfg(document, source, f"`{key}`")
    except DockerConfigError as exc:
        raise PullSecretInvalid(exc.reason, Effect.BREAKS_KEYRING) from None
    if document is not None and _carries_tokens(document, secret_type == SECRET_TYPE_DOCKERCFG):
        log.warning(
            "%s: identitytoken/registrytoken entries are ignored, as the kubelet ignores them "
            "in pull secrets; use username and password",
            source,
        )
    return config


def _carries_tokens(document: Mapping[str, Any], legacy: bool) -> bool:
    auths = document if legacy else _field(document, "auths")
    if not isinstance(auths, Mapping):
        return False
    return any(
        isinstance(entry, Mapping)
        and (_field(entry, "identitytoken") or _field(entry, "registrytoken"))
        for entry in auths.values()
    )


def _secret_value(secret: Mapping[str, Any], key: str) -> str:
    """The decoded value of `key`: `stringData` as is, else `data` from base64."""
    string_data = secret.get("stringData")
    data = secret.get("data")
    for section, value in (("stringData", string_data), ("data", data)):
        if value is not None and not isinstance(value, Mapping):
            raise PullSecretInvalid(f"`{section}` is not a mapping")
    if isinstance(string_data, Mapping) and key in string_data:
        plain = string_data[key]
        if not isinstance(plain, str):
            raise PullSecretInvalid(f"`stringData.{key}` is not a string")
        if not plain.strip():
            raise PullSecretInvalid(f"`stringData.{key}` is empty")
        return plain
    if isinstance(data, Mapping) and key in data:
        encoded = data[key]
        if not isinstance(encoded, str):
            raise PullSecretInvalid(f"`data.{key}` is not a string")
        try:
            decoded = _b64decode(encoded, padded=True)
        except ValueError:
            raise PullSecretInvalid(f"`data.{key}` is not valid base64") from None
        if not decoded.strip():
            raise PullSecretInvalid(f"`data.{key}` is empty")
        return decoded.decode("utf-8", errors="replace")
    raise PullSecretInvalid(f"the secret has no `{key}` key in `data` or `stringData`")
