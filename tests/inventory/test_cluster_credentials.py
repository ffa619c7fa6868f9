"""Pull with the credentials the cluster has, not the CI machine's (issue 9).

The kubelet offers a registry two kinds of credential: the pod's pull secrets (or its service
account's) and the node's (its docker config, its credential provider plugins). It never sees
the CI job's `GITHUB_TOKEN`, `CI_REGISTRY_*` or `docker login`. So those logins only verify on
behalf of a credential the gate cannot replay (a pull secret whose values it cannot read, a
registry declared in `nodes: registries`), and a pod that only a CI login could pull fails.

Everything here runs from the command line against the real distribution registry, in
htpasswd (Basic) and token modes. Upstream sources: `pkg/credentialprovider/secrets/secrets.go`
(`MakeDockerKeyring`, `secretsToTrackedDockerConfigs`), `pkg/credentialprovider/config.go`
(`DockerConfigJSON`, `DockerConfigEntry.UnmarshalJSON`), `pkg/credentialprovider/plugin/
plugin.go` (`pluginProvider.provide`, `execPlugin.ExecPlugin`). Every output of every run is
searched for every password.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import pullgate
from tests.support.images import push_image
from tests.support.manifests import dockerconfigjson, line_of, pod, secret
from tests.support.markdown import read
from tests.support.registry import TEST_USERS, RegistryServer, user_credentials
from tests.support.skopeo import skopeo_inspect_digest

PASSWORD = TEST_USERS["alice"]
PLUGIN_LEAK = "plugin-stderr-Pa55-do-not-show"
SECRET_VALUES = [*TEST_USERS.values(), PLUGIN_LEAK]


@dataclass
class Env:
    server: RegistryServer
    digest: str
    home: Path
    outputs: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def image(self) -> str:
        return f"{self.host}/private/app:1.0"

    def ci_login(self) -> dict[str, str]:
        """A GitLab job's registry login for this registry, as GitLab sets it."""
        return {
            "CI_REGISTRY": self.host,
            "CI_REGISTRY_USER": "alice",
            "CI_REGISTRY_PASSWORD": PASSWORD,
        }


@pytest.fixture(scope="module", params=["htpasswd", "token"])
def env(
    request: pytest.FixtureRequest,
    htpasswd_registry: RegistryServer,
    token_registry: RegistryServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Env]:
    server = htpasswd_registry if request.param == "htpasswd" else token_registry
    pushed = push_image(server, "private/app", "1.0")
    push_image(server, "private/app", "2.0")
    push_image(server, "team/tool", "1.0")
    home = tmp_path_factory.mktemp("ci-home")
    state = Env(server, pushed.digest, home)
    yield state
    for text in state.outputs:
        for value in SECRET_VALUES:
            assert value not in text
            assert base64.b64encode(value.encode()).decode() not in text


def run(
    env: Env,
    tmp_path: Path,
    *docs: str,
    args: tuple[str, ...] = (),
    environ: dict[str, str] | None = None,
    config: str | None = None,
) -> tuple[int, Any]:
    """`pullgate check --format json` on `docs`, on a CI machine with no logins but `environ`."""
    path = tmp_path / "set.yaml"
    path.write_text("---\n".join(docs))
    options = [*args]
    if config is not None:
        config_path = tmp_path / "pullgate.yaml"
        config_path.write_text(config)
        options += ["--config", str(config_path)]
    text_report, sarif_report = tmp_path / "report.txt", tmp_path / "report.sarif"
    result = pullgate(
        "check",
        "-vv",
        "--format",
        "json",
        "--report",
        f"text={text_report}",
        "--report",
        f"sarif={sarif_report}",
        *options,
        str(path),
        env={
            "HOME": str(env.home),
            "DOCKER_CONFIG": str(env.home / ".docker"),
            "GITHUB_TOKEN": "",
            "CI_REGISTRY": "",
            "REGISTRY_AUTH_FILE": "",
            "XDG_RUNTIME_DIR": "",
            **(environ or {}),
        },
    )
    env.outputs += [result.stdout, result.stderr]
    env.outputs += [p.read_text() for p in (text_report, sarif_report) if p.exists()]
    return result.exit_code, json.loads(result.stdout)


