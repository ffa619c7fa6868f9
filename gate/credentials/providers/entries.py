"""A provider config document decoded strictly into provider entries, as the kubelet's `decode`.

A document is a `CredentialProviderConfig` of `kubelet.config.k8s.io/v1`, `v1beta1` or
`v1alpha1`, decoded strictly as the kubelet's codec does: unknown or duplicate fields and values
of the wrong type are errors; field names are case-sensitive. Entries are not validated here
(`validation` does that, after every document is decoded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gate.credentials.providers.decoding import kind_of, show
from gate.credentials.providers.problems import Problems

CONFIG_KIND = "CredentialProviderConfig"
CONFIG_GROUP = "kubelet.config.k8s.io"
CONFIG_API_VERSIONS = (f"{CONFIG_GROUP}/v1", f"{CONFIG_GROUP}/v1beta1", f"{CONFIG_GROUP}/v1alpha1")
"""The config versions the kubelet's scheme knows (`plugin.go` `init`)."""

_CONFIG_FIELDS = frozenset({"kind", "apiVersion", "providers"})
_PROVIDER_FIELDS = frozenset(
    {"name", "matchImages", "defaultCacheDuration", "apiVersion", "args", "env"}
)
_PROVIDER_FIELDS_V1 = _PROVIDER_FIELDS | {"tokenAttributes"}
"""Only `kubelet.config.k8s.io/v1` has `tokenAttributes`: in v1beta1/v1alpha1 it is unknown."""
_ENV_FIELDS = frozenset({"name", "value"})
_TOKEN_FIELDS = frozenset(
    {
        "serviceAccountTokenAudience",
        "cacheType",
        "requireServiceAccount",
        "requiredServiceAccountAnnotationKeys",
        "optionalServiceAccountAnnotationKeys",
    }
)


@dataclass
class TokenAttributes:
    """A provider's `tokenAttributes` as decoded (KEP-4412), before validation."""

    audience: str
    cache_type: str
    require_service_account: bool | None
    required_keys: list[str]
    optional_keys: list[str]


@dataclass
class ProviderEntry:
    """One provider entry as decoded, before validation."""

    where: str
    name: str
    match_images: list[str]
    default_cache_duration: int | None
    api_version: str
    args: list[str]
    env: list[tuple[str, str]]
    token: TokenAttributes | None


def decode_config(document: Any, where: str, problems: Problems) -> list[ProviderEntry]:
    """`decode`: the kind and group checks, then the versioned types, strictly."""
    top = problems.mapping(document, where or "the document")
    if top is None:
        if document is None:
            problems.add(where or "the document", "empty: expected a CredentialProviderConfig")
        return []
    prefix = f"{where} " if where else ""
    api_version = top.get("apiVersion")
    kind = top.get("kind")
    if not isinstance(kind, str) or not kind:
        problems.add(f"{prefix}kind", f"missing: expected kind: {CONFIG_KIND}")
        return []
    if not isinstance(api_version, str) or not api_version:
        problems.add(
            f"{prefix}apiVersion", f"missing: expected one of {', '.join(CONFIG_API_VERSIONS)}"
        )
        return []
    if api_version not in CONFIG_API_VERSIONS:
        problems.add(
            f"{prefix}apiVersion",
            f"{show(api_version)} is not supported (one of {', '.join(CONFIG_API_VERSIONS)})",
        )
        return []
    if kind != CONFIG_KIND:
        problems.add(f"{prefix}kind", f"{show(kind)} is not {CONFIG_KIND}")
        return []
    problems.fields(top, _CONFIG_FIELDS, where or "the document")
    allowed = _PROVIDER_FIELDS_V1 if api_version == CONFIG_API_VERSIONS[0] else _PROVIDER_FIELDS
    entries = top.get("providers")
    if entries is None:
        return []
    if not isinstance(entries, list):
        problems.add(f"{prefix}providers", f"must be a list, not {kind_of(entries)}")
        return []
    providers: list[ProviderEntry] = []
    for index, entry in enumerate(entries):
        at = f"{prefix}providers[{index}]"
        raw = problems.mapping(entry, at)
        if raw is None:
            raw = {}
        problems.fields(raw, allowed, at)
        providers.append(
            ProviderEntry(
                where=at,
                name=problems.string(raw.get("name"), f"{at}.name"),
                match_images=problems.strings(raw.get("matchImages"), f"{at}.matchImages"),
                default_cache_duration=problems.duration(
                    raw.get("defaultCacheDuration"), f"{at}.defaultCacheDuration"
                ),
                api_version=problems.string(raw.get("apiVersion"), f"{at}.apiVersion"),
                args=problems.strings(raw.get("args"), f"{at}.args"),
                env=_decode_env(raw.get("env"), f"{at}.env", problems),
                token=(
                    _decode_token(raw.get("tokenAttributes"), f"{at}.tokenAttributes", problems)
                    if "tokenAttributes" in allowed
                    else None
                ),
            )
        )
    return providers


def _decode_env(value: Any, where: str, problems: Problems) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(where, f"must be a list of {{name, value}}, not {kind_of(value)}")
        return []
    env: list[tuple[str, str]] = []
    for index, item in enumerate(value):
        at = f"{where}[{index}]"
        entry = problems.mapping(item, at) or {}
        problems.fields(entry, _ENV_FIELDS, at)
        name = problems.string(entry.get("name"), f"{at}.name")
        # never echo a value: `string` only names its type
        env.append((name, problems.string(entry.get("value"), f"{at}.value")))
    return env


def _decode_token(value: Any, where: str, problems: Problems) -> TokenAttributes | None:
    raw = problems.mapping(value, where)
    if raw is None:
        return None
    problems.fields(raw, _TOKEN_FIELDS, where)
    return TokenAttributes(
        audience=problems.string(
            raw.get("serviceAccountTokenAudience"), f"{where}.serviceAccountTokenAudience"
        ),
        cache_type=problems.string(raw.get("cacheType"), f"{where}.cacheType"),
        require_service_account=problems.boolean(
            raw.get("requireServiceAccount"), f"{where}.requireServiceAccount"
        ),
        required_keys=problems.strings(
            raw.get("requiredServiceAccountAnnotationKeys"),
            f"{where}.requiredServiceAccountAnnotationKeys",
        ),
        optional_keys=problems.strings(
            raw.get("optionalServiceAccountAnnotationKeys"),
            f"{where}.optionalServiceAccountAnnotationKeys",
        ),
    )
