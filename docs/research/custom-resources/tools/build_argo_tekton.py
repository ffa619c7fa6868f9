from expect import Doc, derived, image, write

ARGOEXEC = {"image": "quay.io/argoproj/argoexec:<controller version>", "containers": ["init", "wait"],
            "source": "workflow-controller --executor-image, else configmap executor.image, else "
                      "quay.io/argoproj/argoexec:<argo.ImageTag()> (workflow/controller/config.go executorImage)"}

# ---------------------------------------------------------------- Workflow
f = "argoproj.io_Workflow.yaml"; d = Doc(f)
ps = ["docker-registry-secret"]; ns = "ci"; wns = {"kubernetes.io/os": "linux"}
imgs = [
    image(d, 0, "spec.templates[0].steps[3][0].inline.container.image", container=None, pod_container="main",
          role="container", pod="inline template of step report", namespace=ns, pull_secrets=ps,
          service_account="workflow-runner", node_selector=wns),
    image(d, 0, "spec.templates[1].initContainers[0].image", container="hello", pod_container="hello",
          role="initContainer", pod="template checkout", namespace=ns, pull_secrets=ps,
          service_account="git-reader", node_selector={"kubernetes.io/arch": "amd64"},
          note="template nodeSelector replaces (does not merge with) spec.nodeSelector; template SA wins"),
    image(d, 0, "spec.templates[1].container.image", container=None, pod_container="main", role="container",
          pod="template checkout", namespace=ns, pull_secrets=ps, service_account="git-reader",
          node_selector={"kubernetes.io/arch": "amd64"}),
    image(d, 0, "spec.templates[2].container.image", container=None, pod_container="main", role="container",
          pod="template build", namespace=ns, pull_secrets=ps, service_account="workflow-runner", node_selector=wns),
    image(d, 0, "spec.templates[2].sidecars[0].image", container="dind", pod_container="dind", role="sidecar",
          pod="template build", namespace=ns, pull_secrets=ps, service_account="workflow-runner", node_selector=wns),
    image(d, 0, "spec.templates[3].script.image", container=None, pod_container="main", role="script",
          pod="template lint", namespace=ns, pull_secrets=ps, service_account="workflow-runner", node_selector=wns),
    image(d, 0, "spec.templates[4].containerSet.containers[0].image", container="a", pod_container="a",
          role="containerSet", pod="template test", namespace=ns, pull_secrets=ps,
          service_account="workflow-runner", node_selector=wns),
    image(d, 0, "spec.templates[4].containerSet.containers[1].image", container="b", pod_container="b",
          role="containerSet", pod="template test", namespace=ns, pull_secrets=ps,
          service_account="workflow-runner", node_selector=wns),
    derived(d, 0, image="registry.example.com/ci/toolbox:2.4.1", from_paths=["spec.templateDefaults.container.image"],
            container=None, pod_container="main", role="container", pod="template defaulted", namespace=ns, applies_to="spec.templates[5].container",
            pull_secrets=ps, service_account="workflow-runner", node_selector=wns,
            note="spec.templates[5].container has no image: spec.templateDefaults is strategic-merged into each "
                 "template of the same type (workflow/controller/operator.go mergedTemplateDefaultsInto); "
                 "validation allows the empty image only because templateDefaults.container.image is set "
                 "(workflow/validate/validate.go)"),
]
write(f, source="argoproj/argo-workflows@f016ad89eb examples (see YAML header)", rules=[
    "templates[*].container / script: one container, renamed 'main' in the pod (workflow/controller/workflowpod.go build)",
    "templates[*].containerSet.containers[*]: names kept; initContainers[*] (name required), sidecars[*] keep names",
    "pull secrets: spec.imagePullSecrets ([]{name}) for every pod of the workflow (workflowpod.go: ImagePullSecrets: execWfSpec.ImagePullSecrets)",
    "service account: templates[*].serviceAccountName, else spec.serviceAccountName (setupServiceAccount), else namespace default",
    "nodeSelector/affinity/tolerations: template, else boundary template, else spec.* (addSchedulingConstraints: first non-empty wins)",
    "one pod per executed container/script/containerSet template; steps/dag/suspend/resource/http/plugin templates make no user-image pod",
], images=imgs, not_in_manifest=[ARGOEXEC], notes=[
    "spec.podSpecPatch / templates[*].podSpecPatch (JSON/YAML string) can change any pod field, images included; not parsed here",
    "controller ConfigMap workflowDefaults is merged under the Workflow spec (JoinWorkflowSpec) and may add imagePullSecrets/serviceAccountName",
])

