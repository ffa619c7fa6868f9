"""The text report leaves no finding out, and puts each under its file and object."""

from __future__ import annotations

import json
from pathlib import Path

from gate.report.digest import IMAGE_TROUBLE, OBJECT_TROUBLE
from gate.rules import RULES
from tests.support import paths
from tests.support.cli import check_json, filled, pullgate

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


def test_a_hint_pointing_back_to_another_objects_entry_gives_its_own(tmp_path: Path) -> None:
    """The `ignore:` entry in a hint names its object: a later finding on the same object
    points back to it as it is, a finding on another object adds its own entry every time
    (pasting the one above would accept the wrong object); pasted, that entry accepts just
    the object it names."""
    path = tmp_path / "set.yaml"
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {0}, namespace: ns}}\nspec:\n  containers:\n"
    )
    pod += "    - {{name: a, image: 'nginx:latest'}}\n    - {{name: b, image: 'nginx:latest'}}\n"
    path.write_text(pod.format("web1") + "---\n" + pod.format("web2"))
    hints = [
        line.split("hint: ", 1)[1]
        for line in pullgate("check", "--offline", str(path)).stdout.splitlines()
        if "hint: " in line
    ]
    assert len(hints) == 4
    own = 'ignore: [{rule: image-latest-tag, kind: Pod, namespace: "ns", name: "%s", '
    own += 'image: "docker.io/library/nginx:latest", reason: "<why it is accepted>"}]'
    assert f"`{own % 'web1'}`" in hints[0]
    assert hints[1] == f"as for {path}:6 above"
    assert hints[2] == hints[3] == f"as for {path}:6 above; here: `{own % 'web2'}`"
    config = tmp_path / ".pullgate.yaml"
    config.write_text(filled(own % "web2") + "\n")
    report = check_json("--offline", "--show-suppressed", f"--config={config}", str(path))[1]
    suppressed = {(f["name"], f["container"]) for f in report["findings"] if f.get("suppressed")}
    assert suppressed == {("web2", "a"), ("web2", "b")}


def _digest(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("To fix ("))
    end = lines.index("", start)
    return lines[start:end]


def test_the_closing_digest_groups_what_to_fix_and_its_yaml_can_be_pasted(tmp_path: Path) -> None:
    """Issue 16: the six findings above are three missing Secrets, each named once with its
    uses, and the .pullgate.yaml entries that declare them as made elsewhere are printed with
    the names filled in: pasted with the reasons written, the check passes; pasted unread (the
    `<who creates it>` placeholders left), the config is refused."""
    path = tmp_path / "set.yaml"
    path.write_text(REPEATED)
    result = pullgate("check", "--offline", str(path))
    assert result.exit_code == 1
    digest = _digest(result.stdout)
    assert digest[0] == "To fix (6 findings):"
    assert digest[1] == (
        "  3 Secrets missing in namespace kong [pull-secret-missing, secret-ref-missing]: "
        "kong-enterprise-edition-docker (2 uses), kong-enterprise-license (3 uses), "
        "kong-enterprise-superuser-password"
    )
    assert "\n".join(digest) in (paths.ROOT / "README.md").read_text()  # as the README shows it
    start = digest.index("    secrets:")
    config = tmp_path / ".pullgate.yaml"
    config.write_text("\n".join(line[4:] for line in digest[start:]) + "\n")
    assert config.read_text().count("reason:") == 3
    unread = pullgate("check", "--offline", "--config", str(config), str(path))
    assert unread.exit_code == 2 and unread.stdout == ""  # nobody said who makes them
    assert f"{config}:3: secrets.external.0.reason: is still the placeholder" in unread.stderr
    config.write_text(filled(config.read_text()))
    passed = pullgate("check", "--offline", "--config", str(config), str(path))
    assert passed.exit_code == 0, passed.stdout
    assert "To fix" not in passed.stdout


