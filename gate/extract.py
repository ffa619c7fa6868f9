"""Extract stage: every pod spec in every object, with its containers and what they need.

Built-in workload kinds keep their pod spec at a known path. Any other object (Argo Rollouts,
Experiments and AnalysisTemplates, Knative Services, ...) is searched for pod-spec-shaped
mappings: a `containers` list whose entries carry an `image`. CustomResourceDefinitions are never
searched: their schemas describe containers without being any.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal

from gate.load import KubeObject, PathKey, get_path

DEFAULT_NAMESPACE = "default"

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def validate_namespace(name: str) -> str:
    """`name` if it is a valid namespace (a DNS-1123 label); ValueError (exit 2) otherwise."""
    if len(name) > 63 or not _DNS1123_LABEL.match(name):
        raise ValueError(
            f"invalid namespace {name!r}: a namespace is a DNS-1123 label (lower-case letters, "
            "digits and '-', starting and ending with a letter or digit, at most 63 characters)"
        )
    return name


@dataclass(frozen=True)
class ImagePaths:
    """Config `images:`: where a custom resource keeps images (`spec.runner.image`,
    `spec.jobs[*].image`)."""

    kind: str
    paths: tuple[str, ...]
    api_version: str = "*"


CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")
IMAGE_VOLUME_FIELD = "volumes"
"""`Container.field` of an image volume: `volumes[].image.reference` (KEP-4639)."""

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
    image_problem: str | None = None
    """Why the value cannot be an image at all (a number, a list), before any parsing."""

    @property
    def is_volume(self) -> bool:
        """An image volume (`volumes[].image`), not a container: named by its volume."""
        return self.field == IMAGE_VOLUME_FIELD

    @property
    def label(self) -> str:
        """`container web` or `image volume models`, for messages."""
        return f"image volume {self.name}" if self.is_volume else f"container {self.name}"


SecretVia = Literal["env", "envFrom", "volume", "projected", "plugin"]

PLUGIN_SECRET_FIELDS: tuple[tuple[str, str], ...] = (
    ("azureFile", "secretName"),
    ("cephfs", "secretRef"),
    ("csi", "nodePublishSecretRef"),
    ("flexVolume", "secretRef"),
    ("iscsi", "secretRef"),
    ("rbd", "secretRef"),
    ("scaleIO", "secretRef"),
    ("storageos", "secretRef"),
)
"""Volume types whose plugin reads a Secret of the pod's namespace to mount the volume, and the
field naming it (`VisitPodSecretNames` in pkg/api/pod/util.go lists them; each plugin's
`NewMounter`/`SetUpAt` fails when the Secret cannot be read). `cinder.secretRef` is left out:
the CSI translation the kubelet mounts cinder volumes through drops it unread."""


@dataclass(frozen=True)
class SecretRef:
    """One reference from a pod spec to a Secret by name, located for the finding it may become.

    `via` says which field holds it: `env` (`env[].valueFrom.secretKeyRef`), `envFrom`
    (`envFrom[].secretRef`), `volume` (`volumes[].secret.secretName`), `projected`
    (`volumes[].projected.sources[].secret.name`) or `plugin` (a volume type whose plugin
    reads the secret to mount it, `source` says which: `csi.nodePublishSecretRef`, ...).
    """

    name: str
    line: int
    """Line of the secret's name value."""
    via: SecretVia
    container: str | None
    """The container that refers to it; None for volumes (any container may mount them)."""
    key: str | None = None
    """The key a `secretKeyRef` reads."""
    optional: bool = False
    volume: str | None = None
    """The volume's name, for `volume`, `projected` and `plugin` references."""
    items: tuple[tuple[str, int], ...] = ()
    """(key, line) of each `items[].key` of a `volume` or `projected` secret: the kubelet fails
    the mount when one is missing from the Secret, unless the reference is optional."""
    source: str | None = None
    """For `plugin` references: the field naming the secret (`cephfs.secretRef`, ...)."""


