"""Job and data operators: KEDA `ScaledJob`, Flink `FlinkDeployment`, Spark applications.

- KEDA (keda.sh, apis/keda/v1alpha1/scaledjob_types.go): `spec.jobTargetRef` is a `JobSpec`;
  each Job is created from it in the ScaledJob's namespace (pkg/scaling/executor/scale_jobs.go).
- Flink (flink.apache.org, flink-kubernetes-operator-api spec/FlinkDeploymentSpec.java): a
  JobManager and a TaskManager pod, each running `spec.image` as `flink-main-container`
  (FlinkConfigBuilder `applyImage`) beside the containers of `spec.podTemplate` and its own
  `jobManager.podTemplate` / `taskManager.podTemplate`; a template's entry named
  `flink-main-container` is a patch of that container, not one of its own. The account is
  `spec.serviceAccount`. Without `spec.image` the operator runs its bundled Flink version's
  default image, which the manifest does not name.
- Spark (sparkoperator.k8s.io, api/v1beta2/sparkapplication_types.go and
  internal/controller/sparkapplication/submission.go): a driver and an executor pod, each
  running `driver.image` / `executor.image`, else `spec.image`, as
  `spark-kubernetes-driver` / `spark-kubernetes-executor`, with `spec.imagePullSecrets` (a list
  of names), the pod's own `serviceAccount` (the executor's falling back to the driver's), the
  application's `nodeSelector` merged with the pod's, and the pod's `initContainers` and
  `sidecars`. A ScheduledSparkApplication keeps the same spec at `spec.template`.
"""

from __future__ import annotations

from typing import Any

from gate.extract.kinds.base import KnownKind, pod_template_kinds
from gate.extract.layout import Layout, Slot
from gate.load import PathKey, get_path

_FLINK_MAIN = "flink-main-container"
_FLINK_PULL_SECRETS = "kubernetes.container.image.pull-secrets"
"""Flink's KubernetesConfigOptions.CONTAINER_IMAGE_PULL_SECRETS: names joined by `;`, added
to the pod template's own (InitJobManagerDecorator, InitTaskManagerDecorator)."""


def _flink(data: dict[str, Any]) -> list[Layout]:
    if not isinstance(data.get("spec"), dict):
        return []
    layouts = []
    for role in ("jobManager", "taskManager"):
        templates: list[PathKey] = [
            ("spec", role, "podTemplate", "spec"),
            ("spec", "podTemplate", "spec"),
        ]
        slots = [
            Slot(
                ("spec", "image"),
                name=_FLINK_MAIN,
                bare=True,
                required=False,
                policy=("spec", "imagePullPolicy"),
            )
        ]
        for template in reversed(templates):
            for field in ("initContainers", "containers"):
                entries = get_path(data, (*template, field))
                for index, entry in enumerate(entries if isinstance(entries, list) else []):
                    if isinstance(entry, dict) and entry.get("name") != _FLINK_MAIN:
                        slots.append(Slot((*template, field, index), field=field, required=False))
        layouts.append(
            Layout(
                path=("spec", role),
                slots=tuple(slots),
                pull_secrets=tuple((*t, "imagePullSecrets") for t in templates),
                pull_secret_joined=((("spec", "flinkConfiguration", _FLINK_PULL_SECRETS), ";"),),
                service_account=(("spec", "serviceAccount"),),
                # FlinkUtils.mergePodTemplates: the role's template merged key by key over
                # the common one
                node_selector=tuple((*t, "nodeSelector") for t in reversed(templates)),
                merge_node_selectors=True,
                affinity=tuple((*t, "affinity") for t in templates),
                volumes=tuple(templates),
                template_metadata=("spec", role, "podTemplate", "metadata"),
            )
        )
    return layouts


def _flink_default(data: dict[str, Any]) -> list[tuple[PathKey, str]]:
    spec = data.get("spec")
    if not isinstance(spec, dict) or spec.get("image"):
        return []
    return [
        (
            ("spec",),
            f"without spec.image the operator runs its bundled Flink's default image in "
            f"{_FLINK_MAIN}: set spec.image to have it checked and pinned",
        )
    ]