# ---------------------------------------------------------------- WorkflowTemplate
f = "argoproj.io_WorkflowTemplate.yaml"; d = Doc(f)
imgs = [
    image(d, 0, "spec.templates[0].container.image", container=None, pod_container="main", role="container",
          pod="template print-message", namespace="ci", pull_secrets=ps, service_account="printer"),
    image(d, 0, "spec.templates[1].script.image", container=None, pod_container="main", role="script",
          pod="template random-fail-template", namespace="ci", pull_secrets=ps, service_account="printer",
          node_selector={"kubernetes.io/os": "linux"}),
]
write(f, source="argoproj/argo-workflows@f016ad89eb examples/workflow-template/templates.yaml", rules=[
    "spec is a WorkflowSpec: same paths as Workflow.spec",
    "pods exist only when a Workflow in the same namespace uses it: workflowTemplateRef merges this spec under the "
    "Workflow's (workflow/controller/operator.go setExecWorkflow -> JoinWorkflowSpec), so spec.imagePullSecrets / "
    "serviceAccountName here apply unless the Workflow sets them; a templateRef to one template takes that template only "
    "and the calling Workflow's spec-level settings",
], images=imgs, not_in_manifest=[ARGOEXEC])

# ---------------------------------------------------------------- ClusterWorkflowTemplate
f = "argoproj.io_ClusterWorkflowTemplate.yaml"; d = Doc(f)
imgs = [
    image(d, 0, "spec.templates[0].container.image", container=None, pod_container="main", role="container",
          pod="template print-message", namespace=None, pull_secrets=ps, service_account=None,
          note="namespace, service account: those of the referencing Workflow; pull secrets as listed only when used via workflowTemplateRef"),
    image(d, 0, "spec.templates[0].sidecars[0].image", container="proxy", pod_container="proxy", role="sidecar",
          pod="template print-message", namespace=None, pull_secrets=ps, service_account=None),
]
write(f, source="argoproj/argo-workflows@f016ad89eb examples/cluster-workflow-template/clustertemplates.yaml",
      rules=["cluster-scoped WorkflowSpec; pods run in the referencing Workflow's namespace"], images=imgs,
      not_in_manifest=[ARGOEXEC])

# ---------------------------------------------------------------- CronWorkflow
f = "argoproj.io_CronWorkflow.yaml"; d = Doc(f)
kw = dict(namespace="ci", pull_secrets=ps, service_account="cron-runner", node_selector={"kubernetes.io/os": "linux"},
          pod="template hello-world-with-time")
imgs = [
    image(d, 0, "spec.workflowSpec.templates[0].container.image", container=None, pod_container="main", role="container", **kw),
    image(d, 0, "spec.workflowSpec.templates[0].sidecars[0].image", container="clock", pod_container="clock", role="sidecar", **kw),
]
write(f, source="argoproj/argo-workflows@f016ad89eb examples/cron-workflow.yaml",
      rules=["every Workflow path moves under spec.workflowSpec"], images=imgs, not_in_manifest=[ARGOEXEC])

# ---------------------------------------------------------------- Tekton
TEKTON = {"image": "ghcr.io/tektoncd/pipeline/entrypoint..., nop, shell, workingdirinit, sidecarlogresults images",
          "containers": ["prepare", "place-scripts", "working-dir-initializer"],
          "source": "tekton controller flags -entrypoint-image, -nop-image, -shell-image, -workingdirinit-image, "
                    "-sidecarlogresults-image (tektoncd/pipeline cmd/controller/main.go, pkg/apis/pipeline/images.go); "
                    "release.yaml pins them by digest"}