def only_image(report: Any) -> Any:
    [image] = report["images"]
    return image


def rules(report: Any) -> dict[str, Any]:
    return {f["rule"]: f for f in report["findings"]}


# -- the CI's own login is not the node's ---------------------------------------------------


def test_forgotten_pull_secret_fails_although_the_ci_login_can_pull(
    env: Env, tmp_path: Path
) -> None:
    """The pod has no imagePullSecrets; the GitLab job's login can pull the image. On the
    cluster the kubelet pulls anonymously and is refused, so the gate fails, and says the image
    exists and how to fix it."""
    code, report = run(env, tmp_path, pod(env.image), environ=env.ci_login())
    assert code == 1
    finding = rules(report)["image-pull-unauthorized"]
    assert "anonymous" in finding["message"]
    assert "env:CI_REGISTRY_PASSWORD pulled it" in finding["hint"]
    assert "imagePullSecret" in finding["hint"] and "nodes: registries" in finding["hint"]
    assert "--node-docker-config" in finding["hint"]
    image = only_image(report)
    assert image["digest"] is None and image["credential"] is None
    assert image["verified_with"] is None


def test_nodes_registries_pass_with_the_login_that_verified(env: Env, tmp_path: Path) -> None:
    """`nodes: registries` declares the nodes can pull from the registry by their own means;
    the CI login verifies on their behalf, and every report names both."""
    config = f"nodes:\n  registries: ['{env.host}']\n"
    summary = tmp_path / "summary.md"
    code, report = run(
        env,
        tmp_path,
        pod(env.image),
        args=("--report", f"github={tmp_path / 'github.txt'}"),
        environ={**env.ci_login(), "GITHUB_STEP_SUMMARY": str(summary)},
        config=config,
    )
    assert code == 0, report["findings"]
    assert "(verified with env:CI_REGISTRY_PASSWORD)" in read(summary.read_text()).text
    image = only_image(report)
    assert image["credential"] == f"nodes:{env.host}"
    assert image["verified_with"] == "env:CI_REGISTRY_PASSWORD"
    assert image["locations"][0]["verified_with"] == "env:CI_REGISTRY_PASSWORD"
    assert image["digest"] == env.digest
    assert env.digest == skopeo_inspect_digest(
        env.server, "private/app", "1.0", creds=user_credentials("alice")
    )
    text = (tmp_path / "report.txt").read_text()
    assert f"(nodes:{env.host}, verified with env:CI_REGISTRY_PASSWORD)" in text
    sarif = json.loads((tmp_path / "report.sarif").read_text())
    assert sarif["runs"][0]["properties"]["verifiedWith"] == [
        {
            "image": env.image,
            "credential": f"nodes:{env.host}",
            "verifiedWith": "env:CI_REGISTRY_PASSWORD",
        }
    ]


def test_nodes_registries_without_a_ci_login_cannot_be_verified(env: Env, tmp_path: Path) -> None:
    config = f"nodes:\n  registries: ['127.0.0.*:{env.server.port}']\n"
    code, report = run(env, tmp_path, pod(env.image), config=config)
    assert code == 3
    [finding] = report["findings"]
    assert finding["rule"] == "image-pull-unverified"
    assert "by means the gate cannot replay" in finding["message"]
    assert "no login" in finding["message"]


def test_a_ci_login_that_learns_the_tag_is_missing_is_a_violation(env: Env, tmp_path: Path) -> None:
    """Verifying on behalf of the nodes, the login sees the truth: the tag does not exist."""
    config = f"nodes:\n  registries: ['{env.host}']\n"
    missing = f"{env.host}/private/app:9.9"
    code, report = run(env, tmp_path, pod(missing), environ=env.ci_login(), config=config)
    assert code == 1
    assert set(rules(report)) == {"image-tag-not-found"}


