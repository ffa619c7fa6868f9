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


REPEATED = """\
kind: Deployment
apiVersion: apps/v1
metadata:
  name: proxy
  namespace: kong
spec:
  template:
    spec:
      imagePullSecrets: [{name: kong-enterprise-edition-docker}]
      containers:
        - name: proxy
          image: kong/kong-gateway:3.4
          env:
            - name: KONG_LICENSE_DATA
              valueFrom: {secretKeyRef: {name: kong-enterprise-license, key: license}}
            - name: KONG_PASSWORD
              valueFrom: {secretKeyRef: {name: kong-enterprise-superuser-password, key: password}}
        - name: ingress-controller
          image: kong/kubernetes-ingress-controller:3.0
          env:
            - name: KONG_LICENSE_DATA
              valueFrom: {secretKeyRef: {name: kong-enterprise-license, key: license}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrations, namespace: kong}
spec: {template: {spec: {imagePullSecrets: [{name: kong-enterprise-edition-docker}], containers: [
  {name: migrations, image: "kong/kong-gateway:3.4", env: [{name: KONG_LICENSE_DATA,
   valueFrom: {secretKeyRef: {name: kong-enterprise-license, key: license}}}]}]}}}
"""


def test_each_hint_is_printed_once_and_later_findings_point_back(tmp_path: Path) -> None:
    """Issue 16: six findings on an enterprise bundle come down to three missing Secrets; the text
    report prints each distinct hint in full once, where it first applies, ending with the
    `pullgate explain` command of its rule, and every later finding with the same hint points
    back to that line. The JSON report keeps every hint whole."""
    path = tmp_path / "set.yaml"
    path.write_text(REPEATED)
    text = pullgate("check", "--offline", str(path)).stdout
    report = json.loads(pullgate("check", "--offline", "--format", "json", str(path)).stdout)
    findings = report["findings"]
    assert len(findings) == 6 and all(f["hint"] for f in findings)
    distinct = {f["hint"]: f for f in reversed(findings)}  # each hint's first finding
    assert len(distinct) == 3
    for hint, first in distinct.items():
        assert text.count(hint) == 1
        assert f"{hint} (more: pullgate explain {first['rule']})" in text
    repeats = [f for f in findings if distinct[f["hint"]] is not f]
    assert len(repeats) == 3
    for finding in repeats:
        first = distinct[finding["hint"]]
        assert f"hint: as for {path}:{first['line']} above" in text
    assert text.count("hint: ") == 6
