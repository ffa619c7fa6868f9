"""Docker config JSON and Kubernetes pull Secrets, parsed as the kubelet and docker read them.

Two shapes exist: `config.json` / `.dockerconfigjson` wrap registry entries in `auths` (and may
name `credHelpers` and a `credsStore`); the legacy `.dockercfg` is the bare registry map. An
entry carries `auth` (base64 of `user:password`; padding optional, as the kubelet decodes
unpadded values too, and `auth` wins over `username`/`password` when both are there), or
`username`/`password`, and, in docker's format, an `identitytoken` (OAuth2 refresh token) or a
`registrytoken` (a bearer token). Field names match case-insensitively, as Go's `encoding/json`
does, and a JSON `null` reads as empty.

Pull Secrets keep only what the kubelet keeps: its `DockerConfigEntry` has no identity or
registry token, so a secret entry with only an `identitytoken` pulls anonymously on the node,
and does so here too (a gate that used the token would pass a pull the node fails).

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
from typing import Any

from gate.credentials import Credential

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


class DockerConfigError(ValueError):
    """A docker config that cannot be read as docker and the kubelet read it.

    `reason` is a plain sentence without any secret value.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PullSecretInvalid(DockerConfigError):
    """A pull secret of the wrong type or with undecodable data (`pull-secret-invalid`)."""


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


def _entry(key: str, entry: Any, source: str, what: str, tokens: bool) -> tuple[AuthEntry, bool]:
    """One registry entry; also whether it dropped a token (pull secrets keep none)."""
    where = f"{what}, entry {_show(key)}"
    if entry is None:
        entry = {}
    if not isinstance(entry, Mapping):
        raise DockerConfigError(f"{where} is not a JSON object")
    username = _string_field(entry, "username", where)
    password = _string_field(entry, "password", where)
    auth = _string_field(entry, "auth", where)
    identity = _string_field(entry, "identitytoken", where)
    registry = _string_field(entry, "registrytoken", where)
    if auth:
        try:
            username, password = decode_auth(auth)
        except DockerConfigError as exc:
            raise DockerConfigError(f"{where}: {exc.reason}") from None
    dropped = bool(identity or registry) and not tokens
    credential = Credential(
        source,
        username=username or None,
        password=password or None,
        identity_token=(identity or None) if tokens else None,
        registry_token=(registry or None) if tokens else None,
    )
    return AuthEntry(key, credential), dropped


def _entries(
    auths: Any, source: str, what: str, tokens: bool
) -> tuple[tuple[AuthEntry, ...], bool]:
    if auths is None:
        return (), False
    if not isinstance(auths, Mapping):
        raise DockerConfigError(f"{what}: `auths` is not a JSON object")
    parsed = [_entry(str(key), entry, source, what, tokens) for key, entry in auths.items()]
    return tuple(e for e, _ in parsed), any(d for _, d in parsed)


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
    auths, _ = _entries(_field(document, "auths"), source, what, tokens=True)
    helpers_value = _field(document, "credHelpers")
    helpers: list[tuple[str, str]] = []
    if helpers_value is not None:
        if not isinstance(helpers_value, Mapping):
            raise DockerConfigError(f"{what}: `credHelpers` is not a JSON object")
        for key, name in helpers_value.items():
            helpers.append((str(key), _helper_name(name, f"{what}: `credHelpers` {_show(key)}")))
    store = _field(document, "credsStore")
    store_name = _helper_name(store, f"{what}: `credsStore`") if store is not None else None
    return DockerConfig(source, auths, tuple(helpers), store_name or None)


def parse_dockercfg(
    data: str | bytes | Mapping[str, Any], source: str, what: str = ".dockercfg"
) -> DockerConfig:
    """The legacy `.dockercfg` form: registry keys at the top level, no `auths` wrapper."""
    document = _load_json(data, what)
    auths, _ = _entries(document, source, what, tokens=True)
    return DockerConfig(source, auths)


# -- pull secrets ----------------------------------------------------------------------------


def parse_pull_secret(
    secret: Mapping[str, Any], default_namespace: str = "default"
) -> DockerConfig:
    """The registry entries of a pull Secret, as the kubelet reads them.

    `secret` is the object as loaded from YAML/JSON. `stringData` wins over `data` for the same
    key, as the API server merges them. Raises `PullSecretInvalid` for a wrong type, a missing
    or empty key, undecodable base64 or JSON, or an `auth` that is not `user:password`.
    """
    metadata = secret.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    name = str(metadata.get("name") or "")
    namespace = str(metadata.get("namespace") or default_namespace)
    source = pull_secret_source(namespace, name)
    try:
        return _parse_pull_secret(secret, source)
    except PullSecretInvalid:
        raise
    except DockerConfigError as exc:
        raise PullSecretInvalid(exc.reason) from None


def _parse_pull_secret(secret: Mapping[str, Any], source: str) -> DockerConfig:
    secret_type = secret.get("type")
    key = SECRET_KEYS.get(secret_type) if isinstance(secret_type, str) else None
    if key is None:
        shown = _show(str(secret_type)) if secret_type else "Opaque (no type)"
        raise PullSecretInvalid(
            f"secret type is {shown}; an image pull secret must be of type "
            f"{SECRET_TYPE_DOCKERCONFIGJSON} or {SECRET_TYPE_DOCKERCFG}"
        )
    text = _secret_value(secret, key)
    if secret_type == SECRET_TYPE_DOCKERCONFIGJSON:
        document = _load_json(text, f"`{key}`")
        auths_value = _field(document, "auths")
        if auths_value is None:
            raise PullSecretInvalid(
                f"`{key}` has no `auths` object (is it the legacy .dockercfg format? "
                f"that belongs in a {SECRET_TYPE_DOCKERCFG} secret under `.dockercfg`)"
            )
        auths, dropped = _entries(auths_value, source, f"`{key}`", tokens=False)
    else:
        document = _load_json(text, f"`{key}`")
        auths, dropped = _entries(document, source, f"`{key}`", tokens=False)
    if dropped:
        log.warning(
            "%s: identitytoken/registrytoken entries are ignored, as the kubelet ignores them "
            "in pull secrets; use username and password",
            source,
        )
    return DockerConfig(source, auths)


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
