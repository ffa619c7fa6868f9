"""Each `.pullgate.yaml` entry a hint offers, pasted as printed, does what the hint says, against
the real registry: an ignore accepts that one finding, a `nodes: registries` entry turns a
refusal into could-not-verify (a CI login then verifies it, as the kubelet's own credential
would be replayed by nobody), a mirror entry with its URL filled in resolves through the
mirror, and its placeholder left unfilled is a configuration error, never a pass.

The entries are taken from the JSON report's `hint`, as a user copies them from any report.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from tests.support.cli import filled, pullgate
from tests.support.images import push_image
from tests.support.registry import RegistryServer, user_credentials
from tests.support.skopeo import skopeo_inspect_digest

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: shop}}
spec:
  containers:
    - {{name: app, image: "{image}"}}
"""


def _check(tmp_path: Path, *args: str) -> tuple[int, Any]:
    deploy = str(tmp_path / "deploy")
    result = pullgate(
        "check", "--format", "json", "--retries", "0", "--timeout", "5", *args, deploy
    )
    return result.exit_code, json.loads(result.stdout) if result.stdout else None


def _write(tmp_path: Path, *pods: tuple[str, str]) -> None:
    deploy = tmp_path / "deploy"
    deploy.mkdir(exist_ok=True)
    (deploy / "pods.yaml").write_text(
        "---\n".join(POD.format(name=name, image=image) for name, image in pods)
    )


def _offered(finding: dict[str, Any]) -> str:
    """The config entry at the end of a finding's hint, as printed."""
    found = re.findall(r"`([a-z-]+: [\[{][^`]*)`", finding["hint"])
    assert found, finding["hint"]
    return str(found[-1])


def _config(tmp_path: Path, *entries: str) -> tuple[str, str]:
    path = tmp_path / ".pullgate.yaml"
    path.write_text("".join(f"{entry}\n" for entry in entries))
    return "--config", str(path)


def test_an_ignore_entry_accepts_that_object_only(tmp_path: Path) -> None:
    _write(tmp_path, ("web", "nginx:latest"), ("api", "nginx:latest"))
    code, report = _check(tmp_path, "--offline")
    assert code == 1
    web, api = report["findings"]
    assert (web["rule"], web["name"], api["name"]) == ("image-latest-tag", "web", "api")
    entry = _offered(web)
    assert entry == (
        'ignore: [{rule: image-latest-tag, kind: Pod, namespace: "shop", name: "web", '
        'image: "docker.io/library/nginx:latest", reason: "<why it is accepted>"}]'
    )
    code, report = _check(tmp_path, "--offline", *_config(tmp_path, entry))
    assert (code, report) == (2, None)  # pasted unread: nobody said why it is accepted
    code, report = _check(tmp_path, "--offline", *_config(tmp_path, filled(entry)))
    assert code == 1  # api still counts
    assert [f["name"] for f in report["findings"]] == ["api"]
    assert report["summary"]["suppressed"] == 1


def test_a_nodes_entry_makes_a_refusal_unverified_and_a_ci_login_verifies_it(
    tmp_path: Path, htpasswd_registry: RegistryServer
) -> None:
    """Upstream: the kubelet offers node credentials after the pod's (`kuberuntime_image.go`
    `PullImage`); what the nodes hold by means CI cannot replay is declared, and only a CI
    login can verify on its behalf (DESIGN.md, credentials)."""
    pushed = push_image(htpasswd_registry, "team/app", "1.0")
    image = f"{htpasswd_registry.host}/team/app:1.0"
    _write(tmp_path, ("app", image))
    code, report = _check(tmp_path, "--no-ci-logins")
    [finding] = report["findings"]
    assert (code, finding["rule"]) == (1, "image-pull-unauthorized")
    entry = _offered(finding)
    assert entry == f'nodes: {{registries: ["{htpasswd_registry.host}"]}}'
    nodes = _config(tmp_path, entry)

    code, report = _check(tmp_path, "--no-ci-logins", *nodes)
    [finding] = report["findings"]
    assert (code, finding["rule"]) == (3, "image-pull-unverified")  # declared, not proven

    alice = user_credentials("alice")
    login = tmp_path / "config.json"
    auth = base64.b64encode(alice.colon_joined().encode()).decode()
    login.write_text(json.dumps({"auths": {htpasswd_registry.host: {"auth": auth}}}))
    code, report = _check(tmp_path, "--docker-config", str(login), *nodes)
    assert code == 0, report["findings"]
    [resolved] = report["images"]
    assert resolved["credential"] == f"nodes:{htpasswd_registry.host}"
    assert resolved["verified_with"] == f"docker-config:{login}"
    assert resolved["digest"] == pushed.digest
    assert alice.password not in json.dumps(report)


def test_a_mirror_entry_resolves_through_the_mirror_once_its_url_is_filled_in(
    tmp_path: Path, registry: RegistryServer
) -> None:
    """Upstream: containerd tries each host of `hosts.toml` in order, then the registry itself
    (`core/remotes/docker/config/hosts.go` `ConfigureHosts`); the `registries:` entry says the
    same. An origin that does not answer is could-not-verify (exit 3) until the mirror is named."""
    pushed = push_image(registry, "team/app", "1.0")
    _write(tmp_path, ("app", "127.0.0.1:1/team/app:1.0"))
    code, report = _check(tmp_path)
    [finding] = report["findings"]
    assert (code, finding["rule"]) == (3, "image-registry-unreachable")
    entry = _offered(finding)
    assert entry == 'registries: {"127.0.0.1:1": {mirrors: ["https://<mirror host>"]}}'

    as_printed = pullgate("check", *_config(tmp_path, entry), str(tmp_path / "deploy"))
    assert as_printed.exit_code == 2  # the placeholder is refused, not tried
    assert "placeholder" in as_printed.stderr and as_printed.stdout == ""

    filled = entry.replace("https://<mirror host>", f"http://{registry.host}")
    code, report = _check(tmp_path, *_config(tmp_path, filled))
    assert code == 0, report["findings"]
    [resolved] = report["images"]
    assert resolved["mirror"] == f"http://{registry.host}"
    assert resolved["digest"] == pushed.digest == skopeo_inspect_digest(registry, "team/app", "1.0")
