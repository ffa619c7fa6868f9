"""The live-cluster source, against tests/support/kubeapi.py (HTTPS, real TLS and Status objects).

What is asserted is what the API server sees: which paths, which Accept header, which
credentials. No full Secret may be fetched without `credentials=True`, and no secret value or
credential may appear in any message or log line.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import stat
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.extract import extract
from gate.inventory import Inventory, add_rendered
from gate.inventory.cluster import (
    METADATA_ACCEPT,
    ClusterConfig,
    ClusterConfigError,
    ClusterError,
    load_config,
    read_cluster,
)
from gate.load import load_text
from gate.policy.secrets import secret_findings
from gate.workload import PodSpec
from tests.support import paths
from tests.support.kubeapi import KubeAPIServer, write_kubeconfig

DATA = paths.DATA / "secrets"
APP_TEXT = (DATA / "app.yaml").read_text()
TOKEN = "FIXTURE-BEARER-TOKEN-0b7d"
FIXTURE_VALUES = (
    "FIXTURE-REGISTRY-PASSWORD-7f3a",
    "FIXTURE-DB-PASSWORD-91c2",
    "FIXTURE-API-TOKEN-5d0e",
    TOKEN,
)


def cluster_objects() -> list[dict[str, Any]]:
    """The kubectl-made objects of the cluster-state fixture (see tests/data/secrets/README)."""
    items: list[dict[str, Any]] = json.loads((DATA / "cluster-state.json").read_text())["items"]
    return items


@pytest.fixture
def api(tmp_path: Path) -> Iterator[KubeAPIServer]:
    with KubeAPIServer(tmp_path / "api", cluster_objects(), tokens={TOKEN: "ci"}) as server:
        yield server


def kubeconfig(api: KubeAPIServer, tmp_path: Path, **user: Any) -> str:
    path = write_kubeconfig(
        tmp_path / "kubeconfig", api.url, user=user or {"token": TOKEN}, ca_file=api.pki.ca_file
    )
    return str(path)


def config_for(api: KubeAPIServer, tmp_path: Path, **user: Any) -> ClusterConfig:
    return load_config(kubeconfig(api, tmp_path, **user), environ={})


def app_pods() -> tuple[list[PodSpec], Inventory]:
    objects = load_text(APP_TEXT, "app.yaml").objects
    inventory = Inventory()
    add_rendered(inventory, objects)
    return extract(objects), inventory


def assert_no_values(text: str) -> None:
    for value in FIXTURE_VALUES:
        assert value not in text


# --- existence, metadata only ------------------------------------------------------------------


def test_metadata_only_listing_makes_the_set_pass(api: KubeAPIServer, tmp_path: Path) -> None:
    pods, inventory = app_pods()
    readout = read_cluster(config_for(api, tmp_path), inventory, pods)
    assert readout.namespaces == ["shop"]
    assert (readout.secrets, readout.service_accounts, readout.fetched) == (5, 2, [])
    assert secret_findings(pods, inventory) == []
    assert sorted(api.paths()) == [
        "/api/v1/namespaces/shop/secrets",
        "/api/v1/namespaces/shop/serviceaccounts",
    ]
    secrets_request = next(r for r in api.requests if r.path.endswith("/secrets"))
    assert secrets_request.accept == METADATA_ACCEPT
    assert secrets_request.accept == (
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
    )
    assert secrets_request.query == {"limit": "500"}
    assert all(r.authorization == f"Bearer {TOKEN}" and r.user == "ci" for r in api.requests)
    entry = inventory.secret("shop", "regcred")
    assert entry is not None and entry.origin == "cluster" and entry.keys is None
    assert inventory.secret_object("shop", "regcred") is None  # no value was downloaded
    builder = inventory.service_account("shop", "builder")
    assert builder is not None and builder.image_pull_secrets == ("regcred",)
    assert inventory.searched[-1].startswith("cluster context test (server https://127.0.0.1:")


def test_missing_in_the_cluster_is_a_finding(tmp_path: Path) -> None:
    objects = [o for o in cluster_objects() if o["metadata"]["name"] not in ("db", "deployer")]
    with KubeAPIServer(tmp_path / "api", objects, tokens={TOKEN: "ci"}) as api:
        pods, inventory = app_pods()
        read_cluster(config_for(api, tmp_path), inventory, pods)
    findings = secret_findings(pods, inventory)
    assert sorted((f.rule, f.container) for f in findings) == [
        ("secret-ref-missing", "migrate"),
        ("service-account-missing", None),
    ]
    assert all("cluster context test" in f.hint for f in findings)
    assert all("--cluster-state" not in f.hint for f in findings)


def test_pages_are_followed(tmp_path: Path) -> None:
    with KubeAPIServer(
        tmp_path / "api", cluster_objects(), tokens={TOKEN: "ci"}, page_size=2
    ) as api:
        pods, inventory = app_pods()
        read_cluster(config_for(api, tmp_path), inventory, pods)
        continued = [r for r in api.requests if "continue" in r.query]
    assert secret_findings(pods, inventory) == []
    assert len(continued) == 2  # 5 secrets in pages of 2


def test_a_server_without_metadata_lists_leaves_no_values(tmp_path: Path) -> None:
    with KubeAPIServer(
        tmp_path / "api", cluster_objects(), tokens={TOKEN: "ci"}, metadata_lists=False
    ) as api:
        pods, inventory = app_pods()
        read_cluster(config_for(api, tmp_path), inventory, pods)
    assert secret_findings(pods, inventory) == []
    assert inventory.secret_object("shop", "regcred") is None
    assert_no_values(repr(inventory) + repr(inventory.secrets))


# --- credentials=True --------------------------------------------------------------------------


def test_credentials_reads_only_the_pull_secrets_pods_use(
    api: KubeAPIServer, tmp_path: Path
) -> None:
    pods, inventory = app_pods()
    readout = read_cluster(config_for(api, tmp_path), inventory, pods, credentials=True)
    assert readout.fetched == ["shop/regcred"]
    gets = [r for r in api.requests if r.path.startswith("/api/v1/namespaces/shop/secrets/")]
    assert [r.path for r in gets] == ["/api/v1/namespaces/shop/secrets/regcred"]
    assert gets[0].accept == "application/json"
    obj = inventory.secret_object("shop", "regcred")
    assert obj is not None and obj["type"] == "kubernetes.io/dockerconfigjson"
    assert ".dockerconfigjson" in obj["data"]
    assert inventory.secret_keys("shop", "regcred") == frozenset({".dockerconfigjson"})
    assert inventory.secret_object("shop", "db") is None


def test_credentials_follow_service_account_inheritance(api: KubeAPIServer, tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: Pod
        metadata: {name: p, namespace: shop}
        spec:
          serviceAccountName: builder
          containers: [{name: c, image: registry.example.com/x:1}]
        """
    )
    pods = extract(load_text(text, "p.yaml").objects)
    inventory = Inventory()
    read_cluster(config_for(api, tmp_path), inventory, pods, credentials=True)
    assert inventory.secret_object("shop", "regcred") is not None


