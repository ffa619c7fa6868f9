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
        templates = _list(spec.get("templates"))
        callers = _callers(spec_path, templates)
        layouts: list[Layout] = []
        for index, template in enumerate(templates):
            path = (*spec_path, "templates", index)
            name = template.get("name") if isinstance(template, dict) else None
            boundaries = callers.get(name, []) if isinstance(name, str) else []
            layouts.extend(_template_pods(data, spec_path, path, template, boundaries))
        return layouts

    return read


def _callers(spec_path: PathKey, templates: list[Any]) -> dict[str, list[PathKey]]:
    """For each template name, the steps or DAG templates that call it: the boundary whose
    scheduling a template without its own applies (`GetBoundaryTemplate`)."""
    callers: dict[str, list[PathKey]] = {}
    for index, template in enumerate(templates):
        if not isinstance(template, dict):
            continue
        path = (*spec_path, "templates", index)
        dag = template.get("dag")
        calls = [s for group in _list(template.get("steps")) for s in _list(group)]
        calls += _list(dag.get("tasks")) if isinstance(dag, dict) else []
        for call in calls:
            name = call.get("template") if isinstance(call, dict) else None
            if isinstance(name, str) and path not in callers.setdefault(name, []):
                callers[name].append(path)
    return callers


def _template_pods(
    data: dict[str, Any],
    spec_path: PathKey,
    path: PathKey,
    template: Any,
    boundaries: list[PathKey],
) -> list[Layout]:
    """The pods of one template (one per distinct scheduling its callers give it), then
    those of the inline templates its steps or tasks hold."""
    if not isinstance(template, dict):
        return []
    layouts: list[Layout] = []
    if any(isinstance(template.get(kind), dict) for kind in _RUNS_A_POD):
        seen: set[str] = set()
        options: list[PathKey | None] = [*boundaries] or [None]
        for boundary in options:
            layout = _pod(data, spec_path, path, template, boundary)
            key = repr([_first(data, layout.node_selector), _first(data, layout.affinity)])
            if key not in seen:
                seen.add(key)
                layouts.append(layout)
    steps = template.get("steps")
    for group_index, group in enumerate(_list(steps)):
        for step_index, step in enumerate(_list(group)):
            if isinstance(step, dict) and "inline" in step:
                inline = (*path, "steps", group_index, step_index, "inline")
                layouts.extend(_template_pods(data, spec_path, inline, step["inline"], [path]))
    dag = template.get("dag")
    tasks = dag.get("tasks") if isinstance(dag, dict) else None
    for task_index, task in enumerate(_list(tasks)):
        if isinstance(task, dict) and "inline" in task:
            inline = (*path, "dag", "tasks", task_index, "inline")
            layouts.extend(_template_pods(data, spec_path, inline, task["inline"], [path]))
    return layouts


def _first(data: dict[str, Any], candidates: tuple[PathKey, ...]) -> Any:
    return next((v for v in (get_path(data, p) for p in candidates) if v), None)


def _pod(
    data: dict[str, Any],
    spec_path: PathKey,
    path: PathKey,
    template: dict[str, Any],
    boundary: PathKey | None,
) -> Layout:
    """One template's pod. `templateDefaults` is merged under the template first
    (`mergedTemplateDefaultsInto`): its `container`/`script` image fills an empty one, its
    init containers and sidecars are added unless the template has one of the same name (a
    merge by name), and its account and scheduling come before the boundary's and the
    workflow's."""
    defaults = (*spec_path, "templateDefaults")
    slots: list[Slot] = []
    for field, pod_field in (("initContainers", "initContainers"), ("sidecars", "containers")):
        own = _list(template.get(field))
        names = {e.get("name") for e in own if isinstance(e, dict)}
        for index, entry in enumerate(own):
            if isinstance(entry, dict):
                slots.append(Slot((*path, field, index), field=pod_field))
        for index, entry in enumerate(_list(get_path(data, (*defaults, field)))):
            if isinstance(entry, dict) and entry.get("name") not in names:
                slots.append(Slot((*defaults, field, index), field=pod_field))
    for kind in ("container", "script"):
        if isinstance(template.get(kind), dict):
            slots.append(Slot((*path, kind), name="main", inherit=(*defaults, kind, "image")))
    container_set = template.get("containerSet")
    if isinstance(container_set, dict):
        for index, entry in enumerate(_list(container_set.get("containers"))):
            if isinstance(entry, dict):
                slots.append(Slot((*path, "containerSet", "containers", index)))
    scheduling = [path, defaults, *([boundary] if boundary else []), spec_path]
    return Layout(
        path=path,
        slots=tuple(slots),
        pull_secrets=((*spec_path, "imagePullSecrets"),),
        # setupServiceAccount: the template's (after the defaults' merge), else the workflow's
        service_account=tuple(
            (*scope, "serviceAccountName") for scope in (path, defaults, spec_path)
        ),
        # addSchedulingConstraints: template, boundary template, workflow; first non-empty
        node_selector=tuple((*scope, "nodeSelector") for scope in scheduling),
        affinity=tuple((*scope, "affinity") for scope in scheduling),
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
    "templateDefaults.{initContainers,sidecars}[*].image",
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
