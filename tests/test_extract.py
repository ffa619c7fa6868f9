"""Tests for gate.extract: pod specs and containers out of located Kubernetes objects.

Manifests are written as YAML text and loaded with gate.load, so that every line number is
checked against the text a user would see.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from gate.extract import extract, pod_spec_paths
from gate.load import KubeObject, LoadResult, load_text
from gate.workload import CONTAINER_FIELDS, DEFAULT_NAMESPACE, Container, PodSpec


def load(text: str, file: str = "m.yaml") -> LoadResult:
    result = load_text(text, file)
    assert result.invalid == [], result.invalid
    return result


def pods_of(text: str, default_namespace: str = DEFAULT_NAMESPACE) -> list[PodSpec]:
    return extract(load(text).objects, default_namespace)


def line_of_text(text: str, needle: str) -> int:
    hits = [n for n, line in enumerate(text.split("\n"), start=1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}, want exactly one"
    return hits[0]


def summary(pod: PodSpec) -> list[tuple[str, str, str | None]]:
    return [(c.field, c.name, c.image) for c in pod.containers]


# --------------------------------------------------------------------------- built-in kinds


def _pod_spec_body(prefix: str) -> dict[str, Any]:
    return {
        "ephemeralContainers": [{"name": "debug", "image": f"{prefix}/debug:1"}],
        "containers": [
            {"name": "app", "image": f"{prefix}/app:1", "imagePullPolicy": "IfNotPresent"},
            {"name": "side", "image": f"{prefix}/side:1"},
        ],
        "initContainers": [{"name": "init", "image": f"{prefix}/init:1"}],
    }


def _template(spec: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "x"}}, "spec": spec}


BUILTIN_KINDS: list[
    tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]], tuple[str, ...]]
] = [
    ("v1", "Pod", lambda s: {"spec": s}, ("spec",)),
    ("v1", "PodTemplate", lambda s: {"template": _template(s)}, ("template", "spec")),
    (
        "apps/v1",
        "Deployment",
        lambda s: {"spec": {"replicas": 1, "template": _template(s)}},
        ("spec", "template", "spec"),
    ),
    (
        "extensions/v1beta1",
        "Deployment",
        lambda s: {"spec": {"template": _template(s)}},
        ("spec", "template", "spec"),
    ),
    (
        "apps/v1",
        "ReplicaSet",
        lambda s: {"spec": {"template": _template(s)}},
        ("spec", "template", "spec"),
    ),
    (
        "apps/v1",
        "StatefulSet",
        lambda s: {"spec": {"serviceName": "x", "template": _template(s)}},
        ("spec", "template", "spec"),
    ),
    (
        "apps/v1",
        "DaemonSet",
        lambda s: {"spec": {"template": _template(s)}},
        ("spec", "template", "spec"),
    ),
    (
        "batch/v1",
        "Job",
        lambda s: {"spec": {"template": _template(s)}},
        ("spec", "template", "spec"),
    ),
    (
        "batch/v1",
        "CronJob",
        lambda s: {
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": _template(s)}}}
        },
        ("spec", "jobTemplate", "spec", "template", "spec"),
    ),
    (
        "v1",
        "ReplicationController",
        lambda s: {"spec": {"template": _template(s)}},
        ("spec", "template", "spec"),
    ),
]


@pytest.mark.parametrize(
    ("api_version", "kind", "wrap", "path"),
    BUILTIN_KINDS,
    ids=[f"{a}-{k}" for a, k, _, _ in BUILTIN_KINDS],
)
def test_builtin_kind_containers(
    api_version: str,
    kind: str,
    wrap: Callable[[dict[str, Any]], dict[str, Any]],
    path: tuple[str, ...],
) -> None:
    prefix = f"registry.example.com/{kind.lower()}"
    doc = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "w", "namespace": "team"},
        **wrap(_pod_spec_body(prefix)),
    }
    text = "# leading comment\n" + yaml.safe_dump(doc, sort_keys=False)
    (obj,) = load(text).objects
    assert pod_spec_paths(obj) == [path]
    (pod,) = extract([obj])
    assert pod.path == path
    assert pod.object.kind == kind
    assert pod.object.api_version == api_version
    assert (pod.object.name, pod.object.namespace) == ("w", "team")
    assert pod.object.file == "m.yaml"
    assert pod.object.line == line_of_text(text, "name: w")
    # init, then regular, then ephemeral containers, whatever order they were written in
    assert summary(pod) == [
        ("initContainers", "init", f"{prefix}/init:1"),
        ("containers", "app", f"{prefix}/app:1"),
        ("containers", "side", f"{prefix}/side:1"),
        ("ephemeralContainers", "debug", f"{prefix}/debug:1"),
    ]
    assert [c.field for c in pod.containers] == [
        "initContainers",
        "containers",
        "containers",
        "ephemeralContainers",
    ]
    for container in pod.containers:
        assert container.line == line_of_text(text, f"image: {container.image}")
        index = 1 if container.name == "side" else 0
        assert container.path == (*path, container.field, index, "image")
    assert pod.containers[1].pull_policy == "IfNotPresent"
    assert pod.containers[0].pull_policy is None


def test_container_fields_order_is_part_of_the_contract() -> None:
    assert CONTAINER_FIELDS == ("initContainers", "containers", "ephemeralContainers")


def test_builtin_kind_without_pod_spec_yields_nothing() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: empty}
        spec:
          replicas: 1
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: odd}
        spec: "not a mapping"
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: svc}
        spec:
          selector: {app: x}
        """
    )
    assert pods_of(text) == []


