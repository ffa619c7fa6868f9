"""One pod, wherever its object keeps the parts: a `Layout` says where, `build` reads them.

A Deployment keeps everything in one pod spec. A custom resource may spread a pod across the
object: an Argo template's container with the workflow's pull secrets, a Tekton step with the
run's pod template, a Prometheus `spec.image` beside `spec.imagePullSecrets`. The kind readers
(`gate.extract.kinds`) describe each pod as a `Layout`; `build` turns it into the same
`PodSpec` a Deployment gives, so every rule, credential, platform check, lock and `pin` applies
unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gate.extract.fields import Problems, api_strings, dotted, str_dict, str_or_none
from gate.extract.secret_refs import container_secret_refs, image_pull_secrets, volume_secret_refs
from gate.load import KubeObject, PathKey, get_path
from gate.workload import (
    ANNOTATION_DOMAIN,
    CONTAINER_FIELDS,
    DEFAULT_NAMESPACE,
    IMAGE_VOLUME_FIELD,
    NO_ENTRIES,
    Container,
    NotAString,
    ObjectRef,
    PodSpec,
    SecretRef,
)


@dataclass(frozen=True)
class Slot:
    """One container of the pod, as the object writes it."""

    path: PathKey
    """The container mapping; with `bare`, the image string itself (`spec.image`)."""
    field: str = "containers"
    """The pod field it becomes: `containers` or `initContainers`."""
    name: str | None = None
    """Its name in the pod (`main`, `step-build`); None: the entry's own `name`."""
    bare: bool = False
    inherit: PathKey | None = None
    """Where the image comes from when the entry has none (a Tekton `stepTemplate.image`)."""
    required: bool = True
    """An entry without an image is a missing image; False: the controller fills it in (a
    patch of an operator's own container), so it is no container of ours."""
    policy: PathKey | None = None
    """With `bare`: where the image's pull policy is (Flink's `spec.imagePullPolicy`)."""


@dataclass(frozen=True)
class Layout:
    """Where one pod's parts are inside its object.

    Each setting is a list of candidates, first non-empty wins, as controllers default a
    template's field from the object's (Argo: template, then workflow; Tekton: the task's run
    spec, then the run template).
    """

    path: PathKey
    """The pod's own place in the object (`PodSpec.path`): its pod spec, template or step."""
    slots: tuple[Slot, ...]
    pull_secrets: tuple[PathKey, ...] = ()
    """`imagePullSecrets` lists (`[{name}]`): the first non-empty one is the pod's."""
    pull_secret_strings: tuple[PathKey, ...] = ()
    """Lists of secret names as strings (Spark's `imagePullSecrets`, Kruise's `pullSecrets`)."""
    pull_secret_joined: tuple[tuple[PathKey, str], ...] = ()
    """Strings of secret names joined by a separator (Flink's `;`-separated configuration)."""
    service_account: tuple[PathKey, ...] = ()
    """Paths of a service account name."""
    node_selector: tuple[PathKey, ...] = ()
    merge_node_selectors: bool = False
    """Merge every candidate (Spark: application's, then the driver's or executor's)."""
    affinity: tuple[PathKey, ...] = ()
    volumes: tuple[PathKey, ...] = ()
    """Mappings holding `volumes`: every one counts (a workflow's and its template's)."""
    workspaces: tuple[PathKey, ...] = ()
    """Mappings holding a Tekton run's `workspaces`, bound to volumes of the same shape
    (`secret.secretName`, `projected`, `csi`): the pod mounts them."""
    secret_names: tuple[PathKey, ...] = ()
    """Lists of Secret names the controller mounts as volumes (Prometheus `spec.secrets`)."""
    template_metadata: PathKey | None = None
    """The pod template's `metadata`, whose annotations overlay the object's."""
    namespace: str | None = None
    """The pod's namespace when the object's is not it (a SidecarSet's `spec.namespace`)."""
    builtin: bool = False
    """A Kubernetes workload: an entry without an image is still a container (and invalid)."""
    account_pull_secrets: bool = True
    """False: the puller uses the object's own pull secrets only (`PodSpec`)."""
    replicas: int | None = None
    """Pods run from this spec, where the kind says (`PodSpec.replicas`)."""
    per_node: bool = False
    """One pod per node (`PodSpec.per_node`)."""

    def read_paths(self) -> set[PathKey]:
        """Where this pod's images are read from: each container's `image` (or bare value)
        and where an inherited image is written."""
        paths: set[PathKey] = set()
        for slot in self.slots:
            paths.add(slot.path if slot.bare else (*slot.path, "image"))
            if slot.inherit is not None:
                paths.add(slot.inherit)
        return paths