def test_rendered_values_are_not_fetched_again(api: KubeAPIServer, tmp_path: Path) -> None:
    text = APP_TEXT + textwrap.dedent(
        """\
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: regcred, namespace: shop}
        type: kubernetes.io/dockerconfigjson
        data: {.dockerconfigjson: e30=}
        """
    )
    objects = load_text(text, "app.yaml").objects
    inventory = Inventory()
    add_rendered(inventory, objects)
    readout = read_cluster(config_for(api, tmp_path), inventory, extract(objects), credentials=True)
    assert readout.fetched == []
    obj = inventory.secret_object("shop", "regcred")
    assert obj is not None and obj["data"] == {".dockerconfigjson": "e30="}


# --- refusals ----------------------------------------------------------------------------------


def test_rbac_denial_is_a_located_error(tmp_path: Path) -> None:
    forbidden = [("ci", "list", "secrets", "shop")]
    with KubeAPIServer(
        tmp_path / "api", cluster_objects(), tokens={TOKEN: "ci"}, forbidden=forbidden
    ) as api:
        pods, inventory = app_pods()
        with pytest.raises(ClusterError) as caught:
            read_cluster(config_for(api, tmp_path), inventory, pods)
        url = api.url
    error = caught.value
    assert error.exit_code == 3
    assert not isinstance(error, ClusterConfigError)
    message = str(error)
    assert message.startswith(f"context test (server {url}, kubeconfig ")
    assert "access denied (403 Forbidden): cannot list secrets in namespace shop" in message
    assert (
        'secrets is forbidden: User "ci" cannot list resource "secrets" in API group "" in the '
        'namespace "shop"'
    ) in message
    assert "metadata only" in message
    assert_no_values(message)


