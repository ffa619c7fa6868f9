"""Platforms spelled as containerd normalises them, and the entries an image offers.

Registries and image builders write the same platform many ways (`aarch64`, `arm64/v8`,
`x86_64`); containerd normalises them before matching (`containerd/platforms` `Normalize`), so
the report does too. What a node accepts is `gate.platform.match`'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ATTESTATION_TYPE = "attestation-manifest"

_WINDOWS_VERSION = re.compile(r"^\d+\.\d+\.\d+(\.\d+)?$")


@dataclass(frozen=True, order=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    """Windows only: `major.minor.build[.revision]` (the OCI `os.version`), "" if unknown."""

    def __str__(self) -> str:
        """`os/arch[/variant]`: the report's spelling (it never carries `os.version`)."""
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base

    @property
    def spec(self) -> str:
        """`os/arch[/variant][:os.version]`, as `--platform` takes it (for messages)."""
        return f"{self}:{self.os_version}" if self.os_version else str(self)


def normalize(os: str, architecture: str, variant: str = "", os_version: str = "") -> Platform:
    """containerd's `Normalize`: lower-case OS, canonical architecture and variant."""
    os = (os or "").lower()
    if os == "macos":
        os = "darwin"
    arch = (architecture or "").lower()
    variant = (variant or "").lower()
    if arch == "i386":
        arch, variant = "386", ""
    elif arch in ("x86_64", "x86-64", "amd64"):
        arch = "amd64"
        if variant == "v1":
            variant = ""
    elif arch in ("aarch64", "arm64"):
        arch = "arm64"
        if variant in ("8", "v8", "8.0", "v8.0"):
            variant = ""
        elif variant in ("9", "9.0", "v9.0"):
            variant = "v9"
    elif arch == "armhf":
        arch, variant = "arm", "v7"
    elif arch == "armel":
        arch, variant = "arm", "v6"
    elif arch == "arm":
        if variant in ("", "7"):
            variant = "v7"
        elif variant in ("5", "6", "8"):
            variant = "v" + variant
    return Platform(os, arch, variant, os_version or "")


def parse(text: str) -> Platform:
    """Parse `os/arch[/variant][:os.version]` (as `--platform` takes it) and normalise it.

    `os.version` is Windows' `major.minor.build` (e.g. `windows/amd64:10.0.20348`), what the
    node's containerd reports as its own platform and the kubelet as the
    `node.kubernetes.io/windows-build` label. Raises ValueError with a plain message.
    """
    spec, colon, os_version = text.strip().partition(":")
    parts = spec.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(
            f"{text!r} is not a platform: write os/arch[/variant], e.g. linux/arm64 "
            "(Windows: windows/amd64:10.0.20348)"
        )
    platform = normalize(*parts)
    if colon:
        if platform.os != "windows":
            raise ValueError(f"{text!r}: an os.version (after ':') is only for windows")
        if not _WINDOWS_VERSION.match(os_version) or windows_version(os_version) is None:
            raise ValueError(f"{text!r}: the os.version must be major.minor.build, e.g. 10.0.20348")
        platform = Platform(platform.os, platform.architecture, platform.variant, os_version)
    return platform


def from_descriptor(entry: dict[str, Any]) -> Platform | None:
    """The platform of one index entry, or None for attestations and entries without one."""
    if is_attestation(entry):
        return None
    platform = entry.get("platform")
    if not isinstance(platform, dict):
        return None
    os, arch = str(platform.get("os", "") or ""), str(platform.get("architecture", "") or "")
    if not os or not arch or (os, arch) == ("unknown", "unknown"):
        return None
    return normalize(os, arch, str(platform.get("variant", "") or ""), _os_version(platform))


def is_attestation(entry: dict[str, Any]) -> bool:
    annotations = entry.get("annotations") or {}
    return (
        isinstance(annotations, dict)
        and annotations.get("vnd.docker.reference.type") == ATTESTATION_TYPE
    )


def _os_version(document: dict[str, Any]) -> str:
    value = document.get("os.version")
    return value if isinstance(value, str) else ""


# -- what an image offers -------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One manifest an image offers a runtime to choose.

    `platform` is normalised as containerd normalises it, `raw` as written (CRI-O compares
    the written strings); both None when the manifest runs nowhere (an attestation, no image
    manifest) or its platform could not be learnt (`unknown` says why). `declared` is False
    where the platform was read from the manifest's config: an index entry without a
    `platform` field, or a single manifest.
    """

    platform: Platform | None
    raw: Platform | None = None
    declared: bool = True
    artifact: str | None = None
    """The config media type when the manifest is an OCI artifact, not an image."""
    unknown: str = ""
    """Why the platform is unknown ("" when it is known, or known to be none)."""


def entry_from_document(document: dict[str, Any], *, declared: bool) -> Entry:
    """The entry a platform object (an index `platform`, or an image config) describes.

    containerd reads an image config into `ocispec.Platform` (`core/images/image.go`
    `ConfigPlatform`): its `os`, `architecture`, `variant` and `os.version` fields.
    An `os` left empty is normalised to the node's own OS by containerd (`normalizeOS`), so
    it stays empty here and the matcher treats it so.
    """
    os = str(document.get("os", "") or "")
    arch = str(document.get("architecture", "") or "")
    variant = str(document.get("variant", "") or "")
    if not arch or (os, arch) == ("unknown", "unknown"):
        return Entry(None, None, declared)
    version = _os_version(document)
    return Entry(
        normalize(os, arch, variant, version), Platform(os, arch, variant, version), declared
    )


def strings(entries: Iterable[Entry]) -> tuple[str, ...]:
    """The report's platform strings: normalised, sorted, unique (`images[].platforms`)."""
    return tuple(sorted({str(e.platform) for e in entries if e.platform and e.platform.os}))


def entries_from_strings(texts: Iterable[str]) -> tuple[Entry, ...]:
    """Declared entries for platform strings (a resolution built without its entries)."""
    entries = []
    for text in texts:
        try:
            platform = parse(text)
        except ValueError:
            continue
        entries.append(Entry(platform, platform, True))
    return tuple(entries)


def windows_version(text: str) -> tuple[int, int, int] | None:
    """containerd/platforms `getWindowsOSVersion`: major.minor.build as uint8.uint8.uint16."""
    parts = text.split(".")
    if len(parts) < 3 or not all(p.isdigit() for p in parts[:3]):
        return None
    major, minor, build = (int(p) for p in parts[:3])
    if major > 255 or minor > 255 or build > 65535:
        return None
    return major, minor, build