def test_objects_yield_pods_in_document_order() -> None:
    text = ""
    for index, kind in enumerate(["Pod", "Pod", "Pod"]):
        text += f"---\napiVersion: v1\nkind: {kind}\nmetadata: {{name: p{index}}}\n"
        text += f"spec:\n  containers:\n  - name: c\n    image: img{index}:1\n"
    assert [p.object.name for p in pods_of(text)] == ["p0", "p1", "p2"]


# --------------------------------------------------------------------------- namespace


def test_namespace_from_metadata_else_default() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: Pod
        metadata: {name: placed, namespace: prod}
        spec:
          containers: [{name: c, image: "nginx:1.27"}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: unplaced}
        spec:
          containers: [{name: c, image: "nginx:1.27"}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: blank, namespace: ""}
        spec:
          containers: [{name: c, image: "nginx:1.27"}]
        """
    )
    objects = load(text).objects
    assert [p.object.namespace for p in extract(objects)] == ["prod", "default", "default"]
    assert [p.object.namespace for p in extract(objects, "staging")] == [
        "prod",
        "staging",
        "staging",
    ]


def test_generate_name_is_the_object_name_with_a_star() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: batch/v1
        kind: Job
        metadata:
          generateName: migrate-
        spec:
          template:
            spec:
              containers:
                - name: m
                  image: migrate:1
        """
    )
    (pod,) = pods_of(text)
    assert pod.object.name == "migrate-*"
    assert pod.object.line == line_of_text(text, "generateName")


# --------------------------------------------------------------------------- generic search


def test_deployment_of_an_unknown_group_is_searched_generically() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: example.com/v1
        kind: Deployment
        metadata: {name: custom}
        spec:
          workers:
            - template:
                spec:
                  containers:
                    - name: w
                      image: worker:1
        """
    )
    (obj,) = load(text).objects
    # the built-in path spec.template.spec does not exist: only a search finds this one
    assert pod_spec_paths(obj) == [("spec", "workers", 0, "template", "spec")]
    (pod,) = extract([obj])
    assert summary(pod) == [("containers", "w", "worker:1")]
    assert pod.containers[0].line == line_of_text(text, "image: worker:1")


def test_unknown_group_deployment_skips_partial_containers_like_any_custom_resource() -> None:
    """A `Deployment` of another API group is a custom resource: an entry without `image`
    (an overlay, a patch) is skipped, as in any other CR, not reported as an image-less
    container (which would become an `image-reference-invalid` finding)."""
    text = textwrap.dedent(
        """\
        apiVersion: example.com/v1
        kind: Deployment
        metadata: {name: custom}
        spec:
          template:
            spec:
              containers:
                - name: app
                  image: app:1
                - name: overlay
                  resources: {limits: {cpu: "1"}}
        """
    )
    (pod,) = pods_of(text)
    assert summary(pod) == [("containers", "app", "app:1")]


def test_custom_resource_definition_is_never_extracted() -> None:
    crd_spec = textwrap.dedent(
        """\
        spec:
          group: example.com
          names: {kind: Widget, plural: widgets}
          scope: Namespaced
          versions:
            - name: v1
              served: true
              storage: true
              schema:
                openAPIV3Schema:
                  type: object
                  properties:
                    spec:
                      type: object
                      default:
                        containers:
                          - name: example
                            image: example/image:1
                      properties:
                        containers:
                          type: array
                          items: {type: object}
                        image:
                          type: string
        """
    )
    crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
    crd += "metadata: {name: widgets.example.com}\n" + crd_spec
    assert pods_of(crd) == []
    # the very same body under any other kind *is* pod-spec-shaped: the exclusion is by kind
    other = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n" + crd_spec
    (pod,) = pods_of(other)
    assert summary(pod) == [("containers", "example", "example/image:1")]


def test_config_map_and_secret_are_never_searched() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cm}
        spec:
          containers: [{name: x, image: "x:1"}]
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: s}
        spec:
          containers: [{name: x, image: "x:1"}]
        """
    )
    assert pods_of(text) == []


