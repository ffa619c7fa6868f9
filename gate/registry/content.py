"""What each digest holds: media type and platforms, from index entries or config blobs.

Manifest content is immutable per digest, so what was learnt about a digest (its media type and
platforms) is kept and never fetched again in the run, however many references share it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from gate import platform as platforms
from gate.credentials import Credential
from gate.hosts import Host
from gate.reference import Reference
from gate.registry.client import MAX_CONFIG_BYTES, RegistryClient
from gate.registry.errors import (
    IntegrityError,
    InvalidResponse,
    ManifestUnknown,
    NameUnknown,
    RegistryError,
)
from gate.registry.media import (
    IMAGE_CONFIG_TYPES,
    INDEX_TYPES,
    MANIFEST_TYPES,
    Manifest,
    json_object,
)

_MAX_UNDECLARED = 16
"""Index entries without a platform whose manifests are fetched (one GET and a config each);
runtimes only ever take the first, the rest are read for the report."""


@dataclass(frozen=True)
class Content:
    """What a digest holds, as far as the gate cares."""

    media_type: str
    entries: tuple[platforms.Entry, ...]
    artifact_config: str | None = None
    """A single manifest's config media type when it is not an image config (an artifact)."""


class ContentReader:
    """Reads manifests and configs through `client`, and remembers what each digest holds."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self._content: dict[str, asyncio.Task[Content]] = {}
        self._configs: dict[str, platforms.Entry] = {}

    def knows(self, digest: str) -> bool:
        """Whether someone asked for `digest` already (its content learnt or being learnt)."""
        return digest in self._content

    async def of(
        self, reference: Reference, credential: Credential, manifest: Manifest, host: Host | None
    ) -> Content:
        """What `manifest`, just fetched, holds (described once per digest)."""

        async def described() -> Content:
            return await self._describe(reference, credential, manifest, host)

        return await self._content_for(manifest.digest, described)

    async def by_digest(
        self, reference: Reference, credential: Credential, digest: str, host: Host | None
    ) -> Content:
        """The content of `digest`, fetched (by digest) only if nobody has learnt it yet."""

        async def fetch() -> Content:
            manifest = await self.client.get_manifest(reference, credential, digest, host)
            return await self._describe(reference, credential, manifest, host)

        return await self._content_for(digest, fetch)

    async def _content_for(self, digest: str, produce: Callable[[], Awaitable[Content]]) -> Content:
        """What `digest` holds, learnt once per run however many references share it.

        Content is immutable per digest; a failed fetch is forgotten, so that another reference
        (another repository, another credential) asks again for itself.
        """
        task = self._content.get(digest)
        if task is not None:
            try:
                return await asyncio.shield(task)
            except RegistryError:
                return await produce()
        task = asyncio.ensure_future(produce())
        self._content[digest] = task
        try:
            return await asyncio.shield(task)
        except BaseException:
            if self._content.get(digest) is task:
                del self._content[digest]
            raise

    async def _describe(
        self, reference: Reference, credential: Credential, manifest: Manifest, host: Host | None
    ) -> Content:
        """Media type and platforms of a manifest (remembered by digest by the caller)."""
        document = manifest.document
        entries: tuple[platforms.Entry, ...] = ()
        artifact: str | None = None
        if manifest.is_index:
            listed = document.get("manifests")
            if not isinstance(listed, list):
                raise IntegrityError(f"index {manifest.digest} has no manifest list")
            entries = await self._index_entries(
                reference, credential, manifest.digest, listed, host
            )
        elif manifest.media_type in MANIFEST_TYPES:
            entry = await self._config_entry(reference, credential, document, host)
            entries, artifact = (entry,), entry.artifact
        else:
            # Not one of the four types asked for (a schema 1 manifest, an HTML page, any
            # JSON): nothing a current runtime would pull, so nothing to call resolved.
            raise IntegrityError(
                f"the registry served {manifest.media_type or 'an untyped body'} for "
                f"{reference.familiar}, not an image manifest or index"
            )
        return Content(manifest.media_type, entries, artifact)

    async def _index_entries(
        self,
        reference: Reference,
        credential: Credential,
        index_digest: str,
        listed: list[object],
        host: Host | None,
    ) -> tuple[platforms.Entry, ...]:
        """Every entry of an index, in order: its declared platform, or its config's.

        containerd keeps an entry without a `platform` and reads the platform from that
        manifest's config (`core/images/image.go` `Manifest` calls `ConfigPlatform`; the
        transfer service's `images.FilterPlatforms` keeps such entries), so the gate fetches
        that child manifest and its config, by digest and cached by digest (on Docker Hub
        each such GET counts as a pull); past `_MAX_UNDECLARED` such entries the platform is
        unknown (a runtime only takes the first). Declared attestations and `unknown/unknown`
        entries are never chosen and are left out; an entry without a platform that is an
        attestation or no image manifest stays, as one that runs nowhere (a runtime may
        still take it); a nested index without a platform is not followed. A declared entry
        whose descriptor names an `artifactType` (OCI 1.1) is an artifact.
        """
        found: list[platforms.Entry | None] = []
        children: list[tuple[int, str]] = []
        for entry in listed:
            if not isinstance(entry, dict):
                continue
            declared = entry.get("platform")
            if declared is not None:
                if isinstance(declared, dict) and not platforms.is_attestation(entry):
                    item = platforms.entry_from_document(declared, declared=True)
                    artifact_type = entry.get("artifactType")
                    if (
                        isinstance(artifact_type, str)
                        and artifact_type
                        and artifact_type not in IMAGE_CONFIG_TYPES
                    ):
                        item = replace(item, artifact=artifact_type)
                    if item.platform is not None:
                        found.append(item)
                continue
            child, media_type = entry.get("digest"), entry.get("mediaType")
            if media_type in INDEX_TYPES:
                continue
            if (
                platforms.is_attestation(entry)
                or media_type not in MANIFEST_TYPES
                or not isinstance(child, str)
            ):
                # A runtime that picks it finds nothing it can run there.
                found.append(platforms.Entry(None, None, declared=False))
                continue
            if len(children) >= _MAX_UNDECLARED:
                found.append(
                    platforms.Entry(
                        None,
                        None,
                        declared=False,
                        unknown=f"more than {_MAX_UNDECLARED} entries without a platform",
                    )
                )
                continue
            children.append((len(found), child))
            found.append(None)
        contents = await asyncio.gather(
            *(self._undeclared(reference, credential, index_digest, d, host) for _, d in children)
        )
        for (position, _), content in zip(children, contents, strict=True):
            kept = content.entries if content.media_type in MANIFEST_TYPES else ()
            found[position] = (
                replace(kept[0], declared=False)
                if kept
                else platforms.Entry(None, None, declared=False)
            )
        return tuple(e for e in found if e is not None)

    async def _undeclared(
        self,
        reference: Reference,
        credential: Credential,
        index_digest: str,
        child: str,
        host: Host | None,
    ) -> Content:
        """The content of an index entry that names no platform (its manifest, by digest)."""
        try:
            return await self.by_digest(reference, credential, child, host)
        except (ManifestUnknown, NameUnknown) as exc:
            # Not "tag not found": the index exists, one of its manifests does not.
            raise InvalidResponse(
                f"index {index_digest} lists {child} without a platform, and the registry "
                f"has no such manifest ({exc})"
            ) from None

    async def _config_entry(
        self,
        reference: Reference,
        credential: Credential,
        document: dict[str, object],
        host: Host | None,
    ) -> platforms.Entry:
        """A single manifest's platform lives in its config blob: one small GET per digest.

        Its `os`, `architecture`, `variant` and `os.version` (Windows), as containerd's
        `ConfigPlatform` reads them. An artifact's config is not read (it has no platform);
        a config over `MAX_CONFIG_BYTES` is not fetched, and its platform is unknown.
        """
        config = document.get("config")
        if not isinstance(config, dict):
            raise IntegrityError("image manifest without a config descriptor")
        digest, media_type = config.get("digest"), config.get("mediaType")
        if media_type not in IMAGE_CONFIG_TYPES:
            return platforms.Entry(
                None, None, declared=False, artifact=str(media_type or "no config media type")
            )
        if not isinstance(digest, str):
            raise IntegrityError("image manifest whose config has no digest")
        size = config.get("size")
        if isinstance(size, int) and size > MAX_CONFIG_BYTES:
            return platforms.Entry(
                None,
                None,
                declared=False,
                unknown=f"its config {digest} is {size} bytes, over the "
                f"{MAX_CONFIG_BYTES // (1024 * 1024)} MiB the gate reads",
            )
        if digest not in self._configs:
            body = await self.client.get_blob(reference, credential, digest, MAX_CONFIG_BYTES, host)
            data = json_object(body)
            if data is None:
                raise IntegrityError(f"config {digest} is not a JSON object")
            self._configs[digest] = platforms.entry_from_document(data, declared=False)
        return self._configs[digest]
