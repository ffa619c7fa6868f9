"""What a known kind is, and the readers most kinds share: pod templates at known paths."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gate.extract.fields import expand_path
from gate.extract.layout import Layout, Slot, pod_spec_layout
from gate.load import PathKey, get_path

Reader = Callable[[dict[str, Any]], list[Layout]]
Unchecked = Callable[[dict[str, Any]], list[tuple[PathKey, str]]]
"""(path, why) of each image the controller builds from settings rather than reads."""


def nothing_unchecked(data: dict[str, Any]) -> list[tuple[PathKey, str]]:
    return []


@dataclass(frozen=True)
class KnownKind:
    """A custom resource kind pullgate reads by its own rule."""

    group: str
    kind: str
    layouts: Reader
    """Where each pod of an object of this kind keeps its parts."""
    paths: tuple[str, ...]
    """Where its images are, for `pullgate explain kinds`."""
    source: str
    """The upstream types or code the reading follows."""
    cluster_scoped: bool = False
    """Its pods run in a namespace the object does not name (a cluster-wide template): they
    are checked in `--namespace`."""
    unchecked: Unchecked = nothing_unchecked


def spec_paths(data: dict[str, Any], patterns: Sequence[str]) -> list[PathKey]:
    """Every existing mapping matching `patterns`, in pattern order."""
    return [
        path
        for pattern in patterns
        for path in expand_path(data, pattern)
        if isinstance(get_path(data, path), dict)
    ]


def pod_templates(*patterns: str, required: bool = True) -> Reader:
    """A reader for kinds that embed plain pod specs (`spec.template.spec`, ...).

    `required`: an entry without an image is a missing image (nothing fills it in); False
    where the controller owns a container that the template only patches.
    """

    def read(data: dict[str, Any]) -> list[Layout]:
        return [
            pod_spec_layout(data, path, required=required) for path in spec_paths(data, patterns)
        ]

    return read


def pod_template_kinds(
    group: str,
    kinds: dict[str, tuple[str, ...]],
    source: str,
    required: bool = True,
    cluster_scoped: frozenset[str] = frozenset(),
) -> tuple[KnownKind, ...]:
    """One `KnownKind` per kind whose pods are pod templates at the given paths."""
    return tuple(
        KnownKind(
            group,
            kind,
            pod_templates(*patterns, required=required),
            tuple(f"{p}.{{containers,initContainers}}[*].image" for p in patterns),
            source,
            cluster_scoped=kind in cluster_scoped,
        )
        for kind, patterns in kinds.items()
    )


def bare_image(
    data: dict[str, Any], container: str | None = None, required: bool = True, **settings: Any
) -> list[Layout]:
    """The one pod of a kind whose image is a bare `spec.image` (a pre-pull or image-cache
    object, a flat runtime config): its container named `container`, else after the object;
    `settings` are the `Layout`'s other fields, paths under `spec`."""
    if not isinstance(data.get("spec"), dict):
        return []
    name = container or str(get_path(data, ("metadata", "name")) or "image")
    slot = Slot(("spec", "image"), name=name, bare=True, required=required)
    return [Layout(path=("spec",), slots=(slot,), **settings)]


def renamed(layout: Layout, names: dict[PathKey, str]) -> Layout:
    """`layout` with the containers at `names` given those names in the pod."""
    return replace(
        layout,
        slots=tuple(replace(s, name=names.get(s.path, s.name)) for s in layout.slots),
    )