ARGO_AND_KNATIVE = textwrap.dedent(
    """\
    apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    metadata:
      name: canary
      annotations:
        owner: team-a
    spec:
      strategy: {canary: {steps: [{setWeight: 20}]}}
      template:
        metadata:
          annotations:
            owner: team-b
            pullgate.io/ignore-image-latest-tag: "team-b's canary"
        spec:
          serviceAccountName: rollout-sa
          containers:
            - name: app
              image: argoproj/rollouts-demo:blue
            - name: patch-only
              resources: {}
    ---
    apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    metadata: {name: by-ref}
    spec:
      workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}
    ---
    apiVersion: argoproj.io/v1alpha1
    kind: Experiment
    metadata: {name: exp}
    spec:
      templates:
        - name: purple
          template:
            spec:
              containers:
                - name: demo
                  image: argoproj/rollouts-demo:purple
        - name: orange
          template:
            spec:
              containers:
                - name: demo
                  image: argoproj/rollouts-demo:orange
    ---
    apiVersion: serving.knative.dev/v1
    kind: Service
    metadata:
      name: hello
      namespace: serverless
    spec:
      template:
        spec:
          containers:
            - image: ghcr.io/knative/helloworld-go:latest
              env: [{name: TARGET, value: World}]
    """
)


def test_argo_rollouts_and_knative_are_read_by_their_own_rules() -> None:
    """Known kinds (gate/extract/kinds): a Rollout's `spec.template` is the pod template of its
    ReplicaSets as written (argo-rollouts pkg/apis/rollouts/v1alpha1/types.go), so a container
    without an image is a missing image, not a patch; Knative names an unnamed container
    `user-container` (serving pkg/apis/serving/v1/revision_defaults.go)."""
    text = ARGO_AND_KNATIVE
    pods = pods_of(text)
    assert [(p.object.kind, p.object.name, p.path) for p in pods] == [
        ("Rollout", "canary", ("spec", "template", "spec")),
        ("Experiment", "exp", ("spec", "templates", 0, "template", "spec")),
        ("Experiment", "exp", ("spec", "templates", 1, "template", "spec")),
        ("Service", "hello", ("spec", "template", "spec")),
    ]
    rollout, purple, orange, knative = pods
    assert summary(rollout) == [
        ("containers", "app", "argoproj/rollouts-demo:blue"),
        ("containers", "patch-only", None),
    ]
    assert rollout.service_account == "rollout-sa"
    assert rollout.annotations == {"pullgate.io/ignore-image-latest-tag": "team-b's canary"}
    assert summary(purple) == [("containers", "demo", "argoproj/rollouts-demo:purple")]
    assert summary(orange) == [("containers", "demo", "argoproj/rollouts-demo:orange")]
    assert orange.containers[0].line == line_of_text(text, "rollouts-demo:orange")
    assert orange.containers[0].path == (
        "spec",
        "templates",
        1,
        "template",
        "spec",
        "containers",
        0,
        "image",
    )
    # a Knative container need not be named: the webhook names it
    assert summary(knative) == [
        ("containers", "user-container", "ghcr.io/knative/helloworld-go:latest")
    ]
    assert knative.object.namespace == "serverless"
    assert knative.object.api_version == "serving.knative.dev/v1"


