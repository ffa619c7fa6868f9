"""Pull with the kubelet's credentials, in the kubelet's order (issue 3).

Every case runs against the real distribution registry in htpasswd (Basic) mode and in token
mode behind the test token issuer. Credentials come from pull secrets written in the rendered
manifests (as `kubectl create secret docker-registry` would make them), from a service account,
or from a node docker config. Every output of every run is searched for the passwords.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import pullgate
from tests.support.images import push_image
from tests.support.manifests import dockerconfigjson, line_of, pod, secret
from tests.support.registry import TEST_USERS, RegistryServer, user_credentials
from tests.support.skopeo import skopeo_inspect_digest

WRONG = "not-the-password"
SECRET_VALUES = [*TEST_USERS.values(), WRONG]
"""Every password used: none may appear in any output."""


@dataclass
class Env:
    server: RegistryServer
    repo: str
    """A repository alice may pull (private in token mode; any repository needs auth in
    htpasswd mode)."""
    digest: str
    outputs: list[str]

    @property
    def image(self) -> str:
        return f"{self.server.host}/{self.repo}:1.0"


@pytest.fixture(scope="module", params=["htpasswd", "token"])
def env(
    request: pytest.FixtureRequest,
    htpasswd_registry: RegistryServer,
    token_registry: RegistryServer,
) -> Iterator[Env]:
    server = htpasswd_registry if request.param == "htpasswd" else token_registry
    repo = "private/app"
    pushed = push_image(server, repo, "1.0")
    push_image(server, repo, "1.1")
    push_image(server, "public/base", "1.0")
    push_image(server, "team/tool", "1.0")
    outputs: list[str] = []
    yield Env(server, repo, pushed.digest, outputs)
    for text in outputs:  # every run's stdout, stderr and report files
        for value in SECRET_VALUES:
            assert value not in text
            assert base64.b64encode(value.encode()).decode() not in text


def run(env: Env, tmp_path: Path, *docs: str, args: tuple[str, ...] = ()) -> tuple[int, Any]:
    path = tmp_path / "set.yaml"
    path.write_text("---\n".join(docs))
    report = tmp_path / "report.txt"
    result = pullgate(
        "check",
        "-vv",
        "--format",
        "json",
        "--report",
        f"text={report}",
        "--report",
        f"sarif={tmp_path / 'report.sarif'}",
        *(args or ("--no-node-credentials",)),  # this machine's own logins stay out
        str(path),
    )
    env.outputs += [
        result.stdout,
        result.stderr,
        report.read_text() if report.exists() else "",
        (tmp_path / "report.sarif").read_text() if (tmp_path / "report.sarif").exists() else "",
    ]
    return result.exit_code, json.loads(result.stdout)


def only_image(report: Any) -> Any:
    [image] = report["images"]
    return image


def test_right_password(env: Env, tmp_path: Path) -> None:
    host = env.server.host
    code, report = run(
        env,
        tmp_path,
        secret("regcred", {host: ("alice", "wonderland")}),
        pod(env.image, secrets=["regcred"]),
    )
    assert code == 0, report["findings"]
    image = only_image(report)
    assert image["credential"] == "secret:apps/regcred"
    assert image["locations"][0]["credential"] == "secret:apps/regcred"
    assert image["digest"] == env.digest
    assert image["digest"] == skopeo_inspect_digest(
        env.server, env.repo, "1.0", creds=user_credentials("alice")
    )
    text = (tmp_path / "report.txt").read_text()
    assert "(secret:apps/regcred)" in text


def test_wrong_password_is_unauthorized_and_names_what_was_tried(env: Env, tmp_path: Path) -> None:
    host = env.server.host
    code, report = run(
        env,
        tmp_path,
        secret("badcred", {host: ("alice", WRONG)}),
        pod(env.image, secrets=["badcred"]),
    )
    assert code == 1
    [finding] = report["findings"]
    assert finding["rule"] == "image-pull-unauthorized"
    # htpasswd: the registry answers 401; token mode: the token service refuses the password
    assert "secret:apps/badcred" in finding["message"] and "401" in finding["message"]
    assert finding["line"] == line_of(tmp_path, f"image: {env.image}")
    assert only_image(report)["digest"] is None
    assert only_image(report)["locations"][0]["credential"] is None


def test_no_secret_means_anonymous_and_is_refused(env: Env, tmp_path: Path) -> None:
    code, report = run(env, tmp_path, pod(env.image))
    assert code == 1
    [finding] = report["findings"]
    assert finding["rule"] == "image-pull-unauthorized"
    assert "anonymous answered 401" in finding["message"]


def test_only_the_second_of_two_secrets_works(env: Env, tmp_path: Path) -> None:
    host = env.server.host
    code, report = run(
        env,
        tmp_path,
        secret("first", {host: ("alice", WRONG)}),
        secret("second", {f"https://{host}/v1/": ("alice", "wonderland")}),
        pod(env.image, secrets=["first", "second"]),
    )
    assert code == 0, report["findings"]
    assert only_image(report)["credential"] == "secret:apps/second"


def test_path_keys_match_by_prefix(env: Env, tmp_path: Path) -> None:
    host = env.server.host
    code, report = run(
        env,
        tmp_path,
        secret("scoped", {f"{host}/private": ("alice", "wonderland")}),
        pod(env.image, secrets=["scoped"]),
    )
    assert code == 0, report["findings"]
    assert only_image(report)["credential"] == "secret:apps/scoped"


def test_path_key_mismatch_is_not_offered_and_the_hint_says_so(env: Env, tmp_path: Path) -> None:
    host = env.server.host
    code, report = run(
        env,
        tmp_path,
        secret("elsewhere", {f"{host}/team": ("alice", "wonderland")}),
        pod(env.image, secrets=["elsewhere"]),
    )
    assert code == 1
    [finding] = report["findings"]
    assert finding["rule"] == "image-pull-unauthorized"
    assert "anonymous answered 401" in finding["message"]
    assert "elsewhere" in finding["hint"]


@pytest.mark.parametrize("form", ["legacy-dockercfg", "stringData"])
def test_other_secret_forms(env: Env, tmp_path: Path, form: str) -> None:
    host = env.server.host
    doc = secret(
        "other",
        {host: ("alice", "wonderland")},
        legacy=form == "legacy-dockercfg",
        string_data=form == "stringData",
    )
    code, report = run(env, tmp_path, doc, pod(env.image, secrets=["other"]))
    assert code == 0, report["findings"]
    assert only_image(report)["credential"] == "secret:apps/other"


def test_service_account_pull_secrets_are_inherited(env: Env, tmp_path: Path) -> None:
    host = env.server.host
    account = (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: builder, namespace: apps}\n"
        "imagePullSecrets:\n  - name: sa-cred\n"
    )
    code, report = run(
        env,
        tmp_path,
        secret("sa-cred", {host: ("alice", "wonderland")}),
        account,
        pod(env.image, sa="builder"),
    )
    assert code == 0, report["findings"]
    assert only_image(report)["credential"] == "secret:apps/sa-cred"


def test_node_docker_config_is_tried_after_pod_secrets(env: Env, tmp_path: Path) -> None:
    host = env.server.host
    node = tmp_path / "node-config.json"
    node.write_text(dockerconfigjson({host: ("alice", "wonderland")}))
    code, report = run(
        env,
        tmp_path,
        secret("stale", {host: ("alice", WRONG)}),
        pod(env.image, secrets=["stale"]),
        args=("--no-ci-logins", "--node-docker-config", str(node)),
    )
    assert code == 0, report["findings"]
    assert only_image(report)["credential"] == f"node-config:{node}"
    # the same file as this machine's docker login is not the node's: it cannot stand in
    code, report = run(
        env,
        tmp_path,
        secret("stale", {host: ("alice", WRONG)}),
        pod(env.image, secrets=["stale"]),
        args=("--docker-config", str(node)),
    )
    assert code == 1
    assert f"docker-config:{node} pulled it" in report["findings"][0]["hint"]
    # and without node credentials, the stale secret is all there is
    code, report = run(
        env, tmp_path, secret("stale", {host: ("alice", WRONG)}), pod(env.image, secrets=["stale"])
    )
    assert code == 1


def test_wrong_type_pull_secret_is_invalid(env: Env, tmp_path: Path) -> None:
    opaque = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: opaque, namespace: apps}\ntype: Opaque\n"
        "stringData: {password: x}\n"
    )
    code, report = run(env, tmp_path, opaque, pod(env.image, secrets=["opaque"]))
    assert code == 1
    rules = {f["rule"]: f for f in report["findings"]}
    assert set(rules) == {"pull-secret-invalid", "image-pull-unauthorized"}
    assert "Opaque" in rules["pull-secret-invalid"]["message"]
    # the kubelet skips it: a warning, and the pull is judged without it
    assert rules["pull-secret-invalid"]["severity"] == "warning"
    # at the pod's imagePullSecrets entry
    assert rules["pull-secret-invalid"]["line"] == line_of(tmp_path, "- name: opaque")


def test_public_repository_beside_a_private_one(env: Env, tmp_path: Path) -> None:
    host = env.server.host
    public = pod(f"{host}/public/base:1.0").replace(
        "name: app\n  namespace", "name: pub\n  namespace"
    )
    code, report = run(env, tmp_path, public, pod(env.image))
    images = {i["reference"]: i for i in report["images"]}
    if env.server.auth == "token":  # anonymous pull allowed on public/*
        assert images[f"{host}/public/base:1.0"]["credential"] == "anonymous"
        assert images[f"{host}/public/base:1.0"]["digest"] is not None
    else:  # htpasswd protects every repository
        assert images[f"{host}/public/base:1.0"]["digest"] is None
    assert images[env.image]["digest"] is None
    assert code == 1


def test_one_token_per_scope_and_credential(env: Env, tmp_path: Path) -> None:
    if env.server.issuer is None:  # Basic auth has no tokens: nothing to count
        assert env.server.auth == "htpasswd"
        return
    issuer = env.server.issuer
    host = env.server.host
    issuer.clear_requests()
    docs = [secret("regcred", {host: ("alice", "wonderland")})]
    for index in range(30):
        tag = "1.0" if index % 2 else "1.1"
        docs.append(
            pod(f"{host}/{env.repo}:{tag}", secrets=["regcred"]).replace(
                "name: app\n  namespace", f"name: app-{index}\n  namespace"
            )
        )
    code, report = run(env, tmp_path, *docs)
    assert code == 0, report["findings"]
    assert report["summary"]["images"] == 30
    requests = [r for r in issuer.requests if r.user == "alice"]
    assert len(requests) == 1, requests
    assert list(requests[0].scopes) == [f"repository:{env.repo}:pull"]


def test_gitlab_job_login_is_not_a_node_credential(env: Env, tmp_path: Path) -> None:
    """The job's registry login pulls, but no node has it: the pod fails (issue 9)."""
    path = tmp_path / "set.yaml"
    path.write_text(pod(env.image))
    empty_home = tmp_path / "home"
    empty_home.mkdir()
    result = pullgate(
        "check",
        "--format",
        "json",
        str(path),
        env={
            "HOME": str(empty_home),
            "DOCKER_CONFIG": str(empty_home / ".docker"),
            "CI_REGISTRY": env.server.host,
            "CI_REGISTRY_USER": "alice",
            "CI_REGISTRY_PASSWORD": TEST_USERS["alice"],
        },
    )
    env.outputs += [result.stdout, result.stderr]
    assert result.exit_code == 1, result.stdout
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "image-pull-unauthorized"
    assert "env:CI_REGISTRY_PASSWORD pulled it" in finding["hint"]


def test_two_logins_in_one_secret_are_two_credentials(env: Env, tmp_path: Path) -> None:
    """One pull secret, two entries: the path-scoped one is tried first and refused, the
    host-wide one works; both carry the same source name but are not the same credential."""
    host = env.server.host
    code, report = run(
        env,
        tmp_path,
        secret("both", {f"{host}/private": ("alice", WRONG), host: ("alice", "wonderland")}),
        pod(env.image, secrets=["both"]),
    )
    assert code == 0, report["findings"]
    assert only_image(report)["credential"] == "secret:apps/both"
