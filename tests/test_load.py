"""Tests for gate.load: files, documents, objects and the 1-based line of every node.

Every manifest here is written to `tmp_path` and loaded through `load_paths`, the way the CLI
does it, unless the test is about `load_text` itself.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

import gate.load
from gate.load import (
    InvalidDocument,
    KubeObject,
    LoadError,
    LoadResult,
    discover,
    load_paths,
    load_text,
)
from tests.support import paths


def line_of_text(text: str, needle: str) -> int:
    """1-based line of the only line of `text` (split on newlines) that contains `needle`."""
    hits = [n for n, line in enumerate(text.split("\n"), start=1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}, want exactly one"
    return hits[0]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_one(tmp_path: Path, text: str, name: str = "manifest.yaml") -> LoadResult:
    return load_paths([str(write(tmp_path, name, text))])


def names(result: LoadResult) -> list[str]:
    return [obj.name for obj in result.objects]


DEPLOYMENT = textwrap.dedent(
    """\
    # a hand-written deployment
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      namespace: prod
      labels: {app: web, tier: "front"}
    spec:
      replicas: 2
      template:
        metadata:
          annotations:
            a: "1"
        spec:
          containers:
            - name: nginx
              image: nginx:1.27
              ports:
                - containerPort: 80
            - name: sidecar
              image: "busybox:1.36"
              args: ["sleep",
                     "infinity"]
    """
)


# --------------------------------------------------------------------------- documents


def test_multi_document_stream_with_empty_documents_and_comments(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        # leading comment, no document yet
        ---
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: first
        ---
        # a document holding only a comment
        ---

        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: second   # trailing comment
        ...
        ---
        # trailing comment at the end of the stream
        """
    )
    result = load_one(tmp_path, text)
    assert result.invalid == []
    assert names(result) == ["first", "second"]
    assert [o.kind for o in result.objects] == ["ConfigMap", "Secret"]
    assert result.documents == 2  # empty and comment-only documents are not counted
    assert result.skipped_documents == 0
    assert [o.doc_index for o in result.objects] == [0, 1]
    first, second = result.objects
    assert first.line == 4
    assert second.line == 13
    assert second.line_of(("metadata", "name")) == 16
    assert first.file == second.file == str(tmp_path / "manifest.yaml")
    assert result.files == [str(tmp_path / "manifest.yaml")]


def test_empty_and_comment_only_files_have_no_documents(tmp_path: Path) -> None:
    empty = write(tmp_path, "empty.yaml", "")
    comments = write(tmp_path, "comments.yaml", "# nothing here\n---\n# nor here\n")
    result = load_paths([str(empty), str(comments)])
    assert result.files == [str(empty), str(comments)]
    assert (result.documents, result.skipped_documents) == (0, 0)
    assert result.objects == [] and result.invalid == []


def test_line_of_nested_nodes(tmp_path: Path) -> None:
    result = load_one(tmp_path, DEPLOYMENT)
    (obj,) = result.objects
    text = DEPLOYMENT
    assert obj.line == line_of_text(text, "apiVersion: apps/v1")
    assert obj.line_of(("kind",)) == line_of_text(text, "kind: Deployment")
    assert obj.line_of(("metadata", "name")) == line_of_text(text, "name: web")
    # flow mappings: each value on its own line as written
    assert obj.line_of(("metadata", "labels", "tier")) == line_of_text(text, "labels: {")
    containers = ("spec", "template", "spec", "containers")
    # a list item's line is where its mapping starts (the `- name:` line)
    assert obj.line_of((*containers, 0)) == line_of_text(text, "- name: nginx")
    assert obj.line_of((*containers, 0, "image")) == line_of_text(text, "image: nginx:1.27")
    assert obj.line_of((*containers, 1, "image")) == line_of_text(text, 'image: "busybox')
    assert obj.line_of((*containers, 0, "ports", 0, "containerPort")) == line_of_text(
        text, "containerPort: 80"
    )
    # an element of a flow sequence continued on the next line
    assert obj.line_of((*containers, 1, "args", 1)) == line_of_text(text, '"infinity"]')
    # a nested block mapping's value starts at its first key (`metadata:` above `annotations:`)
    assert obj.line_of(("spec", "template")) == line_of_text(text, "annotations:") - 1


def test_line_of_falls_back_to_nearest_written_ancestor(tmp_path: Path) -> None:
    (obj,) = load_one(tmp_path, DEPLOYMENT).objects
    containers = ("spec", "template", "spec", "containers")
    nginx_line = line_of_text(DEPLOYMENT, "- name: nginx")
    # no `resources` in the first container: its own line is the nearest
    assert obj.line_of((*containers, 0, "resources", "limits", "cpu")) == nginx_line
    # index past the end of the list: the list's line
    assert obj.line_of((*containers, 7, "image")) == obj.line_of(containers)
    # nothing at all: the object's first line
    assert obj.line_of(("status", "phase")) == obj.line == 2
    assert obj.line_of(()) == 2


def test_lines_are_absolute_in_later_documents(tmp_path: Path) -> None:
    padding = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pad\ndata:\n  a: b\n---\n"
    text = padding * 3 + DEPLOYMENT
    (*_, obj) = load_one(tmp_path, text).objects
    assert obj.kind == "Deployment"
    offset = padding.count("\n") * 3
    assert obj.line == offset + 2
    assert obj.line_of(
        ("spec", "template", "spec", "containers", 1, "image")
    ) == offset + line_of_text(DEPLOYMENT, 'image: "busybox')


