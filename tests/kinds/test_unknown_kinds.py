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
    # an entry replaces every other reading of its kind: nothing is left unchecked, and the
    # initContainers list is not searched as well
    assert report["summary"]["unchecked_image_fields"] == 0
    assert report["summary"]["images"] == 2
    findings = {(f["rule"], f["namespace"], f["line"]) for f in report["findings"]}
    # the pod runs in the namespace the object names, where neither the pull secret nor
    # the service account exists
    assert ("pull-secret-missing", "jobs", 7) in findings
    assert ("service-account-missing", "jobs", 8) in findings
    assert code == 1


def test_config_entry_replaces_a_built_in_reading(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        textwrap.dedent(
            """\
            apiVersion: monitoring.coreos.com/v1
            kind: Prometheus
            metadata: {name: k8s, namespace: monitoring}
            spec:
              image: quay.io/prometheus/prometheus:v3.12.0
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
    config = _write(
        tmp_path,
        "images:\n  - kind: Prometheus\n    paths: [spec.image]\n",
        ".pullgate.yaml",
    )
    _, custom = check_json("--offline", "--config", str(config), str(path))
    assert [i["reference"] for i in custom["images"]] == ["quay.io/prometheus/prometheus:v3.12.0"]


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
