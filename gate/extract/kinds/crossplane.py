"""Crossplane package runtimes (`pkg.crossplane.io`).

A DeploymentRuntimeConfig (apis/pkg/v1beta1/deployment_runtime_config_types.go) is the
Deployment template of a provider's or function's runtime: its pod spec is
`spec.deploymentTemplate.spec.template.spec`, where the container `package-runtime` gets the
package image from Crossplane when it names none (internal/controller/pkg/runtime
`DeploymentRuntimeWithOptionalImage`), so an entry without an image is Crossplane's to fill.
The runtime's account is the template's, else `spec.serviceAccountTemplate.metadata.name`.
The deprecated ControllerConfig (v1alpha1, removed in Crossplane 2.0) wrote the same settings
flat: `spec.image`, `spec.imagePullSecrets`, `spec.serviceAccountName`, `spec.nodeSelector`.
Both are cluster-scoped; their pods run in Crossplane's own namespace.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gate.extract.kinds.base import KnownKind, bare_image, pod_templates
from gate.extract.layout import Layout

GROUP = "pkg.crossplane.io"
_POD = "spec.deploymentTemplate.spec.template.spec"


def _runtime_config(data: dict[str, Any]) -> list[Layout]:
    """Crossplane replaces the template's `imagePullSecrets` with the package's
    (runtime.go `Deployment`: `DeploymentWithImagePullSecrets(revision.GetPackagePullSecrets())`
    after the template), which a Provider names, not this object: the template's list is not
    the pod's."""
    return [
        replace(
            layout,
            pull_secrets=(),
            service_account=(
                *layout.service_account,
                ("spec", "serviceAccountTemplate", "metadata", "name"),
            ),
        )
        for layout in pod_templates(_POD, required=False)(data)
    ]


def _controller_config(data: dict[str, Any]) -> list[Layout]:
    return bare_image(
        data,
        "package-runtime",
        required=False,
        pull_secrets=(("spec", "imagePullSecrets"),),
        service_account=(("spec", "serviceAccountName"),),
        node_selector=(("spec", "nodeSelector"),),
        affinity=(("spec", "affinity"),),
        volumes=(("spec",),),
    )


KINDS: tuple[KnownKind, ...] = (
    KnownKind(
        GROUP,
        "DeploymentRuntimeConfig",
        _runtime_config,
        (f"{_POD}.{{containers,initContainers}}[*].image",),
        "crossplane apis/pkg/v1beta1/deployment_runtime_config_types.go",
        cluster_scoped=True,
    ),
    KnownKind(
        GROUP,
        "ControllerConfig",
        _controller_config,
        ("spec.image",),
        "crossplane apis/pkg/v1alpha1/config.go (before v2.0.0)",
        cluster_scoped=True,
    ),
)