def test_denied_get_of_a_pull_secret(tmp_path: Path) -> None:
    forbidden = [("ci", "get", "secrets", "*")]
    with KubeAPIServer(
        tmp_path / "api", cluster_objects(), tokens={TOKEN: "ci"}, forbidden=forbidden
    ) as api:
        pods, inventory = app_pods()
        read_cluster(config_for(api, tmp_path), inventory, pods)  # metadata only: allowed
        with pytest.raises(ClusterError, match=r"cannot get secrets regcred in namespace shop"):
            read_cluster(config_for(api, tmp_path), Inventory(), pods, credentials=True)


def test_bad_token_is_401(api: KubeAPIServer, tmp_path: Path) -> None:
    pods, inventory = app_pods()
    config = config_for(api, tmp_path, token="FIXTURE-WRONG-TOKEN")
    with pytest.raises(ClusterError) as caught:
        read_cluster(config, inventory, pods)
    message = str(caught.value)
    assert "rejected user test-user (401 Unauthorized)" in message
    assert "(API server: Unauthorized)" in message
    assert "FIXTURE-WRONG-TOKEN" not in message
    assert caught.value.exit_code == 3


def test_anonymous_is_forbidden_like_the_real_server(api: KubeAPIServer, tmp_path: Path) -> None:
    pods, inventory = app_pods()
    config = dataclasses.replace(config_for(api, tmp_path), token=None)
    with pytest.raises(ClusterError, match='User "system:anonymous" cannot list'):
        read_cluster(config, inventory, pods)