def test_a_missing_secret_hint_holds_the_one_line_entry_that_declares_it(tmp_path: Path) -> None:
    """The hint of each missing Secret (in every format) ends with the flow-style entry that
    declares it; pasted into an empty .pullgate.yaml, that finding is gone."""
    path = tmp_path / "set.yaml"
    path.write_text(REPEATED)
    report = json.loads(pullgate("check", "--offline", "--format", "json", str(path)).stdout)
    hint = next(f["hint"] for f in report["findings"] if f["rule"] == "pull-secret-missing")
    entry = hint.split("declare it in .pullgate.yaml: `", 1)[1].split("`", 1)[0]
    assert entry == (
        'secrets: {external: [{name: "kong/kong-enterprise-edition-docker", '
        'reason: "<who creates it>"}]}'
    )
    config = tmp_path / ".pullgate.yaml"
    config.write_text(filled(entry) + "\n")
    after = check_json("--offline", "--show-suppressed", f"--config={config}", str(path))[1]
    assert [f["rule"] for f in after["findings"]].count("pull-secret-missing") == 0
    assert [f["rule"] for f in after["findings"]].count("secret-ref-missing") == 4


def test_the_digest_names_each_image_once_per_rule_and_counts_other_rules(tmp_path: Path) -> None:
    """Images are listed under their rule with their uses; findings without a subject are
    counted by rule; a passing set has no digest."""
    path = tmp_path / "set.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: ns}\n"
        "spec: {containers: [{name: a, image: busybox}, {name: b, image: 'nginx:latest'},\n"
        "  {name: c, image: 'nginx:latest'}]}\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: ns}\n"
        "spec: {serviceAccountName: builder, imagePullSecrets: [{}],\n"
        "  containers: [{name: a, image: 'nginx:latest'}]}\n"
    )
    digest = _digest(pullgate("check", "--offline", str(path)).stdout)
    assert digest == [
        "To fix (6 findings):",
        "  1 image without a tag [image-no-tag]: busybox",
        "  1 image on `latest` [image-latest-tag]: nginx:latest (3 uses)",
        "  1 ServiceAccount missing in namespace ns [service-account-missing]: builder",
        "  1 finding of [pull-secret-missing]",
    ]
    passing = tmp_path / "ok.yaml"
    passing.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
        "spec: {containers: [{name: a, image: 'nginx:1.27'}]}\n"
    )
    assert "To fix" not in pullgate("check", "--offline", str(passing)).stdout


def test_every_rule_about_an_image_says_in_words_what_is_wrong_with_it() -> None:
    """A digest line reads `2 images <trouble>`: every rule whose findings name an image (all
    but those about a secret, an account or a document) has its words, so none reads `with
    findings`; a rule found once per pod template counts its objects instead."""
    about_other_things = {
        "pull-secret-missing",
        "secret-ref-missing",
        "service-account-missing",
        "secret-not-mountable",
        "manifest-invalid",
        "ignore-annotation-invalid",
    }
    assert set(RULES) - about_other_things == set(IMAGE_TROUBLE) | set(OBJECT_TROUBLE)
    assert not set(IMAGE_TROUBLE) & set(OBJECT_TROUBLE)


def test_the_digest_declares_the_secrets_of_every_namespace_in_one_block(tmp_path: Path) -> None:
    """Missing Secrets in two namespaces are two lines, and one `secrets:` block (two would be
    a duplicate key); a name no Secret can have gets no entry (no pattern declares exactly
    it), and its hint says where to declare one without an entry to paste."""
    path = tmp_path / "set.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: a}\n"
        "spec: {imagePullSecrets: [{name: reg}], containers: [{name: a, image: 'nginx:1'}]}\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: b}\n"
        "spec: {imagePullSecrets: [{name: reg}, {name: 'x/y'}],\n"
        "  containers: [{name: a, image: 'nginx:1'}]}\n"
    )
    result = pullgate("check", "--offline", str(path))
    digest = _digest(result.stdout)
    assert digest[1:3] == [
        "  1 Secret missing in namespace a [pull-secret-missing]: reg",
        "  2 Secrets missing in namespace b [pull-secret-missing]: reg, x/y",
    ]
    start = digest.index("    secrets:")
    assert digest[start:] == [
        "    secrets:",
        "      external:",
        '        - {name: "a/reg", reason: "<who creates it>"}',
        '        - {name: "b/reg", reason: "<who creates it>"}',
    ]
    config = tmp_path / ".pullgate.yaml"
    config.write_text(filled("\n".join(line[4:] for line in digest[start:])) + "\n")
    after = check_json("--offline", "--show-suppressed", f"--config={config}", str(path))[1]
    (left,) = after["findings"]  # only the name no Secret can have
    assert "x/y" in left["message"]
    assert "declare it under `secrets: external:` in .pullgate.yaml" in left["hint"]
