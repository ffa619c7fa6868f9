"""Kinds pullgate does not know: the generic safety net, `unchecked_image_fields`, and config
`images:` entries (with their pod settings), offline."""

from __future__ import annotations

import textwrap
from pathlib import Path

from gate.extract import extract
from gate.extract.kinds import KINDS
from gate.load import load_paths
from tests.support.cli import check_json, pullgate
from tests.support.paths import CUSTOM_RESOURCES

UNKNOWN = textwrap.dedent(
    """\
    apiVersion: ci.example.com/v1
    kind: Runner
    metadata: {name: r1, namespace: build}
    spec:
      runner:
        image: ghcr.io/example/runner:1.2.0
        pullSecrets: [runner-pull]
        account: runner-sa
        nodes: {kubernetes.io/arch: arm64}
        targetNamespace: jobs
      jobs:
        - image: ghcr.io/example/job:0.1
      worker:
        initContainers:
          - name: warm
            image: ghcr.io/example/warm:3
      schema:
        containers:
          type: array
          items: {properties: {image: {type: string}}}
    """
)


def _write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_unknown_kind_init_containers_are_read_and_image_strings_are_listed(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, UNKNOWN)
    pods = extract(load_paths([str(path)]).objects)
    # the safety net: a list under `initContainers` whose entries have a string image
    assert [(p.path, [c.image for c in p.containers]) for p in pods] == [
        (("spec", "worker"), ["ghcr.io/example/warm:3"])
    ]
    code, report = check_json("--offline", str(path))
    assert code == 0
    assert report["summary"]["unchecked_image_fields"] == 2
    listed = [(u["path"], u["line"], u["value"]) for u in report["unchecked_image_fields"]]
    # the schema's `image: {type: string}` is no image; warm:3 is read, so not listed
    assert listed == [
        ("spec.runner.image", 6, "ghcr.io/example/runner:1.2.0"),
        ("spec.jobs[0].image", 12, "ghcr.io/example/job:0.1"),
    ]
    assert all("add an `images:` entry" in u["reason"] for u in report["unchecked_image_fields"])
    assert report["unchecked_image_fields"][0]["kind"] == "Runner"
    text = pullgate("check", "--offline", str(path))
    assert "Not checked: 2 image fields" in text.stdout
    assert f"{path}:6: Runner build/r1 spec.runner.image ghcr.io/example/runner:1.2.0" in (
        text.stdout
    )
    assert "2 image fields not checked" in text.stdout


def test_config_images_entry_reads_the_pod_settings(tmp_path: Path) -> None:
    path = _write(tmp_path, UNKNOWN)
    config = _write(
        tmp_path,
        textwrap.dedent(
            """\
            images:
              - apiVersion: "ci.example.com/*"
                kind: Run*
                paths: ["spec.runner.image", "spec.jobs[*].image"]
                pull-secrets: [spec.runner.pullSecrets]
                service-account: spec.runner.account
                node-selector: spec.runner.nodes
                namespace: spec.runner.targetNamespace
            """
        ),
        ".pullgate.yaml",
    )
    code, report = check_json("--offline", "--config", str(config), str(path))
    # the entry's images join the generic search's (the initContainers list): nothing is
    # left unchecked
    assert report["summary"]["unchecked_image_fields"] == 0
    assert report["summary"]["images"] == 3
    findings = {(f["rule"], f["namespace"], f["line"]) for f in report["findings"]}
    # the pod runs in the namespace the object names, where neither the pull secret nor
    # the service account exists
    assert ("pull-secret-missing", "jobs", 7) in findings
    assert ("service-account-missing", "jobs", 8) in findings
    assert code == 1