# -- the node's own docker config --------------------------------------------------------


def test_node_docker_config_pulls_as_the_kubelet_reads_it(env: Env, tmp_path: Path) -> None:
    node = tmp_path / "node" / "config.json"
    node.parent.mkdir()
    node.write_text(dockerconfigjson({env.host: ("alice", PASSWORD)}))
    code, report = run(env, tmp_path, pod(env.image), args=("--node-docker-config", str(node)))
    assert code == 0, report["findings"]
    assert only_image(report)["credential"] == f"node-config:{node}"
    assert only_image(report)["verified_with"] is None
    # a directory means its config.json, in the kubelet's search order
    code, report = run(
        env, tmp_path, pod(env.image), args=("--node-docker-config", str(node.parent))
    )
    assert code == 0 and only_image(report)["credential"] == f"node-config:{node}"


def test_node_docker_config_keeps_no_helpers_and_no_identity_tokens(
    env: Env, tmp_path: Path
) -> None:
    """The kubelet's `DockerConfigJSON` has `auths` only and its entries no `identitytoken`:
    a node config that only names a helper, or only holds a token, gives the node nothing."""
    node = tmp_path / "node.json"
    node.write_text(
        json.dumps(
            {
                "auths": {env.host: {"identitytoken": "refresh-token-value"}},
                "credsStore": "pass",
                "credHelpers": {env.host: "ecr-login"},
            }
        )
    )
    code, report = run(env, tmp_path, pod(env.image), args=("--node-docker-config", str(node)))
    assert code == 1
    assert "image-pull-unauthorized" in rules(report)


def test_node_docker_config_that_does_not_parse_is_a_usage_error(tmp_path: Path) -> None:
    node = tmp_path / "node.json"
    node.write_text(json.dumps({"auths": {"r.example.com": {"email": 5}}}))
    manifest = tmp_path / "set.yaml"
    manifest.write_text(pod("r.example.com/app:1"))
    result = pullgate("check", "--node-docker-config", str(node), str(manifest))
    assert result.exit_code == 2
    assert f"node docker config {node}" in result.stderr and "`email`" in result.stderr


# -- pull secrets whose values the gate cannot read ------------------------------------------

EXTERNAL_SECRET = """\
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: regcred, namespace: apps}
spec:
  secretStoreRef: {name: vault, kind: ClusterSecretStore}
  target:
    template: {type: kubernetes.io/dockerconfigjson}
  data:
    - secretKey: .dockerconfigjson
      remoteRef: {key: registry/pull}
"""


def test_external_secret_pull_secret_is_verified_by_a_ci_login(env: Env, tmp_path: Path) -> None:
    code, report = run(
        env, tmp_path, EXTERNAL_SECRET, pod(env.image, secrets=["regcred"]), environ=env.ci_login()
    )
    assert code == 0, report["findings"]
    image = only_image(report)
    assert image["credential"] == "secret:apps/regcred"
    assert image["verified_with"] == "env:CI_REGISTRY_PASSWORD"


def test_external_secret_pull_secret_without_a_ci_login_exits_3(env: Env, tmp_path: Path) -> None:
    code, report = run(env, tmp_path, EXTERNAL_SECRET, pod(env.image, secrets=["regcred"]))
    assert code == 3
    [finding] = report["findings"]
    assert finding["rule"] == "image-pull-unverified"
    assert "pull secret apps/regcred exists, but its values could not be read" in finding["message"]
    assert "--cluster-state" in finding["hint"] and "login" in finding["hint"]
    assert finding["line"] == line_of(tmp_path, f"image: {env.image}")