def pod_spec_layout(
    data: dict[str, Any], path: PathKey, builtin: bool = False, required: bool | None = None
) -> Layout:
    """The layout of a plain pod spec at `path` (a Deployment's `spec.template.spec`).

    Entries without an image count as containers when `required` (default: `builtin`).
    Otherwise an entry that has no `image` key is taken for a partial container (an overlay,
    a patch) and skipped, while one with an empty or invalid `image` is still a container
    whose image is missing or invalid.
    """
    spec = get_path(data, path)
    slots: list[Slot] = []
    need = builtin if required is None else required
    for container_field in CONTAINER_FIELDS:
        entries = spec.get(container_field) if isinstance(spec, dict) else None
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict):
                slots.append(
                    Slot(
                        (*path, container_field, index),
                        field=container_field,
                        required=need or (required is None and "image" in entry),
                    )
                )
    return Layout(
        path=path,
        slots=tuple(slots),
        pull_secrets=((*path, "imagePullSecrets"),),
        service_account=(path,),
        node_selector=((*path, "nodeSelector"),),
        affinity=((*path, "affinity"),),
        volumes=(path,),
        template_metadata=(*path[:-1], "metadata") if path else None,
        builtin=builtin,
    )


def build(obj: KubeObject, layout: Layout, default_namespace: str = DEFAULT_NAMESPACE) -> PodSpec:
    """The `PodSpec` of one pod laid out as `layout` says."""
    problems: Problems = []
    containers: list[Container] = []
    secret_refs: list[SecretRef] = []
    for slot in layout.slots:
        container = _container(obj, slot)
        if container is None:
            continue
        containers.append(container)
        entry = None if slot.bare else get_path(obj.data, slot.path)
        if isinstance(entry, dict):
            secret_refs.extend(
                container_secret_refs(obj, entry, slot.path, container.name, problems)
            )
            for list_field in ("command", "args"):
                api_strings(obj, entry, list_field, slot.path, problems)
    image_volumes: list[Container] = []
    for holder in layout.volumes:
        spec = get_path(obj.data, holder)
        if isinstance(spec, dict):
            secret_refs.extend(volume_secret_refs(obj, spec, holder, problems))
            image_volumes.extend(_image_volumes(obj, spec, holder))
    for holder in layout.workspaces:
        spec = get_path(obj.data, holder)
        if isinstance(spec, dict):
            secret_refs.extend(volume_secret_refs(obj, spec, holder, problems, key="workspaces"))
    secret_refs.extend(_named_secrets(obj, layout.secret_names))
    pull_secrets, empty_pull_secrets = _pull_secrets(obj, layout, problems)
    account = _first_string(obj, layout.service_account)
    selector: dict[str, str] = {}
    for candidate in layout.node_selector:
        values = str_dict(get_path(obj.data, candidate))
        if values and not layout.merge_node_selectors:
            selector = values
            break
        selector.update(values)
    affinity = next(
        (a for a in (get_path(obj.data, p) for p in layout.affinity) if isinstance(a, dict) and a),
        {},
    )
    annotations, annotation_lines = annotations_of(obj, layout.template_metadata)
    return PodSpec(
        object=object_ref(obj, default_namespace, layout.namespace),
        path=layout.path,
        containers=tuple(containers),
        service_account=account[0] if account else None,
        service_account_line=account[1] if account else None,
        image_pull_secrets=pull_secrets,
        empty_pull_secrets=empty_pull_secrets,
        node_selector=selector or NO_ENTRIES,
        affinity=affinity or NO_ENTRIES,
        annotations=annotations,
        secret_refs=tuple(secret_refs),
        annotation_lines=annotation_lines,
        image_volumes=tuple(image_volumes),
        api_problems=tuple(problems),
        account_pull_secrets=layout.account_pull_secrets,
        replicas=layout.replicas,
        per_node=layout.per_node,
    )


def object_ref(obj: KubeObject, default_namespace: str, namespace: str | None = None) -> ObjectRef:
    return ObjectRef(
        file=obj.file,
        kind=obj.kind,
        namespace=namespace or obj.namespace or default_namespace,
        name=obj.name,
        api_version=obj.api_version,
        source=obj.source,
        line=obj.line_of(("metadata", "name")),
    )


def _container(obj: KubeObject, slot: Slot) -> Container | None:
    if slot.bare:
        value = get_path(obj.data, slot.path)
        if value in (None, "") and not slot.required:
            return None
        policy = str_or_none(get_path(obj.data, slot.policy)) if slot.policy else None
        return image_value(
            obj, slot.name or dotted(slot.path), slot.field, value, slot.path, policy
        )
    entry = get_path(obj.data, slot.path)
    if not isinstance(entry, dict):
        return None
    name = slot.name or str(entry.get("name", f"{slot.field}[{slot.path[-1]}]"))
    policy = str_or_none(entry.get("imagePullPolicy"))
    value_path = _shared((*slot.path, "image"))
    value = entry.get("image")
    if value in (None, "") and slot.inherit is not None:
        inherited = get_path(obj.data, slot.inherit)
        if inherited not in (None, ""):
            value, value_path = inherited, slot.inherit
    if value in (None, "") and not slot.required:
        return None
    return image_value(obj, name, slot.field, value, value_path, policy, owner_path=slot.path)


