"""`validateCredentialProviderConfig`: what the kubelet checks in the decoded provider entries.

Checked as with the `KubeletServiceAccountTokenForCredentialProviders` feature enabled, its
default since Kubernetes 1.34.
"""

from __future__ import annotations

import re

from gate.credentials.keyring import BadKey, parse_schemeless
from gate.credentials.providers.decoding import show
from gate.credentials.providers.entries import ProviderEntry, TokenAttributes
from gate.credentials.providers.problems import Problems
from gate.credentials.providers.protocol import PROTOCOL_API_VERSIONS, PROTOCOL_V1

TOKEN_CACHE_TYPES = ("ServiceAccount", "Token")
"""`tokenAttributes.cacheType` values (required since the feature's beta, Kubernetes 1.34)."""

_QUALIFIED_NAME = re.compile(r"([a-z0-9]([-a-z0-9_.]*[a-z0-9])?)", re.IGNORECASE)
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def validate(providers: list[ProviderEntry], problems: Problems) -> None:
    """`validateCredentialProviderConfig` (with KubeletServiceAccountTokenForCredentialProviders
    enabled, its default since Kubernetes 1.34)."""
    if not providers:
        problems.add("providers", "at least one provider is required")
    seen: set[str] = set()
    for provider in providers:
        at, name = provider.where, provider.name
        if not name:
            problems.add(f"{at}.name", "required (the plugin binary's name in the bin dir)")
        if "/" in name:
            problems.add(f"{at}.name", f"{show(name)} must not contain '/'")
        if " " in name:
            problems.add(f"{at}.name", f"{show(name)} must not contain spaces")
        if name in (".", ".."):
            problems.add(f"{at}.name", f"{show(name)} is not a provider name")
        if name in seen:
            problems.add(f"{at}.name", f"duplicate provider name {show(name)}")
        seen.add(name)
        if not provider.api_version:
            problems.add(
                f"{at}.apiVersion", f"required (one of {', '.join(PROTOCOL_API_VERSIONS)})"
            )
        elif provider.api_version not in PROTOCOL_API_VERSIONS:
            problems.add(
                f"{at}.apiVersion",
                f"{show(provider.api_version)} is not supported "
                f"(one of {', '.join(PROTOCOL_API_VERSIONS)})",
            )
        if not provider.match_images:
            problems.add(f"{at}.matchImages", "at least one image pattern is required")
        for index, pattern in enumerate(provider.match_images):
            try:
                parse_schemeless(pattern)  # ParseSchemelessURL
            except BadKey as exc:
                problems.add(
                    f"{at}.matchImages[{index}]", f"{show(pattern)} is not an image pattern: {exc}"
                )
        if provider.default_cache_duration is None:
            problems.add(f"{at}.defaultCacheDuration", "required (a Go duration such as 12h or 0s)")
        elif provider.default_cache_duration < 0:
            problems.add(f"{at}.defaultCacheDuration", "must not be negative")
        if provider.token is not None:
            _validate_token(provider, provider.token, f"{at}.tokenAttributes", problems)


def _validate_token(
    provider: ProviderEntry, token: TokenAttributes, where: str, problems: Problems
) -> None:
    if not token.audience:
        problems.add(f"{where}.serviceAccountTokenAudience", "required")
    if token.require_service_account is None:
        problems.add(f"{where}.requireServiceAccount", "required (true or false)")
    if provider.api_version != PROTOCOL_V1:
        problems.add(where, f"only supported with apiVersion {PROTOCOL_V1}")
    if token.require_service_account is False and token.required_keys:
        problems.add(
            f"{where}.requiredServiceAccountAnnotationKeys",
            "requires requireServiceAccount: true",
        )
    for what, keys in (
        ("requiredServiceAccountAnnotationKeys", token.required_keys),
        ("optionalServiceAccountAnnotationKeys", token.optional_keys),
    ):
        seen: set[str] = set()
        for key in keys:
            if not _is_qualified_name(key.lower()):
                problems.add(f"{where}.{what}", f"{show(key)} is not a valid annotation key")
            if key in seen:
                problems.add(f"{where}.{what}", f"duplicate key {show(key)}")
            seen.add(key)
    both = sorted(set(token.required_keys) & set(token.optional_keys))
    if both:
        problems.add(where, f"annotation keys both required and optional: {', '.join(both)}")
    if not token.cache_type:
        problems.add(f"{where}.cacheType", f"required (one of {', '.join(TOKEN_CACHE_TYPES)})")
    elif token.cache_type not in TOKEN_CACHE_TYPES:
        problems.add(
            f"{where}.cacheType",
            f"{show(token.cache_type)} is not one of {', '.join(TOKEN_CACHE_TYPES)}",
        )


def _is_qualified_name(key: str) -> bool:
    """`validation.IsQualifiedName`: `[prefix/]name`, a DNS subdomain prefix, a 63-char name."""
    parts = key.split("/")
    if len(parts) > 2:
        return False
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix or len(prefix) > 253 or _DNS_SUBDOMAIN.fullmatch(prefix) is None:
            return False
    return 0 < len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name) is not None