def test_analysis_template_job_pod_spec() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata: {name: load}
        spec:
          metrics:
            - name: ok
              provider:
                job:
                  spec:
                    template:
                      spec:
                        containers:
                          - name: t
                            image: argoproj/load-tester:latest
                        restartPolicy: Never
        """
    )
    (pod,) = pods_of(text)
    assert pod.path == ("spec", "metrics", 0, "provider", "job", "spec", "template", "spec")
    assert summary(pod) == [("containers", "t", "argoproj/load-tester:latest")]


def test_generic_search_needs_an_image_in_the_containers_list() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: example.com/v1
        kind: Patch
        metadata: {name: p}
        spec:
          containers:
            - name: only-resources
              resources: {}
        """
    )
    assert pods_of(text) == []


def test_generic_search_does_not_overflow_on_deep_custom_resources() -> None:
    depth = 3000
    deep: Any = "leaf"
    for _ in range(depth):
        deep = [deep]
    data = {
        "apiVersion": "example.com/v1",
        "kind": "Deep",
        "metadata": {"name": "deep"},
        "spec": {"a": deep, "b": {"containers": [{"name": "c", "image": "c:1"}]}},
    }
    obj = KubeObject(data, "deep.yaml", 0, {(): 1})
    (pod,) = extract([obj])
    assert pod.path == ("spec", "b")
    assert summary(pod) == [("containers", "c", "c:1")]


# --------------------------------------------------------------------------- pod spec details


def test_annotations_object_overlaid_with_pod_template() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          annotations:
            pullgate.io/ignore-image-latest-tag: "object reason"
            pullgate.io/ignore-secret-ref-missing: "made by the operator"
            only-object: "o"
            number: 3
        spec:
          template:
            metadata:
              annotations:
                pullgate.io/ignore-image-latest-tag: "template reason"
                only-template: "t"
                empty:
            spec:
              containers: [{name: c, image: "nginx:latest"}]
        ---
        {apiVersion: apps/v1, kind: Deployment, metadata: {name: other, annotations:
          {deployment.kubernetes.io/revision: "3"}}, spec: {template: {spec: {containers:
          [{name: c, image: "nginx:1"}]}}}}
        """
    )
    # only pullgate's annotations are kept (no rule reads the others; 20,000 pods would keep
    # 20,000 copies of their owners' and tools'), the template's over the object's
    pod, other = pods_of(text)
    assert pod.annotations == {
        "pullgate.io/ignore-image-latest-tag": "template reason",
        "pullgate.io/ignore-secret-ref-missing": "made by the operator",
    }
    assert pod.annotation_lines == {
        "pullgate.io/ignore-image-latest-tag": line_of_text(text, "template reason"),
        "pullgate.io/ignore-secret-ref-missing": line_of_text(text, "made by the operator"),
    }
    assert other.annotations == {} and other.annotation_lines == {}


def test_pod_annotations_are_its_own() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: Pod
        metadata:
          name: p
          annotations: {a: "1", pullgate.io/ignore-image-latest-tag: "1"}
        spec:
          containers: [{name: c, image: "nginx:1"}]
        """
    )
    (pod,) = pods_of(text)
    assert pod.annotations == {"pullgate.io/ignore-image-latest-tag": "1"}


def test_cronjob_annotations_come_from_object_and_pod_template() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: batch/v1
        kind: CronJob
        metadata:
          name: nightly
          annotations: {pullgate.io/from: object, pullgate.io/keep: "yes"}
        spec:
          schedule: "0 0 * * *"
          jobTemplate:
            spec:
              template:
                metadata:
                  annotations: {pullgate.io/from: template}
                spec:
                  containers: [{name: c, image: "backup:1"}]
        """
    )
    (pod,) = pods_of(text)
    assert pod.annotations == {"pullgate.io/from": "template", "pullgate.io/keep": "yes"}


def test_image_pull_secrets_names_and_lines() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              imagePullSecrets:
                - name: regcred
                - {}
                - name: ""
                - name: other-cred
              containers: [{name: c, image: "private.example.com/app:1"}]
        """
    )
    (pod,) = pods_of(text)
    assert pod.image_pull_secrets == (
        ("regcred", line_of_text(text, "name: regcred")),
        ("other-cred", line_of_text(text, "name: other-cred")),
    )


