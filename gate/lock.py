"""The lock file's format, and how a check's images are matched against it.

The lock file records what each reference, as written, resolved to, so that `check --lock`
can fail a deploy of anything else (`image-lock-mismatch`). It is written through the pin's
atomic staging (`gate.pin.files.write_lock`), read and matched here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.errors import GateError
from gate.model import ImageUse
from gate.reference import (
    DEFAULT_TAG,
    InvalidReference,
    Reference,
    parse_reference,
    validate_digest,
)

__all__ = [
    "LOCK_VERSION",
    "Lock",
    "LockEntry",
    "LockError",
    "dump_lock",
    "lock_mismatches",
    "lock_unlisted",
    "read_lock",
    "running_digest",
]

LOCK_VERSION = 1


class LockError(GateError):
    """A lock file that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class LockEntry:
    """What one reference resolved to when it was locked."""

    canonical: str
    digest: str
    media_type: str
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lock:
    """Lock file contents: references as written in the manifests, to what they resolved."""

    images: dict[str, LockEntry] = field(default_factory=dict)


def dump_lock(lock: Lock) -> str:
    """The lock file's text: sorted keys, two-space indent, a final newline (diffs stay small)."""
    images = {
        reference: {
            "canonical": entry.canonical,
            "digest": entry.digest,
            "media_type": entry.media_type,
            "platforms": list(entry.platforms),
        }
        for reference, entry in lock.images.items()
    }
    document = {"version": LOCK_VERSION, "images": images}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def read_lock(path: str) -> Lock:
    """Load and validate a lock file; `LockError` says which file and what is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LockError(f"{path}: no such lock file") from None
    except UnicodeDecodeError as exc:
        raise LockError(f"{path}: not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise LockError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LockError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None
    if not isinstance(document, dict):
        raise LockError(f"{path}: a lock file is a JSON object")
    version = document.get("version")
    if version != LOCK_VERSION or isinstance(version, bool):
        raise LockError(
            f"{path}: unsupported version {version!r} (this pullgate reads version {LOCK_VERSION})"
        )
    images = document.get("images")
    if not isinstance(images, dict):
        raise LockError(f"{path}: `images` must be an object of reference to entry")
    entries: dict[str, LockEntry] = {}
    for reference, raw in images.items():
        entries[reference] = _lock_entry(path, reference, raw)
    return Lock(entries)


def _lock_entry(path: str, reference: str, raw: Any) -> LockEntry:
    where = f"{path}: images[{reference!r}]"
    if not isinstance(raw, dict):
        raise LockError(f"{where}: must be an object")
    for key in ("canonical", "digest", "media_type"):
        if not isinstance(raw.get(key), str):
            raise LockError(f"{where}: `{key}` must be a string")
    platforms = raw.get("platforms", [])
    if not isinstance(platforms, list) or not all(isinstance(p, str) for p in platforms):
        raise LockError(f"{where}: `platforms` must be a list of strings")
    try:
        written = parse_reference(reference)
    except InvalidReference as exc:
        raise LockError(f"{where}: not an image reference: {exc.reason}") from None
    if written.canonical != raw["canonical"]:
        raise LockError(
            f"{where}: `canonical` {raw['canonical']!r} is not {written.canonical!r}, "
            "the reference the key names"
        )
    problem = validate_digest(raw["digest"])
    if problem is not None:
        raise LockError(f"{where}: `digest` {raw['digest']!r}: {problem[0]} ({problem[1]})")
    if written.digest is not None and written.digest != raw["digest"]:
        raise LockError(f"{where}: `digest` differs from the digest in the reference")
    return LockEntry(raw["canonical"], raw["digest"], raw["media_type"], tuple(platforms))


def lock_mismatches(uses: Iterable[ImageUse], lock: Lock) -> list[tuple[ImageUse, str]]:
    """Images whose digest differs from the lock's: (use, locked digest), in use order.

    The digest compared is what the registry answered or, without an answer, the digest
    written in the reference (what the kubelet pulls either way); an image with neither is
    not compared (its own finding already says why). An image the lock does not list is not
    here: see `lock_unlisted`.
    """
    index = _LockIndex(lock)
    mismatches: list[tuple[ImageUse, str]] = []
    for use in uses:
        if use.container.pull_policy == "Never":
            continue  # the node runs what it holds: `pin --lock` leaves it out too
        entry = index.find(use)
        actual = running_digest(use)
        if entry is not None and actual is not None and actual != entry.digest:
            mismatches.append((use, entry.digest))
    return mismatches


def lock_unlisted(uses: Iterable[ImageUse], lock: Lock) -> list[ImageUse]:
    """Valid images the lock knows nothing about (added since it was written); images with
    pull policy `Never` are never locked (`plan_pins`), so never missing from a lock."""
    index = _LockIndex(lock)
    return [
        use
        for use in uses
        if use.reference is not None
        and use.container.pull_policy != "Never"
        and index.find(use) is None
    ]


def running_digest(use: ImageUse) -> str | None:
    """The digest the kubelet would run: the registry's answer, else the one written."""
    resolution = use.resolution
    if resolution is not None and resolution.ok and resolution.digest is not None:
        return resolution.digest
    return use.reference.digest if use.reference is not None else None


def _tracking_key(reference: Reference) -> str:
    """What a reference follows: `name:tag` (tag-less is `latest`), or `name@digest` alone.

    Pinning keeps this key (`nginx:1.27` → `nginx:1.27@sha256:…`, `nginx` →
    `nginx:latest@sha256:…`), so a lock written by `pin` matches the pinned manifests too.
    """
    if reference.tag is None and reference.digest is not None:
        return reference.canonical
    return f"{reference.name}:{reference.tag or DEFAULT_TAG}"


class _LockIndex:
    """Find a use's lock entry: by the reference as written, else by what it tracks."""

    def __init__(self, lock: Lock) -> None:
        self.exact = lock.images
        self.tracking: dict[str, LockEntry] = {}
        # Entries without a digest first: they are what `pin` resolved, so they win a tie.
        for written, entry in sorted(
            lock.images.items(), key=lambda item: ("@" in item[0], item[0])
        ):
            try:
                key = _tracking_key(parse_reference(written))
            except InvalidReference:
                continue
            self.tracking.setdefault(key, entry)

    def find(self, use: ImageUse) -> LockEntry | None:
        image, reference = use.container.image, use.reference
        if image is None or reference is None:
            return None
        entry = self.exact.get(image)
        if entry is not None:
            return entry
        return self.tracking.get(_tracking_key(reference))
