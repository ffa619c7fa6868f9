"""Container image references, parsed the way the kubelet and containerd parse them.

The gate must accept exactly the image strings a node would accept, and must
resolve them to the same registry, repository and manifest, or it proves the
wrong thing.  This module follows ``github.com/distribution/reference`` v0.6
(``ParseNormalizedNamed``; digests checked like ``opencontainers/go-digest``)
and adds plain-words reasons for common non-references such as unrendered
templates, so a failing manifest says *why* its image is not an image.

Deliberate differences from distribution/reference (all reject more, none accept
more):

* an input whose first element has a ``.`` but is not a valid host name
  (``a_b.c/x``) is rejected; distribution keeps it as a domain-less name, which
  no runtime can pull from a registry;
* ``ko.local/...`` is rejected as an unresolved ``ko`` placeholder;
* when distribution only says "invalid reference format", a more specific reason
  ("invalid tag format", "invalid digest format") is given where one applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_TAG",
    "DIGEST_HEX_LENGTHS",
    "REASON_DIGEST_FORMAT",
    "REASON_DIGEST_UNSUPPORTED",
    "REASON_EMPTY",
    "REASON_HEX_IDENTIFIER",
    "REASON_INVALID_FORMAT",
    "REASON_INVALID_HOST",
    "REASON_KO_PLACEHOLDER",
    "REASON_NAME_TOO_LONG",
    "REASON_NOT_STRING",
    "REASON_TAG_FORMAT",
    "REASON_TEMPLATE",
    "REASON_UPPERCASE",
    "REASON_URL_SCHEME",
    "REASON_WHITESPACE",
    "REPOSITORY_NAME_MAX",
    "InvalidReference",
    "Reference",
    "is_docker_hub",
    "parse_reference",
    "validate_digest",
]

DEFAULT_DOMAIN: Final = "docker.io"
"""Registry that familiar names such as ``nginx`` live on."""

LEGACY_DEFAULT_DOMAIN: Final = "index.docker.io"
"""Old Docker Hub name; normalised to :data:`DEFAULT_DOMAIN` like distribution does."""

OFFICIAL_REPO_PREFIX: Final = "library/"
"""Namespace of Docker Hub's official images (``nginx`` is ``library/nginx``)."""

DEFAULT_TAG: Final = "latest"
"""Tag a runtime pulls when the reference has neither tag nor digest."""

REPOSITORY_NAME_MAX: Final = 255
"""Longest repository path, excluding the domain (distribution/reference >= v0.6)."""

DIGEST_HEX_LENGTHS: Final[dict[str, int]] = {"sha256": 64, "sha384": 96, "sha512": 128}
"""Digest algorithms a node can verify, with their lower-case hex lengths (go-digest)."""

DOCKER_HUB_LOGIN_KEY: Final = "https://index.docker.io/v1/"
"""The key `docker login` stores Docker Hub's credentials under in a docker config."""

DOCKER_HUB_API: Final = "registry-1.docker.io"
"""Where Docker Hub's registry API answers (`docker.io` names it, but serves no `/v2/`)."""

_DOCKER_HUB_HOSTS: Final = frozenset(
    {DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN, DOCKER_HUB_API, "registry.hub.docker.com"}
)

# Reasons: stable, plain words, matching distribution's messages where it has one.
REASON_EMPTY: Final = "image is empty"
REASON_NOT_STRING: Final = "image is not a string"
REASON_WHITESPACE: Final = "image has leading or trailing whitespace"
REASON_TEMPLATE: Final = "looks like an unrendered template"
REASON_KO_PLACEHOLDER: Final = "ko:// placeholder: run ko resolve"
REASON_URL_SCHEME: Final = "image must not include a URL scheme"
REASON_HEX_IDENTIFIER: Final = "cannot specify 64-byte hexadecimal strings"
REASON_INVALID_FORMAT: Final = "invalid reference format"
REASON_UPPERCASE: Final = "repository name must be lowercase"
REASON_NAME_TOO_LONG: Final = (
    f"repository name must not be more than {REPOSITORY_NAME_MAX} characters"
)
REASON_TAG_FORMAT: Final = "invalid tag format"
REASON_DIGEST_FORMAT: Final = "invalid digest format"
REASON_DIGEST_UNSUPPORTED: Final = "unsupported digest algorithm"
REASON_INVALID_HOST: Final = "registry host is not a valid domain name"