def test_crlf_line_endings_from_stdin() -> None:
    text = "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\n---\r\n"
    text += "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: q\r\n"
    result = load_paths(["-"], stdin=io.StringIO(text))
    assert names(result) == ["p", "q"]
    assert result.objects[1].line_of(("metadata", "name")) == 9


# --------------------------------------------------------------------------- JSON


def _pod(name: str, image: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "ns1", "labels": {"app": name}},
        "spec": {
            "containers": [
                {"name": "main", "image": image, "ports": [{"containerPort": 8080}]},
            ],
            "imagePullSecrets": [{"name": "regcred"}],
        },
    }


def test_pretty_printed_json_like_kubectl(tmp_path: Path) -> None:
    text = json.dumps(_pod("p1", "nginx:1.27"), indent=4) + "\n"
    result = load_one(tmp_path, text, "pod.json")
    assert result.invalid == []
    assert result.documents == 1
    (obj,) = result.objects
    assert obj.data == _pod("p1", "nginx:1.27")
    assert obj.source is None
    assert obj.line == 1
    assert obj.line_of(("metadata", "name")) == line_of_text(text, '"name": "p1"')
    assert obj.line_of(("spec", "containers", 0, "image")) == line_of_text(text, '"image"')
    assert obj.line_of(("spec", "imagePullSecrets", 0, "name")) == line_of_text(
        text, '"name": "regcred"'
    )


def test_tab_indented_json_loads_although_yaml_cannot_parse_it(tmp_path: Path) -> None:
    text = json.dumps(_pod("tabbed", "nginx:1.27"), indent="\t") + "\n"
    with pytest.raises(yaml.YAMLError):  # the premise: YAML refuses tab indentation
        yaml.safe_load(text)
    result = load_one(tmp_path, text, "tabs.json")
    assert result.invalid == []
    (obj,) = result.objects
    assert obj.data == _pod("tabbed", "nginx:1.27")
    # lines are coarse (the object's first line) unless the loader learns to place them exactly
    image_line = line_of_text(text, '"image"')
    assert obj.line_of(("spec", "containers", 0, "image")) in (1, image_line)
    assert obj.line == 1


def test_json_list_is_expanded(tmp_path: Path) -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [_pod("a", "nginx:1.27"), {"no": "kind"}, _pod("b", "redis:7")],
    }
    text = json.dumps(doc, indent=4) + "\n"
    result = load_one(tmp_path, text, "list.json")
    assert result.invalid == []
    assert names(result) == ["a", "b"]
    assert [o.list_path for o in result.objects] == [("items", 0), ("items", 2)]
    assert result.documents == 1
    assert result.skipped_documents == 1  # the item without apiVersion/kind
    assert {o.doc_index for o in result.objects} == {0}
    a, b = result.objects
    image_lines = [n for n, line in enumerate(text.split("\n"), 1) if '"image"' in line]
    # paths are relative to the item; list_path supplies the `items[i]` prefix
    assert a.line_of(("spec", "containers", 0, "image")) == image_lines[0]
    assert b.line_of(("spec", "containers", 0, "image")) == image_lines[1]
    assert a.line < b.line
    assert b.line == b.lines[("items", 2)]


def test_json_detected_by_content_not_suffix(tmp_path: Path) -> None:
    yaml_in_json = load_one(tmp_path, "apiVersion: v1\nkind: Pod\nmetadata: {name: y}\n", "a.json")
    assert names(yaml_in_json) == ["y"]
    json_in_yaml = load_one(tmp_path, json.dumps(_pod("j", "nginx:1")), "b.yaml")
    assert names(json_in_yaml) == ["j"]


def test_invalid_json_is_an_invalid_document_with_its_line(tmp_path: Path) -> None:
    text = '{\n  "apiVersion": "v1",\n  "kind": "Pod",\n  "metadata": {"name": }\n}\n'
    result = load_one(tmp_path, text, "bad.json")
    assert result.objects == []
    assert result.documents == 0
    (bad,) = result.invalid
    assert bad.file == str(tmp_path / "bad.json")
    assert bad.line == 4
    assert bad.message.startswith("invalid JSON")


def test_json_stream_of_concatenated_objects(tmp_path: Path) -> None:
    """`kubectl apply` decodes a JSON file as a stream (yq -o json writes one object per
    document); two objects one after the other are two objects, not a broken file."""
    text = json.dumps(_pod("a", "nginx:1.27"), indent=2) + "\n"
    text += json.dumps(_pod("b", "redis:7"), indent=2) + "\n"
    result = load_one(tmp_path, text, "stream.json")
    assert result.invalid == []
    assert names(result) == ["a", "b"]
    image_lines = [n for n, line in enumerate(text.split("\n"), 1) if '"image"' in line]
    assert [o.line_of(("spec", "containers", 0, "image")) for o in result.objects] == image_lines


# --------------------------------------------------------------------------- kind: List and
# non-Kubernetes documents


