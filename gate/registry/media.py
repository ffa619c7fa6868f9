"""What registries serve: media types, manifests and JSON bodies, checked against their digests.

Nothing here sends a request: these are the rules for reading the bytes a registry answered
with, the same `Accept` types and digest rules as the kubelet's runtime.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from gate.registry.errors import IntegrityError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
ACCEPT = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])
"""All four: a registry converts or refuses content whose type the client does not accept."""

IMAGE_CONFIG_TYPES = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)

_DIGEST_ALGORITHMS = frozenset({"sha256", "sha384", "sha512"})


@dataclass(frozen=True)
class Manifest:
    """A manifest as the registry served it; `body` is the exact bytes its digest covers."""

    digest: str
    media_type: str
    body: bytes

    @property
    def document(self) -> dict[str, Any]:
        data = json_object(self.body)
        if data is None:
            raise IntegrityError(f"manifest {self.digest} is not a JSON object")
        return data

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def digest_of(body: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:" + hashlib.new(algorithm, body).hexdigest()


def json_object(body: bytes) -> dict[str, Any] | None:
    """`body` as a JSON object, or None for anything else (not JSON, a list, a number)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def media_type(content_type: str, body: bytes) -> str:
    """The media type of a manifest: its `Content-Type`, or sniffed from the body where the
    registry only said JSON (or nothing)."""
    declared = content_type.split(";")[0].strip()
    if declared and declared not in ("application/json", "text/plain"):
        return declared
    data = json_object(body) if body else None
    if data is not None:
        if isinstance(data.get("mediaType"), str):
            return str(data["mediaType"])
        if "manifests" in data:
            return OCI_INDEX
        if "config" in data:
            return OCI_MANIFEST
    return declared


def served_manifest(body: bytes, target: str, announced: str | None, content_type: str) -> Manifest:
    """The manifest, its digest checked against the exact bytes served.

    Fetched by digest, the body must hash to it; fetched by tag, to the announced
    `Docker-Content-Digest` when there is one (with that header's algorithm), else the
    digest is the body's own sha256.
    """
    for claimed in (target if _is_digest(target) else None, announced):
        if claimed is None:
            continue
        algorithm = claimed.partition(":")[0]
        if algorithm in _DIGEST_ALGORITHMS and digest_of(body, algorithm) != claimed:
            raise IntegrityError(
                f"the manifest served for {target} hashes to {digest_of(body, algorithm)}, "
                f"not {claimed}"
            )
    digest = target if _is_digest(target) else announced or digest_of(body)
    return Manifest(digest, media_type(content_type, body), body)


def check_blob(body: bytes, digest: str) -> None:
    """Refuse a blob whose bytes do not hash to the digest it was asked by."""
    algorithm = digest.partition(":")[0]
    if algorithm in _DIGEST_ALGORITHMS and digest_of(body, algorithm) != digest:
        raise IntegrityError(f"blob {digest} does not match its digest")


def _is_digest(target: str) -> bool:
    return ":" in target