def test_external_secret_of_the_default_type_is_ignored_by_the_kubelet(
    env: Env, tmp_path: Path
) -> None:
    """Without `target.template.type` the controller makes an Opaque Secret, which
    `secretsToTrackedDockerConfigs` skips: a CI login must not verify for it."""
    untyped = EXTERNAL_SECRET.replace(
        "    template: {type: kubernetes.io/dockerconfigjson}\n", "    name: regcred\n"
    )
    code, report = run(
        env, tmp_path, untyped, pod(env.image, secrets=["regcred"]), environ=env.ci_login()
    )
    assert code == 1
    found = rules(report)
    assert set(found) == {"pull-secret-invalid", "image-pull-unauthorized"}
    assert found["pull-secret-invalid"]["severity"] == "warning"
    assert "'Opaque'" in found["pull-secret-invalid"]["message"]


def test_an_inherited_broken_pull_secret_breaks_every_pull(env: Env, tmp_path: Path) -> None:
    """The admission plugin copies the account's pull secrets onto the pod; a broken one then
    breaks the pod's keyring as if the pod named it."""
    account = (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: apps}\n"
        "imagePullSecrets: [{name: broken}]\n"
    )
    broken = raw_secret("broken", {"auths": {env.host: {"username": 1}}})
    code, report = run(env, tmp_path, account, broken, pod(env.image))
    assert code == 1
    found = report["findings"]
    assert {f["rule"] for f in found} == {"pull-secret-invalid"}
    assert {f["container"] for f in found} == {None, "app"}
    assert any("inherited from service account default" in f["message"] for f in found)


def test_a_registry_key_with_userinfo_never_reaches_a_message(env: Env, tmp_path: Path) -> None:
    key = f"https://bob:{PASSWORD}@{env.host}"
    broken = raw_secret("broken", {"auths": {key: {"email": 5}}})
    code, report = run(env, tmp_path, broken, pod(env.image, secrets=["broken"]))
    assert code == 1
    assert all(PASSWORD not in f["message"] for f in report["findings"])
    assert any("***@" in f["message"] for f in report["findings"])


def test_snapshot_without_values_counts_as_unreadable(env: Env, tmp_path: Path) -> None:
    """A `kubectl get secrets -o json` with the data stripped: the secret exists, its values
    are unknown, so a private image is unverified, never unauthorized."""
    state = tmp_path / "state.json"
    state.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {"name": "regcred", "namespace": "apps"},
                        "type": "kubernetes.io/dockerconfigjson",
                    }
                ],
            }
        )
    )
    docs = (pod(env.image, secrets=["regcred"]),)
    code, report = run(env, tmp_path, *docs, args=("--cluster-state", str(state)))
    assert code == 3 and set(rules(report)) == {"image-pull-unverified"}
    code, report = run(
        env, tmp_path, *docs, args=("--cluster-state", str(state)), environ=env.ci_login()
    )
    assert code == 0, report["findings"]
    assert only_image(report)["credential"] == "secret:apps/regcred"


# -- pull secrets exactly as the kubelet's Go types read them ------------------------------


def raw_secret(name: str, payload: Any, kind: str = "kubernetes.io/dockerconfigjson") -> str:
    key = ".dockerconfigjson" if kind.endswith("dockerconfigjson") else ".dockercfg"
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: apps}}\n"
        f"type: {kind}\ndata:\n  {key}: {base64.b64encode(text.encode()).decode()}\n"
    )