def test_image_pull_secrets_in_a_custom_resource_and_absent() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: r}
        spec:
          template:
            spec:
              imagePullSecrets: [{name: ghcr}]
              containers: [{name: c, image: "ghcr.io/org/app:1"}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          imagePullSecrets: "not-a-list"
          containers: [{name: c, image: "nginx:1"}]
        """
    )
    rollout, pod = pods_of(text)
    assert rollout.image_pull_secrets == (("ghcr", line_of_text(text, "[{name: ghcr}]")),)
    assert pod.image_pull_secrets == ()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("serviceAccountName: modern", "modern"),
        ("serviceAccount: deprecated", "deprecated"),
        ("serviceAccountName: modern\n  serviceAccount: deprecated", "modern"),
        ('serviceAccountName: ""', None),
        ("hostNetwork: true", None),
    ],
    ids=["serviceAccountName", "serviceAccount", "both", "empty", "none"],
)
def test_service_account(fields: str, expected: str | None) -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  " + fields + "\n"
    text += "  containers: [{name: c, image: 'nginx:1'}]\n"
    (pod,) = pods_of(text)
    assert pod.service_account == expected


def test_builtin_container_without_image_is_kept_with_image_none() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers:
                - name: good
                  image: nginx:1.27
                - name: missing
                  args: [run]
                - name: blank
                  image: ""
                - image: unnamed:1
        """
    )
    (pod,) = pods_of(text)
    assert summary(pod) == [
        ("containers", "good", "nginx:1.27"),
        ("containers", "missing", None),
        ("containers", "blank", None),
        ("containers", "containers[3]", "unnamed:1"),
    ]
    good, missing, blank, unnamed = pod.containers
    assert good.line == line_of_text(text, "image: nginx:1.27")
    # no image: the container's own line
    assert missing.line == line_of_text(text, "name: missing")
    assert blank.line == line_of_text(text, "name: blank")
    assert missing.path == ("spec", "template", "spec", "containers", 1, "image")
    assert unnamed.line == line_of_text(text, "image: unnamed:1")


def test_non_mapping_container_entries_are_ignored() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          initContainers: "oops"
          containers:
            - just-a-string
            - name: real
              image: real:1
        """
    )
    (pod,) = pods_of(text)
    assert summary(pod) == [("containers", "real", "real:1")]
    assert pod.containers[0].path == ("spec", "containers", 1, "image")


def test_node_selector_and_affinity_captured() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: agent}
        spec:
          template:
            spec:
              nodeSelector:
                kubernetes.io/arch: arm64
                gpu: "yes"
              affinity:
                nodeAffinity:
                  requiredDuringSchedulingIgnoredDuringExecution:
                    nodeSelectorTerms:
                      - matchExpressions:
                          - {key: kubernetes.io/os, operator: In, values: [linux]}
              containers: [{name: a, image: "agent:1"}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: plain}
        spec:
          affinity: []
          containers: [{name: a, image: "agent:1"}]
        """
    )
    agent, plain = pods_of(text)
    assert agent.node_selector == {"kubernetes.io/arch": "arm64", "gpu": "yes"}
    terms = agent.affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["linux"]
    assert plain.node_selector == {}
    assert plain.affinity == {}


def test_objects_from_a_list_keep_item_relative_paths_and_absolute_lines() -> None:
    text = textwrap.dedent(
        """\
        # Source: chart/templates/all.yaml
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: Service
            metadata: {name: svc}
          - apiVersion: apps/v1
            kind: Deployment
            metadata: {name: dep, namespace: apps}
            spec:
              template:
                spec:
                  containers:
                    - name: c
                      image: nginx:1.27
        """
    )
    objects = load(text).objects
    (pod,) = extract(objects)
    (container,) = pod.containers
    assert container.path == ("spec", "template", "spec", "containers", 0, "image")
    assert objects[1].list_path == ("items", 1)
    assert container.line == line_of_text(text, "image: nginx:1.27")
    assert pod.object.line == line_of_text(text, "name: dep")
    assert pod.object.source == "chart/templates/all.yaml"
    assert pod.object.namespace == "apps"


def test_container_is_a_frozen_value() -> None:
    container = Container("c", "containers", "nginx:1", 3, ("spec", "containers", 0, "image"))
    with pytest.raises(AttributeError):
        container.image = "other"  # type: ignore[misc]
