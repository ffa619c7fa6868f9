"""The kubelet's credential keyring: which registry keys match an image, in which order.

A gate that matches keys differently from the kubelet proves the wrong thing: a `host/team` key
that pullgate applied to `host/other` would pass a pull that fails on the node. This follows
`pkg/credentialprovider/keyring.go` (`BasicDockerKeyring.Add`, `Lookup`, `URLsMatch`,
`ParseSchemelessURL`, `SplitURL`, `isDefaultRegistryMatch`):

- `add`: a key without `http://` / `https://` gets `https://`, is parsed as a URL; a path
  starting with `/v1/` or `/v2/` loses those three characters; the key is then `host + path`, or
  just `host` when the path is empty or `/`. So `https://index.docker.io/v1/` is
  `index.docker.io`, `http://host:5000/v2/` is `host:5000`, `host/v2/team` is `host/team`, but
  `host/v1` (no trailing slash) stays `host/v1`. Keys that do not parse are ignored (the kubelet
  logs and skips them).
- `lookup`: keys are visited in reverse lexicographic order (the kubelet sorts its de-duplicated
  index with `sort.Reverse`, so `quay.io/coreos` comes before `quay.io`, and a concrete label
  before `*`); a key matches when ports are equal, the hosts have as many dot-separated labels,
  each label matches as a `filepath.Match` pattern, and the key's path is a plain string prefix
  of the image's path (`host/team` matches `host/teammate/app`: no segment boundary is checked).
  Every matching key contributes all of its credentials, in the order they were added.
- Only when nothing matched, an image on Docker Hub gets the credentials of the
  `index.docker.io` key.

Go's URL parser shapes which globs work at all, and this follows it rather than guessing what a
key meant: `?` starts a query (so `?.example.com` is an empty host that matches nothing), a host
starting with `[` is an IPv6 literal (so `[a-c].example.com` is invalid, `x[a-c].example.com`
is a class), `^` is not allowed in a host (so `[^a]` classes are invalid). Matching is
case-sensitive, as in the kubelet. Duplicates (the same credential reached through
two keys) are returned once: trying one login twice proves nothing more.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from gate.credentials import Credential
from gate.reference import DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN

log = logging.getLogger(__name__)

DEFAULT_REGISTRY_HOST = LEGACY_DEFAULT_DOMAIN
"""The key Docker Hub images fall back to (`https://index.docker.io/v1/` normalises to it)."""

T = TypeVar("T", bound=Hashable)

_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_PORT = re.compile(r"[0-9]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BAD_HOST_CHARS = re.compile(r"[ %\\^`{|}]")
"""ASCII that Go's `url.Parse` refuses in a host (it allows `!$&'()*+,;=:[]<>"`)."""


class BadKey(ValueError):
    """A registry key that does not parse as a URL (the kubelet ignores such keys)."""


@dataclass(frozen=True)
class _URL:
    host: str
    """`host[:port]`, as written (no case folding)."""
    path: str


def parse_schemeless(text: str) -> _URL:
    """`url.Parse("https://" + text)` with the scheme cleared: host and (unescaped) path."""
    if _CONTROL.search(text):
        raise BadKey("control character")
    rest = text.split("#", 1)[0].split("?", 1)[0]
    authority, slash, path = rest.partition("/")
    path = slash + path
    host = authority.rpartition("@")[2]
    if _BAD_HOST_CHARS.search(host):
        raise BadKey("invalid character in host")
    if host.startswith("["):
        close = host.rfind("]")
        if close < 0:
            raise BadKey("missing ']' in host")
        port_part = host[close + 1 :]
        if port_part and not (
            port_part.startswith(":") and _PORT.fullmatch(port_part[1:]) is not None
        ):
            raise BadKey("invalid port")
    elif ":" in host:
        port = host.rpartition(":")[2]
        if _PORT.fullmatch(port) is None:
            raise BadKey("invalid port")
    if _PERCENT.search(path):
        raise BadKey("invalid escape in path")
    return _URL(host, _unescape(path))