def two_containers(private: str, public: str, secrets: list[str]) -> str:
    names = "\n".join(f"    - name: {name}" for name in secrets)
    return (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: app, namespace: apps}\nspec:\n"
        f"  imagePullSecrets:\n{names}\n  containers:\n"
        f"    - name: app\n      image: {private}\n"
        f"    - name: tool\n      image: {public}\n"
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"auths": {"r.example.com": {"username": "u", "password": "p", "email": 5}}}, "`email`"),
        ({"auths": {}, "HttpHeaders": "x"}, "`HttpHeaders`"),
        ({"auths": {"r.example.com": {"auth": base64.b64encode(b"no-colon").decode()}}}, "auth"),
        ({"auths": ["r.example.com"]}, "`auths`"),
    ],
)
def test_a_field_of_the_wrong_type_breaks_every_pull_of_the_pod(
    env: Env, tmp_path: Path, payload: Any, field: str
) -> None:
    """`MakeDockerKeyring` returns the decoding error, so the kubelet fails every image pull of
    the pod, even one a good secret beside it would pull: an error on each image, never a
    pass."""
    good = secret("good", {env.host: ("alice", PASSWORD)})
    code, report = run(
        env,
        tmp_path,
        good,
        raw_secret("broken", payload),
        two_containers(env.image, f"{env.host}/team/tool:1.0", ["good", "broken"]),
    )
    assert code == 1
    on_images = [f for f in report["findings"] if f["container"] is not None]
    assert {f["container"] for f in on_images} == {"app", "tool"}
    assert {f["rule"] for f in on_images} == {"pull-secret-invalid"}
    assert all(f["severity"] == "error" and field in f["message"] for f in on_images)
    assert all(i["digest"] is None for i in report["images"])
    at_entry = [f for f in report["findings"] if f["container"] is None]
    assert [f["line"] for f in at_entry] == [line_of(tmp_path, "- name: broken")]


def test_unknown_fields_are_ignored_as_go_ignores_them(env: Env, tmp_path: Path) -> None:
    payload = {
        "auths": {
            env.host: {"username": "alice", "password": PASSWORD, "identitytoken": 7, "x": [1]}
        },
        "credsStore": {"not": "a string"},
    }
    code, report = run(
        env, tmp_path, raw_secret("regcred", payload), pod(env.image, secrets=["regcred"])
    )
    assert code == 0, report["findings"]
    assert only_image(report)["credential"] == "secret:apps/regcred"


def test_dockerconfigjson_without_auths_is_an_empty_keyring(env: Env, tmp_path: Path) -> None:
    """Legacy content in a dockerconfigjson secret: `auths` is absent, so it offers nothing;
    the pull goes on without it (anonymous, refused), and the hint names the secret."""
    payload = {env.host: {"auth": base64.b64encode(f"alice:{PASSWORD}".encode()).decode()}}
    code, report = run(
        env, tmp_path, raw_secret("legacy", payload), pod(env.image, secrets=["legacy"])
    )
    assert code == 1
    assert set(rules(report)) == {"image-pull-unauthorized"}
    assert "legacy" in rules(report)["image-pull-unauthorized"]["hint"]


def test_a_secret_of_another_type_is_ignored_with_a_warning(env: Env, tmp_path: Path) -> None:
    """`secretsToTrackedDockerConfigs` skips a secret whose type is not a pull secret type:
    a warning that it does nothing; a public image of the pod still pulls."""
    opaque = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: opaque, namespace: apps}\ntype: Opaque\n"
        "stringData: {password: x}\n"
    )
    public = f"{env.host}/team/tool:1.0"
    node = tmp_path / "node.json"
    node.write_text(dockerconfigjson({env.host: ("bob", TEST_USERS["bob"])}))
    code, report = run(
        env,
        tmp_path,
        opaque,
        pod(public, secrets=["opaque"]),
        args=("--node-docker-config", str(node)),
    )
    assert code == 0, report["findings"]
    [finding] = report["findings"]
    assert finding["rule"] == "pull-secret-invalid" and finding["severity"] == "warning"
    assert "skips it" in finding["hint"]
    assert only_image(report)["credential"] == f"node-config:{node}"


# -- credential provider plugins, run as the kubelet runs them ---------------------------------