def test_config_entry_adds_only_what_the_built_in_reading_does_not_read(
    tmp_path: Path,
) -> None:
    """An `images:` entry naming a known kind (the README's earlier example named
    Prometheus `spec.image`) adds its paths that the kind's reading does not take, so an image
    is never counted twice, and an entry that matches nothing hides nothing."""
    path = _write(
        tmp_path,
        textwrap.dedent(
            """\
            apiVersion: monitoring.coreos.com/v1
            kind: Prometheus
            metadata: {name: k8s, namespace: monitoring}
            spec:
              image: quay.io/prometheus/prometheus:v3.12.0
              exporterImage: ghcr.io/example/exporter:0.2
              containers:
                - name: extra
                  image: ghcr.io/example/extra:1.0
            """
        ),
    )
    _, built_in = check_json("--offline", str(path))
    assert {i["reference"] for i in built_in["images"]} == {
        "quay.io/prometheus/prometheus:v3.12.0",
        "ghcr.io/example/extra:1.0",
    }
    # a field the built-in reading does not take is listed, with the way to fix it
    [unchecked] = built_in["unchecked_image_fields"]
    assert (unchecked["path"], unchecked["line"]) == ("spec.exporterImage", 6)
    assert "reading of Prometheus does not take this field" in unchecked["reason"]
    config = _write(
        tmp_path,
        "images:\n  - kind: Prometheus\n    paths: [spec.image, spec.exporterImage, spec.nope]\n",
        ".pullgate.yaml",
    )
    _, custom = check_json("--offline", "--config", str(config), str(path))
    assert sorted((i["reference"], len(i["locations"])) for i in custom["images"]) == [
        ("ghcr.io/example/exporter:0.2", 1),
        ("ghcr.io/example/extra:1.0", 1),
        ("quay.io/prometheus/prometheus:v3.12.0", 1),
    ]
    assert custom["summary"]["unchecked_image_fields"] == 0
    deployment = _write(
        tmp_path,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n"
        "    spec:\n      containers: [{name: a, image: 'nginx:1.27'}]\n",
        "deployment.yaml",
    )
    matches_nothing = _write(
        tmp_path, "images:\n  - kind: '*'\n    paths: [spec.nope]\n", "star.yaml"
    )
    _, star = check_json("--offline", "--config", str(matches_nothing), str(deployment))
    assert [i["reference"] for i in star["images"]] == ["nginx:1.27"]


def test_no_image_is_read_twice() -> None:
    """A known kind is read by its own rule only: every example's images, each at one path
    per pod, and a pod per controller pod (Argo: one per container/script/containerSet
    template; Tekton: one per task spec)."""
    for example in sorted(CUSTOM_RESOURCES.glob("*.yaml")):
        for pod in extract(load_paths([str(example)]).objects):
            paths = [c.path for c in pod.containers]
            assert len(paths) == len(set(paths)), (example.name, pod.path)
    workflow = extract(load_paths([str(CUSTOM_RESOURCES / "argoproj.io_Workflow.yaml")]).objects)
    assert len(workflow) == 6
    assert sum(len(p.containers) for p in workflow) == 9


def test_explain_kinds_lists_every_known_kind() -> None:
    result = pullgate("explain", "kinds")
    assert result.exit_code == 0
    for kind in KINDS:
        assert f"\n  {kind.kind}" in result.stdout, kind
        assert kind.source in result.stdout
    assert "images:" in result.stdout and "unchecked_image_fields" in result.stdout


def test_readme_images_entry_is_valid_config(tmp_path: Path) -> None:
    from gate.config import load_config
    from tests.support.paths import ROOT

    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("\nimages:") + 1 : readme.index("\nsecrets:\n")]
    config = load_config(_write(tmp_path, block + "\n", ".pullgate.yaml"))
    (entry,) = config.images
    assert (entry.kind, entry.namespace) == ("Runner", "spec.runner.targetNamespace")
    assert entry.pull_secrets == ("spec.runner.pullSecrets",)


def test_github_format_gives_one_notice_for_unchecked_fields(tmp_path: Path) -> None:
    path = _write(tmp_path, UNKNOWN)
    result = pullgate("check", "--offline", "--format", "github", str(path))
    notices = [line for line in result.stdout.splitlines() if line.startswith("::notice ")]
    assert len(notices) == 1
    assert f"file={path},line=6,title=pullgate%3A image fields not checked::" in notices[0]
    assert "2 image fields not checked, first Runner build/r1 spec.runner.image" in notices[0]


def test_generic_pods_hide_no_other_image_and_keep_empty_images(tmp_path: Path) -> None:
    """In an unknown kind, the generic search reads the containers it finds; any other image
    string in the same object is still listed (only the fields read are excluded), and an
    entry with an empty `image` is a container with a missing image, as before."""
    path = _write(
        tmp_path,
        textwrap.dedent(
            """\
            apiVersion: db.example.com/v1
            kind: Cluster
            metadata: {name: c, namespace: db}
            spec:
              containers:
                - {name: db, image: "postgres:16.4"}
                - {name: broken, image: ""}
              exporter:
                image: quay.io/example/exporter:0.9
                sidecarImage: quay.io/example/sidecar:1.0
              warmup:
                images: [busybox:1.36, not an image]
            """
        ),
    )
    code, report = check_json("--offline", str(path))
    assert code == 1
    assert [(f["rule"], f["line"]) for f in report["findings"]] == [("image-reference-invalid", 7)]
    assert [(u["path"], u["line"]) for u in report["unchecked_image_fields"]] == [
        ("spec.exporter.image", 9),
        ("spec.exporter.sidecarImage", 10),
        ("spec.warmup.images[0]", 12),
    ]
