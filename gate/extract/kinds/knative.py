"""Knative Serving (`serving.knative.dev`) and its image cache (`caching.internal.knative.dev`).

Service and Configuration keep a revision template at `spec.template` and a Revision is one
(pkg/apis/serving/v1 revision_types.go: `RevisionSpec` inlines `corev1.PodSpec`). Unnamed
containers are named by the defaulting webhook (revision_defaults.go
`applyDefaultContainerNames`): `user-container` when alone, else `user-container-<n>` with `n`
counting unnamed containers and skipping names the user took; init containers likewise
`init-container[-<n>]`. A caching `Image` (knative/caching pkg/apis/caching/v1alpha1
image_types.go) is a bare `spec.image` with the `serviceAccountName` and `imagePullSecrets`
the image is pre-pulled with.
"""

from __future__ import annotations

from typing import Any

from gate.extract.kinds.base import KnownKind, bare_image, renamed, spec_paths
from gate.extract.layout import Layout, pod_spec_layout
from gate.load import PathKey, get_path

_SOURCE = "knative/serving pkg/apis/serving/v1 (revision_types.go, revision_defaults.go)"


def _default_names(data: dict[str, Any], spec: PathKey) -> dict[PathKey, str]:
    """Names for unnamed containers, avoiding every name taken in either list (one set for
    containers and init containers, as `SetDefaults` builds it)."""
    lists = {
        field: entries if isinstance(entries := get_path(data, (*spec, field)), list) else []
        for field in ("containers", "initContainers")
    }
    taken = {
        str(e["name"])
        for entries in lists.values()
        for e in entries
        if isinstance(e, dict) and e.get("name")
    }
    names: dict[PathKey, str] = {}
    for field, default in (("containers", "user-container"), ("initContainers", "init-container")):
        entries = lists[field]
        suffix = 0
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or entry.get("name"):
                continue
            name = default
            if len(entries) > 1 or name in taken:
                while True:
                    name = f"{default}-{suffix}"
                    suffix += 1
                    if name not in taken:
                        break
            taken.add(name)
            key: PathKey = (*spec, field, index)
            names[key] = name
    return names


def _revisions(*patterns: str) -> Any:
    def read(data: dict[str, Any]) -> list[Layout]:
        return [
            renamed(pod_spec_layout(data, path, required=True), _default_names(data, path))
            for path in spec_paths(data, patterns)
        ]

    return read


def _image(data: dict[str, Any]) -> list[Layout]:
    return bare_image(
        data,
        pull_secrets=(("spec", "imagePullSecrets"),),
        service_account=(("spec", "serviceAccountName"),),
    )


def _kind(group: str, kind: str, spec: str) -> KnownKind:
    return KnownKind(
        group,
        kind,
        _revisions(spec),
        (f"{spec}.{{containers,initContainers}}[*].image",),
        _SOURCE,
    )


KINDS: tuple[KnownKind, ...] = (
    _kind("serving.knative.dev", "Service", "spec.template.spec"),
    _kind("serving.knative.dev", "Configuration", "spec.template.spec"),
    _kind("serving.knative.dev", "Revision", "spec"),
    KnownKind(
        "caching.internal.knative.dev",
        "Image",
        _image,
        ("spec.image",),
        "knative/caching pkg/apis/caching/v1alpha1/image_types.go",
    ),
)