def _spark(spec: PathKey) -> Any:
    def read(data: dict[str, Any]) -> list[Layout]:
        if not isinstance(get_path(data, spec), dict):
            return []
        layouts = []
        for role, container in (
            ("driver", "spark-kubernetes-driver"),
            ("executor", "spark-kubernetes-executor"),
        ):
            pod = (*spec, role)
            own = get_path(data, (*pod, "image"))
            image = (*pod, "image") if isinstance(own, str) and own else (*spec, "image")
            conf = get_path(data, (*spec, "sparkConf"))
            configured = isinstance(conf, dict) and any(
                key in conf
                for key in (
                    "spark.kubernetes.container.image",
                    f"spark.kubernetes.{role}.container.image",
                )
            )
            slots = [
                Slot(
                    image,
                    name=container,
                    bare=True,
                    required=not configured,
                    policy=(*spec, "imagePullPolicy"),
                ),
                *(
                    Slot((*pod, field, index), field=pod_field)
                    for field, pod_field in (
                        ("initContainers", "initContainers"),
                        ("sidecars", "containers"),
                    )
                    for index, entry in enumerate(_list(get_path(data, (*pod, field))))
                    if isinstance(entry, dict)
                ),
                *_template_slots(data, (*pod, "template", "spec"), container),
            ]
            template = (*pod, "template", "spec")
            accounts = [(*pod, "serviceAccount"), (*template, "serviceAccountName")]
            if role == "executor":
                accounts.append((*spec, "driver", "serviceAccount"))
            layouts.append(
                Layout(
                    path=pod,
                    slots=tuple(slots),
                    pull_secrets=((*template, "imagePullSecrets"),),
                    pull_secret_strings=((*spec, "imagePullSecrets"),),
                    service_account=tuple(accounts),
                    node_selector=(
                        (*template, "nodeSelector"),
                        (*spec, "nodeSelector"),
                        (*pod, "nodeSelector"),
                    ),
                    merge_node_selectors=True,
                    affinity=((*pod, "affinity"), (*template, "affinity")),
                    volumes=(spec, template),
                )
            )
        return layouts

    return read


def _template_slots(data: dict[str, Any], template: PathKey, main: str) -> list[Slot]:
    """A Spark pod template's own containers (`buildDriverPodTemplate` hands it to
    spark-submit as is). Its main container, named `spark-kubernetes-driver` /
    `-executor` or else the first, runs the application's image, so it is not one of them."""
    containers = _list(get_path(data, (*template, "containers")))
    named = any(isinstance(c, dict) and c.get("name") == main for c in containers)
    slots = [
        Slot((*template, "initContainers", index), field="initContainers", required=False)
        for index, entry in enumerate(_list(get_path(data, (*template, "initContainers"))))
        if isinstance(entry, dict)
    ]
    for index, entry in enumerate(containers):
        if not isinstance(entry, dict):
            continue
        is_main = entry.get("name") == main if named else index == 0
        if not is_main:
            slots.append(Slot((*template, "containers", index), required=False))
    return slots


def _spark_conf_images(spec: PathKey) -> Any:
    """Images set only in `sparkConf`: the operator sets each pod's image key from
    `driver.image` / `executor.image`, else `spec.image`, after the `sparkConf` options
    (submission.go `driverConfOption`, `executorConfOption`), so `sparkConf` decides only when
    neither is written, and pullgate does not read it."""

    def unchecked(data: dict[str, Any]) -> list[tuple[PathKey, str]]:
        conf = get_path(data, (*spec, "sparkConf"))
        if not isinstance(conf, dict) or _text(get_path(data, (*spec, "image"))):
            return []
        found: list[tuple[PathKey, str]] = []
        for role in ("driver", "executor"):
            if _text(get_path(data, (*spec, role, "image"))):
                continue
            for key in (
                f"spark.kubernetes.{role}.container.image",
                "spark.kubernetes.container.image",
            ):
                if _text(conf.get(key)):
                    found.append(
                        (
                            (*spec, "sparkConf", key),
                            f"the {role} runs the image set in sparkConf {key}: set it as "
                            f"spec.image or spec.{role}.image to have it checked and pinned",
                        )
                    )
                    break
        return found

    return unchecked


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


_SPARK_SOURCE = (
    "kubeflow/spark-operator api/v1beta2/sparkapplication_types.go, "
    "internal/controller/sparkapplication/submission.go"
)
_SPARK_PATHS = (
    "image",
    "{driver,executor}.image",
    "{driver,executor}.{initContainers,sidecars}[*].image",
    "{driver,executor}.template.spec.{containers,initContainers}[*].image",
    "imagePullSecrets",
)

KINDS: tuple[KnownKind, ...] = (
    *pod_template_kinds(
        "keda.sh",
        {"ScaledJob": ("spec.jobTargetRef.template.spec",)},
        "kedacore/keda apis/keda/v1alpha1/scaledjob_types.go",
    ),
    KnownKind(
        "flink.apache.org",
        "FlinkDeployment",
        _flink,
        (
            "spec.image",
            "spec.{,jobManager.,taskManager.}podTemplate.spec.{containers,initContainers}[*].image",
        ),
        "apache/flink-kubernetes-operator FlinkDeploymentSpec.java, FlinkConfigBuilder.java",
        unchecked=_flink_default,
    ),
    KnownKind(
        "flink.apache.org",
        "FlinkSessionJob",
        lambda data: [],
        (),
        "apache/flink-kubernetes-operator FlinkSessionJobSpec.java (runs in its session's pods)",
    ),
    KnownKind(
        "sparkoperator.k8s.io",
        "SparkApplication",
        _spark(("spec",)),
        tuple(f"spec.{p}" for p in _SPARK_PATHS),
        _SPARK_SOURCE,
        unchecked=_spark_conf_images(("spec",)),
    ),
    KnownKind(
        "sparkoperator.k8s.io",
        "ScheduledSparkApplication",
        _spark(("spec", "template")),
        tuple(f"spec.template.{p}" for p in _SPARK_PATHS),
        _SPARK_SOURCE + ", scheduledsparkapplication_types.go",
        unchecked=_spark_conf_images(("spec", "template")),
    ),
)
