"""Helpers to write examples/<kind>.expected.json: resolve dotted paths to (line, value) in a YAML file."""
import json
import re
from pathlib import Path

import yaml

EX = Path(__file__).resolve().parent.parent / "examples"
_PART = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


class Doc:
    def __init__(self, fname):
        self.fname = fname
        text = (EX / fname).read_text(encoding="utf-8")
        self.nodes = [d for d in yaml.compose_all(text, Loader=yaml.SafeLoader)]
        self.data = [yaml.safe_load(yaml.serialize(d)) if d is not None else None for d in self.nodes]
        self.lines = text.split("\n")

    def node(self, doc, path):
        n = self.nodes[doc]
        for part in path.split("."):
            m = _PART.fullmatch(part)
            assert m, (path, part)
            key, idx = m.group(1), m.group(2)
            assert isinstance(n, yaml.MappingNode), (self.fname, path, part)
            found = [v for k, v in n.value if k.value == key]
            assert found, (self.fname, doc, path, key)
            n = found[0]
            for i in re.findall(r"\[(\d+)\]", idx):
                assert isinstance(n, yaml.SequenceNode), (self.fname, path)
                n = n.value[int(i)]
        return n

    def at(self, doc, path):
        n = self.node(doc, path)
        assert isinstance(n, yaml.ScalarNode), (self.fname, path)
        line = n.start_mark.line + 1
        assert n.value in self.lines[line - 1], (self.fname, line, n.value)
        return line, n.value

    def value(self, doc, path):
        return yaml.safe_load(yaml.serialize(self.node(doc, path)))

    def meta(self, doc):
        d = self.data[doc]
        m = d.get("metadata", {})
        return d["apiVersion"], d["kind"], m.get("name") or (m.get("generateName", "") + "*"), m.get("namespace")


def image(d, doc, path, *, container, pod_container, role, namespace, pull_secrets, service_account,
          node_selector=None, pod=None, note=None):
    line, value = d.at(doc, path)
    api, kind, name, _ = d.meta(doc)
    e = {"doc": doc, "apiVersion": api, "kind": kind, "name": name, "path": path, "line": line,
         "image": value, "container": container, "pod_container": pod_container, "role": role,
         "pod": pod, "namespace": namespace, "pull_secrets": pull_secrets,
         "service_account": service_account, "node_selector": node_selector}
    if note:
        e["note"] = note
    return e


def derived(d, doc, *, image, from_paths, container, pod_container, role, namespace, pull_secrets,
            service_account, node_selector=None, pod=None, note=None, applies_to=None):
    """An image the controller uses that is not written as such: built from other fields or a default."""
    api, kind, name, _ = d.meta(doc)
    src = []
    for p in from_paths:
        line, value = d.at(doc, p)
        src.append({"path": p, "line": line, "value": value})
    e = {"doc": doc, "apiVersion": api, "kind": kind, "name": name, "path": None, "line": None,
         "image": image, "derived_from": src, "container": container, "pod_container": pod_container,
         "role": role, "pod": pod, "namespace": namespace, "pull_secrets": pull_secrets,
         "service_account": service_account, "node_selector": node_selector}
    if applies_to is not None:
        n = d.node(doc, applies_to)
        e["applies_to"] = {"path": applies_to, "line": n.start_mark.line + 1}
    if note:
        e["note"] = note
    return e


def write(fname, *, source, rules, images, not_in_manifest=(), notes=()):
    out = {"file": fname, "source": source, "rules": rules, "images": images,
           "image_count": len(images), "unique_images": sorted({i["image"] for i in images}),
           "not_in_manifest": list(not_in_manifest), "notes": list(notes)}
    (EX / (fname.rsplit(".", 1)[0] + ".expected.json")).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return out
