"""Custom resources' images against the real registry: the same findings as a Deployment's,
and `pin` rewriting them byte-exactly where they are written (gate/extract/kinds).

Each object is in its project's shape: Argo Workflows (workflow_types.go: `container`,
`script`, `templateDefaults`), Tekton (task_types.go, merge.go: `steps`, `stepTemplate`,
`sidecars`, a TaskRun's `podTemplate`), Prometheus Operator (`spec.image` beside
`spec.imagePullSecrets`), Spark (`spec.image` with string `imagePullSecrets`), Knative
(unnamed containers) and OpenKruise's Advanced StatefulSet (kind name shared with `apps`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import pullgate
from tests.support.images import push_image
from tests.support.registry import RegistryServer
from tests.support.skopeo import skopeo_inspect_digest

PASSING = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{generateName: build-, namespace: ci}}
spec:
  entrypoint: main
  templateDefaults:
    container:
      image: {R}/cr/toolbox:2.4
  templates:
  - name: main
    steps:
    - - {{name: a, template: build}}
      - {{name: b, template: defaulted}}
  - name: build
    container:
      image: {R}/cr/builder:1.0
  - name: defaulted
    container:
      command: [toolbox, version]
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {{name: lint, namespace: ci}}
spec:
  stepTemplate:
    image: "{R}/cr/alpine:3.20"   # inherited by two steps: pinned once
  steps:
  - name: one
    script: echo one
  - name: two
    script: echo two
  sidecars:
  - name: cache
    image: {R}/cr/cache:7
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {{name: k8s, namespace: monitoring}}
spec:
  image: {R}/cr/prometheus:v3.12.0
  replicas: 2
---
apiVersion: apps.kruise.io/v1beta1
kind: StatefulSet
metadata: {{name: guestbook, namespace: web}}
spec:
  template:
    spec:
      containers:
      - name: guestbook
        image: {R}/cr/guestbook:v1
"""


def _line(text: str, needle: str, after: str = "") -> int:
    """1-based line of the first `needle` after the first `after`."""
    start = text.index(after)
    return text[: text.index(needle, start)].count("\n") + 1


PUSHED = {
    "cr/toolbox": "2.4",
    "cr/builder": "1.0",
    "cr/alpine": "3.20",
    "cr/cache": "7",
    "cr/prometheus": "v3.12.0",
    "cr/guestbook": "v1",
}


def test_pin_rewrites_custom_resource_images_byte_exactly(
    tmp_path: Path, registry: RegistryServer
) -> None:
    digests = {repo: push_image(registry, repo, tag).digest for repo, tag in PUSHED.items()}
    for repo, tag in PUSHED.items():
        assert digests[repo] == skopeo_inspect_digest(registry, repo, tag)
    text = PASSING.format(R=registry.host)
    path = tmp_path / "crs.yaml"
    path.write_text(text)

    check = pullgate("check", "--format", "json", str(path))
    assert check.exit_code == 0, check.stdout
    report = json.loads(check.stdout)
    assert report["findings"] == []
    # 2 Argo template pods, 1 Tekton task pod, Prometheus, the Advanced StatefulSet
    assert report["summary"]["pods"] == 5
    assert report["summary"]["images"] == 7  # alpine twice (two steps), each once per use
    assert report["summary"]["unique_images"] == 6
    assert report["summary"]["unchecked_image_fields"] == 0
    by_ref = {i["reference"]: i for i in report["images"]}
    for repo, tag in PUSHED.items():
        assert by_ref[f"{registry.host}/{repo}:{tag}"]["digest"] == digests[repo]
    alpine = by_ref[f"{registry.host}/cr/alpine:3.20"]["locations"]
    template_line = _line(text, 'image: "')
    assert [(loc["container"], loc["line"]) for loc in alpine] == [
        ("step-one", template_line),
        ("step-two", template_line),
    ]

    written = pullgate("pin", "--write", str(path))
    assert written.exit_code == 0, written.stderr
    assert "pinned 6 image(s) in 1 file(s)" in written.stderr
    expected = text
    for repo, tag in PUSHED.items():
        expected = expected.replace(
            f"{registry.host}/{repo}:{tag}", f"{registry.host}/{repo}:{tag}@{digests[repo]}"
        )
    assert path.read_text() == expected  # only the digests were inserted, comment kept
    again = pullgate("check", "--format", "json", str(path))
    assert again.exit_code == 0 and json.loads(again.stdout)["findings"] == []


FAILING = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: nightly, namespace: ci}}
spec:
  entrypoint: main
  templates:
  - name: main
    script:
      image: {R}/cr/python:latest
      source: print(1)
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {{name: run, namespace: ci}}
spec:
  serviceAccountName: builder
  podTemplate:
    imagePullSecrets:
    - name: registry-pull
  taskSpec:
    steps:
    - name: build
      image: {R}/cr/never-pushed:1.0
---
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {{name: main, namespace: monitoring}}
spec:
  image: {R}/cr/alertmanager:v0.33.0
  imagePullSecrets:
  - name: quay-mirror
