"""Real published manifests (../shared/corpus) against facts computed independently of pullgate.

Each `<file>.expected.json` was computed by a separate tool with PyYAML by the rules in
PROVENANCE.md ("Expected-facts rules"): an image is the value of `image` in an element of a
list under `containers`, `initContainers` or `ephemeralContainers`, at any depth. The same tool
lists every other `image` key under `informational.other_image_keys_not_in_container_lists`:
in this corpus each one belongs to a custom resource pullgate reads by its own rule
(gate/extract/kinds: Tekton steps, Prometheus Operator `spec.image`, Knative's caching `Image`),
so those are expected too, and any other would fail here. The corpus is a test input, not an
optional extra: in CI a missing corpus fails these tests; on a bare clone they skip.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from gate.extract import extract
from gate.load import KubeObject, LoadResult, PathKey, load_paths
from gate.workload import PodSpec
from tests.support import paths
from tests.support.cli import pullgate

CORPUS = paths.CORPUS
MISSING = "<corpus missing>"
# objects without a namespace get this one, so that a wrong fallback shows
DEFAULT_NS = "corpus-default-ns"


def _corpus_files() -> list[str]:
    if not CORPUS.is_dir():
        return [MISSING]
    return sorted(p.name for p in CORPUS.glob("*.yaml")) or [MISSING]


FILES = _corpus_files()


def _path(name: str) -> Path:
    paths.require_shared(CORPUS, "the manifest corpus (../shared/corpus/PROVENANCE.md)")
    if name == MISSING:
        pytest.fail(f"the manifest corpus at {CORPUS} holds no *.yaml file", pytrace=False)
    return CORPUS / name


@cache
def _expected(name: str) -> dict[str, Any]:
    path = _path(name).with_name(name + ".expected.json")
    if not path.is_file():
        pytest.fail(f"{path} is missing: every corpus file needs its expected facts", pytrace=False)
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def _loaded(name: str) -> tuple[LoadResult, tuple[PodSpec, ...]]:
    result = load_paths([str(_path(name))])
    return result, tuple(extract(result.objects, DEFAULT_NS))


@cache
def _raw_lines(name: str) -> list[str]:
    return _path(name).read_text(encoding="utf-8").split("\n")


def dotted(path: PathKey) -> str:
    """`("spec", "containers", 0, "image")` -> `spec.containers[0].image`."""
    out = ""
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out += ("." if out else "") + key
    return out


def _object_of(result: LoadResult, pod: PodSpec) -> KubeObject:
    """The loaded object a pod spec came from (same file, kind, name and first line)."""
    matches = [
        o
        for o in result.objects
        if o.kind == pod.object.kind
        and o.name == pod.object.name
        and o.line_of(("metadata", "name")) == pod.object.line
    ]
    assert len(matches) == 1, pod.object
    return matches[0]


def _expected_name(entry: dict[str, Any]) -> str:
    if entry.get("name"):
        return str(entry["name"])
    return f"{entry['generateName']}*"


def _pod_spec_prefix(image_path: str) -> str:
    """`a.b.containers[0].image` -> `a.b` (the pod spec that holds the container); for a
    custom resource's image, the part of the object its pod is read from: a Tekton task spec
    (`spec.tasks[7].taskSpec.steps[0].image` -> `spec.tasks[7].taskSpec`), or the `spec` of
    an object whose `spec.image` is its pod's image."""
    match = re.fullmatch(
        r"(.*?)\.(?:(?:initContainers|containers|ephemeralContainers|steps)\[\d+\]\.)?image",
        image_path,
    )
    assert match, image_path
    return match.group(1)


# Where the custom resources among the corpus's other `image` keys live, as written in their
# files (docs/research/custom-resources/corpus.md): objects without a namespace get the default.
CUSTOM_RESOURCE_NAMESPACES = {
    ("Alertmanager", "main"): "monitoring",
    ("Prometheus", "k8s"): "monitoring",
    ("Image", "queue-proxy"): "knative-serving",
    ("Task", "publish-release"): None,
    ("Pipeline", "pipeline-release"): None,
}