def test_yaml_kind_list_is_expanded(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        ---
        # Source: chart/templates/list.yaml
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: Service
            metadata:
              name: svc
          -
          - just: a mapping
          - apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: dep
            spec:
              template:
                spec:
                  containers:
                    - name: c
                      image: nginx:1.27
        """
    )
    result = load_one(tmp_path, text)
    assert result.invalid == []
    assert [(o.kind, o.name) for o in result.objects] == [("Service", "svc"), ("Deployment", "dep")]
    assert [o.list_path for o in result.objects] == [("items", 0), ("items", 3)]
    assert result.documents == 1
    assert result.skipped_documents == 1  # `just: a mapping`; the null item is not counted
    svc, dep = result.objects
    assert svc.line == line_of_text(text, "kind: Service") - 1
    assert dep.line == line_of_text(text, "apiVersion: apps/v1")
    assert dep.line_of(("spec", "template", "spec", "containers", 0, "image")) == line_of_text(
        text, "image: nginx:1.27"
    )
    assert dep.line_of(("metadata", "name")) == line_of_text(text, "name: dep")
    # the List's source comment is every item's
    assert svc.source == dep.source == "chart/templates/list.yaml"
    # the item data is the item alone
    assert dep.data["kind"] == "Deployment" and "items" not in dep.data


def test_empty_list_and_list_without_items(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: List\nitems: []\n---\napiVersion: v1\nkind: List\n"
    result = load_one(tmp_path, text)
    assert result.documents == 2
    # an empty List yields nothing; a List without an items list stays an object of kind List
    assert [o.kind for o in result.objects] == ["List"]
    assert result.objects[0].list_path == ()


def test_non_kubernetes_documents_are_counted_as_skipped(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        replicaCount: 2          # Helm values, not an object
        ---
        - a
        - list
        ---
        just a string
        ---
        kind: Pod                # no apiVersion
        metadata: {name: nope}
        ---
        apiVersion: v1           # no kind
        ---
        apiVersion: v1
        kind: ""
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: real}
        """
    )
    result = load_one(tmp_path, text)
    assert result.invalid == []
    assert names(result) == ["real"]
    assert result.documents == 7
    assert result.skipped_documents == 6
    assert result.objects[0].doc_index == 6


# --------------------------------------------------------------------------- invalid input


def test_broken_yaml_between_two_good_documents(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: before
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: broken: twice
        data: {}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: after
        """
    )
    result = load_one(tmp_path, text)
    assert names(result) == ["before", "after"]
    (bad,) = result.invalid
    assert isinstance(bad, InvalidDocument)
    assert bad.file == str(tmp_path / "manifest.yaml")
    assert bad.line == line_of_text(text, "name: broken: twice")
    assert bad.message.startswith("invalid YAML")
    assert result.documents == 2  # the broken document is an invalid one, not a document
    after = result.objects[1]
    assert after.line == 12
    assert after.line_of(("metadata", "name")) == 15


def test_broken_yaml_reported_at_its_own_line_in_a_long_stream(tmp_path: Path) -> None:
    good = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\n"
    text = good * 5 + "apiVersion: v1\nkind: Pod\nspec:\n\tcontainers: []\n---\n" + good
    result = load_one(tmp_path, text)
    assert len(result.objects) == 6
    (bad,) = result.invalid
    assert bad.line == line_of_text(text, "\tcontainers")


def test_unclosed_flow_collection_is_invalid(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p\n---\napiVersion: v1\nkind: Pod\n"
    text += "metadata: {name: q}\n"
    result = load_one(tmp_path, text)
    assert names(result) == ["q"]
    (bad,) = result.invalid
    assert 1 <= bad.line <= 4


def test_non_utf8_file_is_an_invalid_document_and_others_still_load(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\u00e9\n".encode("latin-1")
    )
    good = write(tmp_path, "good.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n")
    result = load_paths([str(latin1), str(good)])
    assert result.files == [str(latin1), str(good)]
    assert names(result) == ["ok"]
    (bad,) = result.invalid
    assert bad.file == str(latin1)
    assert bad.line == 1
    assert "UTF-8" in bad.message


def test_bom_prefixed_yaml_and_json(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    y = tmp_path / "bom.yaml"
    y.write_bytes(bom + b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bom\n")
    j = tmp_path / "bom.json"
    j.write_bytes(bom + json.dumps(_pod("bomjson", "nginx:1.27"), indent=2).encode())
    result = load_paths([str(y), str(j)])
    assert result.invalid == []
    assert names(result) == ["bom", "bomjson"]
    yobj, jobj = result.objects
    assert yobj.line == 1
    assert yobj.line_of(("metadata", "name")) == 4
    assert jobj.data == _pod("bomjson", "nginx:1.27")
    json_text = json.dumps(_pod("bomjson", "nginx:1.27"), indent=2)
    assert jobj.line_of(("spec", "containers", 0, "image")) == line_of_text(json_text, '"image"')


def test_form_feed_does_not_shift_line_numbers(tmp_path: Path) -> None:
    """Lines are what an editor and a GitHub annotation count: `\\n`-terminated. A form feed
    (which YAML does not even allow) must not start a line of its own."""
    text = "# page one\x0c\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
    result = load_one(tmp_path, text)
    if result.invalid:  # rejected, as kubectl rejects control characters: fine
        return
    (obj,) = result.objects
    assert obj.line_of(("metadata", "name")) == 5


# --------------------------------------------------------------------------- discover


def test_discover_directories_recursively_sorted_and_filtered(tmp_path: Path) -> None:
    root = tmp_path / "deploy"
    for rel in (
        "b.yaml",
        "a.yml",
        "z/deep/c.json",
        "m/x.yaml",
        "notes.txt",
        "README.md",
        "chart.yaml.bak",
        ".hidden/secret.yaml",
        "m/.git/config.yaml",
        ".pullgate.yaml",
    ):
        write(root, rel, "{}\n")
    (root / "dir.yaml").mkdir()  # a directory with a manifest suffix is no file
    found = discover([str(root)])
    assert found == [
        str(root / "a.yml"),
        str(root / "b.yaml"),
        str(root / "m" / "x.yaml"),
        str(root / "z" / "deep" / "c.json"),
    ]


def test_discover_explicit_hidden_root_is_searched(tmp_path: Path) -> None:
    root = tmp_path / ".github" / "k8s"
    write(root, "app.yaml", "{}\n")
    assert discover([str(root)]) == [str(root / "app.yaml")]


def test_discover_explicit_files_of_any_suffix_and_stdin(tmp_path: Path) -> None:
    txt = write(tmp_path, "rendered.txt", "{}\n")
    noext = write(tmp_path, "manifest", "{}\n")
    d = tmp_path / "dir"
    write(d, "one.yaml", "{}\n")
    found = discover([str(noext), "-", str(d), str(txt)])
    assert found == [str(noext), "-", str(d / "one.yaml"), str(txt)]


def test_discover_missing_path_is_a_load_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(LoadError, match=r"nope\.yaml: no such file"):
        discover([str(missing)])
    with pytest.raises(LoadError):
        load_paths([str(write(tmp_path, "ok.yaml", "{}\n")), str(missing)])


def test_stdin_is_read_from_the_given_stream(tmp_path: Path) -> None:
    disk = write(tmp_path, "disk.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: disk}\n")
    stream = io.StringIO("apiVersion: v1\nkind: Pod\nmetadata:\n  name: piped\n")
    result = load_paths([str(disk), "-"], stdin=stream)
    assert result.files == [str(disk), "-"]
    assert names(result) == ["disk", "piped"]
    piped = result.objects[1]
    assert piped.file == "-"
    assert piped.line_of(("metadata", "name")) == 4


# --------------------------------------------------------------------------- Helm sources


def test_helm_source_comments(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        ---
        # Source: mychart/templates/serviceaccount.yaml
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: sa
        ---
        # Source: mychart/templates/deployment.yaml
        # This deployment runs the app.

        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: app
        # Source: mychart/templates/stray.yaml
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: no-source
        ---
        # Source: mychart/templates/empty.yaml
        ---
        # just a note
        apiVersion: v1
        kind: Service
        metadata:
          name: after-empty
        ---
        apiVersion: v1
        kind: Secret
        # Source: mychart/templates/inside.yaml
        metadata:
          name: comment-inside
        """
    )
    result = load_one(tmp_path, text)
    assert [(o.name, o.source) for o in result.objects] == [
        ("sa", "mychart/templates/serviceaccount.yaml"),
        ("app", "mychart/templates/deployment.yaml"),
        # the comment at the end of the previous document does not leak past `---`
        ("no-source", None),
        # nor does the comment of an empty document
        ("after-empty", None),
        # a comment inside the object is not above it
        ("comment-inside", None),
    ]