PLUGIN = """#!{python}
import json, os, sys
request = json.load(sys.stdin)
with open({log!r}, "a") as log:
    log.write(request["image"] + "\\n")
if {fail!r}:
    sys.stderr.write({leak!r})
    print({leak!r})
    sys.exit(1)
print(json.dumps({{
    "kind": "CredentialProviderResponse",
    "apiVersion": request["apiVersion"],
    "cacheKeyType": {cache_key!r},
    "auth": {{{auth_key!r}: {{"username": os.environ["PLUGIN_USER"], "password": {password!r}}}}},
}}))
"""


def provider_setup(
    env: Env,
    tmp_path: Path,
    *,
    api: str = "v1",
    cache_key: str = "Registry",
    fail: bool = False,
    token: bool = False,
    required_keys: tuple[str, ...] = (),
) -> tuple[tuple[str, ...], Path]:
    bin_dir = tmp_path / "plugins"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "plugin.log"
    plugin = bin_dir / "test-provider"
    plugin.write_text(
        PLUGIN.format(
            python=sys.executable,
            log=str(log),
            fail=fail,
            leak=PLUGIN_LEAK,
            cache_key=cache_key,
            auth_key=f"127.0.0.*:{env.server.port}",  # a glob key, matched per label
            password=PASSWORD,
        )
    )
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    token_attributes = (
        "    tokenAttributes:\n      serviceAccountTokenAudience: registry.example\n"
        "      requireServiceAccount: true\n      cacheType: ServiceAccount\n"
        + (
            f"      requiredServiceAccountAnnotationKeys: {list(required_keys)}\n"
            if required_keys
            else ""
        )
        if token
        else ""
    )
    config = tmp_path / "providers.yaml"
    config.write_text(
        f"apiVersion: kubelet.config.k8s.io/{api}\nkind: CredentialProviderConfig\n"
        "providers:\n  - name: test-provider\n"
        f"    matchImages: ['127.0.0.1:{env.server.port}']\n"
        "    defaultCacheDuration: 10m\n"
        f"    apiVersion: credentialprovider.kubelet.k8s.io/{api}\n"
        "    env: [{name: PLUGIN_USER, value: alice}]\n" + token_attributes
    )
    args = (
        "--image-credential-provider-config",
        str(config),
        "--image-credential-provider-bin-dir",
        str(bin_dir),
    )
    return args, log


def many(images: list[str]) -> list[str]:
    return [
        pod(image).replace("name: app\n  namespace", f"name: app-{i}\n  namespace")
        for i, image in enumerate(images)
    ]


@pytest.mark.parametrize("api", ["v1", "v1beta1"])
def test_provider_plugin_pulls_and_runs_once_per_registry(
    env: Env, tmp_path: Path, api: str
) -> None:
    args, log = provider_setup(env, tmp_path, api=api, cache_key="Registry")
    images = [env.image, f"{env.host}/private/app:2.0", f"{env.host}/team/tool:1.0"]
    code, report = run(env, tmp_path, *many(images), args=args)
    assert code == 0, report["findings"]
    assert {i["credential"] for i in report["images"]} == {"provider:test-provider"}
    assert log.read_text().splitlines() == [f"{env.host}/private/app"]


def test_provider_plugin_with_image_cache_key_runs_once_per_image(env: Env, tmp_path: Path) -> None:
    args, log = provider_setup(env, tmp_path, cache_key="Image")
    images = [env.image, f"{env.host}/private/app:2.0", f"{env.host}/team/tool:1.0"]
    code, report = run(env, tmp_path, *many(images), args=args)
    assert code == 0, report["findings"]
    assert sorted(log.read_text().splitlines()) == [
        f"{env.host}/private/app",
        f"{env.host}/team/tool",
    ]


