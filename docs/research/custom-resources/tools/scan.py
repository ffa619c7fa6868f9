"""List every `image`-like scalar in custom resources of a YAML stream, with dotted path and line.

Usage: python3 scan.py FILE [KIND ...]
Prints JSON lines: {file, doc, kind, name, path, line, key, value}. Uses PyYAML's composer so
line numbers are the 1-based line of the value node. Keys reported: image, baseImage, tag, sha,
version, serviceAccountName, serviceAccount, imagePullSecrets, nodeSelector, name-of-container.
"""
import json
import sys

import yaml

KEYS = {"image", "baseImage", "tag", "sha", "version", "serviceAccountName", "serviceAccount",
        "imagePullSecrets", "nodeSelector", "packagePullSecrets"}


def walk(node, path, out):
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            p = f"{path}.{key}" if path else key
            if key in KEYS:
                if isinstance(v, yaml.ScalarNode):
                    out.append((p, v.start_mark.line + 1, key, v.value))
                else:
                    out.append((p, v.start_mark.line + 1, key, yaml.safe_load(yaml.serialize(v))))
            walk(v, p, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            walk(item, f"{path}[{i}]", out)


def main():
    fname = sys.argv[1]
    kinds = set(sys.argv[2:])
    with open(fname, encoding="utf-8") as fh:
        text = fh.read()
    for di, doc in enumerate(yaml.compose_all(text, Loader=yaml.SafeLoader)):
        if doc is None or not isinstance(doc, yaml.MappingNode):
            continue
        top = {k.value: v for k, v in doc.value}
        kind = top.get("kind").value if "kind" in top else None
        if kinds and kind not in kinds:
            continue
        meta = yaml.safe_load(yaml.serialize(top["metadata"])) if "metadata" in top else {}
        name = meta.get("name") or (meta.get("generateName", "") + "*")
        out = []
        walk(doc, "", out)
        for p, line, key, value in out:
            print(json.dumps({"file": fname.rsplit("/", 1)[-1], "doc": di, "kind": kind, "name": name,
                              "namespace": meta.get("namespace"), "path": p, "line": line,
                              "key": key, "value": value}))


if __name__ == "__main__":
    main()
