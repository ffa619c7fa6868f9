"""Extract stage: every pod spec in every object, with its containers and what they need.

Built-in workload kinds keep their pod spec at a known path. Any other object (Argo Rollouts,
Experiments and AnalysisTemplates, Knative Services, ...) is searched for pod-spec-shaped
mappings: a `containers` list whose entries carry an `image`. CustomResourceDefinitions are never
searched: their schemas describe containers without being any.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gate.load import KubeObject, PathKey

DEFAULT_NAMESPACE = "default"

CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")

_TEMPLATE_SPEC: PathKey = ("spec", "template", "spec")
_BUILTIN_POD_SPECS: dict[str, PathKey] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": _TEMPLATE_SPEC,
    "ReplicaSet": _TEMPLATE_SPEC,
    "StatefulSet": _TEMPLATE_SPEC,
    "DaemonSet": _TEMPLATE_SPEC,
    "Job": _TEMPLATE_SPEC,
    "ReplicationController": _TEMPLATE_SPEC,
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_BUILTIN_GROUPS = {"", "v1", "apps", "batch", "extensions"}
_NEVER_SEARCHED = {"CustomResourceDefinition", "ConfigMap", "Secret"}


@dataclass(frozen=True)
class ObjectRef:
    """Where a pod spec lives: enough to locate it for a user and to key suppressions."""

    file: str
    kind: str
    namespace: str
    name: str
    api_version: str = ""
    source: str | None = None
    line: int = 1


@dataclass(frozen=True)
class Container:
    name: str
    field: str
    """`containers`, `initContainers` or `ephemeralContainers`."""
    image: str | None
    """The `image` value as written; None when the container has none."""
    line: int
    """Line of the `image:` value (of the container itself when there is none)."""
    path: PathKey
    pull_policy: str | None = None


@dataclass(frozen=True)
class PodSpec:
    """One pod spec: a Pod, or the template a controller stamps pods from."""

    object: ObjectRef
    path: PathKey
    containers: tuple[Container, ...]
    service_account: str | None = None
    image_pull_secrets: tuple[tuple[str, int], ...] = ()
    """(name, line) of each `imagePullSecrets` entry."""
    node_selector: dict[str, str] = field(default_factory=dict)
    affinity: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    """The object's annotations, overlaid with its pod template's."""


def extract(
    objects: Iterable[KubeObject], default_namespace: str = DEFAULT_NAMESPACE
) -> list[PodSpec]:
    """Every pod spec in `objects`, in document order."""
    pods: list[PodSpec] = []
    for obj in objects:
        for path in pod_spec_paths(obj):
            pods.append(_pod_spec(obj, path, default_namespace))
    return pods


def pod_spec_paths(obj: KubeObject) -> list[PathKey]:
    """Paths of the pod specs inside `obj`."""
    group = obj.api_version.rpartition("/")[0] if "/" in obj.api_version else ""
    builtin = _BUILTIN_POD_SPECS.get(obj.kind)
    if builtin is not None and group in _BUILTIN_GROUPS:
        spec = _get(obj.data, builtin)
        return [builtin] if isinstance(spec, dict) else []
    if obj.kind in _NEVER_SEARCHED:
        return []
    return list(_search_pod_specs(obj.data.get("spec"), ("spec",)))


def _search_pod_specs(value: Any, path: PathKey) -> Iterator[PathKey]:
    if isinstance(value, dict):
        containers = value.get("containers")
        if isinstance(containers, list) and any(
            isinstance(c, dict) and "image" in c for c in containers
        ):
            yield path
            return
        for key, child in value.items():
            yield from _search_pod_specs(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _search_pod_specs(child, (*path, index))


def _pod_spec(obj: KubeObject, path: PathKey, default_namespace: str) -> PodSpec:
    spec = _get(obj.data, path)
    assert isinstance(spec, dict)
    builtin = obj.kind in _BUILTIN_POD_SPECS
    ref = ObjectRef(
        file=obj.file,
        kind=obj.kind,
        namespace=obj.namespace or default_namespace,
        name=obj.name,
        api_version=obj.api_version,
        source=obj.source,
        line=obj.line_of(("metadata", "name")),
    )
    containers: list[Container] = []
    for container_field in CONTAINER_FIELDS:
        entries = spec.get(container_field)
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            cpath = (*path, container_field, index)
            if "image" not in entry and not builtin:
                continue  # a partial container in a custom resource (an overlay, a patch)
            image = entry.get("image")
            has_image = image is not None and image != ""
            containers.append(
                Container(
                    name=str(entry.get("name", f"{container_field}[{index}]")),
                    field=container_field,
                    image=str(image) if has_image else None,
                    line=obj.line_of((*cpath, "image") if has_image else cpath),
                    path=(*cpath, "image"),
                    pull_policy=_str_or_none(entry.get("imagePullPolicy")),
                )
            )
    pull_secrets = []
    entries = spec.get("imagePullSecrets")
    if isinstance(entries, list):
        for index, entry in enumerate(entries):
            if isinstance(entry, dict) and entry.get("name"):
                line = obj.line_of((*path, "imagePullSecrets", index, "name"))
                pull_secrets.append((str(entry["name"]), line))
    template_meta = _get(obj.data, (*path[:-1], "metadata")) if path else None
    annotations = _str_dict(obj.metadata.get("annotations"))
    if isinstance(template_meta, dict):
        annotations.update(_str_dict(template_meta.get("annotations")))
    affinity = spec.get("affinity")
    return PodSpec(
        object=ref,
        path=path,
        containers=tuple(containers),
        service_account=_str_or_none(spec.get("serviceAccountName") or spec.get("serviceAccount")),
        image_pull_secrets=tuple(pull_secrets),
        node_selector=_str_dict(spec.get("nodeSelector")),
        affinity=affinity if isinstance(affinity, dict) else {},
        annotations=annotations,
    )


def _get(data: Any, path: PathKey) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(data, list) or key >= len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[key] if isinstance(key, int) else data.get(key)
    return data


def _str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _str_dict(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in value.items()}
