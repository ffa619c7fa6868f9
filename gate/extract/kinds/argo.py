"""Argo Workflows and Argo Rollouts (`argoproj.io`).

Workflows (pkg/apis/workflow/v1alpha1/workflow_types.go, and the controller's
workflow/controller/workflowpod.go): every `container`, `script` or `containerSet` template is
one pod. Its `container`/`script` runs as `main`; `initContainers`, `sidecars` and a container
set's `containers` keep their names. Pull secrets are the workflow's only
(`ImagePullSecrets: execWfSpec.ImagePullSecrets`); the service account, node selector and
affinity are the template's, else its enclosing template's, else the workflow's (first
non-empty wins: `setupServiceAccount`, `addSchedulingConstraints`). `templateDefaults` is
merged under each template of the same type (operator.go `mergedTemplateDefaultsInto`), so a
`container` without an image takes `templateDefaults.container.image`. Steps and DAG tasks may
hold `inline` templates.

Rollouts (pkg/apis/rollouts/v1alpha1): plain pod templates at `spec.template` (Rollout),
`spec.templates[*].template` (Experiment) and `spec.metrics[*].provider.job.spec.template`
(AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun).
"""

from __future__ import annotations

from typing import Any

from gate.extract.kinds.base import KnownKind, pod_template_kinds
from gate.extract.layout import Layout, Slot
from gate.load import PathKey, get_path

GROUP = "argoproj.io"
_RUNS_A_POD = ("container", "script", "containerSet")
_WORKFLOWS_SOURCE = (
    "argo-workflows pkg/apis/workflow/v1alpha1/workflow_types.go, "
    "workflow/controller/workflowpod.go"
)


def _workflow(spec_path: PathKey) -> Any:
    def read(data: dict[str, Any]) -> list[Layout]:
        spec = get_path(data, spec_path)
        if not isinstance(spec, dict):
            return []
        templates = spec.get("templates")
        layouts: list[Layout] = []
        for index, template in enumerate(templates if isinstance(templates, list) else []):
            path = (*spec_path, "templates", index)
            layouts.extend(_template_pods(data, spec_path, path, template, ()))
        return layouts

    return read


def _template_pods(
    data: dict[str, Any], spec_path: PathKey, path: PathKey, template: Any, outer: PathKey | None
) -> list[Layout]:
    """The pod of one template, then those of the inline templates its steps or tasks hold."""
    if not isinstance(template, dict):
        return []
    layouts: list[Layout] = []
    if any(isinstance(template.get(kind), dict) for kind in _RUNS_A_POD):
        layouts.append(_pod(data, spec_path, path, template, outer))
    steps = template.get("steps")
    for group_index, group in enumerate(steps if isinstance(steps, list) else []):
        for step_index, step in enumerate(group if isinstance(group, list) else []):
            if isinstance(step, dict) and "inline" in step:
                inline = (*path, "steps", group_index, step_index, "inline")
                layouts.extend(_template_pods(data, spec_path, inline, step["inline"], path))
    dag = template.get("dag")
    tasks = dag.get("tasks") if isinstance(dag, dict) else None
    for task_index, task in enumerate(tasks if isinstance(tasks, list) else []):
        if isinstance(task, dict) and "inline" in task:
            inline = (*path, "dag", "tasks", task_index, "inline")
            layouts.extend(_template_pods(data, spec_path, inline, task["inline"], path))
    return layouts


def _pod(
    data: dict[str, Any],
    spec_path: PathKey,
    path: PathKey,
    template: dict[str, Any],
    outer: PathKey | None,
) -> Layout:
    defaults = (*spec_path, "templateDefaults")
    slots: list[Slot] = []
    for index, entry in enumerate(_list(template.get("initContainers"))):
        if isinstance(entry, dict):
            slots.append(Slot((*path, "initContainers", index), field="initContainers"))
    for kind in ("container", "script"):
        if isinstance(template.get(kind), dict):
            slots.append(Slot((*path, kind), name="main", inherit=(*defaults, kind, "image")))
    container_set = template.get("containerSet")
    if isinstance(container_set, dict):
        for index, entry in enumerate(_list(container_set.get("containers"))):
            if isinstance(entry, dict):
                slots.append(Slot((*path, "containerSet", "containers", index)))
    for index, entry in enumerate(_list(template.get("sidecars"))):
        if isinstance(entry, dict):
            slots.append(Slot((*path, "sidecars", index)))
    scopes = [path, *([outer] if outer else []), spec_path]
    return Layout(
        path=path,
        slots=tuple(slots),
        pull_secrets=((*spec_path, "imagePullSecrets"),),
        service_account=tuple((*scope, "serviceAccountName") for scope in scopes),
        node_selector=tuple((*scope, "nodeSelector") for scope in scopes),
        affinity=tuple((*scope, "affinity") for scope in scopes),
        volumes=(spec_path, path),
        template_metadata=(*path, "metadata"),
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


_WORKFLOW_PATHS = (
    "templates[*].container.image",
    "templates[*].script.image",
    "templates[*].containerSet.containers[*].image",
    "templates[*].{initContainers,sidecars}[*].image",
    "templates[*].{steps[*][*],dag.tasks[*]}.inline (a template, read as above)",
    "templateDefaults.{container,script}.image",
)

KINDS: tuple[KnownKind, ...] = (
    *(
        KnownKind(
            GROUP,
            kind,
            _workflow(("spec",)),
            tuple(f"spec.{p}" for p in _WORKFLOW_PATHS),
            _WORKFLOWS_SOURCE,
            cluster_scoped=kind == "ClusterWorkflowTemplate",
        )
        for kind in ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate")
    ),
    KnownKind(
        GROUP,
        "CronWorkflow",
        _workflow(("spec", "workflowSpec")),
        tuple(f"spec.workflowSpec.{p}" for p in _WORKFLOW_PATHS),
        _WORKFLOWS_SOURCE + ", cron_workflow_types.go",
    ),
    *pod_template_kinds(
        GROUP,
        {
            "Rollout": ("spec.template.spec",),
            "Experiment": ("spec.templates[*].template.spec",),
            "AnalysisTemplate": ("spec.metrics[*].provider.job.spec.template.spec",),
            "ClusterAnalysisTemplate": ("spec.metrics[*].provider.job.spec.template.spec",),
            "AnalysisRun": ("spec.metrics[*].provider.job.spec.template.spec",),
        },
        "argo-rollouts pkg/apis/rollouts/v1alpha1 (types.go, experiment_types.go, "
        "analysis_types.go)",
        cluster_scoped=frozenset({"ClusterAnalysisTemplate"}),
    ),
)
