"""Pod specs found in every object, with their containers, images and annotations.

Built-in workload kinds keep their pod spec at a known path. Custom resources of the kinds in
`gate.extract.kinds` are read by their own rule. Any other object is searched for
pod-spec-shaped mappings: a `containers` or `initContainers` list whose entries carry a string
`image`. CustomResourceDefinitions are never searched: their schemas describe containers
without being any. A config `images:` entry adds, for the objects it names, the images at its
paths that this reading does not take.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from fnmatch import fnmatchcase
from typing import Any

from gate.extract.fields import dotted, expand_path
from gate.extract.kinds import known_kind
from gate.extract.layout import Layout, Slot, build, pod_spec_layout
from gate.load import KubeObject, PathKey, get_path
from gate.workload import DEFAULT_NAMESPACE, ImagePaths, PodSpec

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
NEVER_SEARCHED = frozenset({"CustomResourceDefinition", "ConfigMap", "Secret"})
_SEARCHED_LISTS = ("containers", "initContainers")


def extract(
    objects: Iterable[KubeObject],
    default_namespace: str = DEFAULT_NAMESPACE,
    image_paths: Sequence[ImagePaths] = (),
) -> list[PodSpec]:
    """Every pod spec in `objects`, in document order.

    Objects matched by an `image_paths` rule also yield one pod holding the images at those
    paths that their kind's own reading does not read (each "container" named by its path),
    with the rule's pull secrets, service account, node selector and namespace.
    """
    pods: list[PodSpec] = []
    for obj in objects:
        pods.extend(build(obj, layout, default_namespace) for layout in layouts(obj, image_paths))
    return pods


def layouts(obj: KubeObject, image_paths: Sequence[ImagePaths] = ()) -> list[Layout]:
    """Where each pod of `obj` keeps its parts: its kind's reading (built in, known, or the
    generic search), then a pod for the `image_paths` entries' images it does not read."""
    found = _own_layouts(obj)
    rules = [r for r in image_paths if rule_matches(r, obj)]
    if rules:
        read = {path for layout in found for path in layout.read_paths()}
        custom = _custom_layout(obj, rules, read)
        if custom is not None:
            found.append(custom)
    return found


def _own_layouts(obj: KubeObject) -> list[Layout]:
    if _is_builtin(obj):
        path = _BUILTIN_POD_SPECS[obj.kind]
        if not isinstance(get_path(obj.data, path), dict):
            return []
        layout = pod_spec_layout(obj.data, path, builtin=True)
        return [replace(layout, replicas=replicas(obj), per_node=obj.kind == "DaemonSet")]
    kind = known_kind(obj)
    if kind is not None:
        return kind.layouts(obj.data)
    if obj.kind in NEVER_SEARCHED:
        return []
    return [
        pod_spec_layout(obj.data, path)
        for path in _search_pod_specs(obj.data.get("spec"), ("spec",))
    ]


_REPLICAS: dict[str, PathKey] = {
    "Deployment": ("spec", "replicas"),
    "ReplicaSet": ("spec", "replicas"),
    "StatefulSet": ("spec", "replicas"),
    "ReplicationController": ("spec", "replicas"),
    "Job": ("spec", "parallelism"),
    "CronJob": ("spec", "jobTemplate", "spec", "parallelism"),
}


def replicas(obj: KubeObject) -> int | None:
    """How many pods a built-in workload runs at once from its template: `spec.replicas`
    (default 1; a Deployment's rollout surge is not counted); a Job's `parallelism` (default
    1), never more than its `completions`, none while `suspend`ed, and a CronJob's job
    template's likewise; a bare Pod 1; a PodTemplate 0 (it runs nothing). None: a DaemonSet
    (one per node), or a value the API server would refuse."""
    if obj.kind == "Pod":
        return 1
    if obj.kind == "PodTemplate":
        return 0
    path = _REPLICAS.get(obj.kind)
    if path is None:
        return None
    if obj.kind == "CronJob" and get_path(obj.data, ("spec", "suspend")) is True:
        return 0
    value = _count(get_path(obj.data, path))
    if value is None or obj.kind not in ("Job", "CronJob"):
        return value
    job = path[:-1]
    if get_path(obj.data, (*job, "suspend")) is True:
        return 0
    written = get_path(obj.data, (*job, "completions"))
    if written is None:  # a work queue: up to `parallelism` pods at once
        return value
    completions = _count(written)
    return min(value, completions) if completions is not None else value


