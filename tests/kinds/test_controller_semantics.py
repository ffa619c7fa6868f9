"""How each controller builds its pods, case by case, each case naming the upstream code that
decides it (gate/extract/kinds). Offline: what is extracted, not what a registry says."""

from __future__ import annotations

import textwrap

from gate.extract import extract, unchecked_images
from gate.load import KubeObject, load_text
from gate.workload import PodSpec


def _objects(text: str) -> list[KubeObject]:
    result = load_text(textwrap.dedent(text), "m.yaml")
    assert result.invalid == []
    return result.objects


def _pods(text: str) -> list[PodSpec]:
    return extract(_objects(text), "default")


def test_argo_template_defaults_add_sidecars_account_and_scheduling() -> None:
    """argo-workflows workflow/controller/operator.go `mergedTemplateDefaultsInto`: the whole
    `templateDefaults` is strategic-merged under each template (sidecars and init containers
    by name), so its account and node selector come before the workflow's."""
    (pod,) = _pods(
        """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: w, namespace: ci}
        spec:
          serviceAccountName: wf-sa
          nodeSelector: {kubernetes.io/arch: amd64}
          templateDefaults:
            serviceAccountName: defaults-sa
            nodeSelector: {kubernetes.io/arch: arm64}
            sidecars:
              - {name: proxy, image: envoyproxy/envoy:v1.31.2}
              - {name: shared, image: busybox:1.36}
          templates:
            - name: main
              container: {image: alpine:3.20}
              sidecars:
                - {name: shared, image: busybox:1.37}
        """
    )
    assert sorted((c.name, c.image) for c in pod.containers) == [
        ("main", "alpine:3.20"),
        ("proxy", "envoyproxy/envoy:v1.31.2"),
        ("shared", "busybox:1.37"),  # the template's own, merged by name
    ]
    assert pod.service_account == "defaults-sa"
    assert pod.node_selector == {"kubernetes.io/arch": "arm64"}


def test_argo_scheduling_comes_from_the_calling_template_but_the_account_does_not() -> None:
    """workflowpod.go: `addSchedulingConstraints` takes the template's, else the boundary
    (calling steps/DAG) template's, else the workflow's; `setupServiceAccount` takes the
    template's, else the workflow's, never the caller's. One pod per distinct scheduling."""
    pods = _pods(
        """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: w, namespace: ci}
        spec:
          serviceAccountName: wf-sa
          templates:
            - name: on-arm
              serviceAccountName: caller-sa
              nodeSelector: {kubernetes.io/arch: arm64}
              steps:
                - - {name: a, template: build}
                - - name: b
                    inline:
                      container: {image: alpine:3.20}
            - name: on-amd
              nodeSelector: {kubernetes.io/arch: amd64}
              dag:
                tasks:
                  - {name: c, template: build}
            - name: build
              container: {image: golang:1.23}
        """
    )
    got = sorted(
        (p.containers[0].image, p.node_selector.get("kubernetes.io/arch"), p.service_account)
        for p in pods
    )
    assert got == [
        ("alpine:3.20", "arm64", "wf-sa"),
        ("golang:1.23", "amd64", "wf-sa"),
        ("golang:1.23", "arm64", "wf-sa"),
    ]


def test_tekton_every_matching_task_run_spec_is_merged_in_order() -> None:
    """tektoncd/pipeline pkg/apis/pipeline/v1/pipelinerun_types.go `GetTaskRunSpec` merges
    every `taskRunSpecs` entry naming the task, in order; a pod template without
    `imagePullSecrets` keeps the run template's (pod/template.go `MergePodTemplateWithDefault`)."""
    (pod,) = _pods(
        """\
        apiVersion: tekton.dev/v1
        kind: PipelineRun
        metadata: {name: r, namespace: ci}
        spec:
          taskRunTemplate:
            serviceAccountName: run-sa
            podTemplate:
              imagePullSecrets: [{name: run-pull}]
          taskRunSpecs:
            - {pipelineTaskName: build, serviceAccountName: first-sa}
            - pipelineTaskName: build
              serviceAccountName: second-sa
              podTemplate: {nodeSelector: {kubernetes.io/os: windows}}
          pipelineSpec:
            tasks:
              - name: build
                taskSpec:
                  steps: [{name: s, image: alpine:3.20}]
        """
    )
    assert pod.service_account == "second-sa"
    assert [n for n, _ in pod.image_pull_secrets] == ["run-pull"]
    assert pod.node_selector == {"kubernetes.io/os": "windows"}
    assert pod.containers[0].name == "step-s"


