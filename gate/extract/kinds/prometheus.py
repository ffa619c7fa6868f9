"""Prometheus Operator (`monitoring.coreos.com`): Prometheus, PrometheusAgent, Alertmanager,
ThanosRuler.

None has a pod template: the operator builds a StatefulSet in the object's namespace whose
main container (`prometheus`, `alertmanager`, `thanos-ruler`) runs `spec.image`
(pkg/operator/image.go `BuildImagePath`: a non-blank `spec.image` is used as written), and a
Prometheus with `spec.thanos` adds `thanos-sidecar` running `spec.thanos.image`. `containers`
and `initContainers` are strategic-merged by name over the operator's own
(pkg/k8s/merge.go `MergePatchContainers`): an entry named like one of them patches it (its
image, if it has one, replaces the operator's), and any other is added. `imagePullSecrets`,
`serviceAccountName`, `nodeSelector`, `affinity` and `volumes` are the pod's, and
`spec.secrets` are mounted as volumes. Without `spec.image` the operator builds the image from
its own defaults and version (`baseImage`, `version`, its compiled-in default): not in the
manifest, so not checked here.
"""

from __future__ import annotations

from typing import Any

from gate.extract.fields import dotted
from gate.extract.kinds.base import KnownKind
from gate.extract.layout import Layout, Slot
from gate.load import PathKey

GROUP = "monitoring.coreos.com"
_SOURCE = (
    "prometheus-operator pkg/apis/monitoring/v1{,alpha1}/*_types.go, pkg/operator/image.go, "
    "pkg/k8s/merge.go"
)


def _operator_pod(main: str, thanos: bool = False) -> Any:
    def read(data: dict[str, Any]) -> list[Layout]:
        spec = data.get("spec")
        if not isinstance(spec, dict):
            return []
        own: list[tuple[PathKey, str]] = [(("spec", "image"), main)]
        if thanos and isinstance(spec.get("thanos"), dict):
            own.append((("spec", "thanos", "image"), "thanos-sidecar"))
        patched = {
            entry.get("name")
            for entry in _list(spec.get("containers"))
            if isinstance(entry, dict) and entry.get("image")
        }
        slots = [
            Slot(path, name=name, bare=True, required=False, policy=("spec", "imagePullPolicy"))
            for path, name in own
            if name not in patched
        ]
        slots += [
            Slot(("spec", field, index), field=field, required=False)
            for field in ("initContainers", "containers")
            for index, entry in enumerate(_list(spec.get(field)))
            if isinstance(entry, dict)
        ]
        return [
            Layout(
                path=("spec",),
                slots=tuple(slots),
                pull_secrets=(("spec", "imagePullSecrets"),),
                service_account=(("spec", "serviceAccountName"),),
                node_selector=(("spec", "nodeSelector"),),
                affinity=(("spec", "affinity"),),
                volumes=(("spec",),),
                secret_names=(("spec", "secrets"),),
                template_metadata=("spec", "podMetadata"),
            )
        ]

    return read


def _operator_built(main: str, thanos: bool = False) -> Any:
    """The images the operator builds itself: the main container's without `spec.image`, the
    Thanos sidecar's without `spec.thanos.image`."""

    def unchecked(data: dict[str, Any]) -> list[tuple[PathKey, str]]:
        spec = data.get("spec")
        if not isinstance(spec, dict):
            return []
        patched = {
            e.get("name")
            for e in _list(spec.get("containers"))
            if isinstance(e, dict) and e.get("image")
        }
        found: list[tuple[PathKey, str]] = []
        wanted: list[tuple[dict[str, Any], PathKey, str]] = [(spec, ("spec",), main)]
        if thanos and isinstance(spec.get("thanos"), dict):
            wanted.append((spec["thanos"], ("spec", "thanos"), "thanos-sidecar"))
        for settings, path, container in wanted:
            if settings.get("image") or container in patched:
                continue
            written = [k for k in ("baseImage", "tag", "sha", "version") if settings.get(k)]
            where = (*path, written[0]) if written else path
            found.append(
                (
                    where,
                    f"the operator builds the image of container {container} from "
                    f"{', '.join(f'{dotted(path)}.{k}' for k in written) or 'its own defaults'} "
                    f"and its flags: set {dotted(path)}.image to have it checked and pinned",
                )
            )
        return found

    return unchecked


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


_PATHS = ("spec.image", "spec.{containers,initContainers}[*].image", "spec.imagePullSecrets")

KINDS: tuple[KnownKind, ...] = (
    KnownKind(
        GROUP,
        "Prometheus",
        _operator_pod("prometheus", thanos=True),
        (*_PATHS, "spec.thanos.image"),
        _SOURCE,
        unchecked=_operator_built("prometheus", thanos=True),
    ),
    *(
        KnownKind(
            GROUP, kind, _operator_pod(main), _PATHS, _SOURCE, unchecked=_operator_built(main)
        )
        for kind, main in (
            ("PrometheusAgent", "prometheus"),
            ("Alertmanager", "alertmanager"),
            ("ThanosRuler", "thanos-ruler"),
        )
    ),
)
