"""Platforms as containerd spells and matches them (`containerd/platforms`).

Registries and image builders write the same platform many ways (`aarch64`, `arm64/v8`,
`x86_64`); the kubelet's runtime normalises them before matching, so pullgate does too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ATTESTATION_TYPE = "attestation-manifest"


@dataclass(frozen=True, order=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base


def normalize(os: str, architecture: str, variant: str = "") -> Platform:
    """containerd's `Normalize`: lower-case OS, canonical architecture and variant."""
    os = (os or "").lower()
    arch = (architecture or "").lower()
    variant = (variant or "").lower()
    if arch in ("i386", "i486", "i586", "i686"):
        arch, variant = "386", ""
    elif arch in ("x86_64", "x86-64", "amd64"):
        arch = "amd64"
        if variant == "v1":
            variant = ""
    elif arch in ("aarch64", "arm64"):
        arch = "arm64"
        if variant in ("8", "v8", "v8.0"):
            variant = ""
    elif arch == "armhf":
        arch, variant = "arm", "v7"
    elif arch == "armel":
        arch, variant = "arm", "v6"
    elif arch == "arm":
        if variant in ("", "7"):
            variant = "v7"
        elif variant in ("5", "6", "8"):
            variant = "v" + variant
    return Platform(os, arch, variant)


def parse(text: str) -> Platform:
    """Parse `os/arch[/variant]` (as `--platform` takes it) and normalise it.

    Raises ValueError with a plain message for anything else.
    """
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"{text!r} is not a platform: write os/arch[/variant], e.g. linux/arm64")
    return normalize(*parts)


def from_descriptor(entry: dict[str, Any]) -> Platform | None:
    """The platform of one index entry, or None for attestations and entries without one."""
    annotations = entry.get("annotations") or {}
    if (
        isinstance(annotations, dict)
        and annotations.get("vnd.docker.reference.type") == ATTESTATION_TYPE
    ):
        return None
    platform = entry.get("platform")
    if not isinstance(platform, dict):
        return None
    os, arch = str(platform.get("os", "")), str(platform.get("architecture", ""))
    if not os or not arch or (os, arch) == ("unknown", "unknown"):
        return None
    return normalize(os, arch, str(platform.get("variant", "") or ""))


def matches(offered: Platform, wanted: Platform) -> bool:
    """containerd's default matcher, for one offered entry and one node platform.

    An arm64 node takes arm64 entries with or without `v8`; an arm/v7 node also runs v6 and v5
    images; other architectures must be equal, variant included when the node names one.
    """
    if offered.os != wanted.os or offered.architecture != wanted.architecture:
        return False
    if offered.variant == wanted.variant or not wanted.variant:
        return True
    if wanted.architecture == "arm":
        order = ["v5", "v6", "v7", "v8"]
        if offered.variant in order and wanted.variant in order:
            return order.index(offered.variant) <= order.index(wanted.variant)
    return False