_SHARED_PATHS: dict[PathKey, PathKey] = {}


def _shared(path: PathKey) -> PathKey:
    """One tuple for each path kept in a `Container` (every Deployment's first container has
    the same image path): the kept pods hold one copy, not one per object. Paths are the
    manifests' shape (fields and list indexes), so there are few of them."""
    return _SHARED_PATHS.setdefault(path, path)


def image_value(
    obj: KubeObject,
    name: str,
    field: str,
    value: Any,
    value_path: PathKey,
    pull_policy: str | None,
    owner_path: PathKey | None = None,
) -> Container:
    """One image as written at `value_path` (a container's `image`, an image volume's
    `reference`, a bare `spec.image`): absent or empty is no image, located at its owner;
    anything but a string is a problem the API server rejects."""
    has_image = value is not None and value != ""
    what = value_path[-1]
    return Container(
        name=name,
        field=field,
        image=str(value) if has_image else None,
        image_problem=None
        if not has_image or isinstance(value, str)
        else f"{what} is not a string (YAML read a {type(value).__name__})",
        line=obj.line_of(value_path if has_image or owner_path is None else owner_path),
        path=value_path,
        pull_policy=pull_policy,
    )


def _image_volumes(obj: KubeObject, spec: dict[str, Any], path: PathKey) -> list[Container]:
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
            image_value(
                obj,
                str(volume.get("name", f"volumes[{index}]")),
                IMAGE_VOLUME_FIELD,
                source.get("reference"),
                (*vpath, "reference"),
                str_or_none(source.get("pullPolicy")),
                owner_path=vpath,
            )
        )
    return found


def _pull_secrets(
    obj: KubeObject, layout: Layout, problems: Problems
) -> tuple[tuple[tuple[str, int], ...], tuple[int, ...]]:
    """The first non-empty `imagePullSecrets` candidate, then the names in string lists."""
    named: tuple[tuple[str, int], ...] = ()
    empty: tuple[int, ...] = ()
    for path in layout.pull_secrets:
        entries = get_path(obj.data, path)
        if entries:
            named, empty = image_pull_secrets(obj, entries, path, problems)
            break
    strings: list[tuple[str, int]] = []
    for path in layout.pull_secret_strings:
        values = get_path(obj.data, path)
        for index, value in enumerate(values if isinstance(values, list) else []):
            if isinstance(value, str) and value:
                strings.append((value, obj.line_of((*path, index))))
    for path, separator in layout.pull_secret_joined:
        value = get_path(obj.data, path)
        if isinstance(value, str):
            line = obj.line_of(path)
            strings.extend((name.strip(), line) for name in value.split(separator) if name.strip())
    return named + tuple(strings), empty


def _first_string(obj: KubeObject, candidates: Sequence[PathKey]) -> tuple[str, int] | None:
    """The first candidate that names something: a path to a string, or a pod spec mapping
    (its `serviceAccountName`, else the deprecated `serviceAccount`)."""
    for path in candidates:
        value = get_path(obj.data, path)
        if isinstance(value, dict):
            key = "serviceAccountName" if value.get("serviceAccountName") else "serviceAccount"
            path, value = (*path, key), value.get(key)
        name = str_or_none(value) if not isinstance(value, (dict, list)) else None
        if name:
            return name, obj.line_of(path)
    return None


def _named_secrets(obj: KubeObject, lists: Sequence[PathKey]) -> list[SecretRef]:
    refs: list[SecretRef] = []
    for path in lists:
        values = get_path(obj.data, path)
        for index, value in enumerate(values if isinstance(values, list) else []):
            if isinstance(value, str) and value:
                refs.append(
                    SecretRef(
                        name=value,
                        line=obj.line_of((*path, index)),
                        via="volume",
                        container=None,
                        volume=f"secret-{value}",
                    )
                )
    return refs


def annotations_of(
    obj: KubeObject, template_meta_path: PathKey | None
) -> tuple[Mapping[str, str], Mapping[str, int]]:
    """The object's pullgate annotations (`ANNOTATION_DOMAIN`) overlaid with its pod
    template's, and the line of each."""
    annotations: dict[str, str] = {}
    lines: dict[str, int] = {}
    for meta_path in [("metadata",), template_meta_path]:
        if meta_path is None:
            continue
        meta = get_path(obj.data, meta_path)
        values = meta.get("annotations") if isinstance(meta, dict) else None
        for key, value in values.items() if isinstance(values, dict) else ():
            if isinstance(key, str) and key.startswith(ANNOTATION_DOMAIN):
                annotations[key] = _annotation_value(value)
                lines[key] = obj.line_of((*meta_path, "annotations", key))
    return (annotations, lines) if annotations else (NO_ENTRIES, NO_ENTRIES)


def _annotation_value(value: Any) -> str:
    """An annotation's value as the API server decodes it into `map[string]string`: null is
    "", and a boolean, number or list (refused there) is kept as YAML wrote it, marked."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return NotAString(json.dumps(value, default=str))