# --- grammar (distribution/reference regexp.go, rebuilt piece by piece) -------------
# Python's re gives the same sub-matches as Go's RE2 here: both prefer the leftmost
# alternative / greediest repetition.  re.ASCII keeps \w to [A-Za-z0-9_] as in Go,
# and fullmatch() is used because Python's "$" also matches before a final newline.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6_HOST = r"\[[a-fA-F0-9:]+\]"
_DOMAIN_AND_PORT = rf"(?:{_DOMAIN_NAME}|{_IPV6_HOST})(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME}"
_TAG = r"\w[\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_REFERENCE_RE: Final = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?", re.ASCII)
_SPLIT_NAME_RE: Final = re.compile(rf"(?:({_DOMAIN_AND_PORT})/)?({_REMOTE_NAME})", re.ASCII)
_NAME_RE: Final = re.compile(_NAME, re.ASCII)
_TAG_RE: Final = re.compile(_TAG, re.ASCII)
_DIGEST_RE: Final = re.compile(_DIGEST, re.ASCII)
_IDENTIFIER_RE: Final = re.compile(r"[a-f0-9]{64}")
# go-digest's looser DigestRegexp: decides "invalid format" vs "unsupported algorithm".
_GO_DIGEST_RE: Final = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_LOWER_HEX_RE: Final = re.compile(r"[a-f0-9]+")
_URL_SCHEME_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_TEMPLATE_MARKERS: Final = ("{{", "}}", "${")