@dataclass(frozen=True)
class PodSpec:
    """One pod spec: a Pod, or the template a controller stamps pods from."""

    object: ObjectRef
    path: PathKey
    containers: tuple[Container, ...]
    service_account: str | None = None
    service_account_line: int | None = None
    """Line of the `serviceAccountName` (or deprecated `serviceAccount`) value."""
    image_pull_secrets: tuple[tuple[str, int], ...] = ()
    """(name, line) of each `imagePullSecrets` entry that names a secret."""
    node_selector: dict[str, str] = field(default_factory=dict)
    affinity: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    """The object's annotations, overlaid with its pod template's."""
    secret_refs: tuple[SecretRef, ...] = ()
    """Every reference to a Secret: container by container (env, then envFrom), then volumes."""
    image_volumes: tuple[Container, ...] = ()
    """Image volumes (`volumes[].image`): the kubelet pulls them with the pod's credentials
    before any container starts, and the pod fails if one does not pull."""
    annotation_lines: dict[str, int] = field(default_factory=dict)
    """Line of each annotation in `annotations`, to locate findings about them."""
    empty_pull_secrets: tuple[int, ...] = ()
    """Line of each `imagePullSecrets` entry with no name (`- name: ""`, `- {}`). The API
    server accepts one with a warning and the kubelet skips it, but it still makes the list
    non-empty, so the ServiceAccount admission plugin copies none of the account's."""

    api_problems: tuple[tuple[str, int], ...] = ()
    """(what, line) of each field the API server cannot decode (a number where a name goes,
    a string where an object goes): it refuses the whole object, so nothing of it runs."""

    @property
    def has_own_pull_secrets(self) -> bool:
        """Whether `imagePullSecrets` has any entry, named or not: then the admission plugin
        leaves it as it is instead of copying the service account's."""
        return bool(self.image_pull_secrets or self.empty_pull_secrets)


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
                        name=_dotted(path),
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


