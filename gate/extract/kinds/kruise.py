"""OpenKruise (`apps.kruise.io`, apis/apps/v1alpha1 and v1beta1).

Workloads embed plain pod templates: CloneSet, Advanced StatefulSet and DaemonSet (the same
kind names as `apps`, told apart by group), BroadcastJob, AdvancedCronJob's job templates and
UnitedDeployment's subset templates. A SidecarSet (sidecarset_types.go) injects its
`containers` and `initContainers` into the pods it selects, appending its `imagePullSecrets`
to theirs (pkg/webhook/pod/mutating/sidecarset.go), in `spec.namespace` when it names one. An
ImagePullJob (imagepulljob_types.go) pre-pulls a bare `spec.image` with `spec.pullSecrets`, a
list of Secret names.
"""

from __future__ import annotations

from typing import Any

from gate.extract.kinds.base import KnownKind, bare_image, pod_template_kinds
from gate.extract.layout import Layout, Slot

GROUP = "apps.kruise.io"
_SOURCE = "openkruise/kruise apis/apps/v1alpha1, v1beta1"


def _sidecar_set(data: dict[str, Any]) -> list[Layout]:
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return []
    slots = [
        Slot(("spec", field, index), field=field)
        for field in ("initContainers", "containers")
        for index, entry in enumerate(spec.get(field) or [])
        if isinstance(entry, dict)
    ]
    namespace = spec.get("namespace")
    return [
        Layout(
            path=("spec",),
            slots=tuple(slots),
            pull_secrets=(("spec", "imagePullSecrets"),),
            volumes=(("spec",),),
            namespace=namespace if isinstance(namespace, str) and namespace else None,
        )
    ]


def _image_pull_job(data: dict[str, Any]) -> list[Layout]:
    return bare_image(
        data,
        pull_secret_strings=(("spec", "pullSecrets"),),
        # kruise-daemon pulls with `spec.pullSecrets` only (imagepulljob_controller.go
        # `syncJobPullSecrets`), never a service account's
        account_pull_secrets=False,
    )


KINDS: tuple[KnownKind, ...] = (
    *pod_template_kinds(
        GROUP,
        {
            "CloneSet": ("spec.template.spec",),
            "StatefulSet": ("spec.template.spec",),
            "DaemonSet": ("spec.template.spec",),
            "BroadcastJob": ("spec.template.spec",),
            "AdvancedCronJob": (
                "spec.template.jobTemplate.spec.template.spec",
                "spec.template.broadcastJobTemplate.spec.template.spec",
            ),
            "UnitedDeployment": (
                "spec.template.statefulSetTemplate.spec.template.spec",
                "spec.template.advancedStatefulSetTemplate.spec.template.spec",
                "spec.template.cloneSetTemplate.spec.template.spec",
                "spec.template.deploymentTemplate.spec.template.spec",
            ),
        },
        _SOURCE,
    ),
    KnownKind(
        GROUP,
        "SidecarSet",
        _sidecar_set,
        (
            "spec.{containers,initContainers}[*].image",
            "spec.imagePullSecrets (added to the target pods', which are not known here)",
        ),
        _SOURCE + " sidecarset_types.go",
        cluster_scoped=True,
    ),
    KnownKind(
        GROUP,
        "ImagePullJob",
        _image_pull_job,
        ("spec.image", "spec.pullSecrets"),
        _SOURCE + " imagepulljob_types.go",
    ),
)
