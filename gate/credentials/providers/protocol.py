"""The exec protocol: the request as Go encodes it, the answer decoded strictly, its cache.

A plugin reads a `CredentialProviderRequest` (`{"kind", "apiVersion", "image"}`) on stdin and
prints a `CredentialProviderResponse` of the same apiVersion (`plugin.go`: `ExecPlugin`,
`decodeResponse`). The answer holds credentials: no failure here quotes it.

Caching (`pluginProvider.provide`, `getCachedCredentials`): as the kubelet does, per image, per
registry or globally as the response's `cacheKeyType` says, for its `cacheDuration` or else the
provider's `defaultCacheDuration` (zero: not cached).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from gate.credentials import Credential
from gate.credentials.providers.decoding import parse_go_duration, strict_json

PROTOCOL_GROUP = "credentialprovider.kubelet.k8s.io"
PROTOCOL_V1 = f"{PROTOCOL_GROUP}/v1"
PROTOCOL_API_VERSIONS = (PROTOCOL_V1, f"{PROTOCOL_GROUP}/v1beta1", f"{PROTOCOL_GROUP}/v1alpha1")
"""A provider's `apiVersion`: the exec protocol's version (`plugin.go` `apiVersions`)."""
REQUEST_KIND = "CredentialProviderRequest"
RESPONSE_KIND = "CredentialProviderResponse"

CACHE_KEY_TYPES = ("Image", "Registry", "Global")
GLOBAL_CACHE_KEY = "global"
_RESPONSE_FIELDS = frozenset({"kind", "apiVersion", "cacheKeyType", "cacheDuration", "auth"})
_AUTH_FIELDS = frozenset({"username", "password"})

Logins = tuple[tuple[str, Credential], ...]
"""(auth key as the plugin wrote it, credential) in the response's order."""


class PluginFailure(Exception):
    """Why a plugin gave no credentials: `kind` groups warnings, `detail` is the sentence."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class Answer:
    """A decoded CredentialProviderResponse."""

    cache_key_type: str
    cache_duration: float | None
    """Seconds; None when the response has none (the provider's default applies)."""
    auth: tuple[tuple[str, str, str], ...] = field(repr=False)
    """(match key, username, password) in the response's order."""


def encode_request(api_version: str, image_name: str) -> bytes:
    """The `CredentialProviderRequest` for `image_name`, as the kubelet writes it to stdin."""
    return _go_json({"kind": REQUEST_KIND, "apiVersion": api_version, "image": image_name})


def _go_json(document: Mapping[str, str]) -> bytes:
    """Compact JSON as Go's encoder writes it: HTML characters escaped, a final newline."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return (text + "\n").encode()


def decode_answer(stdout: bytes, api_version: str) -> Answer:
    """`ExecPlugin`'s apiVersion check, then `decodeResponse`, then `provide`'s cacheKeyType
    check. Failures never quote the output: it holds the credentials."""
    not_response = f"the answer is not a {RESPONSE_KIND}"
    try:
        document = strict_json(stdout.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        raise PluginFailure("json", "the answer is not JSON") from None
    if not isinstance(document, dict):
        raise PluginFailure("json", "the answer is not a JSON object")
    answered = document.get("apiVersion")
    if answered != api_version:
        shown = f"{answered}" if answered in PROTOCOL_API_VERSIONS else "another one"
        raise PluginFailure(
            "apiVersion",
            f"the answer's apiVersion is {shown}, not the provider's {api_version}",
        )
    if document.get("kind") != RESPONSE_KIND:
        raise PluginFailure("response", f"{not_response} (its kind is not {RESPONSE_KIND})")
    if any(key not in _RESPONSE_FIELDS for key in document):
        raise PluginFailure("response", f"{not_response} (it has an unknown field)")
    cache_key_type = document.get("cacheKeyType")
    if cache_key_type is None:
        cache_key_type = ""
    if not isinstance(cache_key_type, str):
        raise PluginFailure("response", f"{not_response} (cacheKeyType is not a string)")
    cache_duration: float | None = None
    raw_duration = document.get("cacheDuration")
    if raw_duration is not None:
        try:
            if not isinstance(raw_duration, str):
                raise ValueError("not a string")
            cache_duration = parse_go_duration(raw_duration) / 1e9
        except ValueError:
            raise PluginFailure(
                "response", f"{not_response} (cacheDuration is not a Go duration)"
            ) from None
    auth: list[tuple[str, str, str]] = []
    raw_auth = document.get("auth")
    if raw_auth is not None and not isinstance(raw_auth, dict):
        raise PluginFailure("response", f"{not_response} (auth is not an object)")
    for key, entry in (raw_auth or {}).items():
        if entry is None:
            entry = {}
        if not isinstance(entry, dict) or any(name not in _AUTH_FIELDS for name in entry):
            raise PluginFailure(
                "response", f"{not_response} (an auth entry is not {{username, password}})"
            )
        username, password = entry.get("username"), entry.get("password")
        if not isinstance(username, (str, type(None))) or not isinstance(
            password, (str, type(None))
        ):
            raise PluginFailure(
                "response", f"{not_response} (an auth entry is not {{username, password}})"
            )
        auth.append((key, username or "", password or ""))
    if cache_key_type not in CACHE_KEY_TYPES:
        raise PluginFailure(
            "cacheKeyType",
            f"the answer's cacheKeyType is not one of {', '.join(CACHE_KEY_TYPES)}",
        )
    return Answer(cache_key_type, cache_duration, tuple(auth))


@dataclass(frozen=True)
class _CacheEntry:
    expires_at: float
    logins: Logins


class AnswerCache:
    """Answers kept as the kubelet's cache keeps them, per provider, until their expiry.

    Keys are images, registries and `global` in one namespace per provider, as in the kubelet's
    single store.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: dict[tuple[str, str], _CacheEntry] = {}

    def get(self, provider: str, image_name: str) -> Logins | None:
        """`getCachedCredentials`: the image, then its registry, then `global`; an entry is
        live until the clock passes its expiry."""
        now = self._clock()
        for key in (image_name, _registry(image_name), GLOBAL_CACHE_KEY):
            entry = self._entries.get((provider, key))
            if entry is None:
                continue
            if now > entry.expires_at:
                del self._entries[(provider, key)]
                continue
            return entry.logins
        return None

    def put(
        self, provider: str, image_name: str, cache_key_type: str, duration: float, logins: Logins
    ) -> None:
        """Keep `logins` for `duration` seconds under the key `cache_key_type` names."""
        if duration > 0:  # zero: not cached; negative: already expired when stored
            if cache_key_type == "Image":
                key = image_name
            elif cache_key_type == "Registry":
                key = _registry(image_name)
            else:
                key = GLOBAL_CACHE_KEY
            self._entries[(provider, key)] = _CacheEntry(self._clock() + duration, logins)


def _registry(image_name: str) -> str:
    """`parseRegistry`: the text before the first `/`."""
    return image_name.split("/", 1)[0]