def _dotted(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


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
    problems: _Problems = []
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
                    _str_or_none(entry.get("imagePullPolicy")),
                )
            )
            secret_refs.extend(
                _container_secret_refs(obj, entry, cpath, containers[-1].name, problems)
            )
            for list_field in ("command", "args"):
                _api_strings(obj, entry, list_field, cpath, problems)
    secret_refs.extend(_volume_secret_refs(obj, spec, path, problems))
    image_volumes = _image_volumes(obj, spec, path)
    pull_secrets, empty_pull_secrets = _pull_secrets(obj, spec, path, problems)
    annotations, annotation_lines = _annotations(obj, (*path[:-1], "metadata") if path else None)
    affinity = spec.get("affinity")
    account_field = "serviceAccountName" if spec.get("serviceAccountName") else "serviceAccount"
    service_account = _str_or_none(spec.get(account_field))
    return PodSpec(
        object=ref,
        path=path,
        containers=tuple(containers),
        service_account=service_account,
        service_account_line=obj.line_of((*path, account_field)) if service_account else None,
        image_pull_secrets=pull_secrets,
        empty_pull_secrets=empty_pull_secrets,
        node_selector=_str_dict(spec.get("nodeSelector")),
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
                _str_or_none(source.get("pullPolicy")),
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
        values = _str_dict(meta.get("annotations")) if isinstance(meta, dict) else {}
        for key, value in values.items():
            annotations[key] = value
            lines[key] = obj.line_of((*meta_path, "annotations", key))
    return annotations, lines


def _container_secret_refs(
    obj: KubeObject, entry: dict[str, Any], cpath: PathKey, container: str, problems: _Problems
) -> list[SecretRef]:
    """`env[].valueFrom.secretKeyRef` and `envFrom[].secretRef` of one container."""
    refs: list[SecretRef] = []
    env = entry.get("env")
    for index, var in enumerate(env if isinstance(env, list) else []):
        rpath = (*cpath, "env", index, "valueFrom", "secretKeyRef")
        ref = get_path(var, ("valueFrom", "secretKeyRef"))
        if not isinstance(ref, dict):
            continue
        name = _api_string(obj, ref, "name", rpath, problems)
        key = _api_string(obj, ref, "key", rpath, problems)
        if name:
            refs.append(
                SecretRef(
                    name=name,
                    line=obj.line_of((*rpath, "name")),
                    via="env",
                    container=container,
                    key=key or None,
                    optional=ref.get("optional") is True,
                )
            )
    env_from = entry.get("envFrom")
    for index, source in enumerate(env_from if isinstance(env_from, list) else []):
        ref = get_path(source, ("secretRef",))
        rpath = (*cpath, "envFrom", index, "secretRef")
        name = _api_string(obj, ref, "name", rpath, problems) if isinstance(ref, dict) else None
        if isinstance(ref, dict) and name:
            refs.append(
                SecretRef(
                    name=name,
                    line=obj.line_of((*cpath, "envFrom", index, "secretRef", "name")),
                    via="envFrom",
                    container=container,
                    optional=ref.get("optional") is True,
                )
            )
    return refs


def _volume_secret_refs(
    obj: KubeObject, spec: dict[str, Any], path: PathKey, problems: _Problems
) -> list[SecretRef]:
    """The secrets the pod's volumes need: `secret`, `projected` secret sources (with their
    `items[].key`) and the volume types whose plugin reads one (`PLUGIN_SECRET_FIELDS`)."""
    refs: list[SecretRef] = []
    volumes = spec.get("volumes")
    for index, volume in enumerate(volumes if isinstance(volumes, list) else []):
        if not isinstance(volume, dict):
            continue
        vpath = (*path, "volumes", index)
        volume_name = _str_or_none(volume.get("name"))
        secret = volume.get("secret")
        secret_name = (
            _api_string(obj, secret, "secretName", (*vpath, "secret"), problems)
            if isinstance(secret, dict)
            else None
        )
        if isinstance(secret, dict) and secret_name:
            refs.append(
                SecretRef(
                    name=secret_name,
                    line=obj.line_of((*vpath, "secret", "secretName")),
                    via="volume",
                    container=None,
                    optional=secret.get("optional") is True,
                    volume=volume_name,
                    items=_key_items(obj, secret, (*vpath, "secret"), problems),
                )
            )
        sources = get_path(volume, ("projected", "sources"))
        for sindex, source in enumerate(sources if isinstance(sources, list) else []):
            ref = get_path(source, ("secret",))
            spath = (*vpath, "projected", "sources", sindex, "secret")
            name = _api_string(obj, ref, "name", spath, problems) if isinstance(ref, dict) else None
            if isinstance(ref, dict) and name:
                refs.append(
                    SecretRef(
                        name=name,
                        line=obj.line_of((*spath, "name")),
                        via="projected",
                        container=None,
                        optional=ref.get("optional") is True,
                        volume=volume_name,
                        items=_key_items(obj, ref, spath, problems),
                    )
                )
        plugin = _plugin_secret_ref(obj, volume, vpath, volume_name, problems)
        if plugin is not None:
            refs.append(plugin)
    return refs


def _key_items(
    obj: KubeObject, source: dict[str, Any], spath: PathKey, problems: _Problems
) -> tuple[tuple[str, int], ...]:
    """(key, line) of each `items[].key` of a secret volume or projected secret source."""
    items = source.get("items")
    found: list[tuple[str, int]] = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        ipath = (*spath, "items", index)
        key = _api_string(obj, item, "key", ipath, problems)
        if key:
            found.append((key, obj.line_of((*ipath, "key"))))
    return tuple(found)


_Problems = list[tuple[str, int]]


def _api_strings(
    obj: KubeObject, parent: dict[str, Any], name: str, ppath: PathKey, problems: _Problems
) -> None:
    """A `[]string` field (a container's `command`, `args`): each item must be a string."""
    values = parent.get(name)
    items = dict(enumerate(values)) if isinstance(values, list) else {}
    for index in items:
        _api_string(obj, items, index, (*ppath, name), problems)


def _api_string(
    obj: KubeObject, parent: dict[Any, Any], name: str | int, ppath: PathKey, problems: _Problems
) -> str | None:
    """A string field as the API server decodes it: a number, list or object there is a
    decoding error (`cannot unmarshal number into Go struct field ... of type string`) that
    refuses the whole object, recorded in `problems`; None for absent or null."""
    value = parent.get(name)
    if value is None or isinstance(value, str):
        return value
    kind = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
    }
    problems.append(
        (
            f"{_dotted((*ppath, name))} must be a string, not {kind.get(type(value), 'an object')}",
            obj.line_of((*ppath, name)),
        )
    )
    return None