def test_helm_source_on_first_document_without_separator(tmp_path: Path) -> None:
    text = "# Source: c/templates/a.yaml\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
    (obj,) = load_one(tmp_path, text).objects
    assert obj.source == "c/templates/a.yaml"


def test_no_helm_source_without_comment(tmp_path: Path) -> None:
    (obj,) = load_one(tmp_path, DEPLOYMENT).objects
    assert obj.source is None  # `# a hand-written deployment` is no Source comment


# --------------------------------------------------------------------------- separators


def test_separator_inside_block_scalar_is_content_not_a_new_document(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: scripts
        data:
          run.sh: |
            echo start
            ---
            echo end
          notes.md: |-
              ---
              title: front matter
              ---
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: next
        """
    )
    result = load_one(tmp_path, text)
    assert result.invalid == []
    assert names(result) == ["scripts", "next"]
    assert result.documents == 2
    data = result.objects[0].data["data"]
    assert data["run.sh"] == "echo start\n---\necho end\n"
    assert data["notes.md"] == "---\ntitle: front matter\n---"
    assert result.objects[1].line == line_of_text(text, "name: next") - 3


def test_separator_with_trailing_content(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n--- # comment\n"
    text += "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\n---\t\napiVersion: v1\nkind: Pod\n"
    text += "metadata: {name: c}\n"
    result = load_one(tmp_path, text)
    assert names(result) == ["a", "b", "c"]
    assert [o.line for o in result.objects] == [1, 5, 9]


# --------------------------------------------------------------------------- anchors and aliases


def test_anchors_aliases_and_merge_keys(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: Pod
        metadata:
          name: anchored
          labels: &labels
            app: anchored
          annotations:
            copy: *labels
        spec:
          containers:
            - name: a
              image: &img nginx:1.27
            - name: b
              image: *img
            - <<: &base
                image: busybox:1.36
                imagePullPolicy: Always
              name: c
        """
    )
    result = load_one(tmp_path, text)
    assert result.invalid == []
    (obj,) = result.objects
    assert obj.data["metadata"]["annotations"]["copy"] == {"app": "anchored"}
    containers = obj.data["spec"]["containers"]
    assert [c["image"] for c in containers] == ["nginx:1.27", "nginx:1.27", "busybox:1.36"]
    assert containers[2] == {"image": "busybox:1.36", "imagePullPolicy": "Always", "name": "c"}
    anchor_line = line_of_text(text, "image: &img")
    alias_line = line_of_text(text, "image: *img")
    assert obj.line_of(("spec", "containers", 0, "image")) == anchor_line
    # an alias is where its anchor's value was written, or where the alias is: either points
    # the user at a line holding `image:` for this container
    assert obj.line_of(("spec", "containers", 1, "image")) in (anchor_line, alias_line)
    # a merged key is found at the line its value was written
    assert obj.line_of(("spec", "containers", 2, "image")) == line_of_text(text, "busybox:1.36")
    assert obj.line_of(("spec", "containers", 2, "name")) == line_of_text(text, "name: c")


