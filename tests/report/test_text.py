"""The text report leaves no finding out, and puts each under its file and object."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import pullgate

SET = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      serviceAccountName: ghost
      imagePullSecrets: [{name: nope}]
      containers:
        - name: app
          image: busybox:latest
          env:
            - name: X
              valueFrom: {secretKeyRef: {name: missing-env, key: x}}
      volumes:
        - name: v
          secret: {secretName: missing-volume}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: builder, namespace: shop}
imagePullSecrets: [{name: sa-secret-gone}]
---
apiVersion: v1
kind: Pod
metadata: {name: uses-builder, namespace: shop}
spec:
  serviceAccountName: builder
  containers: [{name: c, image: "busybox:1.36"}]
---
key: [unclosed
"""


def test_every_finding_is_in_the_text_report(tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(SET)
    report = json.loads(pullgate("check", "--offline", "--format", "json", str(path)).stdout)
    text = pullgate("check", "--offline", str(path)).stdout
    rules = {f["rule"] for f in report["findings"]}
    assert {
        "image-latest-tag",
        "service-account-missing",
        "pull-secret-missing",
        "secret-ref-missing",
        "manifest-invalid",
    } <= rules
    for finding in report["findings"]:
        assert finding["message"] in text, finding
    assert text.count("error [") == len(report["findings"])
    deployment = text.index("  Deployment shop/web")
    pod = text.index("  Pod shop/uses-builder")
    assert deployment < text.index("[secret-ref-missing]") < pod
    assert "[manifest-invalid] line 31" in text  # where the unclosed bracket opened