TRULES = [
    "steps[*] -> pod container 'step-<name>' ('step-unnamed-<i>' when unnamed: pkg/pod/entrypoint.go StepName); sidecars[*] -> 'sidecar-<name>'",
    "stepTemplate is strategic-merged under every step that has no ref (pkg/apis/pipeline/v1/merge.go MergeStepsWithStepTemplate): "
    "a step without image gets stepTemplate.image; sidecars do not inherit it",
    "steps with ref: (StepAction) take spec.image of the StepAction (tekton.dev/v1beta1 StepAction, stepaction_types.go)",
    "pull secrets: only <run>.podTemplate.imagePullSecrets ([]{name}) plus the service account's; service account: the run's, "
    "else config-defaults default-service-account ('default')",
]
f = "tekton.dev_Task.yaml"; d = Doc(f)
kw = dict(namespace="ci", pull_secrets=None, service_account=None, pod="TaskRun of build-push",
          note=None)
imgs = [
    image(d, 0, "spec.steps[0].image", container="clone", pod_container="step-clone", role="step", **kw),
    derived(d, 0, image="mirror.gcr.io/library/alpine:3.20", from_paths=["spec.stepTemplate.image"], container="list",
            pod_container="step-list", role="step", applies_to="spec.steps[1]", namespace="ci", pull_secrets=None, service_account=None,
            pod="TaskRun of build-push", note="spec.steps[1] has no image: inherited from spec.stepTemplate.image"),
    image(d, 0, "spec.steps[2].image", container=None, pod_container="step-unnamed-2", role="step", **kw),
    image(d, 0, "spec.sidecars[0].image", container="server", pod_container="sidecar-server", role="sidecar", **kw),
]
write(f, source="tektoncd/pipeline@3ee1745ae5 examples/v1/taskruns/{steptemplate-env-merge,dind-sidecar}.yaml", rules=TRULES,
      images=imgs, not_in_manifest=[TEKTON], notes=[
          "pull_secrets/service_account null: a Task has none; the TaskRun (or PipelineRun) that runs it supplies them",
          "spec.volumes[1] references Secret registry-push-creds (mounted only if a step mounts it)"])

f = "tekton.dev_ClusterTask.yaml"; d = Doc(f)
imgs = [
    derived(d, 0, image="docker.io/library/ubuntu:24.04", from_paths=["spec.stepTemplate.image"], container="hello",
            pod_container="step-hello", role="step", applies_to="spec.steps[0]", namespace=None, pull_secrets=None, service_account=None,
            note="step without image inherits spec.stepTemplate.image"),
    image(d, 0, "spec.steps[1].image", container="world", pod_container="step-world", role="step", namespace=None,
          pull_secrets=None, service_account=None),
]
write(f, source="tektoncd/pipeline v0.69.1 config/300-crds/300-clustertask.yaml (removed in v1.0.0)", rules=TRULES, images=imgs,
      not_in_manifest=[TEKTON])

f = "tekton.dev_TaskRun.yaml"; d = Doc(f)
kw = dict(namespace="ci", pull_secrets=["registry-pull"], service_account="build-bot",
          node_selector={"kubernetes.io/arch": "arm64"}, pod="unit-tests-*")
imgs = [
    derived(d, 0, image="registry.example.com/ci/golang:1.23", from_paths=["spec.taskSpec.stepTemplate.image"],
            container="test", pod_container="step-test", role="step", applies_to="spec.taskSpec.steps[0]", **kw),
    image(d, 0, "spec.taskSpec.steps[1].image", container="vet", pod_container="step-vet", role="step", **kw),
    image(d, 0, "spec.taskSpec.sidecars[0].image", container="postgres", pod_container="sidecar-postgres", role="sidecar", **kw),
]
write(f, source="tektoncd/pipeline@3ee1745ae5 examples/v1/taskruns/dind-sidecar.yaml, docs/podtemplates.md", rules=TRULES + [
    "TaskRun: spec.serviceAccountName (string), spec.podTemplate (pod.Template), spec.taskSpec (TaskSpec) or spec.taskRef",
    "podTemplate is merged field-by-field with config-defaults default-pod-template (pkg/apis/pipeline/pod/template.go MergePodTemplateWithDefault)"],
    images=imgs, not_in_manifest=[TEKTON])