def test_recursive_alias_is_an_invalid_document_not_a_crash(tmp_path: Path) -> None:
    """`&a [*a]` is a node containing itself; kubectl (go-yaml) rejects it."""
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\n---\n"
    text += "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: loop}\ndata: &a\n  k: [*a]\n"
    text += "---\napiVersion: v1\nkind: Pod\nmetadata: {name: ok2}\n"
    result = load_one(tmp_path, text)
    assert names(result) == ["ok", "ok2"]
    (bad,) = result.invalid
    assert 5 <= bad.line <= 9


def test_alias_bomb_is_bounded(tmp_path: Path) -> None:
    """A few hundred bytes of nested aliases expand to 10**9 nodes; walking them as a tree
    never ends (and exhausts memory). kubectl refuses `excessive aliasing`; pullgate must
    finish, one way or the other, in bounded time and memory."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", "data:"]
    lines.append("  l0: &l0 [" + ", ".join(["x"] * 10) + "]")
    for level in range(1, 9):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    path = write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from gate.load import load_paths\n"
        "r = load_paths([sys.argv[1]])\n"
        "print(len(r.objects) + len(r.invalid))\n"
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", script, str(path)],
            capture_output=True,
            text=True,
            timeout=20,
            cwd=paths.ROOT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("loading a 400-byte alias bomb did not finish in 20 s")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "1"


def test_deeply_nested_yaml_is_not_a_traceback(tmp_path: Path) -> None:
    """3000 levels are within what kubectl accepts (go-yaml allows 10000)."""
    depth = 3000
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n  x: "
    text += "[" * depth + "]" * depth + "\n"
    result = load_one(tmp_path, text)
    assert len(result.objects) + len(result.invalid) == 1


def test_deeply_nested_json_is_not_a_traceback(tmp_path: Path) -> None:
    depth = 3000
    text = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deep"}, "x": '
    text += "[" * depth + "]" * depth + "}\n"
    result = load_one(tmp_path, text, "deep.json")
    assert len(result.objects) + len(result.invalid) == 1


# --------------------------------------------------------------------------- KubeObject


def test_kube_object_properties() -> None:
    obj = KubeObject(
        data={"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "run-"}},
        file="f.yaml",
        doc_index=3,
        lines={(): 10, ("metadata",): 11},
    )
    assert obj.kind == "Job"
    assert obj.api_version == "batch/v1"
    assert obj.name == "run-*"
    assert obj.namespace is None
    assert obj.line == 10
    assert obj.line_of(("metadata", "generateName")) == 11
    bare = KubeObject(
        data={"apiVersion": "v1", "kind": "X", "metadata": "oops"}, file="f", doc_index=0, lines={}
    )
    assert bare.metadata == {}
    assert bare.name == ""
    assert bare.line == 1
    named = KubeObject(
        data={"apiVersion": "v1", "kind": "X", "metadata": {"name": "n", "namespace": "ns"}},
        file="f",
        doc_index=0,
        lines={},
    )
    assert (named.name, named.namespace) == ("n", "ns")


def test_load_text_appends_to_a_given_result() -> None:
    result = LoadResult()
    load_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", "one.yaml", result)
    load_text('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}}', "two.json", result)
    assert names(result) == ["a", "b"]
    assert [o.file for o in result.objects] == ["one.yaml", "two.json"]
    assert result.documents == 2


def test_a_named_pipe_is_read_like_a_file(tmp_path: Path) -> None:
    """`pullgate check <(helm template ...)` hands over a pipe, not a regular file."""
    import os
    import threading

    fifo = tmp_path / "rendered"
    os.mkfifo(fifo)
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: piped}\nspec: {containers: []}\n"
    writer = threading.Thread(target=fifo.write_text, args=(text,))
    writer.start()
    result = load_paths([str(fifo)])
    writer.join(5)
    assert [o.name for o in result.objects] == ["piped"]
    assert result.files == [str(fifo)]


def test_duplicate_keys_are_invalid_documents_in_yaml_and_json(tmp_path: Path) -> None:
    """A key written twice: PyYAML and Python's json keep the last value silently, so the
    first `image:` would never be checked. The API server's strict field validation (kubectl's
    default `--validate=strict`) refuses the object ("duplicate field"), so does pullgate."""
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers:
            - name: app
              image: nginx:latest
              image: nginx:1.27
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: &meta {name: merged}
        data:
          <<: {a: "1"}
          <<: {b: "2"}
        """
    )
    result = load_one(tmp_path, text)
    (bad,) = result.invalid
    assert bad.line == line_of_text(text, "image: nginx:1.27")
    assert "duplicate key 'image' in spec.containers[0] (first at line 7" in bad.message
    assert names(result) == ["merged"]  # `<<` merge keys may repeat
    json_text = '{"apiVersion": "v1", "kind": "Pod",\n "metadata": {"name": "a", "name": "b"}}\n'
    result = load_one(tmp_path, json_text, "pod.json")
    (bad,) = result.invalid
    assert (bad.line, bad.message) == (
        2,
        "invalid JSON: duplicate key 'name' in metadata (first at line 2; the API server "
        "refuses a duplicate field)",
    )