def _custom_resource_images(name: str) -> list[dict[str, Any]]:
    """The expected file's image keys outside container lists, which pullgate's built-in
    kinds read; each gets the namespace its object is written with."""
    entries = _expected(name)["informational"]["other_image_keys_not_in_container_lists"]
    return [{**e, "namespace": CUSTOM_RESOURCE_NAMESPACES[(e["kind"], e["name"])]} for e in entries]


def _all_images(name: str) -> list[dict[str, Any]]:
    return [*_expected(name)["images"], *_custom_resource_images(name)]


# --------------------------------------------------------------------------- the corpus itself


def test_corpus_is_present_and_complete() -> None:
    paths.require_shared(CORPUS, "the manifest corpus")
    manifests = sorted(CORPUS.glob("*.yaml"))
    assert len(manifests) >= 10, f"expected the 10 corpus files of PROVENANCE.md in {CORPUS}"
    for manifest in manifests:
        assert manifest.with_name(manifest.name + ".expected.json").is_file(), manifest


# --------------------------------------------------------------------------- load


@pytest.mark.parametrize("name", FILES)
def test_documents_and_kinds(name: str) -> None:
    expected = _expected(name)
    result, _ = _loaded(name)
    assert result.invalid == []
    assert result.files == [str(CORPUS / name)]
    assert result.documents == expected["document_count"]
    assert result.skipped_documents == 0
    # after `kind: List` expansion: the documents' kinds, each List replaced by its items
    want = Counter(expected["kinds"])
    lists = want.pop("List", 0)
    want.update(expected["list_item_kinds"])
    assert Counter(o.kind for o in result.objects) == want
    in_lists = [o for o in result.objects if o.list_path]
    assert len(in_lists) == sum(expected["list_item_kinds"].values())
    assert all(o.list_path[0] == "items" for o in in_lists)
    if lists:
        assert len({o.doc_index for o in in_lists}) == lists


@pytest.mark.parametrize("name", FILES)
def test_helm_source_comments(name: str) -> None:
    result, _ = _loaded(name)
    if _expected(name)["informational"]["text"]["helm_source_comments"] == 0:
        # e.g. kyverno: rendered by helm, but its Makefile strips every `#` line
        assert [o.source for o in result.objects if o.source is not None] == []
        return
    # Independently: split the raw text on `---` lines; each non-empty segment is one
    # document, and its `# Source:` comment (if any) names the template it came from.
    segments: list[list[str]] = [[]]
    for line in _raw_lines(name):
        if re.match(r"^---(\s|$)", line):
            segments.append([])
        else:
            segments[-1].append(line)
    sources = []
    for segment in segments:
        body = [line for line in segment if line.strip() and not line.lstrip().startswith("#")]
        if not body:
            continue
        comment = next((line for line in segment if line.startswith("# Source: ")), None)
        sources.append(comment.removeprefix("# Source: ").strip() if comment else None)
    assert [o.source for o in result.objects] == sources
    assert all(o.source for o in result.objects), "every object here has a Source comment"


def test_calico_sources_reach_the_pod_specs() -> None:
    name = "projectcalico__calico__calico.yaml"
    result, pods = _loaded(name)
    assert len(result.objects) == 38
    assert all(o.source is not None for o in result.objects)
    by_kind = {(p.object.kind, p.object.name): p.object.source for p in pods}
    assert by_kind == {
        ("DaemonSet", "calico-node"): "calico/templates/calico-node.yaml",
        ("Deployment", "calico-kube-controllers"): "calico/templates/calico-kube-controllers.yaml",
    }


def test_kyverno_has_no_sources() -> None:
    result, pods = _loaded("kyverno__kyverno__install-latest-testing.yaml")
    assert len(result.objects) == 62
    assert {o.source for o in result.objects} == {None}
    assert {p.object.source for p in pods} == {None}


# --------------------------------------------------------------------------- extract