class InvalidReference(ValueError):
    """An image string a node would refuse to pull (kubelet: ``InvalidImageName``).

    ``reason`` is one of the ``REASON_*`` constants, so callers can group and
    count failures; ``detail`` says what exactly is wrong with this input.
    """

    reference: str
    reason: str
    detail: str

    def __init__(self, reference: str, reason: str, detail: str = "") -> None:
        super().__init__(reference, reason, detail)
        self.reference = reference
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        text = f"invalid image reference {self.reference!r}: {self.reason}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(frozen=True, slots=True)
class Reference:
    """A normalised image reference: registry domain, repository path, tag, digest.

    ``tag`` and ``digest`` are exactly what the input said (``None`` if absent);
    use :attr:`effective_tag` / :attr:`pull_ref` for what a runtime will fetch.
    """

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """Fully qualified repository, e.g. ``docker.io/library/nginx``."""
        return f"{self.domain}/{self.path}"

    @property
    def canonical(self) -> str:
        """Full normalised string (distribution's ``String()``): name[:tag][@digest]."""
        return _join(self.name, self.tag, self.digest)

    @property
    def familiar_name(self) -> str:
        """Repository as ``docker`` shows it: Hub domain and ``library/`` dropped."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        if self.path.startswith(OFFICIAL_REPO_PREFIX):
            rest = self.path[len(OFFICIAL_REPO_PREFIX) :]
            if "/" not in rest:
                return rest
        return self.path

    @property
    def familiar(self) -> str:
        """Short form for messages, e.g. ``nginx:1.27`` or ``quay.io/x/y:1``."""
        return _join(self.familiar_name, self.tag, self.digest)

    @property
    def effective_tag(self) -> str | None:
        """The tag, or ``latest`` when there is neither tag nor digest."""
        if self.tag is None and self.digest is None:
            return DEFAULT_TAG
        return self.tag

    @property
    def pull_ref(self) -> str:
        """Manifest reference a runtime fetches: digest, else tag, else ``latest``.

        This is the ``<reference>`` of ``/v2/<path>/manifests/<reference>``; a
        digest wins over a tag because containerd pulls ``name:tag@digest`` by digest.
        """
        if self.digest is not None:
            return self.digest
        return self.tag if self.tag is not None else DEFAULT_TAG

    @property
    def docker_ref(self) -> str:
        """Full string a runtime pulls (``ParseDockerRef``): name@digest or name:tag."""
        separator = "@" if self.digest is not None else ":"
        return f"{self.name}{separator}{self.pull_ref}"

    def with_digest(self, digest: str) -> Reference:
        """This reference pinned to ``digest`` (tag kept), after validating it."""
        problem = validate_digest(digest)
        if problem is not None:
            raise InvalidReference(f"{self.name}@{digest}", *problem)
        return Reference(self.domain, self.path, self.tag, digest)

    def __str__(self) -> str:
        return self.canonical


def _join(name: str, tag: str | None, digest: str | None) -> str:
    text = name if tag is None else f"{name}:{tag}"
    return text if digest is None else f"{text}@{digest}"


def is_docker_hub(domain: str) -> bool:
    """Whether ``domain`` is Docker Hub (credentials, mirrors and rate limits differ)."""
    return domain.lower() in _DOCKER_HUB_HOSTS


def api_host(domain: str) -> str:
    """The host that serves a reference's domain: Docker Hub's registry API lives elsewhere."""
    return DOCKER_HUB_API if domain == DEFAULT_DOMAIN else domain


def registry_key(host: str) -> str:
    """How a registry is named in settings: lower case, every Docker Hub alias `docker.io`.

    So that `registries: index.docker.io:` and `--insecure-registry Registry.Local:5000` mean
    the registry that image references name.
    """
    host = host.strip().lower()
    return DEFAULT_DOMAIN if host in _DOCKER_HUB_HOSTS else host


def validate_digest(digest: str) -> tuple[str, str] | None:
    """Check a digest like go-digest's ``Parse``; ``None`` if valid, else (reason, detail).

    Only sha256/sha384/sha512 are accepted: they are the algorithms kubelet and
    containerd register, so anything else fails on the node as "unsupported".
    """
    algorithm, sep, encoded = digest.partition(":")
    if not algorithm or not sep or not encoded:
        return REASON_DIGEST_FORMAT, "expected <algorithm>:<hex>"
    length = DIGEST_HEX_LENGTHS.get(algorithm)
    if length is None:
        if not _GO_DIGEST_RE.fullmatch(digest):
            return REASON_DIGEST_FORMAT, f"malformed digest algorithm {algorithm!r}"
        supported = ", ".join(DIGEST_HEX_LENGTHS)
        return REASON_DIGEST_UNSUPPORTED, f"{algorithm!r} is not one of {supported}"
    if len(encoded) != length or not _LOWER_HEX_RE.fullmatch(encoded):
        return (
            REASON_DIGEST_FORMAT,
            f"{algorithm} needs {length} lower-case hex characters, got {encoded!r}",
        )
    return None


def parse_reference(text: str) -> Reference:
    """Parse an image string from a pod spec as the kubelet would (``ParseNormalizedNamed``).

    Raises :class:`InvalidReference` for anything a node would reject, and for
    placeholders (templates, ``ko://``) that only look like images by accident.
    No default tag is stored: ``parse_reference("nginx").tag is None``.
    """
    if not isinstance(text, str):
        raise InvalidReference(repr(text), REASON_NOT_STRING, type(text).__name__)
    outcome = _parse_cached(text)
    if isinstance(outcome, Reference):
        return outcome
    raise InvalidReference(text, *outcome)


@lru_cache(maxsize=8192)
def _parse_cached(text: str) -> Reference | tuple[str, str]:
    """Parse once per distinct string; failures are cached as (reason, detail) too."""
    problem = _recognise_non_reference(text)
    if problem is not None:
        return problem
    return _parse_normalized_named(text)


def _recognise_non_reference(text: str) -> tuple[str, str] | None:
    """Name the usual ways a manifest carries something that is not an image yet."""
    if text == "":
        return REASON_EMPTY, ""
    if text.strip() != text:
        return REASON_WHITESPACE, "the kubelet rejects surrounding whitespace"
    for marker in _TEMPLATE_MARKERS:
        if marker in text:
            return REASON_TEMPLATE, f"contains {marker!r}"
    if "<no value>" in text:
        return REASON_TEMPLATE, "a template rendered a missing value as '<no value>'"
    if text.startswith("ko://"):
        return REASON_KO_PLACEHOLDER, "ko:// import paths are replaced by `ko resolve`"
    scheme = _URL_SCHEME_RE.match(text)
    if scheme is not None:
        return REASON_URL_SCHEME, f"drop {scheme.group(0)!r}"
    return None


def _parse_normalized_named(text: str) -> Reference | tuple[str, str]:
    """distribution's ``ParseNormalizedNamed`` followed by its ``Parse``, in its order."""
    if _IDENTIFIER_RE.fullmatch(text):
        return REASON_HEX_IDENTIFIER, "this is an image ID, not a repository name"

    domain, remainder = _split_docker_domain(text)
    remote = remainder.partition(":")[0]
    if remote.lower() != remote:
        return REASON_UPPERCASE, f"{remote!r} has upper-case letters"

    full = f"{domain}/{remainder}"
    match = _REFERENCE_RE.fullmatch(full)
    if match is None:
        lowered = full.lower()
        if lowered != full and _REFERENCE_RE.fullmatch(lowered):
            return REASON_UPPERCASE, "upper-case letters in the repository name"
        return _diagnose(full)
    name, tag, digest = match.group(1, 2, 3)

    split = _SPLIT_NAME_RE.fullmatch(name)
    if split is None:  # pragma: no cover - name already matched the same grammar
        return REASON_INVALID_FORMAT, ""
    found_domain, path = split.group(1, 2)
    if len(path) > REPOSITORY_NAME_MAX:
        return REASON_NAME_TOO_LONG, f"repository path is {len(path)} characters"
    if digest is not None:
        problem = validate_digest(digest)
        if problem is not None:
            return problem
    if found_domain is None:
        # distribution would return a name with an empty domain: unpullable.
        return REASON_INVALID_HOST, f"{domain!r} is neither a host name nor a repository"
    if found_domain.lower() == "ko.local":
        return REASON_KO_PLACEHOLDER, "ko.local images exist only in a local docker daemon"
    return Reference(found_domain, path, tag, digest)


def _split_docker_domain(text: str) -> tuple[str, str]:
    """Decide whether the first element is a registry host (distribution's rule).

    It is a host if it is ``localhost``, contains ``.`` or ``:``, or has upper-case
    letters (repositories cannot); otherwise the name is on Docker Hub.
    """
    first, slash, rest = text.partition("/")
    if not slash:
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + text
    if first == LEGACY_DEFAULT_DOMAIN:
        domain, remainder = DEFAULT_DOMAIN, rest
    elif first == "localhost" or "." in first or ":" in first or first.lower() != first:
        domain, remainder = first, rest
    else:
        domain, remainder = DEFAULT_DOMAIN, text
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def _diagnose(full: str) -> tuple[str, str]:
    """Say which part failed, where distribution just says "invalid reference format"."""
    head, at, digest = full.partition("@")
    name, tag = head, None
    colon = head.rfind(":")
    if colon > head.rfind("/"):
        name, tag = head[:colon], head[colon + 1 :]
    if not _NAME_RE.fullmatch(name):
        return REASON_INVALID_FORMAT, "not a valid [host[:port]/]repository name"
    if tag is not None and not _TAG_RE.fullmatch(tag):
        return REASON_TAG_FORMAT, f"tag {tag!r} must match [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}"
    if at and not _DIGEST_RE.fullmatch(digest):
        return REASON_DIGEST_FORMAT, f"digest {digest!r} is not <algorithm>:<hex>"
    return REASON_INVALID_FORMAT, ""