def test_unreachable_api_server(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = write_kubeconfig(tmp_path / "kc", f"https://127.0.0.1:{port}", user={"token": TOKEN})
    config = dataclasses.replace(load_config(str(path), environ={}), retries=1, backoff=0.01)
    pods, inventory = app_pods()
    with pytest.raises(ClusterError) as caught:
        read_cluster(config, inventory, pods)
    message = str(caught.value)
    assert f"server https://127.0.0.1:{port}" in message
    assert "cannot reach the API server to list " in message
    assert "(tried 2 times)" in message
    assert caught.value.exit_code == 3


def test_not_an_api_server_path(api: KubeAPIServer, tmp_path: Path) -> None:
    path = write_kubeconfig(
        tmp_path / "kc", api.url + "/not-k8s", user={"token": TOKEN}, ca_file=api.pki.ca_file
    )
    pods, inventory = app_pods()
    with pytest.raises(ClusterError, match="answered HTTP 404 NotFound when asked to list"):
        read_cluster(load_config(str(path), environ={}), inventory, pods)


# --- TLS ---------------------------------------------------------------------------------------


def test_untrusted_server_certificate(api: KubeAPIServer, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    path = write_kubeconfig(tmp_path / "kc", api.url, user={"token": TOKEN})  # no CA
    pods, inventory = app_pods()
    with pytest.raises(ClusterError, match="TLS verification of the API server failed"):
        read_cluster(load_config(str(path), environ={}), inventory, pods)
    assert api.requests == []  # the token never left


def test_insecure_skip_tls_verify(api: KubeAPIServer, tmp_path: Path) -> None:
    path = write_kubeconfig(
        tmp_path / "kc",
        api.url,
        user={"token": TOKEN},
        cluster={"insecure-skip-tls-verify": True},
    )
    pods, inventory = app_pods()
    read_cluster(load_config(str(path), environ={}), inventory, pods)
    assert secret_findings(pods, inventory) == []


@pytest.mark.parametrize(("name", "works"), [("localhost", True), ("wrong.example", False)])
def test_tls_server_name(api: KubeAPIServer, tmp_path: Path, name: str, works: bool) -> None:
    path = write_kubeconfig(
        tmp_path / "kc",
        api.url,
        user={"token": TOKEN},
        ca_file=api.pki.ca_file,
        cluster={"tls-server-name": name},
    )
    pods, inventory = app_pods()
    if works:
        read_cluster(load_config(str(path), environ={}), inventory, pods)
    else:
        with pytest.raises(ClusterError, match="TLS verification"):
            read_cluster(load_config(str(path), environ={}), inventory, pods)


def test_client_certificate_in_the_kubeconfig(api: KubeAPIServer, tmp_path: Path) -> None:
    cert = api.client_cert("cert-user")
    user = {
        "client-certificate-data": _b64(cert.cert_pem),
        "client-key-data": _b64(cert.key_pem),
    }
    pods, inventory = app_pods()
    read_cluster(config_for(api, tmp_path, **user), inventory, pods)
    assert {r.user for r in api.requests} == {"cert-user"}
    assert all(r.authorization is None for r in api.requests)


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


# --- exec credential plugins -------------------------------------------------------------------

PLUGIN = """\
#!{python}
import json, os, pathlib, sys
log = pathlib.Path({log!r})
runs = len(log.read_text().splitlines()) if log.exists() else 0
with log.open("a") as handle:
    handle.write(json.dumps({{
        "argv": sys.argv[1:],
        "info": json.loads(os.environ["KUBERNETES_EXEC_INFO"]),
        "env": os.environ.get("PLUGIN_SETTING"),
        "stdin_tty": sys.stdin is not None and sys.stdin.isatty(),
    }}) + "\\n")
statuses = {statuses!r}
if statuses[min(runs, len(statuses) - 1)] == "fail":
    print("aws: the SSO session has expired", file=sys.stderr)
    sys.exit(1)
print(json.dumps({{"apiVersion": {answer!r}, "kind": "ExecCredential",
                   "status": statuses[min(runs, len(statuses) - 1)]}}))
"""


def plugin(
    tmp_path: Path, statuses: list[Any], api_version: str, answer: str | None = None
) -> tuple[Path, Path]:
    log = tmp_path / "plugin.log"
    script = tmp_path / "bin" / "credential-plugin"
    script.parent.mkdir(exist_ok=True)
    script.write_text(
        PLUGIN.format(
            python=sys.executable,
            log=str(log),
            statuses=statuses,
            answer=answer or api_version,
        )
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def exec_user(script: Path, api_version: str, **extra: Any) -> dict[str, Any]:
    return {
        "exec": {
            "apiVersion": api_version,
            "command": str(script),
            "args": ["token", "--cluster", "test"],
            "env": [{"name": "PLUGIN_SETTING", "value": "from-kubeconfig"}],
            "interactiveMode": "IfAvailable",
            **extra,
        }
    }


@pytest.mark.parametrize(
    "api_version", ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"]
)
def test_exec_plugin_token(api: KubeAPIServer, tmp_path: Path, api_version: str) -> None:
    script, log = plugin(tmp_path, [{"token": TOKEN}], api_version)
    user = exec_user(script, api_version, provideClusterInfo=True)
    pods, inventory = app_pods()
    read_cluster(config_for(api, tmp_path, **user), inventory, pods)
    assert secret_findings(pods, inventory) == []
    assert {r.authorization for r in api.requests} == {f"Bearer {TOKEN}"}
    (run,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert run["argv"] == ["token", "--cluster", "test"]
    assert run["env"] == "from-kubeconfig"
    assert run["stdin_tty"] is False
    info = run["info"]
    assert info["apiVersion"] == api_version and info["kind"] == "ExecCredential"
    assert info["spec"]["interactive"] is False
    assert info["spec"]["cluster"]["server"] == api.url
    assert "certificate-authority-data" in info["spec"]["cluster"]


def test_exec_plugin_client_certificate(api: KubeAPIServer, tmp_path: Path) -> None:
    cert = api.client_cert("exec-cert-user")
    status = {"clientCertificateData": cert.cert_pem, "clientKeyData": cert.key_pem}
    version = "client.authentication.k8s.io/v1"
    script, _ = plugin(tmp_path, [status], version)
    pods, inventory = app_pods()
    read_cluster(config_for(api, tmp_path, **exec_user(script, version)), inventory, pods)
    assert {r.user for r in api.requests} == {"exec-cert-user"}


def test_exec_plugin_runs_again_once_on_401(api: KubeAPIServer, tmp_path: Path) -> None:
    version = "client.authentication.k8s.io/v1"
    script, log = plugin(tmp_path, [{"token": "FIXTURE-STALE"}, {"token": TOKEN}], version)
    pods, inventory = app_pods()
    read_cluster(config_for(api, tmp_path, **exec_user(script, version)), inventory, pods)
    assert len(log.read_text().splitlines()) == 2
    assert secret_findings(pods, inventory) == []


def test_exec_plugin_failure(api: KubeAPIServer, tmp_path: Path) -> None:
    version = "client.authentication.k8s.io/v1"
    script, _ = plugin(tmp_path, ["fail"], version)
    pods, inventory = app_pods()
    with pytest.raises(ClusterError) as caught:
        read_cluster(config_for(api, tmp_path, **exec_user(script, version)), inventory, pods)
    assert caught.value.exit_code == 3
    assert "exited with status 1: aws: the SSO session has expired" in str(caught.value)
    assert api.requests == []


def test_exec_plugin_not_installed(api: KubeAPIServer, tmp_path: Path) -> None:
    version = "client.authentication.k8s.io/v1"
    user = exec_user(
        tmp_path / "nowhere" / "gke-gcloud-auth-plugin",
        version,
        installHint="Install gke-gcloud-auth-plugin: gcloud components install ...",
    )
    pods, inventory = app_pods()
    with pytest.raises(ClusterConfigError) as caught:
        read_cluster(config_for(api, tmp_path, **user), inventory, pods)
    assert caught.value.exit_code == 2
    assert "cannot be run" in str(caught.value)
    assert "Install gke-gcloud-auth-plugin" in str(caught.value)


def test_exec_plugin_answering_another_version(api: KubeAPIServer, tmp_path: Path) -> None:
    version = "client.authentication.k8s.io/v1"
    script, _ = plugin(
        tmp_path, [{"token": TOKEN}], version, answer="client.authentication.k8s.io/v1beta1"
    )
    pods, inventory = app_pods()
    with pytest.raises(ClusterConfigError, match="answered apiVersion"):
        read_cluster(config_for(api, tmp_path, **exec_user(script, version)), inventory, pods)


def test_relative_exec_command_is_relative_to_the_kubeconfig(
    api: KubeAPIServer, tmp_path: Path
) -> None:
    version = "client.authentication.k8s.io/v1beta1"
    script, log = plugin(tmp_path, [{"token": TOKEN}], version)
    user = exec_user(Path("bin") / script.name, version)
    pods, inventory = app_pods()
    read_cluster(config_for(api, tmp_path, **user), inventory, pods)
    assert log.exists()


# --- kubeconfig and in-cluster config ----------------------------------------------------------


def _config_file(path: Path, contexts: dict[str, str], current: str | None, token: str) -> Path:
    """A kubeconfig whose contexts map to server URLs, all with the same token."""
    data: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": s}} for n, s in contexts.items()],
        "users": [{"name": n, "user": {"token": token}} for n in contexts],
        "contexts": [{"name": n, "context": {"cluster": n, "user": n}} for n in contexts],
    }
    if current:
        data["current-context"] = current
    path.write_text(json.dumps(data))
    return path


def test_kubeconfig_list_first_file_wins(tmp_path: Path) -> None:
    first = _config_file(tmp_path / "a", {"a": "https://first.example"}, "a", "t1")
    second = _config_file(
        tmp_path / "b", {"a": "https://second.example", "b": "https://b.example"}, "b", "t2"
    )
    listed = f"{tmp_path / 'missing'}:{first}:{second}"
    config = load_config(environ={"KUBECONFIG": listed})
    assert (config.context, config.server) == ("a", "https://first.example")
    assert config.source == f"kubeconfig {first}:{second}"
    other = load_config(context="b", environ={"KUBECONFIG": listed})
    assert other.server == "https://b.example"
    assert "t1" not in repr(config) and "t2" not in repr(other)


def test_default_kubeconfig_in_home(tmp_path: Path) -> None:
    (tmp_path / ".kube").mkdir()
    _config_file(tmp_path / ".kube" / "config", {"home": "https://home.example"}, "home", "t")
    assert load_config(environ={"HOME": str(tmp_path)}).server == "https://home.example"


def test_relative_paths_resolve_against_the_kubeconfig(api: KubeAPIServer, tmp_path: Path) -> None:
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "token").write_text(TOKEN + "\n")
    (tmp_path / "creds" / "ca.crt").write_bytes(api.pki.ca_file.read_bytes())
    path = tmp_path / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {"server": api.url, "certificate-authority": "creds/ca.crt"},
                    }
                ],
                "users": [{"name": "u", "user": {"tokenFile": "creds/token"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    pods, inventory = app_pods()
    read_cluster(load_config(str(path), environ={}), inventory, pods)
    assert {r.authorization for r in api.requests} == {f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("clusters: [", "not valid YAML"),
        ("[1, 2]", "not a kubeconfig"),
        ("clusters: []\ncontexts: []\n", r"no current-context; pass --context \(contexts: none\)"),
        (
            "contexts: [{name: a, context: {cluster: nope}}]\ncurrent-context: a\n",
            "context a names cluster 'nope', which is not defined",
        ),
        (
            "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
            "contexts: [{name: a, context: {cluster: c, user: ghost}}]\ncurrent-context: a\n",
            "names user 'ghost', which is not defined",
        ),
        (
            "clusters: [{name: c, cluster: {server: 'http://api.example.com'}}]\n"
            "contexts: [{name: a, context: {cluster: c}}]\ncurrent-context: a\n",
            "plain HTTP",
        ),
        (
            "clusters: [{name: c, cluster: {server: 'https://x', insecure-skip-tls-verify: true,"
            " certificate-authority-data: LS0t}}]\n"
            "contexts: [{name: a, context: {cluster: c}}]\ncurrent-context: a\n",
            "insecure-skip-tls-verify",
        ),
        (
            "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority: ca.pem}}]\n"
            "contexts: [{name: a, context: {cluster: c}}]\ncurrent-context: a\n",
            "certificate-authority .*ca.pem: no such file",
        ),
        (
            "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
            "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1,"
            " command: x}}}]\n"
            "contexts: [{name: a, context: {cluster: c, user: u}}]\ncurrent-context: a\n",
            "v1alpha1 was removed",
        ),
        (
            "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
            "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n"
            "contexts: [{name: a, context: {cluster: c, user: u}}]\ncurrent-context: a\n",
            "auth-provider 'gcp' is not supported",
        ),
    ],
)
def test_bad_kubeconfigs(tmp_path: Path, content: str, error: str) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(content)
    with pytest.raises(ClusterConfigError, match=error) as caught:
        load_config(str(path), environ={})
    assert caught.value.exit_code == 2


def test_missing_and_unknown(tmp_path: Path) -> None:
    with pytest.raises(ClusterConfigError, match="no such file"):
        load_config(str(tmp_path / "nope"), environ={})
    with pytest.raises(ClusterConfigError, match="no kubeconfig found"):
        load_config(environ={"HOME": str(tmp_path)})
    path = _config_file(tmp_path / "kc", {"a": "https://a.example", "b": "https://b"}, "a", "t")
    with pytest.raises(ClusterConfigError, match=r"no context 'c' \(contexts: a, b\)"):
        load_config(str(path), context="c", environ={})


def test_in_cluster_config(api: KubeAPIServer, tmp_path: Path) -> None:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(TOKEN)
    (account / "ca.crt").write_bytes(api.pki.ca_file.read_bytes())
    (account / "namespace").write_text("ci")
    port = api.url.rsplit(":", 1)[1]
    environ = {
        "HOME": str(tmp_path / "empty-home"),
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": port,
    }
    config = load_config(environ=environ, service_account_dir=str(account))
    assert config.source == "in-cluster config"
    assert config.where == f"in-cluster config (server https://127.0.0.1:{port})"
    pods, inventory = app_pods()
    read_cluster(config, inventory, pods)
    assert secret_findings(pods, inventory) == []
    assert {r.authorization for r in api.requests} == {f"Bearer {TOKEN}"}
    with pytest.raises(ClusterConfigError, match="no service account token"):
        load_config(in_cluster=True, environ=environ, service_account_dir=str(tmp_path))


# --- nothing leaks -----------------------------------------------------------------------------


def test_no_value_in_logs_messages_or_reprs(
    api: KubeAPIServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = config_for(api, tmp_path)
    pods, inventory = app_pods()
    readout = read_cluster(config, inventory, pods, credentials=True)
    findings = secret_findings(pods, Inventory())
    texts = [caplog.text, repr(config), repr(readout), repr(inventory), repr(inventory.secrets)]
    texts += [f.message + f.hint for f in findings]
    forbidden = [("ci", "list", "serviceaccounts", "*")]
    with KubeAPIServer(
        tmp_path / "denied", cluster_objects(), tokens={TOKEN: "ci"}, forbidden=forbidden
    ) as denied:
        with pytest.raises(ClusterError) as caught:
            read_cluster(config_for(denied, tmp_path / "denied"), Inventory(), pods)
        texts.append(str(caught.value))
    assert "cannot list serviceaccounts in namespace shop" in texts[-1]
    for text in texts:
        assert_no_values(text)