@pytest.mark.parametrize("name", FILES)
def test_images_match_expected(name: str) -> None:
    expected = _expected(name)
    result, pods = _loaded(name)
    got: Counter[tuple[str, ...]] = Counter()
    for pod in pods:
        obj = _object_of(result, pod)
        for c in pod.containers:
            assert c.image is not None, (pod.object, c)
            # the expected path is written from the document root: a List item's has its
            # `items[i].` prefix, which KubeObject.list_path holds (Container.path has not)
            got[
                (
                    pod.object.kind,
                    pod.object.name,
                    c.field,
                    c.name,
                    c.image,
                    dotted(obj.list_path + c.path),
                )
            ] += 1
    want = Counter(
        (
            e["kind"],
            _expected_name(e),
            e["container_field"],
            e["container"],
            e["image"],
            e["path"],
        )
        for e in expected["images"]
    )
    for e in _custom_resource_images(name):
        # a step or `spec.image`: the container's name in the pod is the controller's, which
        # the expected facts do not say; the kind, object, image and path are checked
        match = [
            k
            for k in got
            if (k[0], k[1], k[4], k[5]) == (e["kind"], e["name"], e["image"], e["path"])
        ]
        assert len(match) == 1, e
        want[match[0]] += 1
    assert got == want
    added = _custom_resource_images(name)
    assert sum(got.values()) == expected["image_count"] + len(added)
    assert {c.image for p in pods for c in p.containers} == set(expected["unique_images"]) | {
        e["image"] for e in added
    }


@pytest.mark.parametrize("name", FILES)
def test_namespaces(name: str) -> None:
    _, pods = _loaded(name)
    by_object = {(e["kind"], _expected_name(e)): e["namespace"] for e in _all_images(name)}
    seen = {(p.object.kind, p.object.name): p.object.namespace for p in pods}
    assert set(seen) == set(by_object)
    for key, namespace in by_object.items():
        # a namespace written in the manifest is the pod's; none means the default given
        assert seen[key] == (namespace if namespace is not None else DEFAULT_NS), key


@pytest.mark.parametrize("name", FILES)
def test_container_lines_point_at_the_image_line(name: str) -> None:
    _, pods = _loaded(name)
    lines = _raw_lines(name)
    seen: set[int] = set()
    for pod in pods:
        for c in pod.containers:
            assert c.image is not None
            text = lines[c.line - 1]
            assert "image:" in text and c.image in text, (c, c.line, text)
            assert text.split("image:", 1)[1].strip().strip("'\"").startswith(c.image)
            seen.add(c.line)
    # no two containers share a line (no anchors in the corpus)
    assert len(seen) == sum(len(p.containers) for p in pods)


def test_guestbook_image_line_with_trailing_comment() -> None:
    name = "kubernetes__examples__guestbook-all-in-one.yaml"
    _, pods = _loaded(name)
    master = next(p for p in pods if p.object.name == "redis-master")
    (container,) = master.containers
    assert container.image == "registry.k8s.io/redis:e2e"  # not `... # or just image: redis`
    assert container.line == 38


def test_jaeger_list_items() -> None:
    name = "jaegertracing__jaeger-kubernetes__all-in-one-template.yaml"
    result, pods = _loaded(name)
    assert result.documents == 1
    assert [o.list_path for o in result.objects] == [("items", i) for i in range(5)]
    (pod,) = pods
    (container,) = pod.containers
    assert container.path == ("spec", "template", "spec", "containers", 0, "image")
    assert container.image == "jaegertracing/all-in-one"