def _count(value: object) -> int | None:
    """A pod count as the API server takes it: absent means 1; None where it is refused."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def rule_matches(rule: ImagePaths, obj: KubeObject) -> bool:
    return fnmatchcase(obj.kind, rule.kind) and fnmatchcase(obj.api_version, rule.api_version)


def _custom_layout(
    obj: KubeObject, rules: Sequence[ImagePaths], read: set[PathKey]
) -> Layout | None:
    """A config `images:` entry: bare image strings at its paths that the kind's own reading
    does not read already (so none is counted twice), with the entry's pod settings."""
    slots = [
        Slot(path, name=dotted(path), field="containers", bare=True, required=False)
        for path in dict.fromkeys(
            path
            for rule in rules
            for pattern in rule.paths
            for path in expand_path(obj.data, pattern)
        )
        if isinstance(get_path(obj.data, path), str)
        and get_path(obj.data, path)
        and path not in read
    ]
    if not slots:
        return None

    def paths(patterns: Iterable[str | None]) -> tuple[PathKey, ...]:
        return tuple(p for pattern in patterns if pattern for p in expand_path(obj.data, pattern))

    pull_secret_lists = paths(p for rule in rules for p in rule.pull_secrets)
    strings = tuple(p for p in pull_secret_lists if _items_are(obj, p, str))
    objects = tuple(p for p in pull_secret_lists if p not in strings)
    namespace = next(
        (
            str(get_path(obj.data, p))
            for p in paths(rule.namespace for rule in rules)
            if isinstance(get_path(obj.data, p), str) and get_path(obj.data, p)
        ),
        None,
    )
    return Layout(
        path=(),
        slots=tuple(slots),
        pull_secrets=objects,
        pull_secret_strings=strings,
        service_account=paths(rule.service_account for rule in rules),
        node_selector=paths(rule.node_selector for rule in rules),
        namespace=namespace,
    )


def _items_are(obj: KubeObject, path: PathKey, kind: type) -> bool:
    values = get_path(obj.data, path)
    return isinstance(values, list) and any(isinstance(v, kind) for v in values)


def is_builtin(obj: KubeObject) -> bool:
    """A Kubernetes workload kind, whose pod spec is at a known path."""
    return _is_builtin(obj)


def _is_builtin(obj: KubeObject) -> bool:
    group = obj.api_version.rpartition("/")[0] if "/" in obj.api_version else ""
    return obj.kind in _BUILTIN_POD_SPECS and group in _BUILTIN_GROUPS


def pod_spec_paths(obj: KubeObject) -> list[PathKey]:
    """Paths of the pod specs inside `obj`."""
    return [layout.path for layout in layouts(obj)]


def _holds_containers(entries: Any) -> bool:
    """A list whose entries carry a string `image`: containers, not a schema describing them
    (whose `image` is a mapping, `{type: string}`)."""
    return isinstance(entries, list) and any(
        isinstance(c, dict) and isinstance(c.get("image"), str) for c in entries
    )


def _search_pod_specs(value: Any, path: PathKey) -> Iterator[PathKey]:
    """Pod-spec-shaped mappings under `value`, in document order (iterative: no depth limit)."""
    stack: list[tuple[Any, PathKey]] = [(value, path)]
    while stack:
        value, path = stack.pop()
        children: list[tuple[Any, PathKey]]
        if isinstance(value, dict):
            if any(_holds_containers(value.get(key)) for key in _SEARCHED_LISTS):
                yield path
                continue
            children = [(child, (*path, key)) for key, child in value.items()]
        elif isinstance(value, list):
            children = [(child, (*path, index)) for index, child in enumerate(value)]
        else:
            continue
        stack.extend(reversed(children))
