"""Pod specs found in every object, with their containers, images and annotations.

Built-in workload kinds keep their pod spec at a known path. Any other object (Argo Rollouts,
Experiments and AnalysisTemplates, Knative Services, ...) is searched for pod-spec-shaped
mappings: a `containers` list whose entries carry an `image`. CustomResourceDefinitions are never
searched: their schemas describe containers without being any.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from fnmatch import fnmatchcase
from typing import Any

from gate.extract.fields import Problems, api_strings, dotted, str_dict, str_or_none
from gate.extract.secret_refs import container_secret_refs, image_pull_secrets, volume_secret_refs
from gate.load import KubeObject, PathKey, get_path
from gate.workload import (
    CONTAINER_FIELDS,
    DEFAULT_NAMESPACE,
    IMAGE_VOLUME_FIELD,
    Container,
    ImagePaths,
    ObjectRef,
    PodSpec,
    SecretRef,
)

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


def extract(
    objects: Iterable[KubeObject],
    default_namespace: str = DEFAULT_NAMESPACE,
    image_paths: Sequence[ImagePaths] = (),
) -> list[PodSpec]:
    """Every pod spec in `objects`, in document order.

    Objects matched by an `image_paths` rule also yield one pod-like entry holding the images
    at those paths (each "container" named by its path), so the same image rules apply.
    """
    pods: list[PodSpec] = []
    for obj in objects:
        for path in pod_spec_paths(obj):
            pods.append(_pod_spec(obj, path, default_namespace))
        rules = [r for r in image_paths if _rule_matches(r, obj)]
        if rules:
            custom = _custom_images(obj, rules, default_namespace)
            if custom is not None:
                pods.append(custom)
    return pods


def _rule_matches(rule: ImagePaths, obj: KubeObject) -> bool:
    return rule.kind == obj.kind and fnmatchcase(obj.api_version, rule.api_version)


_PATH_PART = re.compile(r"([^.\[\]]+)(?:\[(\*|\d+)\])?")


def expand_path(data: Any, pattern: str) -> list[PathKey]:
    """Concrete paths in `data` matching `pattern` (`a.b[*].c`, `a.b[0].c`) that exist."""
    found: list[PathKey] = [()]
    for part in pattern.split("."):
        match = _PATH_PART.fullmatch(part)
        if match is None:
            return []
        key, index = match.group(1), match.group(2)
        step: list[PathKey] = []
        for path in found:
            value = get_path(data, path)
            if not isinstance(value, dict) or key not in value:
                continue
            child = value[key]
            if index is None:
                step.append((*path, key))
            elif isinstance(child, list):
                indexes = range(len(child)) if index == "*" else [int(index)]
                step.extend((*path, key, i) for i in indexes if i < len(child))
        found = step
    return found


def _custom_images(
    obj: KubeObject, rules: Sequence[ImagePaths], default_namespace: str
) -> PodSpec | None:
    containers = []
    for rule in rules:
        for pattern in rule.paths:
            for path in expand_path(obj.data, pattern):
                value = get_path(obj.data, path)
                if not isinstance(value, str) or not value:
                    continue
                containers.append(
                    Container(
                        name=dotted(path),
                        field="custom",
                        image=value,
                        line=obj.line_of(path),
                        path=path,
                    )
                )
    if not containers:
        return None
    annotations, annotation_lines = _annotations(obj, None)
    return PodSpec(
        object=_object_ref(obj, default_namespace),
        path=(),
        containers=tuple(containers),
        annotations=annotations,
        annotation_lines=annotation_lines,
    )


def _is_builtin(obj: KubeObject) -> bool:
    group = obj.api_version.rpartition("/")[0] if "/" in obj.api_version else ""
    return obj.kind in _BUILTIN_POD_SPECS and group in _BUILTIN_GROUPS


def pod_spec_paths(obj: KubeObject) -> list[PathKey]:
    """Paths of the pod specs inside `obj`."""
    if _is_builtin(obj):
        builtin = _BUILTIN_POD_SPECS[obj.kind]
        spec = get_path(obj.data, builtin)
        return [builtin] if isinstance(spec, dict) else []
    if obj.kind in _NEVER_SEARCHED:
        return []
    return list(_search_pod_specs(obj.data.get("spec"), ("spec",)))


def _search_pod_specs(value: Any, path: PathKey) -> Iterator[PathKey]:
    """Pod-spec-shaped mappings under `value`, in document order (iterative: no depth limit)."""
    stack: list[tuple[Any, PathKey]] = [(value, path)]
    while stack:
        value, path = stack.pop()
        children: list[tuple[Any, PathKey]]
        if isinstance(value, dict):
            containers = value.get("containers")
            if isinstance(containers, list) and any(
                isinstance(c, dict) and "image" in c for c in containers
            ):
                yield path
                continue
            children = [(child, (*path, key)) for key, child in value.items()]
        elif isinstance(value, list):
            children = [(child, (*path, index)) for index, child in enumerate(value)]
        else:
            continue
        stack.extend(reversed(children))


def _object_ref(obj: KubeObject, default_namespace: str) -> ObjectRef:
    return ObjectRef(
        file=obj.file,
        kind=obj.kind,
        namespace=obj.namespace or default_namespace,
        name=obj.name,
        api_version=obj.api_version,
        source=obj.source,
        line=obj.line_of(("metadata", "name")),
    )


def _pod_spec(obj: KubeObject, path: PathKey, default_namespace: str) -> PodSpec:
    spec = get_path(obj.data, path)
    assert isinstance(spec, dict)
    builtin = _is_builtin(obj)
    ref = _object_ref(obj, default_namespace)
    containers: list[Container] = []
    secret_refs: list[SecretRef] = []
    problems: Problems = []
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
            containers.append(
                _image_value(
                    obj,
                    str(entry.get("name", f"{container_field}[{index}]")),
                    container_field,
                    entry.get("image"),
                    (*cpath, "image"),
                    cpath,
                    str_or_none(entry.get("imagePullPolicy")),
                )
            )
            secret_refs.extend(
                container_secret_refs(obj, entry, cpath, containers[-1].name, problems)
            )
            for list_field in ("command", "args"):
                api_strings(obj, entry, list_field, cpath, problems)
    secret_refs.extend(volume_secret_refs(obj, spec, path, problems))
    image_volumes = _image_volumes(obj, spec, path)
    pull_secrets, empty_pull_secrets = image_pull_secrets(obj, spec, path, problems)
    annotations, annotation_lines = _annotations(obj, (*path[:-1], "metadata") if path else None)
    affinity = spec.get("affinity")
    account_field = "serviceAccountName" if spec.get("serviceAccountName") else "serviceAccount"
    service_account = str_or_none(spec.get(account_field))
    return PodSpec(
        object=ref,
        path=path,
        containers=tuple(containers),
        service_account=service_account,
        service_account_line=obj.line_of((*path, account_field)) if service_account else None,
        image_pull_secrets=pull_secrets,
        empty_pull_secrets=empty_pull_secrets,
        node_selector=str_dict(spec.get("nodeSelector")),
        affinity=affinity if isinstance(affinity, dict) else {},
        annotations=annotations,
        secret_refs=tuple(secret_refs),
        annotation_lines=annotation_lines,
        image_volumes=image_volumes,
        api_problems=tuple(problems),
    )


def _image_volumes(obj: KubeObject, spec: dict[str, Any], path: PathKey) -> tuple[Container, ...]:
    """`volumes[].image`: `reference` is the image, `pullPolicy` its pull policy.

    The API types (`ImageVolumeSource`) make `reference` optional so that a controller's
    template may leave it to be filled in; a pod without one is rejected, so an absent or
    empty reference is reported as a missing image, like a container without one.
    """
    found: list[Container] = []
    volumes = spec.get("volumes")
    for index, volume in enumerate(volumes if isinstance(volumes, list) else []):
        if not isinstance(volume, dict) or not isinstance(volume.get("image"), dict):
            continue
        source = volume["image"]
        vpath = (*path, "volumes", index, "image")
        found.append(
            _image_value(
                obj,
                str(volume.get("name", f"volumes[{index}]")),
                IMAGE_VOLUME_FIELD,
                source.get("reference"),
                (*vpath, "reference"),
                vpath,
                str_or_none(source.get("pullPolicy")),
            )
        )
    return tuple(found)


def _image_value(
    obj: KubeObject,
    name: str,
    field: str,
    value: Any,
    value_path: PathKey,
    owner_path: PathKey,
    pull_policy: str | None,
) -> Container:
    """One image as written at `value_path` (a container's `image`, an image volume's
    `reference`): absent or empty is no image, located at its owner; anything but a string is
    a problem the API server rejects."""
    has_image = value is not None and value != ""
    what = value_path[-1]
    return Container(
        name=name,
        field=field,
        image=str(value) if has_image else None,
        image_problem=None
        if not has_image or isinstance(value, str)
        else f"{what} is not a string (YAML read a {type(value).__name__})",
        line=obj.line_of(value_path if has_image else owner_path),
        path=value_path,
        pull_policy=pull_policy,
    )


def _annotations(
    obj: KubeObject, template_meta_path: PathKey | None
) -> tuple[dict[str, str], dict[str, int]]:
    """The object's annotations overlaid with its pod template's, and the line of each."""
    annotations: dict[str, str] = {}
    lines: dict[str, int] = {}
    for meta_path in [("metadata",), template_meta_path]:
        if meta_path is None:
            continue
        meta = get_path(obj.data, meta_path)
        values = str_dict(meta.get("annotations")) if isinstance(meta, dict) else {}
        for key, value in values.items():
            annotations[key] = value
            lines[key] = obj.line_of((*meta_path, "annotations", key))
    return annotations, lines
