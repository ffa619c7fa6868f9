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


def _version(variant: str) -> int | None:
    text = variant.removeprefix("v")
    return int(text) if text.isdigit() else None


def compatible(node: Platform) -> list[Platform]:
    """What a node of `node`'s platform runs, best first: containerd's `Only` vector.

    amd64/vN also runs amd64/v(N-1)...v1 and 386; arm/vN runs arm/v(N-1)...v5; arm64/v8.x runs
    arm64/v8.(x-1)...v8 and arm/v8...v5 (arm64/v9.x also v9.(x-1)... and v8.(x+5)...).
    """
    vector = [node]
    os, arch, variant = node.os, node.architecture, node.variant
    if arch == "amd64":
        level = _version(variant)
        if level is not None and level > 1:
            vector += [
                Platform(os, "amd64", "" if n == 1 else f"v{n}") for n in range(level - 1, 0, -1)
            ]
        vector.append(Platform(os, "386"))
    elif arch == "arm":
        level = _version(variant)
        if level is not None and level > 5:
            vector += [Platform(os, "arm", f"v{n}") for n in range(level - 1, 4, -1)]
    elif arch == "arm64":
        full = variant or "v8"
        major_text, _, minor_text = full.removeprefix("v").partition(".")
        if major_text.isdigit() and int(major_text) >= 8:
            major, minor = int(major_text), int(minor_text) if minor_text.isdigit() else 0
            if major == 9:
                vector += [_arm64(os, 9, m) for m in range(minor - 1, -1, -1)]
                major, minor = 8, minor + 5
                vector.append(_arm64(os, 8, minor))
            vector += [_arm64(os, major, m) for m in range(minor - 1, -1, -1)]
        arm_variant = "v8" if full.startswith(("v8.", "v9.")) else full
        vector += compatible(Platform(os, "arm", arm_variant))
    return vector


def _arm64(os: str, major: int, minor: int) -> Platform:
    variant = f"v{major}" if minor == 0 else f"v{major}.{minor}"
    return normalize(os, "arm64", variant)


def serves(offered: list[Platform] | tuple[Platform, ...], node: Platform) -> bool:
    """Whether an image offering `offered` has an entry a `node` would pull (containerd rules)."""
    wanted = set(compatible(node))
    return any(entry in wanted for entry in offered)
