"""Manifests and docker configs the credential tests write: pull secrets, pods, line lookup."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any


def dockerconfigjson(auths: dict[str, tuple[str, str]], *, with_auth: bool = True) -> str:
    entries: dict[str, Any] = {}
    for key, (user, password) in auths.items():
        entry: dict[str, Any] = {"username": user, "password": password}
        if with_auth:
            entry["auth"] = base64.b64encode(f"{user}:{password}".encode()).decode()
        entries[key] = entry
    return json.dumps({"auths": entries})


def secret(
    name: str,
    auths: dict[str, tuple[str, str]],
    *,
    namespace: str = "apps",
    legacy: bool = False,
    string_data: bool = False,
) -> str:
    if legacy:
        payload = json.dumps(
            {
                key: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()}
                for key, (u, p) in auths.items()
            }
        )
        kind, key = "kubernetes.io/dockercfg", ".dockercfg"
    else:
        payload, kind, key = dockerconfigjson(auths), "kubernetes.io/dockerconfigjson", None
        key = ".dockerconfigjson"
    if string_data:
        body = f"stringData:\n  {key}: '{payload}'"
    else:
        body = f"data:\n  {key}: {base64.b64encode(payload.encode()).decode()}"
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
        f"type: {kind}\n{body}\n"
    )


def pod(image: str, *, secrets: list[str] | None = None, sa: str | None = None) -> str:
    lines = ["apiVersion: v1", "kind: Pod", "metadata:", "  name: app", "  namespace: apps"]
    lines.append("spec:")
    if sa:
        lines.append(f"  serviceAccountName: {sa}")
    if secrets:
        lines.append("  imagePullSecrets:")
        lines += [f"    - name: {name}" for name in secrets]
    lines += ["  containers:", "    - name: app", f"      image: {image}"]
    return "\n".join(lines) + "\n"


def line_of(tmp_path: Path, needle: str) -> int:
    lines = (tmp_path / "set.yaml").read_text().splitlines()
    [number] = [n for n, text in enumerate(lines, 1) if needle in text]
    return number