def test_discover_follows_directory_links_once_and_survives_loops(tmp_path: Path) -> None:
    """A symlinked subdirectory was not searched (pathlib's rglob does not follow links):
    now it is, once; a link back to an ancestor is a loop, walked once only."""
    root = tmp_path / "deploy"
    write(root, "app.yaml", "{}\n")
    shared = tmp_path / "shared"
    write(shared, "db.yaml", "{}\n")
    (root / "db").symlink_to(shared, target_is_directory=True)
    (root / "again").symlink_to(root, target_is_directory=True)  # a loop
    assert discover([str(root)]) == [str(root / "app.yaml"), str(root / "db" / "db.yaml")]


def test_discover_refuses_what_it_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unreadable directory was skipped silently and a manifest link to nothing ignored:
    the gate failed open. Both are now a LoadError (exit 2) naming the path. (The tests run as
    root, whom no permission stops, so the unreadable directory is simulated.)"""
    root = tmp_path / "deploy"
    write(root, "app.yaml", "{}\n")
    (root / "gone.yaml").symlink_to(tmp_path / "missing.yaml")
    with pytest.raises(LoadError, match=r"gone\.yaml: a symbolic link to nothing"):
        discover([str(root)])
    (root / "gone.yaml").unlink()
    locked = root / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(LoadError, match=r"locked: cannot list this directory: Permission denied"):
        discover([str(root)])
    dangling = tmp_path / "named.yaml"
    dangling.symlink_to(tmp_path / "nowhere.yaml")
    with pytest.raises(LoadError, match=r"named\.yaml: a symbolic link to nothing"):
        discover([str(dangling)])


# -- one pass for plain documents, the exact path for the rest ---------------------------

_EXACT_PATH_DOCUMENTS = {
    "alias of a mapping": "apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: a}\ndata: *m\n",
    "alias of a scalar": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: &n a}\ndata: {x: *n}\n",
    "merge key": "apiVersion: v1\nkind: X\nbase: &b {a: 1}\nspec:\n  <<: *b\n  c: 2\n",
    "number keys": "apiVersion: v1\nkind: X\nspec:\n  1: one\n  2.5: two\n  null: three\n",
    "value key": "apiVersion: v1\nkind: X\nspec: {=: x}\n",
    "duplicate key": "apiVersion: v1\nkind: X\nspec:\n  a: 1\n  a: 2\n",
    "scalars": "apiVersion: v1\nkind: X\nspec: [yes, no, ~, 0x1f, 1e3, .inf, 2024-01-01,"
    " '2024-01-01', !!binary aGk=, 012, 1_000]\n",
    "explicit tags": "apiVersion: v1\nkind: X\nspec: !!map {a: !!str 1, b: !!int '2'}\n",
    "unknown tag": "apiVersion: v1\nkind: X\nspec: !custom {a: 1}\n",
    "str tag on a mapping": "apiVersion: v1\nkind: X\nspec: !!str {a: 1}\n",
    "set": "apiVersion: v1\nkind: X\nspec: !!set {a, b}\n",
    # a collection tag on a scalar: SafeConstructor refuses it (found by a reviewer's fuzzing)
    "map tag on a scalar": "apiVersion: v1\nkind: X\na: !!map x\n",
    "seq tag on a scalar": "apiVersion: v1\nkind: X\na: !!seq x\n",
    "set tag on an empty scalar": "apiVersion: v1\nkind: X\na: !!set\n",
    "omap tag on a scalar": "apiVersion: v1\nkind: X\na: !!omap x\n",
    "pairs tag on a scalar": "apiVersion: v1\nkind: X\na: !!pairs x\n",
    # libyaml breaks lines on U+2028, the splitter does not: two documents share one loader
    "refused, then another in the same chunk": "apiVersion: v1\nkind: X\na: !!map x\n"
    "---\u2028apiVersion: v1\nkind: Y\nb: &q [1]\nc: *q\n",
    "self alias": "apiVersion: v1\nkind: X\nspec: &s [*s]\n",
    "deep": "apiVersion: v1\nkind: X\nspec: " + "[" * 2000 + "]" * 2000 + "\n",
    "excessive aliasing": "apiVersion: v1\nkind: X\na: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ),
}


def _exactly(text: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`load_text` as it was before the one-pass construction: every document through PyYAML's
    SafeConstructor and `_record_lines`."""

    def refuse(*args: Any) -> Any:
        raise gate.load._NotPlain

    with monkeypatch.context() as patch:
        patch.setattr(gate.load, "_construct_plain", refuse)
        return _outcome(text)


def _outcome(text: str) -> Any:
    result = load_text(text, "f.yaml")
    objects = [(o.data, o.lines, o.source, o.list_path) for o in result.objects]
    return objects, result.invalid, result.documents, result.skipped_documents