def _plugin_secret_ref(
    obj: KubeObject,
    volume: dict[str, Any],
    vpath: PathKey,
    volume_name: str | None,
    problems: _Problems,
) -> SecretRef | None:
    """The secret a volume's plugin reads to mount it, if its type names one.

    iSCSI reads its `secretRef` only for CHAP authentication (`createSecretMap` in
    pkg/volume/iscsi/iscsi.go), so without `chapAuthDiscovery` or `chapAuthSession` the
    reference needs nothing.
    """
    for volume_type, secret_field in PLUGIN_SECRET_FIELDS:
        source = volume.get(volume_type)
        if not isinstance(source, dict):
            continue
        if volume_type == "iscsi" and not (
            source.get("chapAuthDiscovery") is True or source.get("chapAuthSession") is True
        ):
            return None
        value = source.get(secret_field)
        name_path: PathKey = (*vpath, volume_type, secret_field)
        if isinstance(value, dict):
            value = _api_string(obj, value, "name", name_path, problems)
            name_path = (*name_path, "name")
        elif value is not None and not isinstance(value, str):
            # every plugin's secret field is a reference object or a name; anything else
            # does not decode
            value = _api_string(obj, source, secret_field, (*vpath, volume_type), problems)
        if not value:
            return None
        return SecretRef(
            name=value,
            line=obj.line_of(name_path),
            via="plugin",
            container=None,
            volume=volume_name,
            source=f"{volume_type}.{secret_field}",
        )
    return None


def _pull_secrets(
    obj: KubeObject, spec: dict[str, Any], path: PathKey, problems: _Problems
) -> tuple[tuple[tuple[str, int], ...], tuple[int, ...]]:
    """(name, line) of each named `imagePullSecrets` entry, and the line of each unnamed one.

    An entry without a name (`- name: ""`, `- {}`, a null item) decodes to an empty
    `LocalObjectReference`: the API server keeps it with a warning
    (`warningsForPodSpecAndMeta`, pkg/api/pod/warnings.go) and the kubelet skips it
    (`getPullSecretsForPod`, pkg/kubelet/kubelet_pods.go). An entry that is not an object
    (`- regcred`) or a name that is not a string does not decode: the API server refuses
    the object (`problems`).
    """
    named: list[tuple[str, int]] = []
    empty: list[int] = []
    entries = spec.get("imagePullSecrets")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        epath = (*path, "imagePullSecrets", index)
        if entry is not None and not isinstance(entry, dict):
            problems.append(
                (
                    f"{_dotted(epath)} must be an object (`- name: {entry}`), not "
                    f"{'a string' if isinstance(entry, str) else 'a ' + type(entry).__name__}",
                    obj.line_of(epath),
                )
            )
            continue
        refused = len(problems)
        name = _api_string(obj, entry, "name", epath, problems) if entry is not None else None
        if len(problems) > refused:
            continue  # not a string: the API server refuses the object
        if not name:
            has_name = isinstance(entry, dict) and "name" in entry
            empty.append(obj.line_of((*epath, "name") if has_name else epath))
        else:
            named.append((name, obj.line_of((*epath, "name"))))
    return tuple(named), tuple(empty)


def _str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _str_dict(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in value.items()}
