"""Secret references of a pod spec: container env and envFrom, volumes, plugins, pull secrets."""

from __future__ import annotations

from typing import Any

from gate.extract.fields import Problems, api_string, dotted, str_or_none
from gate.load import KubeObject, PathKey, get_path
from gate.workload import SecretRef

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


def container_secret_refs(
    obj: KubeObject, entry: dict[str, Any], cpath: PathKey, container: str, problems: Problems
) -> list[SecretRef]:
    """`env[].valueFrom.secretKeyRef` and `envFrom[].secretRef` of one container."""
    refs: list[SecretRef] = []
    env = entry.get("env")
    for index, var in enumerate(env if isinstance(env, list) else []):
        rpath = (*cpath, "env", index, "valueFrom", "secretKeyRef")
        ref = get_path(var, ("valueFrom", "secretKeyRef"))
        if not isinstance(ref, dict):
            continue
        name = api_string(obj, ref, "name", rpath, problems)
        key = api_string(obj, ref, "key", rpath, problems)
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
        name = api_string(obj, ref, "name", rpath, problems) if isinstance(ref, dict) else None
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


def volume_secret_refs(
    obj: KubeObject,
    spec: dict[str, Any],
    path: PathKey,
    problems: Problems,
    key: str = "volumes",
) -> list[SecretRef]:
    """The secrets the pod's volumes need: `secret`, `projected` secret sources (with their
    `items[].key`) and the volume types whose plugin reads one (`PLUGIN_SECRET_FIELDS`).

    `key` names the list (a Tekton run's `workspaces` bind volumes in the same shape)."""
    refs: list[SecretRef] = []
    volumes = spec.get(key)
    for index, volume in enumerate(volumes if isinstance(volumes, list) else []):
        if not isinstance(volume, dict):
            continue
        vpath = (*path, key, index)
        volume_name = str_or_none(volume.get("name"))
        secret = volume.get("secret")
        secret_name = (
            api_string(obj, secret, "secretName", (*vpath, "secret"), problems)
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
            name = api_string(obj, ref, "name", spath, problems) if isinstance(ref, dict) else None
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
    obj: KubeObject, source: dict[str, Any], spath: PathKey, problems: Problems
) -> tuple[tuple[str, int], ...]:
    """(key, line) of each `items[].key` of a secret volume or projected secret source."""
    items = source.get("items")
    found: list[tuple[str, int]] = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        ipath = (*spath, "items", index)
        key = api_string(obj, item, "key", ipath, problems)
        if key:
            found.append((key, obj.line_of((*ipath, "key"))))
    return tuple(found)


def _plugin_secret_ref(
    obj: KubeObject,
    volume: dict[str, Any],
    vpath: PathKey,
    volume_name: str | None,
    problems: Problems,
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
            value = api_string(obj, value, "name", name_path, problems)
            name_path = (*name_path, "name")
        elif value is not None and not isinstance(value, str):
            # every plugin's secret field is a reference object or a name; anything else
            # does not decode
            value = api_string(obj, source, secret_field, (*vpath, volume_type), problems)
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


def image_pull_secrets(
    obj: KubeObject, entries: Any, path: PathKey, problems: Problems
) -> tuple[tuple[tuple[str, int], ...], tuple[int, ...]]:
    """(name, line) of each named entry of the `imagePullSecrets` list at `path`, and the line
    of each unnamed one.

    An entry without a name (`- name: ""`, `- {}`, a null item) decodes to an empty
    `LocalObjectReference`: the API server keeps it with a warning
    (`warningsForPodSpecAndMeta`, pkg/api/pod/warnings.go) and the kubelet skips it
    (`getPullSecretsForPod`, pkg/kubelet/kubelet_pods.go). An entry that is not an object
    (`- regcred`) or a name that is not a string does not decode: the API server refuses
    the object (`problems`).
    """
    named: list[tuple[str, int]] = []
    empty: list[int] = []
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        epath = (*path, index)
        if entry is not None and not isinstance(entry, dict):
            problems.append(
                (
                    f"{dotted(epath)} must be an object (`- name: {entry}`), not "
                    f"{'a string' if isinstance(entry, str) else 'a ' + type(entry).__name__}",
                    obj.line_of(epath),
                )
            )
            continue
        refused = len(problems)
        name = api_string(obj, entry, "name", epath, problems) if entry is not None else None
        if len(problems) > refused:
            continue  # not a string: the API server refuses the object
        if not name:
            has_name = isinstance(entry, dict) and "name" in entry
            empty.append(obj.line_of((*epath, "name") if has_name else epath))
        else:
            named.append((name, obj.line_of((*epath, "name"))))
    return tuple(named), tuple(empty)