def test_failing_provider_is_reported_without_its_output(env: Env, tmp_path: Path) -> None:
    """A provider that fails in CI says nothing of the node, whose identity may let it work:
    what only it could pull is unverified (exit 3), named in the report, its output never
    shown; a CI login may verify on its behalf."""
    args, log = provider_setup(env, tmp_path, fail=True)
    code, report = run(env, tmp_path, pod(env.image), args=args)
    assert code == 3
    [finding] = report["findings"]
    assert finding["rule"] == "image-pull-unverified"
    assert "credential provider test-provider gave no credentials here" in finding["message"]
    assert "exit status 1" in finding["message"]
    assert log.read_text().splitlines() == [f"{env.host}/private/app"]
    assert "test-provider" in env.outputs[-3]  # the warning on stderr names the provider
    code, report = run(env, tmp_path, pod(env.image), args=args, environ=env.ci_login())
    assert code == 0, report["findings"]
    image = only_image(report)
    assert (image["credential"], image["verified_with"]) == (
        "provider:test-provider",
        "env:CI_REGISTRY_PASSWORD",
    )


def test_a_token_provider_does_not_hide_a_missing_tag(env: Env, tmp_path: Path) -> None:
    """A CI login that sees "manifest unknown" settles it, whatever identity the pod has."""
    args, _ = provider_setup(env, tmp_path, token=True)
    missing = f"{env.host}/private/app:9.9"
    code, report = run(env, tmp_path, pod(missing), args=args, environ=env.ci_login())
    assert code == 1
    assert set(rules(report)) == {"image-tag-not-found"}


def test_provider_that_needs_a_service_account_token_exits_3(env: Env, tmp_path: Path) -> None:
    """KEP-4412: the kubelet runs such a provider with a token of the pod's service account.
    CI cannot mint one, so it is never run, and what only it could pull is unverified, even
    when a CI login can pull the image."""
    args, log = provider_setup(env, tmp_path, token=True)
    code, report = run(env, tmp_path, pod(env.image), args=args, environ=env.ci_login())
    assert code == 3
    [finding] = report["findings"]
    assert finding["rule"] == "image-pull-unverified"
    assert "provider test-provider needs the pod's service-account token" in finding["message"]
    assert "env:CI_REGISTRY_PASSWORD can pull it" in finding["message"]
    assert not log.exists()


ROLE_KEY = "registry.example/role"


def service_account(name: str, annotations: dict[str, str] | None = None) -> str:
    meta = f"  name: {name}\n  namespace: apps\n"
    if annotations:
        meta += "  annotations:\n" + "".join(f"    {k}: {v}\n" for k, v in annotations.items())
    return f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n{meta}"


def account_state(tmp_path: Path, annotations: dict[str, str] | None) -> tuple[str, ...]:
    """`--cluster-state` with the ServiceAccount `apps/puller` as the API server holds it."""
    meta: dict[str, Any] = {"name": "puller", "namespace": "apps"}
    if annotations is not None:
        meta["annotations"] = annotations
    state = tmp_path / "state.json"
    item = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}
    state.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [item]}))
    return ("--cluster-state", str(state))


@pytest.mark.parametrize(
    ("annotations", "code", "rule"),
    [
        ({ROLE_KEY: "puller"}, 3, "image-pull-unverified"),  # run by the kubelet: unknown
        ({"other.example/key": "x"}, 1, "image-pull-unauthorized"),  # skipped: definite
        (None, 1, "image-pull-unauthorized"),
    ],
)
def test_token_provider_skipped_without_its_required_annotation(
    env: Env, tmp_path: Path, annotations: dict[str, str] | None, code: int, rule: str
) -> None:
    """kubernetes `pkg/credentialprovider/plugin/plugin.go`: `serviceAccountProvider.
    getServiceAccountData` fails with `required annotation %s not found`, and
    `pluginProvider.provide` logs it and returns no credentials: the kubelet does not run the
    plugin for that pod, which pulls with what else it has (here nothing, so unauthorized),
    not "could not verify". The account as the cluster holds it decides."""
    args, log = provider_setup(env, tmp_path, token=True, required_keys=(ROLE_KEY,))
    state = account_state(tmp_path, annotations)
    got, report = run(env, tmp_path, pod(env.image, sa="puller"), args=(*args, *state))
    assert got == code
    [finding] = report["findings"]
    assert finding["rule"] == rule
    if rule == "image-pull-unauthorized":
        assert f"lacks the required annotation {ROLE_KEY}" in finding["hint"]
    assert not log.exists()