def _unescape(path: str) -> str:
    if "%" not in path:
        return path
    raw = bytearray()
    i = 0
    while i < len(path):
        if path[i] == "%":
            raw.append(int(path[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.extend(path[i].encode())
            i += 1
    return raw.decode("utf-8", errors="replace")


def _split_host_port(hostport: str) -> tuple[list[str], str]:
    """`SplitURL`: host labels and port; a host that `net.SplitHostPort` refuses has no port."""
    host, port = hostport, ""
    if hostport.startswith("["):
        close = hostport.find("]")
        tail = hostport[close + 1 :] if close >= 0 else ""
        if close >= 0 and tail.startswith(":") and ":" not in tail[1:]:
            host, port = hostport[1:close], tail[1:]
    elif ":" in hostport:
        candidate, _, candidate_port = hostport.rpartition(":")
        if ":" not in candidate and not any(c in candidate + candidate_port for c in "[]"):
            host, port = candidate, candidate_port
    return host.split("."), port


def redact_key(key: str) -> str:
    """`key` without any `user:password@` part, for log lines and messages."""
    scheme, sep, rest = key.partition("://")
    if not sep:
        scheme, rest = "", key
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return scheme + sep + authority + slash + path


def normalize_key(key: str) -> str:
    """The keyring key for a registry key as written in a docker config; `BadKey` if it
    does not parse."""
    value = key if key.startswith(("https://", "http://")) else "https://" + key
    parsed = parse_schemeless(value.split("://", 1)[1])
    path = parsed.path
    if path.startswith(("/v2/", "/v1/")):
        path = path[3:]
    if path and path != "/":
        return parsed.host + path
    return parsed.host


# -- filepath.Match, one host label at a time -------------------------------------------------


@dataclass(frozen=True)
class _Class:
    negated: bool
    ranges: tuple[tuple[str, str], ...]

    def matches(self, char: str) -> bool:
        hit = any(lo <= char <= hi for lo, hi in self.ranges)
        return hit != self.negated


_STAR = object()
"""The `*` token; other tokens are a literal character, a `_Class`, or None for `?`."""


def _compile_glob(pattern: str) -> list[object]:
    """Go's `filepath.Match` grammar (Unix): `*`, `?`, `[^a-z]`, `\\` escapes.

    Raises `BadKey` where Go returns `ErrBadPattern`, which the kubelet treats as no match.
    """
    tokens: list[object] = []
    i = 0
    n = len(pattern)

    def escaped(pos: int) -> tuple[str, int]:
        if pos >= n or pattern[pos] in "-]":
            raise BadKey("bad pattern")
        if pattern[pos] == "\\":
            pos += 1
            if pos >= n:
                raise BadKey("bad pattern")
        if pos + 1 >= n:  # a class must still be closed
            raise BadKey("bad pattern")
        return pattern[pos], pos + 1

    while i < n:
        char = pattern[i]
        if char == "*":
            if not tokens or tokens[-1] is not _STAR:
                tokens.append(_STAR)
            i += 1
        elif char == "?":
            tokens.append(None)
            i += 1
        elif char == "\\":
            if i + 1 >= n:
                raise BadKey("bad pattern")
            tokens.append(pattern[i + 1])
            i += 2
        elif char == "[":
            i += 1
            negated = i < n and pattern[i] == "^"
            if negated:
                i += 1
            ranges: list[tuple[str, str]] = []
            while True:
                if i < n and pattern[i] == "]" and ranges:
                    i += 1
                    break
                lo, i = escaped(i)
                hi = lo
                if pattern[i] == "-":
                    hi, i = escaped(i + 1)
                ranges.append((lo, hi))
            tokens.append(_Class(negated, tuple(ranges)))
        else:
            tokens.append(char)
            i += 1
    return tokens


def _glob_match(tokens: list[object], text: str) -> bool:
    """Match compiled tokens against one label; `*` and `?` never match `/`."""
    t = p = 0
    star_p, star_t = -1, -1
    while t < len(text):
        if p < len(tokens) and tokens[p] is not _STAR and _one(tokens[p], text[t]):
            p += 1
            t += 1
        elif p < len(tokens) and tokens[p] is _STAR:
            star_p, star_t = p, t
            p += 1
        elif star_p >= 0 and text[star_t] != "/":
            star_t += 1
            t = star_t
            p = star_p + 1
        else:
            return False
    while p < len(tokens) and tokens[p] is _STAR:
        p += 1
    return p == len(tokens)


def _one(token: object, char: str) -> bool:
    if token is None:
        return char != "/"
    if isinstance(token, _Class):
        return token.matches(char)
    return token == char


def label_matches(pattern: str, label: str) -> bool:
    """`filepath.Match(pattern, label)`; a malformed pattern matches nothing."""
    try:
        return _glob_match(_compile_glob(pattern), label)
    except BadKey:
        return False


def key_matches(key: str, image_name: str) -> bool:
    """`URLsMatchStr(key, image)`: does a normalised key apply to `domain/path`?"""
    try:
        glob = parse_schemeless(key)
        target = parse_schemeless(image_name)
    except BadKey:
        return False
    glob_labels, glob_port = _split_host_port(glob.host)
    target_labels, target_port = _split_host_port(target.host)
    if glob_port != target_port or len(glob_labels) != len(target_labels):
        return False
    if not target.path.startswith(glob.path):
        return False
    return all(label_matches(g, t) for g, t in zip(glob_labels, target_labels, strict=True))


def is_default_registry_match(image_name: str) -> bool:
    """`isDefaultRegistryMatch`: does the image pull from Docker Hub?"""
    first, slash, _ = image_name.partition("/")
    if not first:
        return False
    if not slash or first in (DEFAULT_DOMAIN, DEFAULT_REGISTRY_HOST):
        return True
    return not any(c in first for c in ".:")


def _unique(items: Iterable[T]) -> Iterator[T]:
    seen: set[T] = set()
    for item in items:
        if item not in seen:
            seen.add(item)
            yield item


class KeyIndex(Generic[T]):
    """The keyring's matching engine, for any value kept per registry key.

    `Keyring` keeps credentials in it; node credentials also keep credential helper names
    (docker config `credHelpers`) in one, so helpers match registries exactly as logins do.
    """

    def __init__(self) -> None:
        self._values: dict[str, list[T]] = {}

    def add(self, key: str, value: T) -> bool:
        """Add `value` under the registry key `key`; False (and a log line) if the key does
        not parse, as the kubelet skips it."""
        try:
            normalised = normalize_key(key)
        except BadKey as exc:
            log.warning("registry key %r ignored: %s", redact_key(key), exc)
            return False
        self._values.setdefault(normalised, []).append(value)
        return True

    def keys(self) -> list[str]:
        """Normalised keys in lookup order: reverse lexicographic, as the kubelet sorts them."""
        return sorted(self._values, reverse=True)

    def lookup(self, image_name: str) -> list[T]:
        """Every value whose key matches `image_name` (`domain/path`), most specific key first,
        each once; Docker Hub images fall back to `index.docker.io` only when nothing matched."""
        found = [
            v for key in self.keys() if key_matches(key, image_name) for v in self._values[key]
        ]
        if not found and is_default_registry_match(image_name):
            found = list(self._values.get(DEFAULT_REGISTRY_HOST, ()))
        return list(_unique(found))

    def __len__(self) -> int:
        return sum(len(values) for values in self._values.values())

    def __bool__(self) -> bool:
        return bool(self._values)


class Keyring(KeyIndex[Credential]):
    """Credentials by registry key, looked up as the kubelet's `BasicDockerKeyring` does.

    One keyring holds every pull secret of a pod (the kubelet adds them all to one
    `BasicDockerKeyring`, so a more specific key from the second secret comes before a host-wide
    key from the first); node credentials are looked up after it, never merged into it.
    """
