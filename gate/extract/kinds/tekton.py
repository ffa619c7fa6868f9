"""Tekton Pipelines (`tekton.dev`): Task, ClusterTask, TaskRun, Pipeline, PipelineRun.

Each task spec is one pod (pkg/apis/pipeline/v1/task_types.go, container_types.go). A step runs
as `step-<name>`, an unnamed one as `step-unnamed-<index>` (pkg/pod/entrypoint.go `StepName`),
a sidecar as `sidecar-<name>`. `stepTemplate` is merged under every step without a `ref`
(pkg/apis/pipeline/v1/merge.go `MergeStepsWithStepTemplate`): a step without an image takes
the template's; sidecars do not. A step with a `ref` takes the image of its StepAction.

Only runs say how their pods run: a TaskRun's `serviceAccountName` and `podTemplate`
(pull secrets, node selector, affinity, volumes); a PipelineRun's `taskRunTemplate` (v1) or
`serviceAccountName`/`podTemplate` (v1beta1), overridden per task by the `taskRunSpecs` entry
naming it (`PipelineRun.GetTaskRunSpec`: its pod template merged over the run's, its account
winning when set). A Task or Pipeline alone runs nothing itself; its images are checked as its
runs in the same namespace would pull them without a pod template (the namespace's `default`
account, config-defaults `default-service-account`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.extract.kinds.base import KnownKind
from gate.extract.layout import Layout, Slot
from gate.load import PathKey, get_path

GROUP = "tekton.dev"
_SOURCE = "tektoncd/pipeline pkg/apis/pipeline/v1 (task_types.go, merge.go), pkg/pod/entrypoint.go"


def _task_pod(
    data: dict[str, Any], path: PathKey, run: Mapping[str, tuple[PathKey, ...]]
) -> Layout:
    spec = get_path(data, path)
    slots: list[Slot] = []
    steps = spec.get("steps") if isinstance(spec, dict) else None
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            continue
        name = step.get("name")
        slots.append(
            Slot(
                (*path, "steps", index),
                name=f"step-{name}" if name else f"step-unnamed-{index}",
                inherit=None if "ref" in step else (*path, "stepTemplate", "image"),
                required="ref" not in step,
            )
        )
    sidecars = spec.get("sidecars") if isinstance(spec, dict) else None
    for index, sidecar in enumerate(sidecars if isinstance(sidecars, list) else []):
        if isinstance(sidecar, dict):
            name = sidecar.get("name")
            slots.append(Slot((*path, "sidecars", index), name=f"sidecar-{name}" if name else None))
    templates = run.get("pod_templates", ())
    return Layout(
        path=path,
        slots=tuple(slots),
        pull_secrets=tuple((*t, "imagePullSecrets") for t in templates),
        service_account=run.get("accounts", ()),
        node_selector=tuple((*t, "nodeSelector") for t in templates),
        affinity=tuple((*t, "affinity") for t in templates),
        volumes=(path, *templates),
        workspaces=run.get("workspaces", ()),
        template_metadata=(*templates[0], "metadata") if templates else None,
    )


def _task(data: dict[str, Any]) -> list[Layout]:
    return [_task_pod(data, ("spec",), {})] if isinstance(data.get("spec"), dict) else []


def _task_run(data: dict[str, Any]) -> list[Layout]:
    if not isinstance(get_path(data, ("spec", "taskSpec")), dict):
        return []  # a taskRef: the Task is checked where it is defined
    run = {
        "accounts": (("spec", "serviceAccountName"),),
        "pod_templates": (("spec", "podTemplate"),),
        "workspaces": (("spec",),),
    }
    return [_task_pod(data, ("spec", "taskSpec"), run)]


def _pipeline_tasks(data: dict[str, Any], pipeline: PathKey, settings: Any = None) -> list[Layout]:
    layouts: list[Layout] = []
    for section in ("tasks", "finally"):
        tasks = get_path(data, (*pipeline, section))
        for index, task in enumerate(tasks if isinstance(tasks, list) else []):
            if isinstance(task, dict) and isinstance(task.get("taskSpec"), dict):
                run = settings(task.get("name")) if settings else {}
                layouts.append(_task_pod(data, (*pipeline, section, index, "taskSpec"), run))
    return layouts


def _pipeline(data: dict[str, Any]) -> list[Layout]:
    return _pipeline_tasks(data, ("spec",))


def _pipeline_run(data: dict[str, Any]) -> list[Layout]:
    specs = get_path(data, ("spec", "taskRunSpecs"))

    def settings(task_name: Any) -> dict[str, tuple[PathKey, ...]]:
        own: list[PathKey] = []
        accounts: list[PathKey] = []
        # every matching entry is merged in order (GetTaskRunSpec has no break): the last
        # one that sets a field wins
        for index, entry in reversed(list(enumerate(specs if isinstance(specs, list) else []))):
            if isinstance(entry, dict) and task_name and entry.get("pipelineTaskName") == task_name:
                here = ("spec", "taskRunSpecs", index)
                own += [(*here, "podTemplate"), (*here, "taskPodTemplate")]
                accounts += [(*here, "serviceAccountName"), (*here, "taskServiceAccountName")]
        return {
            "pod_templates": (
                *own,
                ("spec", "taskRunTemplate", "podTemplate"),  # v1
                ("spec", "podTemplate"),  # v1beta1
            ),
            "accounts": (
                *accounts,
                ("spec", "taskRunTemplate", "serviceAccountName"),
                ("spec", "serviceAccountName"),
            ),
            # a run's workspace bindings reach the tasks that use them; every task is taken
            # to, so a secret bound for any of them must exist
            "workspaces": (("spec",),),
        }

    return _pipeline_tasks(data, ("spec", "pipelineSpec"), settings)


_STEPS = ("steps[*].image", "stepTemplate.image", "sidecars[*].image")

KINDS: tuple[KnownKind, ...] = (
    KnownKind(GROUP, "Task", _task, tuple(f"spec.{p}" for p in _STEPS), _SOURCE),
    KnownKind(
        GROUP,
        "ClusterTask",
        _task,
        tuple(f"spec.{p}" for p in _STEPS),
        _SOURCE + " (v1beta1 only; removed in v1.0.0)",
        cluster_scoped=True,
    ),
    KnownKind(
        GROUP,
        "TaskRun",
        _task_run,
        (*(f"spec.taskSpec.{p}" for p in _STEPS), "spec.podTemplate.imagePullSecrets"),
        _SOURCE + ", pkg/apis/pipeline/pod/template.go",
    ),
    KnownKind(
        GROUP,
        "Pipeline",
        _pipeline,
        tuple(f"spec.{{tasks,finally}}[*].taskSpec.{p}" for p in _STEPS),
        _SOURCE + ", pipeline_types.go",
    ),
    KnownKind(
        GROUP,
        "PipelineRun",
        _pipeline_run,
        (
            *(f"spec.pipelineSpec.{{tasks,finally}}[*].taskSpec.{p}" for p in _STEPS),
            "spec.taskRunTemplate.podTemplate, spec.taskRunSpecs[*].podTemplate",
        ),
        _SOURCE + ", pipelinerun_types.go GetTaskRunSpec",
    ),
)