---
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata: {{name: pi, namespace: spark}}
spec:
  type: Scala
  mode: cluster
  image: {R}/cr/spark:4.0.4
  nodeSelector:
    kubernetes.io/arch: arm64
  driver: {{serviceAccount: spark}}
  executor: {{instances: 1}}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {{name: hello, namespace: web}}
spec:
  template:
    spec:
      containers:
      - image: {R}/cr/hello
"""


def test_custom_resources_get_a_deployments_findings(
    tmp_path: Path, registry: RegistryServer
) -> None:
    push_image(registry, "cr/python", "latest")
    push_image(registry, "cr/alertmanager", "v0.33.0")
    push_image(registry, "cr/spark", "4.0.4", arch="amd64")
    push_image(registry, "cr/hello", "latest")
    text = FAILING.format(R=registry.host)
    path = tmp_path / "crs.yaml"
    path.write_text(text)
    run = pullgate("check", "--format", "json", str(path))
    assert run.exit_code == 1, run.stdout
    found = sorted(
        (f["rule"], f["kind"], f["line"], f.get("container") or "")
        for f in json.loads(run.stdout)["findings"]
    )
    assert found == sorted(
        [
            # a `latest` tag in an Argo script template, run as container main
            ("image-latest-tag", "Workflow", _line(text, "cr/python"), "main"),
            # a repository never pushed, in a TaskRun's step; its pod template's pull
            # secret and its service account do not exist in ci
            ("image-repository-not-found", "TaskRun", _line(text, "never-pushed"), "step-build"),
            ("pull-secret-missing", "TaskRun", _line(text, "registry-pull"), ""),
            ("service-account-missing", "TaskRun", _line(text, "builder"), ""),
            # an Alertmanager's pull secret that is not in monitoring
            ("pull-secret-missing", "Alertmanager", _line(text, "quay-mirror"), ""),
            # an amd64-only image for both Spark pods, pinned to arm64 nodes
            *(
                ("image-platform-missing", "SparkApplication", _line(text, "cr/spark"), name)
                for name in ("spark-kubernetes-driver", "spark-kubernetes-executor")
            ),
            (
                "service-account-missing",
                "SparkApplication",
                _line(text, "serviceAccount: spark"),
                "",
            ),
            # an untagged image in a Knative Service's unnamed container
            ("image-no-tag", "Service", _line(text, "cr/hello"), "user-container"),
        ]
    )


# ------------------------------------------------------------- every researched example


def _example_names() -> list[str]:
    from tests.support.paths import CUSTOM_RESOURCES

    return sorted(p.name for p in CUSTOM_RESOURCES.glob("*.yaml"))


@pytest.mark.parametrize("name", _example_names())
def test_every_example_resolves_and_pins_byte_exactly(
    name: str, tmp_path: Path, registry: RegistryServer
) -> None:
    """Each researched example (docs/research/custom-resources/examples) with its images moved
    to the test registry: every image read resolves to the digest pushed, and `pin --write`
    inserts exactly those digests where the images are written, nothing else."""
    from gate.extract import extract
    from gate.load import load_text
    from tests.support.paths import CUSTOM_RESOURCES

    original = (CUSTOM_RESOURCES / name).read_text()
    pods = extract(load_text(original, name).objects)
    written = sorted({(c.line, c.image) for p in pods for c in p.containers if c.image})
    if not written:
        # a session job runs in its FlinkDeployment's pods; this agent's image is built by
        # the operator from spec.version (listed as unchecked, test_researched_shapes.py)
        assert name in (
            "flink.apache.org_FlinkSessionJob.yaml",
            "monitoring.coreos.com_PrometheusAgent.yaml",
        )
        return
    mapping: dict[str, str] = {}
    for _, image in written:
        tag = image.split("@")[0].rpartition("/")[2].partition(":")[2] or "latest"
        mapping.setdefault(image, f"{registry.host}/kinds/{_slug(name)}-{len(mapping)}:{tag}")
    lines = original.split("\n")
    for line, image in written:
        assert image in lines[line - 1], (line, image)
        lines[line - 1] = lines[line - 1].replace(image, mapping[image], 1)
    text = "\n".join(lines)
    digests = {}
    for target in mapping.values():
        repo, _, tag = target.removeprefix(f"{registry.host}/").rpartition(":")
        digests[target] = push_image(registry, repo, tag).digest
    path = tmp_path / name
    path.write_text(text)

    check = pullgate("check", "--format", "json", str(path))
    report = json.loads(check.stdout)
    assert {i["reference"]: i["digest"] for i in report["images"]} == digests, check.stdout
    assert report["summary"]["images"] == sum(1 for p in pods for c in p.containers if c.image)

    pinned = pullgate("pin", "--write", str(path))
    assert pinned.exit_code == 0, pinned.stderr
    expected = text.split("\n")
    for line, image in written:
        target = mapping[image]
        if f"{target}@" not in expected[line - 1]:
            expected[line - 1] = expected[line - 1].replace(
                target, f"{target}@{digests[target]}", 1
            )
    assert path.read_text() == "\n".join(expected)


def _slug(name: str) -> str:
    return name.removesuffix(".yaml").replace("_", "-").replace(".", "-").lower()