def test_knative_default_names_avoid_names_taken_in_either_list() -> None:
    """knative/serving pkg/apis/serving/v1/revision_defaults.go: `SetDefaults` builds one set
    of taken names from containers and init containers."""
    (pod,) = _pods(
        """\
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata: {name: s}
        spec:
          template:
            spec:
              initContainers:
                - {name: user-container-0, image: busybox:1.36}
              containers:
                - {image: ghcr.io/example/a:1}
                - {image: ghcr.io/example/b:1}
        """
    )
    assert [c.name for c in pod.containers] == [
        "user-container-0",
        "user-container-1",
        "user-container-2",
    ]


def test_spark_pod_templates_and_spark_conf_images() -> None:
    """kubeflow/spark-operator submission.go: a `driver.template` goes to spark-submit as is
    (its other containers run, its pull secrets join the application's), while its main
    container runs the application's image; an image set only in `sparkConf` is what runs, and
    is listed as not checked."""
    text = """\
        apiVersion: sparkoperator.k8s.io/v1beta2
        kind: SparkApplication
        metadata: {name: pi, namespace: spark}
        spec:
          image: apache/spark:4.0.4
          imagePullSecrets: [app-pull]
          driver:
            template:
              spec:
                imagePullSecrets: [{name: template-pull}]
                containers:
                  - name: spark-kubernetes-driver
                  - {name: logship, image: fluent/fluent-bit:3.1.9}
        ---
        apiVersion: sparkoperator.k8s.io/v1beta2
        kind: SparkApplication
        metadata: {name: conf-only, namespace: spark}
        spec:
          sparkConf:
            spark.kubernetes.container.image: registry.example.com/spark:4.0.4
        """
    driver, executor, conf_driver, conf_executor = _pods(text)
    assert [(c.name, c.image) for c in driver.containers] == [
        ("spark-kubernetes-driver", "apache/spark:4.0.4"),
        ("logship", "fluent/fluent-bit:3.1.9"),
    ]
    assert [n for n, _ in driver.image_pull_secrets] == ["template-pull", "app-pull"]
    assert [c.name for c in executor.containers] == ["spark-kubernetes-executor"]
    assert conf_driver.containers == () and conf_executor.containers == ()
    unchecked = unchecked_images(_objects(text))
    # one field, though both pods run it
    assert [(u.object.name, u.path) for u in unchecked] == [
        ("conf-only", "spec.sparkConf.spark.kubernetes.container.image")
    ]


def test_flink_role_template_is_merged_over_the_common_one() -> None:
    """apache/flink-kubernetes-operator FlinkUtils `mergePodTemplates`: maps merge key by key,
    the role's (`jobManager.podTemplate`) over the common `podTemplate`."""
    jobmanager, taskmanager = _pods(
        """\
        apiVersion: flink.apache.org/v1beta1
        kind: FlinkDeployment
        metadata: {name: f, namespace: flink}
        spec:
          image: flink:2.2
          serviceAccount: flink
          podTemplate:
            spec:
              nodeSelector: {kubernetes.io/arch: arm64, pool: common}
          jobManager:
            podTemplate:
              spec:
                nodeSelector: {pool: jm}
        """
    )
    assert jobmanager.node_selector == {"kubernetes.io/arch": "arm64", "pool": "jm"}
    assert taskmanager.node_selector == {"kubernetes.io/arch": "arm64", "pool": "common"}


def test_tekton_run_workspaces_bound_to_secrets_are_secret_references() -> None:
    """tektoncd/pipeline pkg/apis/pipeline/v1 workspace_types.go `WorkspaceBinding`: a run's
    `workspaces[].secret` is mounted into the task's pod as a secret volume
    (pkg/workspace/apply.go), so the Secret must exist as for any secret volume."""
    (pod,) = _pods(
        """\
        apiVersion: tekton.dev/v1
        kind: TaskRun
        metadata: {name: r, namespace: ci}
        spec:
          workspaces:
            - name: creds
              secret: {secretName: git-creds, items: [{key: token, path: token}]}
          taskSpec:
            workspaces: [{name: creds}]
            steps: [{name: s, image: alpine:3.20}]
        """
    )
    (ref,) = pod.secret_refs
    assert (ref.name, ref.via, ref.line, ref.items) == ("git-creds", "volume", 7, (("token", 7),))


