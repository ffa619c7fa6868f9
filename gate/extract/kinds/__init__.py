"""Custom resources that run containers, each read by its own rule from its project's types.

One module per project; each lists its kinds as `KnownKind`s. A kind is known by its API group
and kind name (any version): `apps.kruise.io` `StatefulSet` is not `apps` `StatefulSet`. A known
kind is never also searched generically, so no image is counted twice.
"""

from __future__ import annotations

from gate.extract.kinds import argo, crossplane, knative, kruise, operators, prometheus, tekton
from gate.extract.kinds.base import KnownKind
from gate.load import KubeObject

KINDS: tuple[KnownKind, ...] = (
    *argo.KINDS,
    *tekton.KINDS,
    *knative.KINDS,
    *kruise.KINDS,
    *operators.KINDS,
    *prometheus.KINDS,
    *crossplane.KINDS,
)
_BY_NAME = {(k.group, k.kind): k for k in KINDS}


def api_group(api_version: str) -> str:
    """`argoproj.io/v1alpha1` -> `argoproj.io`; the core group (`v1`) is ``."""
    return api_version.rpartition("/")[0]


def known_kind(obj: KubeObject) -> KnownKind | None:
    """The built-in reading of `obj`'s kind, if pullgate has one."""
    return _BY_NAME.get((api_group(obj.api_version), obj.kind))


__all__ = ["KINDS", "KnownKind", "api_group", "known_kind"]