@pytest.mark.parametrize("name", FILES)
def test_service_accounts_of_pod_specs(name: str) -> None:
    """`serviceAccountName` is checked where it is a pod's field.

    The expected facts list every scalar `serviceAccountName` in the file; each must be the
    account of the pod read from the same part of the object. In the kube-prometheus
    Alertmanager and Prometheus custom resources it sits at `spec.` beside `spec.image`: the
    operator copies it into the StatefulSet it creates (prometheus-operator
    pkg/alertmanager/statefulset.go, pkg/prometheus/server/statefulset.go), so it is that
    pod's account.
    """
    expected = _expected(name)
    result, pods = _loaded(name)
    # the expected `doc_index` counts empty documents too (pullgate's does not), so it serves
    # only to join the service-account facts to the image facts of the same object
    pod_specs = {
        (e["doc_index"], _pod_spec_prefix(e["path"])): (
            e["kind"],
            _expected_name(e),
            _pod_spec_prefix(e["path"]),
        )
        for e in _all_images(name)
    }
    want: dict[tuple[str, str, str], str] = {}
    for e in expected["service_account_names"]:
        parent = e["path"].rpartition(".serviceAccountName")[0]
        key = pod_specs.get((e["doc_index"], parent))
        assert key is not None, e
        want[key] = e["serviceAccountName"]
    got: dict[tuple[str, str, str], str | None] = {}
    for pod in pods:
        obj = _object_of(result, pod)
        got[(pod.object.kind, pod.object.name, dotted(obj.list_path + pod.path))] = (
            pod.service_account
        )
    assert len(got) == len(pods)
    assert set(got) == set(pod_specs.values())
    for key, service_account in got.items():
        assert service_account == want.get(key), key
    if name.startswith("prometheus-operator__"):
        assert want[("Alertmanager", "main", "spec")] == "alertmanager-main"
        assert want[("Prometheus", "k8s", "spec")] == "prometheus-k8s"


@pytest.mark.parametrize("name", FILES)
def test_image_pull_secrets(name: str) -> None:
    expected = _expected(name)
    _, pods = _loaded(name)
    got = [secret for p in pods for secret, _line in p.image_pull_secrets]
    # no corpus file lists one; the kube-prometheus CRD's non-list `imagePullSecrets` schema
    # property (image_pull_secrets_non_list_occurrences) must not become one either
    assert len(got) == len(expected["image_pull_secrets"])
    assert not any(p.object.kind == "CustomResourceDefinition" for p in pods)


# --------------------------------------------------------------------------- the CLI


def _violates_static_rules(image: str) -> bool:
    """`:latest`, no tag and no digest, or not a reference at all (`ko://...`)."""
    if "://" in image:
        return True
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2] if ":" in last else None
    return tag == "latest" or (tag is None and not digest)


SECRET_RULES = {"secret-ref-missing", "pull-secret-missing", "service-account-missing"}


@pytest.mark.parametrize("name", FILES)
def test_cli_offline_json_summary_and_exit_code(name: str) -> None:
    expected = _expected(name)
    path = str(_path(name))
    run = pullgate("check", "--offline", "--format", "json", path)
    report = json.loads(run.stdout)
    summary = report["summary"]
    kinds = Counter(expected["kinds"])
    kinds.pop("List", None)
    objects = sum(kinds.values()) + sum(expected["list_item_kinds"].values())
    images = _all_images(name)
    unique = {e["image"] for e in images}
    pods = {(e["doc_index"], _pod_spec_prefix(e["path"])) for e in images}
    assert summary["files"] == 1
    assert summary["objects"] == objects
    assert summary["pods"] == len(pods)
    assert summary["images"] == len(images)
    assert summary["unique_images"] == len(unique)
    assert summary["resolved"] == 0  # offline
    assert summary["unchecked_image_fields"] == 0  # every image key here is read
    assert {i["reference"] for i in report["images"]} == unique
    failing = any(_violates_static_rules(e["image"]) for e in images)
    image_findings = [f for f in report["findings"] if f["rule"] not in SECRET_RULES]
    # Secrets these manifests refer to but do not render (made by controllers or installers
    # at run time) are findings too; they are checked in test_secret_rules.py.
    secret_findings = [f for f in report["findings"] if f["rule"] in SECRET_RULES]
    assert run.exit_code == (1 if failing or secret_findings else 0), summary
    assert bool(image_findings) == failing, image_findings[:3]


def test_static_rule_classifier_used_above() -> None:
    assert _violates_static_rules("argoproj/load-tester:latest")
    assert _violates_static_rules("jaegertracing/all-in-one")
    assert _violates_static_rules("ko://knative.dev/serving/cmd/activator")
    assert not _violates_static_rules("redis:alpine")
    assert not _violates_static_rules("localhost:5000/app:1")
    assert _violates_static_rules("localhost:5000/app")
    assert not _violates_static_rules("busybox:1.38.0@sha256:" + "f" * 64)
    assert not _violates_static_rules("busybox@sha256:" + "f" * 64)
