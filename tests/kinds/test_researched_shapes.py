"""Custom resources read by their own rule (gate/extract/kinds), against researched facts.

Each example in docs/research/custom-resources/examples is written in its project's own shape
(the header of each file names the upstream examples and Go or Java types it follows), and its
`.expected.json` says, from the project's source (NOTES.md cites file and commit for every
rule), which image each pod runs, as which container, in which namespace, with which pull
secrets, service account and node selector. These tests hold pullgate's extraction to those
facts; the few places it knowingly reads less are listed in DEVIATIONS with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.extract import extract, unchecked_images
from gate.extract.kinds import KINDS, known_kind
from gate.load import KubeObject, load_paths
from gate.workload import Container, PodSpec
from tests.support.paths import CUSTOM_RESOURCES

DEFAULT_NS = "kinds-default-ns"
EXAMPLES = sorted(p.name for p in CUSTOM_RESOURCES.glob("*.yaml"))

# Expected images pullgate does not read, each for a reason it says elsewhere.
DEVIATIONS = {
    # built by the operator from version/baseImage/tag/sha or its own defaults: not in the
    # manifest, so listed in unchecked_image_fields instead (test_operator_built_images)
    ("monitoring.coreos.com_Prometheus.yaml", None): "operator-built",
    ("monitoring.coreos.com_Alertmanager.yaml", None): "operator-built",
    ("monitoring.coreos.com_PrometheusAgent.yaml", None): "operator-built",
    # a Provider's `spec.package` joined with the DeploymentRuntimeConfig it names: a join
    # across objects that pullgate does not make; the Provider is not a known kind
    ("pkg.crossplane.io_DeploymentRuntimeConfig.yaml", "spec.package"): "cross-object",
}


def _loaded(name: str) -> tuple[list[KubeObject], list[PodSpec]]:
    result = load_paths([str(CUSTOM_RESOURCES / name)])
    assert result.invalid == []
    return result.objects, extract(result.objects, DEFAULT_NS)


def _expected(name: str) -> dict[str, Any]:
    path = CUSTOM_RESOURCES / name.replace(".yaml", ".expected.json")
    data: dict[str, Any] = json.loads(Path(path).read_text())
    return data


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out


def _where(entry: dict[str, Any]) -> tuple[str | None, int | None]:
    """Where the image value is written: its own path, or where it is inherited from."""
    if entry.get("path"):
        return entry["path"], entry["line"]
    derived = entry.get("derived_from") or []
    if len(derived) == 1 and derived[0]["path"].endswith(".image"):
        return derived[0]["path"], derived[0]["line"]
    return None, None


def test_every_example_is_a_known_kind() -> None:
    known = {(k.group, k.kind) for k in KINDS}
    for name in EXAMPLES:
        group, _, kind = name.removesuffix(".yaml").partition("_")
        assert (group, kind) in known, name
    assert len(EXAMPLES) == 33


@pytest.mark.parametrize("name", EXAMPLES)
def test_images_pods_and_settings_match_the_research(name: str) -> None:
    objects, pods = _loaded(name)
    expected = _expected(name)
    found: dict[tuple[str, str, str], list[tuple[PodSpec, Container]]] = {}
    for pod in pods:
        for container in pod.containers:
            key = (pod.object.kind, pod.object.name, _dotted(container.path))
            found.setdefault(key, []).append((pod, container))
    matched: set[tuple[str, str, str]] = set()
    for entry in expected["images"]:
        path, line = _where(entry)
        if path is None or (name, path) in DEVIATIONS:
            assert (name, path) in DEVIATIONS, entry
            continue
        key = (entry["kind"], entry["name"], path)
        candidates = found.get(key, [])
        assert candidates, (key, sorted(found))
        pod, container = next(
            ((p, c) for p, c in candidates if c.name == entry["pod_container"]), candidates[0]
        )
        matched.add(key)
        assert container.image == entry["image"], entry
        assert container.line == line, entry
        if entry["pod_container"] and not entry["pod_container"].startswith("<"):
            assert container.name == entry["pod_container"], entry
        kind = known_kind(next(o for o in objects if o.kind == entry["kind"]))
        # a SidecarSet names the namespace of the pods it selects (`spec.namespace`)
        if kind is not None and kind.cluster_scoped and entry["kind"] != "SidecarSet":
            assert pod.object.namespace == DEFAULT_NS, "its pods run in --namespace"
        else:
            assert pod.object.namespace == (entry["namespace"] or DEFAULT_NS), entry
        account = entry["service_account"] or "default"
        if not account.startswith("<"):  # "<the target pod's>": a SidecarSet's is unknowable
            assert (pod.service_account or "default") == account, entry
        own_secrets = [s for s in entry["pull_secrets"] or [] if not s.startswith("<")]
        if name != "pkg.crossplane.io_DeploymentRuntimeConfig.yaml":  # see DEVIATIONS
            assert [n for n, _ in pod.image_pull_secrets] == own_secrets, entry
        assert pod.node_selector == (entry["node_selector"] or {}), entry
    # nothing read that the research does not list
    assert set(found) == matched, sorted(set(found) - matched)


def test_operator_built_images_are_listed_as_unchecked() -> None:
    """Prometheus Operator builds the image itself when `spec.image` is empty
    (pkg/operator/image.go `BuildImagePath`); Flink's operator runs its bundled default.
    Nothing in the manifest names that image, so it is listed, with the field to set."""
    for name in (
        "monitoring.coreos.com_Prometheus.yaml",
        "monitoring.coreos.com_Alertmanager.yaml",
        "monitoring.coreos.com_PrometheusAgent.yaml",
    ):
        objects, _ = _loaded(name)
        unchecked = unchecked_images(objects, DEFAULT_NS)
        derived = [e for e in _expected(name)["images"] if not e.get("path")]
        assert len(unchecked) == len(derived), (name, unchecked)
        for item in unchecked:
            assert "set spec." in item.reason and ".image to have it checked" in item.reason
            assert item.value is None


def test_tekton_step_without_image_inherits_the_step_template() -> None:
    """MergeStepsWithStepTemplate (tektoncd/pipeline pkg/apis/pipeline/v1/merge.go): the
    image comes from `stepTemplate.image`, which is where pin writes the digest."""
    _, pods = _loaded("tekton.dev_Task.yaml")
    (pod,) = pods
    inherited = next(c for c in pod.containers if c.name == "step-list")
    assert inherited.path == ("spec", "stepTemplate", "image")
    sidecar = next(c for c in pod.containers if c.name == "sidecar-server")
    assert sidecar.path[:3] == ("spec", "sidecars", 0)  # sidecars do not inherit it


def test_argo_template_defaults_fill_an_empty_container() -> None:
    """operator.go `mergedTemplateDefaultsInto` (argo-workflows): `templateDefaults.container`
    reaches only `container` templates."""
    _, pods = _loaded("argoproj.io_Workflow.yaml")
    defaulted = [
        c for p in pods for c in p.containers if c.path[:2] == ("spec", "templateDefaults")
    ]
    assert [(c.name, c.image) for c in defaulted] == [
        ("main", "registry.example.com/ci/toolbox:2.4.1")
    ]
