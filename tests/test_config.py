"""The config file, severities, suppressions and `pullgate explain`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import certifi
import pytest

from gate.config import ConfigError, find_config, load_config
from gate.platform import Platform
from gate.rules import RULES, Severity
from tests.support.cli import pullgate
from tests.support.images import push_image
from tests.support.registry import RegistryServer

LATEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    owner: team-web
spec:
  template:
    spec:
      containers:
        - name: web
          image: busybox:latest
        - name: never
          image: busybox:1.36
          imagePullPolicy: Never
"""


def check(tmp_path: Path, *args: str, manifest: str = LATEST) -> tuple[int, dict[str, Any], str]:
    path = tmp_path / "deploy.yaml"
    path.write_text(manifest)
    result = pullgate("check", "--offline", "--format", "json", *args, str(path))
    if result.exit_code == 2:
        return 2, {}, result.stderr
    return result.exit_code, json.loads(result.stdout), result.stderr


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".pullgate.yaml"
    path.write_text(text)
    return path


def test_full_config_parses(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(Path(certifi.where()).read_text())  # any real PEM bundle
    path = write_config(
        tmp_path,
        """\
namespace: prod
platforms: [linux/amd64, linux/arm64/v8]
fail-on: warning
severity:
  image-pull-policy-never: error
  image-latest-tag: off
ignore:
  - rule: image-latest-tag
    image: "docker.io/library/busybox*"
    namespace: kube-system
    reason: "vendor chart, pinned by the platform team"
insecure-registries: ["registry.local:5000"]
registries:
  registry.example.com:
    ca-file: ca.pem
  docker.io:
    mirrors: ["https://mirror.example.com/docker.io"]
images:
  - apiVersion: example.com/v1
    kind: Widget
    paths: ["spec.runner.image", "spec.jobs[*].image"]
secrets:
  external:
    - name: "prod/vault-*"
      reason: created by the Vault agent injector
""",
    )
    config = load_config(path)
    assert config.namespace == "prod"
    assert config.platforms == (Platform("linux", "amd64"), Platform("linux", "arm64"))
    assert config.fail_on is Severity.WARNING
    assert config.severity == {
        "image-pull-policy-never": Severity.ERROR,
        "image-latest-tag": Severity.OFF,
    }
    [ignore] = config.ignore
    assert ignore.rule == "image-latest-tag" and ignore.namespace == "kube-system"
    assert ignore.line == 8
    assert config.insecure_registries == ("registry.local:5000",)
    assert config.registries["registry.example.com"].ca_file == str(ca.resolve())
    assert config.registries["docker.io"].mirrors == ("https://mirror.example.com/docker.io",)
    assert config.images[0].paths == ("spec.runner.image", "spec.jobs[*].image")
    assert config.external_secrets[0].pattern == "prod/vault-*"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("namespaces: prod\n", ":1: namespaces: unknown key"),
        ("namespace: Prod\n", "invalid namespace 'Prod'"),
        ("platforms: [amd64]\n", "platforms.0: 'amd64' is not a platform"),
        ("fail-on: fatal\n", "must be error or warning"),
        ("severity:\n  image-latest: off\n", ":2: severity.image-latest: unknown rule"),
        ("severity:\n  image-latest-tag: loud\n", "must be error, warning or off"),
        ("ignore:\n  - rule: image-latest-tag\n", ":2: ignore.0: needs a non-empty `reason`"),
        ("ignore:\n  - rule: image-latest-tag\n    reason: ''\n", "non-empty `reason`"),
        ("ignore:\n  - reason: x\n", "needs a `rule`"),
        # a hint's entry pasted unread: nobody has said why, so it accepts nothing
        (
            "ignore:\n  - rule: image-latest-tag\n    reason: '<why it is accepted>'\n",
            ":3: ignore.0.reason: is still the placeholder '<why it is accepted>'",
        ),
        (
            "secrets:\n  external:\n    - {name: a/b, reason: ' <who creates it> '}\n",
            ":3: secrets.external.0.reason: is still the placeholder '<who creates it>'",
        ),
        ("ignore:\n  - rule: nope\n    reason: x\n", "unknown rule 'nope'"),
        ("registries:\n  r.io:\n    ca-file: missing.pem\n", "no such file"),
        ("registries:\n  r.io:\n    mirrors: [mirror.io]\n", "http(s):// URL"),
        ("registries:\n  r.io:\n    mirrors: ['https://u:p@m.io']\n", "user name or password"),
        ("registries:\n  r.io:\n    ca-file: garbage.pem\n", "not a PEM CA bundle"),
        ("images:\n  - kind: W\n", "needs `kind` and `paths`"),
        # a repeated key would silently win over the first: refused, at the second
        ("namespace: a\nfail-on: error\nnamespace: b\n", ":3: not valid YAML: duplicate key"),
        ("images:\n  - kind: W\n    paths: ['spec..image']\n", "is not a path like"),
        (
            "images:\n  - kind: W\n    paths: [spec.image]\n    namespace: 'spec..ns'\n",
            ":4: images.0.namespace: 'spec..ns' is not a path like",
        ),
        (
            "images:\n  - kind: W\n    paths: [spec.image]\n    pull-secrets: spec.x\n",
            ":4: images.0.pull-secrets: must be a list of strings",
        ),
        ("images:\n  - kind: W\n    paths: [spec.image]\n    pullSecrets: []\n", "unknown key"),
        ("secrets:\n  external:\n    - name: just-a-name\n      reason: x\n", "<namespace>/<name>"),
        ("secrets:\n  external:\n    - name: 'prod/'\n      reason: x\n", "not a namespace/name"),
        ("nodes:\n  docker-configs: [x]\n", ":2: nodes.docker-configs: unknown key"),
        ("nodes:\n  docker-config: [missing.json]\n", "no such file or directory"),
        ("nodes:\n  registries: ['https://r.io']\n", "is not a registry pattern"),
        ("nodes:\n  credential-providers: {config: garbage.pem}\n", "needs both `config`"),
        (
            "nodes:\n  credential-providers: {config: garbage.pem, bin-dir: nowhere}\n",
            "nodes.credential-providers.bin-dir: no such directory",
        ),
        ("- a list\n", "must be a mapping of settings"),
        ("a: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_config_is_a_located_usage_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "garbage.pem").write_text("not a certificate")
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError, match=None) as caught:
        load_config(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    code, _, err = check(tmp_path, "--config", str(path))
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_nodes_section_paths_are_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "nodes" / "bin").mkdir(parents=True)
    (tmp_path / "nodes" / "config.json").write_text("{}")
    (tmp_path / "nodes" / "providers.yaml").write_text("")
    path = write_config(
        tmp_path,
        "nodes:\n  docker-config: [nodes/config.json]\n"
        "  credential-providers: {config: nodes/providers.yaml, bin-dir: nodes/bin}\n"
        "  registries: ['*.dkr.ecr.*.amazonaws.com']\n",
    )
    nodes = load_config(path).nodes
    assert nodes.docker_configs == (str(tmp_path / "nodes" / "config.json"),)
    assert nodes.provider_config == str(tmp_path / "nodes" / "providers.yaml")
    assert nodes.provider_bin_dir == str(tmp_path / "nodes" / "bin")
    assert nodes.registries == ("*.dkr.ecr.*.amazonaws.com",)
    # the kubelet would refuse an empty provider config: so does the gate, exit 2
    code, _, err = check(tmp_path, "--config", str(path))
    assert code == 2 and "credential provider config" in err and "Traceback" not in err


def test_config_is_found_upward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, "namespace: found\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == tmp_path / ".pullgate.yaml"
    monkeypatch.chdir(deep)
    manifest = LATEST.replace("  namespace: shop\n", "")
    code, report, _ = check(tmp_path, manifest=manifest)
    assert code == 1
    assert {f["namespace"] for f in report["findings"]} == {"found"}
    code, report, _ = check(tmp_path, "-n", "cli-wins", manifest=manifest)
    assert code == 1
    assert {f["namespace"] for f in report["findings"]} == {"cli-wins"}


def test_missing_config_option_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = check(tmp_path, "--config", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "no such file" in err


def test_severity_overrides_and_fail_on_from_config(tmp_path: Path) -> None:
    code, report, _ = check(tmp_path)
    assert code == 1
    assert {(f["rule"], f["severity"]) for f in report["findings"]} == {
        ("image-latest-tag", "error"),
        ("image-pull-policy-never", "warning"),
    }
    config = write_config(tmp_path, "severity:\n  image-latest-tag: warning\n")
    code, report, _ = check(tmp_path, "--config", str(config))
    assert code == 0
    assert report["summary"]["warnings"] == 2 and report["summary"]["errors"] == 0
    config = write_config(tmp_path, "severity:\n  image-latest-tag: off\nfail-on: warning\n")
    code, report, _ = check(tmp_path, "--config", str(config))
    assert [f["rule"] for f in report["findings"]] == ["image-pull-policy-never"]
    assert code == 1  # fail-on warning from the config
    code, _, _ = check(tmp_path, "--config", str(config), "--fail-on", "error")
    assert code == 0  # the command line wins


def test_env_variables_set_options(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(LATEST)
    result = pullgate(
        "check",
        str(path),
        env={"PULLGATE_OFFLINE": "1", "PULLGATE_FORMAT": "json", "PULLGATE_FAIL_ON": "warning"},
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout)["summary"]["warnings"] == 1


def test_annotation_suppresses_for_its_object(tmp_path: Path) -> None:
    manifest = LATEST.replace(
        "    owner: team-web\n",
        '    owner: team-web\n    pullgate.io/ignore-image-latest-tag: "tracked in JIRA-12"\n',
    )
    code, report, _ = check(tmp_path, manifest=manifest)
    assert code == 0
    assert report["summary"]["suppressed"] == 1
    assert report["summary"]["errors"] == 0
    assert [f["rule"] for f in report["findings"]] == ["image-pull-policy-never"]
    code, report, _ = check(tmp_path, "--show-suppressed", manifest=manifest)
    suppressed = [f for f in report["findings"] if "suppressed" in f]
    assert [(f["rule"], f["suppressed"]) for f in suppressed] == [
        ("image-latest-tag", "tracked in JIRA-12")
    ]


def test_pod_template_annotation_suppresses_too(tmp_path: Path) -> None:
    manifest = LATEST.replace(
        "  template:\n    spec:\n",
        "  template:\n    metadata:\n      annotations:\n"
        '        pullgate.io/ignore-image-pull-policy-never: "preloaded by the AMI"\n'
        "    spec:\n",
    )
    code, report, _ = check(tmp_path, "--fail-on", "warning", manifest=manifest)
    assert code == 1
    assert [f["rule"] for f in report["findings"]] == ["image-latest-tag"]
    assert report["summary"]["suppressed"] == 1


@pytest.mark.parametrize(
    ("annotation", "problem"),
    [
        ('pullgate.io/ignore-image-latest-tag: ""', "has no reason"),
        ('pullgate.io/ignore-image-latest-tag: "<reason>"', "gives the placeholder '<reason>'"),
        # annotations are map[string]string (apimachinery ObjectMeta): the API refuses a bool
        ("pullgate.io/ignore-image-latest-tag: true", "has the value true unquoted"),
        ("pullgate.io/ignore-image-latest-tag: null", "has no reason"),  # null decodes to ""
        ("pullgate.io/ignore-image-latest-tag: [vendor]", 'has the value ["vendor"] unquoted'),
        ("pullgate.io/ignore-image-latest-tag: 2024-01-01", 'has the value "2024-01-01" unquoted'),
        ('pullgate.io/ignore-image-latest: "typo"', "names no known rule"),
    ],
)
def test_invalid_annotation_is_a_finding_and_not_honoured(
    tmp_path: Path, annotation: str, problem: str
) -> None:
    manifest = LATEST.replace("    owner: team-web\n", f"    owner: team-web\n    {annotation}\n")
    code, report, _ = check(tmp_path, manifest=manifest)
    assert code == 1
    rules = {f["rule"]: f for f in report["findings"]}
    assert "image-latest-tag" in rules  # still counts
    invalid = rules["ignore-annotation-invalid"]
    assert problem in invalid["message"]
    assert (invalid["kind"], invalid["name"]) == ("Deployment", "web")
    assert report["summary"]["suppressed"] == 0


def test_config_ignore_with_globs(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        """\
ignore:
  - rule: image-latest-tag
    image: "docker.io/library/busy*"
    namespace: "sh*"
    kind: Deployment
    name: web
    reason: vendor chart
  - rule: image-pull-policy-never
    namespace: other
    reason: does not match this object
""",
    )
    code, report, _ = check(tmp_path, "--config", str(config), "--show-suppressed")
    assert code == 0
    by_rule = {f["rule"]: f for f in report["findings"]}
    assert by_rule["image-latest-tag"]["suppressed"] == "vendor chart"
    assert "suppressed" not in by_rule["image-pull-policy-never"]
    assert report["summary"]["suppressed"] == 1


def test_text_report_lists_suppressed_only_on_request(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(
        LATEST.replace(
            "    owner: team-web\n",
            '    owner: team-web\n    pullgate.io/ignore-image-latest-tag: "tracked"\n',
        )
    )
    plain = pullgate("check", "--offline", str(path)).stdout
    assert "image-latest-tag" not in plain
    assert "1 suppressed" in plain
    shown = pullgate("check", "--offline", "--show-suppressed", str(path)).stdout
    assert "suppressed error [image-latest-tag]" in shown
    assert "suppressed: tracked" in shown


def test_explain_every_rule() -> None:
    listing = pullgate("explain")
    assert listing.exit_code == 0
    for rule_id in RULES:
        assert rule_id in listing.stdout
        result = pullgate("explain", rule_id)
        assert result.exit_code == 0
        assert RULES[rule_id].symptom in result.stdout
        assert RULES[rule_id].fix in result.stdout
    unknown = pullgate("explain", "image-lates-tag")
    assert unknown.exit_code == 2
    assert "image-latest-tag" in unknown.stderr


def test_severity_override_against_the_real_registry(
    tmp_path: Path, registry: RegistryServer
) -> None:
    push_image(registry, "cfg/amd", "1.0", arch="amd64")
    manifest = tmp_path / "arm.yaml"
    manifest.write_text(
        f"""\
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent}}
spec:
  template:
    spec:
      nodeSelector: {{kubernetes.io/arch: arm64}}
      containers:
        - {{name: agent, image: {registry.host}/cfg/amd:1.0}}
"""
    )
    result = pullgate("check", "--format", "json", str(manifest))
    assert result.exit_code == 1
    config = write_config(tmp_path, "severity:\n  image-platform-missing: warning\n")
    result = pullgate("check", "--format", "json", "--config", str(config), str(manifest))
    assert result.exit_code == 0
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["rule"], finding["severity"]) == ("image-platform-missing", "warning")