@pytest.mark.parametrize("text", _EXACT_PATH_DOCUMENTS.values(), ids=_EXACT_PATH_DOCUMENTS)
def test_one_pass_construction_gives_what_pyyaml_gives(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every document the one pass leaves to PyYAML (aliases, merge keys, tags, keys that are
    not strings, duplicates, nesting) loads exactly as through SafeConstructor, errors too."""
    plain = _outcome("# Source: chart/x.yaml\n" + text + "---\n" + PLAIN_DEPLOYMENT)
    assert plain == _exactly(
        "# Source: chart/x.yaml\n" + text + "---\n" + PLAIN_DEPLOYMENT, monkeypatch
    )
    assert plain[0][-1][0]["kind"] == "Deployment"  # the next document still loads


PLAIN_DEPLOYMENT = textwrap.dedent(
    """\
    # Source: chart/templates/web.yaml
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, labels: {"app": web}}
    spec:
      replicas: 2
      template:
        spec:
          containers:
            - name: web
              image: "registry.example.com/web:1.0"
              ports: [{containerPort: 8080}]
              env: [{name: A, value: "1"}, {name: B, value: '2'}]
    """
)


def test_one_pass_construction_matches_pyyaml_on_the_corpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real published manifests (several megabytes of Helm output, JSON-ish flow
    style, block scalars, Lists) load to the same data, lines and sources both ways."""
    corpus = paths.require_shared(paths.CORPUS, "the manifest corpus (../shared/corpus)")
    files = sorted(corpus.glob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        assert _outcome(text) == _exactly(text, monkeypatch), path.name


# ------------------------------------------------------------------ reading a block at a time


def _loaded(path: Path, whole: bool = False) -> Any:
    result = load_text(path.read_text(), str(path)) if whole else load_paths([str(path)])
    objects = [(o.data, o.lines, o.source, o.list_path) for o in result.objects]
    return objects, result.invalid, result.documents, result.skipped_documents, result.files


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64])
def test_a_file_read_in_blocks_loads_as_its_whole_text(
    tmp_path: Path, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Separators, CRLF pairs, a lone CR and the last unended line all fall across block
    boundaries at some block size: the result is the one of the text read whole."""
    text = (
        "---\r\n# Source: chart/a.yaml\r\napiVersion: v1\r\nkind: ConfigMap\r\n"
        "metadata: {name: a}\r\ndata:\r\n  x: |\r\n    ---\r\n    not a separator\r\n"
        "--- # next\rapiVersion: v1\rkind: Secret\rmetadata: {name: b}\r"
        "---\n\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: c}\n"
        "spec: {containers: [{name: c, image: 'nginx:1.27'}]}\n"
        "---\nbroken: [\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}"
    )
    path = tmp_path / "stream.yaml"
    path.write_bytes(text.encode())
    whole = _loaded(path, whole=True)
    monkeypatch.setattr(gate.load, "_BLOCK", block)
    assert _loaded(path)[:4] == whole[:4]
    objects, invalid, documents, _, _ = whole
    assert [o[0]["metadata"]["name"] for o in objects] == ["a", "b", "c", "d"]
    assert objects[0][2] == "chart/a.yaml"
    assert [i.line for i in invalid] == [22]  # `broken: [`, not the `---` after it
    assert documents == 4  # the broken one is not counted
    assert objects[3][1][("metadata", "name")] == 26


def test_the_corpus_read_in_small_blocks_loads_as_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real Helm output and release bundles, read 4 KiB at a time."""
    corpus = paths.require_shared(paths.CORPUS, "the manifest corpus (../shared/corpus)")
    files = sorted(corpus.glob("*.yaml"))
    assert files
    for path in files:
        whole = load_text(path.read_text(encoding="utf-8-sig"), str(path))
        monkeypatch.setattr(gate.load, "_BLOCK", 4096)
        streamed = load_paths([str(path)])
        monkeypatch.undo()
        assert [(o.data, o.lines, o.source) for o in streamed.objects] == [
            (o.data, o.lines, o.source) for o in whole.objects
        ], path.name
        assert streamed.invalid == whole.invalid, path.name


def test_a_bad_byte_after_the_first_blocks_makes_the_file_one_invalid_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No object of a file with a byte that is not UTF-8 is taken, wherever the byte is: the
    bytes are checked before the documents are parsed."""
    good = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n" * 50
    path = tmp_path / "late.yaml"
    path.write_bytes(good.encode() + b"data: {a: \xff}\n")
    monkeypatch.setattr(gate.load, "_BLOCK", 64)
    taken: list[KubeObject] = []
    result = load_paths([str(path)], sink=taken.append)
    assert taken == [] and result.object_count == 0
    assert result.invalid == [InvalidDocument(str(path), 1, "not UTF-8 text: invalid start byte")]
    assert result.files == [str(path)]


def test_a_large_file_is_loaded_in_the_memory_of_a_document_not_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deployments read 16 KiB at a time and handed to a sink that keeps nothing: the most
    Python holds at once is a few blocks and a document, the same for 0.4 MB as for 2 MB,
    never the text of the file (tracemalloc counts every allocation; strings are not interned
    here, as the interpreter's table of them grows by what the process did before)."""
    import tracemalloc

    monkeypatch.setattr(gate.load, "_BLOCK", 1 << 14)
    monkeypatch.setattr(gate.load, "_INTERNED", -1)
    document = PLAIN_DEPLOYMENT + "---\n"
    peaks = {}
    for size in (400_000, 2_000_000):
        path = tmp_path / f"{size}.yaml"
        path.write_text(document * (size // len(document)))
        tracemalloc.start()
        try:
            result = load_paths([str(path)], sink=lambda obj: None)
            _, peaks[size] = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert result.object_count == size // len(document)
    grown = peaks[2_000_000] - peaks[400_000]
    assert grown < 160_000, f"1.6 MB more text took {grown / 1e3:.0f} kB more ({peaks})"
    assert peaks[2_000_000] < 1_000_000, peaks


# --------------------------------------------------------------------------- tags of scalars

_TRICKY_SCALARS = [
    "yes",
    "Yes",
    "YES",
    "no",
    "No",
    "NO",
    "on",
    "On",
    "ON",
    "off",
    "Off",
    "OFF",
    "y",
    "Y",
    "n",
    "N",
    "true",
    "True",
    "TRUE",
    "tRue",
    "false",
    "~",
    "null",
    "Null",
    "NULL",
    "nULL",
    "0",
    "-0",
    "+1",
    "012",
    "0o17",
    "0x1F",
    "0b101",
    "1_000",
    "190:20:30",
    "1.5",
    "-.5",
    ".inf",
    "-.Inf",
    ".NaN",
    ".nan",
    "1e3",
    "6.8523015e+5",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "<",
    "<=",
    "=x",
    "nginx",
    "namespace",
    "team",
    "true1",
    "on-call",
    "nullable",
    "0.0.0.0",
    "1.2.3",
    "+inf",
    "x-1",
    "oN",
]
_QUOTED_ONLY = ["!", "&", "*", "", " "]  # indicators and blanks: a scalar only when quoted


@pytest.mark.parametrize("style", ["plain", "single", "double", "key"])
def test_scalars_get_the_tags_pyyaml_gives_them(style: str) -> None:
    """gate.load's loader answers the parser's tag question faster (a first character that
    starts no pattern is a string at once, other answers are kept): every scalar still gets
    PyYAML's own tag, plain or quoted, as a value or a key, and again the second time."""
    values = _TRICKY_SCALARS + (_QUOTED_ONLY if style in ("single", "double") else [])
    lines = []
    for index, value in enumerate(values):
        if style == "key":
            lines.append(f'"{index}": {{{value}: {index}}}')
        else:
            written = {"plain": value, "single": f"'{value}'", "double": f'"{value}"'}[style]
            lines.append(f'"{index}": {written}')
    document = "\n".join(lines) + "\n"
    manifest = "apiVersion: v1\nkind: X\nd:\n" + textwrap.indent(document, "  ")
    expected = _loaded_by(yaml.CSafeLoader, document)
    assert isinstance(expected, dict) and len(expected) == len(values)
    for _ in range(2):
        assert _loaded_by(gate.load._Loader, document) == expected
        assert load_text(manifest, "f.yaml").objects[0].data["d"] == expected
    # a plain `=` (the value tag) and a plain `<<` key (a merge of a scalar) are refused alike
    for refused in ("a: =\n", "a: {<<: 1}\n"):
        expected = _loaded_by(yaml.CSafeLoader, refused)
        assert isinstance(expected, str)
        assert _loaded_by(gate.load._Loader, refused) == expected
        assert expected in load_text(refused, "f.yaml").invalid[0].message


def _loaded_by(loader: Any, text: str) -> Any:
    try:
        return yaml.load(text, Loader=loader)  # both are safe loaders
    except yaml.YAMLError as exc:
        return str(getattr(exc, "problem", exc)).split(",")[0]


def test_the_loader_adds_no_resolver() -> None:
    """A resolver by path, or one tried for every first character, would make a scalar's tag
    depend on more than its value (what gate.load's loader assumes)."""
    assert not gate.load._Loader.yaml_path_resolvers
    assert None not in gate.load._Loader.yaml_implicit_resolvers
    assert gate.load._Loader.yaml_implicit_resolvers == yaml.CSafeLoader.yaml_implicit_resolvers


def test_the_corpus_loads_to_what_pyyaml_loads() -> None:
    """Every document of the real published manifests, as PyYAML's own CSafeLoader reads it."""
    corpus = paths.require_shared(paths.CORPUS, "the manifest corpus (../shared/corpus)")
    files = sorted(corpus.glob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        result = load_text(text, path.name)
        documents = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None]
        kube = [
            d for d in documents if isinstance(d, dict) and d.get("apiVersion") and d.get("kind")
        ]
        expanded = []
        for data in kube:
            if str(data["kind"]).endswith("List") and isinstance(data.get("items"), list):
                expanded.extend(
                    i
                    for i in data["items"]
                    if isinstance(i, dict) and i.get("apiVersion") and i.get("kind")
                )
            else:
                expanded.append(data)
        assert [o.data for o in result.objects] == expanded, path.name


def test_loading_leaves_no_garbage_for_the_cycle_collector() -> None:
    """Each document is freed as soon as it is taken: loading builds no reference cycle (a
    builder that refers to itself kept every document's nodes alive until the collector ran,
    which on 20,000 objects cost time and, with the collector late, memory)."""
    import gc

    text = (PLAIN_DEPLOYMENT + "---\n") * 200
    load_text(text, "f.yaml")  # what the first load creates once (shared strings, tags)
    gc.collect()
    gc.disable()
    try:
        load_text(text, "f.yaml", LoadResult(sink=lambda obj: None))
        assert gc.collect() == 0
    finally:
        gc.enable()


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_json_lines_are_the_same_from_a_pipe_stdin_and_a_file(tmp_path: Path, newline: str) -> None:
    """Lines end at a CR, a CRLF or an LF in JSON as in YAML, whichever way the text comes
    (a reviewer found a pipe's lone CRs counted as no line at all)."""
    import threading

    text = newline.join(
        [
            '{"apiVersion": "v1", "kind": "Pod",',
            ' "metadata": {"name": "a"}}',
            '{"apiVersion": "v1",',
            ' "kind": "Pod", "metadata": {"name": "b"}}',
            "",
        ]
    )
    file = tmp_path / "set.json"
    file.write_bytes(text.encode())
    fifo = tmp_path / "piped"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(text.encode(),))
    writer.start()
    piped = load_paths([str(fifo)])
    writer.join(5)
    streamed = load_paths(["-"], stdin=io.StringIO(text))
    for result in (load_paths([str(file)]), piped, streamed):
        lines = [(o.name, o.line, o.line_of(("metadata", "name"))) for o in result.objects]
        assert lines == [("a", 1, 2), ("b", 3, 4)]