def test_a_rendered_account_without_the_annotation_stays_unverified(
    env: Env, tmp_path: Path
) -> None:
    """`kubectl apply` keeps annotations added out of band (kubectl annotate, Terraform), so a
    rendered ServiceAccount without the key may still have it on the cluster: exit 3."""
    args, _ = provider_setup(env, tmp_path, token=True, required_keys=(ROLE_KEY,))
    docs = (service_account("puller"), pod(env.image, sa="puller"))
    code, report = run(env, tmp_path, *docs, args=args)
    assert code == 3
    assert set(rules(report)) == {"image-pull-unverified"}


def test_token_provider_with_an_unknown_account_stays_unverified(env: Env, tmp_path: Path) -> None:
    """The `default` account exists in every namespace, but its annotations are unknown here
    (not in the rendered set): the kubelet may well run the provider, so exit 3."""
    args, _ = provider_setup(env, tmp_path, token=True, required_keys=(ROLE_KEY,))
    code, report = run(env, tmp_path, pod(env.image), args=args)
    assert code == 3
    assert set(rules(report)) == {"image-pull-unverified"}


# -- GITHUB_TOKEN and ghcr.io ------------------------------------------------------------------

GHCR_IP = "127.77.0.9"
"""A loopback address where a test registry answers as ghcr.io, on ghcr.io's own port."""


@pytest.fixture(scope="module")
def ghcr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    if os.geteuid() != 0:
        pytest.skip("serving ghcr.io on port 443 of a loopback address needs root (CI is root)")
    server = RegistryServer(
        "tls",
        users=TEST_USERS,
        port=443,
        listen_ip=GHCR_IP,
        dns_names=("ghcr.io",),
        workdir=tmp_path_factory.mktemp("ghcr"),
    ).start()
    try:
        push_image(server, "acme/app", "1.0")
        yield server
    finally:
        server.stop()


def test_github_token_does_not_stand_in_for_a_forgotten_pull_secret(
    ghcr: RegistryServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GitHub Action hands `GITHUB_TOKEN` over; ghcr.io accepts it; the pod has no pull
    secret. The kubelet has never seen the token, so the gate fails (it used to pass)."""
    real = socket.getaddrinfo

    def ghcr_here(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host  # anyio passes IDNA bytes
        return real(GHCR_IP if name == "ghcr.io" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", ghcr_here)
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    manifest = tmp_path / "set.yaml"
    manifest.write_text(pod("ghcr.io/acme/app:1.0"))
    environ = {
        "HOME": str(home),
        "GITHUB_TOKEN": PASSWORD,
        "GITHUB_ACTOR": "alice",
        "CI_REGISTRY": "",
    }
    args = ["check", "--format", "json", "--ca-file", str(ghcr.ca_file), str(manifest)]
    result = pullgate(*args, env=environ)
    assert PASSWORD not in result.stdout + result.stderr
    assert result.exit_code == 1, result.stdout + result.stderr
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "image-pull-unauthorized"
    assert "env:GITHUB_TOKEN pulled it" in finding["hint"]
    # declared as the nodes' access, the token verifies on their behalf
    config = tmp_path / "pullgate.yaml"
    config.write_text("nodes:\n  registries: [ghcr.io/acme]\n")
    result = pullgate(*args[:-1], "--config", str(config), args[-1], env=environ)
    assert result.exit_code == 0, result.stdout
    image = only_image(json.loads(result.stdout))
    assert (image["credential"], image["verified_with"]) == (
        "nodes:ghcr.io/acme",
        "env:GITHUB_TOKEN",
    )