def test_operator_pull_policy_reaches_the_main_container() -> None:
    """prometheus-operator CommonPrometheusFields `imagePullPolicy` is set on the containers
    the operator builds; Spark's `spec.imagePullPolicy` on the driver and executor."""
    pods = _pods(
        """\
        apiVersion: monitoring.coreos.com/v1
        kind: Prometheus
        metadata: {name: k8s, namespace: monitoring}
        spec:
          image: quay.io/prometheus/prometheus:v3.12.0
          imagePullPolicy: Never
        ---
        apiVersion: sparkoperator.k8s.io/v1beta2
        kind: SparkApplication
        metadata: {name: pi, namespace: spark}
        spec:
          image: apache/spark:4.0.4
          imagePullPolicy: Always
        """
    )
    assert [(c.name, c.pull_policy) for p in pods for c in p.containers] == [
        ("prometheus", "Never"),
        ("spark-kubernetes-driver", "Always"),
        ("spark-kubernetes-executor", "Always"),
    ]


def test_kruise_image_pull_job_pulls_with_its_own_secrets_only() -> None:
    """openkruise/kruise imagepulljob_controller.go `syncJobPullSecrets`: kruise-daemon pulls
    with `spec.pullSecrets`, a list of names, and no service account's."""
    (pod,) = _pods(
        """\
        apiVersion: apps.kruise.io/v1alpha1
        kind: ImagePullJob
        metadata: {name: warm, namespace: web}
        spec:
          image: nginx:1.27
          pullSecrets: [regcred]
        ---
        apiVersion: apps.kruise.io/v1alpha1
        kind: ImagePullJob
        metadata: {name: anon, namespace: web}
        spec:
          image: nginx:1.27
        """
    )[:1]
    assert [n for n, _ in pod.image_pull_secrets] == ["regcred"]
    anon = _pods(
        """\
        apiVersion: apps.kruise.io/v1alpha1
        kind: ImagePullJob
        metadata: {name: anon, namespace: web}
        spec:
          image: nginx:1.27
        """
    )[0]
    assert anon.image_pull_secrets == () and anon.has_own_pull_secrets  # no account fallback


def test_crossplane_runtime_template_pull_secrets_are_replaced() -> None:
    """crossplane internal/controller/pkg/runtime/runtime.go `Deployment`: the package's pull
    secrets replace the template's (`DeploymentWithImagePullSecrets`), so the template's list
    is not the pod's."""
    (pod,) = _pods(
        """\
        apiVersion: pkg.crossplane.io/v1beta1
        kind: DeploymentRuntimeConfig
        metadata: {name: rc}
        spec:
          deploymentTemplate:
            spec:
              selector: {}
              template:
                spec:
                  imagePullSecrets: [{name: private-reg}]
                  containers:
                    - name: package-runtime
                    - {name: sidecar, image: busybox:1.36}
        """
    )
    assert pod.image_pull_secrets == ()
    assert [c.name for c in pod.containers] == ["sidecar"]


def test_kruise_subset_patches_and_hot_upgrade_images_are_listed_as_unchecked() -> None:
    """UnitedDeployment `spec.topology.subsets[].patch` is merged into the subset's template
    (adapter/cloneset_adapter.go) and a SidecarSet's `hotUpgradeEmptyImage` runs in its pods
    (sidecarset_hotupgrade.go); pullgate reads neither, so both are listed."""
    objects = _objects(
        """\
        apiVersion: apps.kruise.io/v1alpha1
        kind: UnitedDeployment
        metadata: {name: u, namespace: web}
        spec:
          template:
            cloneSetTemplate:
              spec:
                template:
                  spec:
                    containers: [{name: app, image: "nginx:1.27"}]
          topology:
            subsets:
              - name: a
                patch:
                  spec:
                    containers: [{name: app, image: "nginx:1.28"}]
        ---
        apiVersion: apps.kruise.io/v1alpha1
        kind: SidecarSet
        metadata: {name: s}
        spec:
          containers:
            - name: agent
              image: example/agent:2
              upgradeStrategy: {upgradeType: HotUpgrade, hotUpgradeEmptyImage: example/empty:1}
        """
    )
    assert [(u.object.kind, u.path) for u in unchecked_images(objects)] == [
        ("UnitedDeployment", "spec.topology.subsets[0].patch.spec.containers[0].image"),
        ("SidecarSet", "spec.containers[0].upgradeStrategy.hotUpgradeEmptyImage"),
    ]