f = "tekton.dev_Pipeline.yaml"; d = Doc(f)
kw = dict(namespace="ci", pull_secrets=None, service_account=None)
imgs = [
    derived(d, 0, image="docker.io/library/alpine:3.21", from_paths=["spec.tasks[1].taskSpec.stepTemplate.image"],
            container="create-results", pod_container="step-create-results", role="step", applies_to="spec.tasks[1].taskSpec.steps[0]", pod="task report", **kw),
    image(d, 0, "spec.tasks[1].taskSpec.steps[1].image", container="wait", pod_container="step-wait", role="step", pod="task report", **kw),
    image(d, 0, "spec.finally[0].taskSpec.steps[0].image", container="send", pod_container="step-send", role="step", pod="finally task notify", **kw),
]
write(f, source="tektoncd/pipeline@3ee1745ae5 tekton/release-pipeline.yaml", rules=TRULES + [
    "spec.tasks[*].taskSpec and spec.finally[*].taskSpec are TaskSpecs inlined in EmbeddedTask (pipeline_types.go)",
    "tasks with taskRef (name, bundle or resolver) have no image here; the bundle reference is an OCI artifact, not a pod image"],
    images=imgs, not_in_manifest=[TEKTON], notes=["pull secrets and SA come from the PipelineRun"])

f = "tekton.dev_PipelineRun.yaml"; d = Doc(f)
lin = dict(namespace="ci", pull_secrets=["registry-pull"], service_account="pipeline-runner",
           node_selector={"kubernetes.io/os": "linux"})
win = dict(namespace="ci", pull_secrets=["registry-pull"], service_account="windows-builder",
           node_selector={"kubernetes.io/os": "windows"})
imgs = [
    image(d, 0, "spec.pipelineSpec.tasks[0].taskSpec.steps[0].image", container="build", pod_container="step-build",
          role="step", pod="task build-linux", **lin),
    image(d, 0, "spec.pipelineSpec.tasks[0].taskSpec.sidecars[0].image", container="registry",
          pod_container="sidecar-registry", role="sidecar", pod="task build-linux", **lin),
    image(d, 0, "spec.pipelineSpec.tasks[1].taskSpec.steps[0].image", container="build", pod_container="step-build",
          role="step", pod="task build-windows", note="taskRunSpecs[0].podTemplate has no imagePullSecrets, so the "
          "taskRunTemplate's are kept (MergePodTemplateWithDefault); its nodeSelector replaces the template's", **win),
    image(d, 0, "spec.pipelineSpec.finally[0].taskSpec.steps[0].image", container=None, pod_container="step-unnamed-0",
          role="step", pod="finally task cleanup", **lin),
    image(d, 1, "spec.pipelineSpec.tasks[0].taskSpec.steps[0].image", container="trivy", pod_container="step-trivy",
          role="step", pod="task scan", namespace="ci", pull_secrets=["registry-pull"], service_account="scanner",
          node_selector={"disktype": "ssd"}, note="v1beta1: taskRunSpecs[*].taskServiceAccountName / taskPodTemplate"),
]
write(f, source="tektoncd/pipeline@3ee1745ae5 examples/v1/pipelineruns/no-ci/{pipelinerun-taskrunspecs,windows-node-selectors}.yaml",
      rules=TRULES + [
          "v1: spec.taskRunTemplate.{serviceAccountName,podTemplate}; spec.taskRunSpecs[*].{pipelineTaskName,serviceAccountName,podTemplate} "
          "(PipelineRun.GetTaskRunSpec: per-task podTemplate merged over taskRunTemplate.podTemplate, per-task SA wins if set)",
          "v1beta1: spec.serviceAccountName, spec.podTemplate, spec.taskRunSpecs[*].{taskServiceAccountName,taskPodTemplate}",
          "embedded spec.pipelineSpec.tasks[*].taskSpec / finally[*].taskSpec as in Pipeline; pipelineRef points elsewhere"],
      images=imgs, not_in_manifest=[TEKTON])
print("ok")
