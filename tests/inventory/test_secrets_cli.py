"""Every secret a pod needs exists in its namespace (issue 4), from the command line.

The same rendered set fails on its own, passes with a cluster-state snapshot or the live cluster
holding the secrets, and with --cluster-credentials pulls a private image with the pull secret
read from the cluster, as the pod would. The live cluster is tests/support/kubeapi.py, an HTTPS
server answering as kube-apiserver does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from tests.support.cli import pullgate
from tests.support.images import push_image
from tests.support.kubeapi import KubeAPIServer, write_kubeconfig
from tests.support.registry import TEST_USERS, RegistryServer

TOKEN = "ci-token-value"

RENDERED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  template:
    spec:
      serviceAccountName: shop-runner
      imagePullSecrets:
        - name: regcred
      containers:
        - name: app
          image: {IMAGE}
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: db
                  key: password
            - name: OPTIONAL
              valueFrom:
                secretKeyRef: {{name: maybe, key: x, optional: true}}
          envFrom:
            - secretRef: {{name: app-env}}
      volumes:
        - name: tls
          secret:
            secretName: shop-tls
        - name: bundle
          projected:
            sources:
              - secret: {{name: bundle-part}}
"""

NEEDED = ["regcred", "db", "app-env", "shop-tls", "bundle-part"]


def line(needle: str) -> int:
    [number] = [n for n, t in enumerate(RENDERED.splitlines(), 1) if needle in t]
    return number


SA_LINE, PULL_LINE = line("serviceAccountName:"), line("- name: regcred")
DB_LINE, ENV_LINE = line("name: db"), line("name: app-env")
TLS_LINE, BUNDLE_LINE = line("secretName: shop-tls"), line("name: bundle-part")


def secret_object(
    name: str, namespace: str, registry: RegistryServer | None = None
) -> dict[str, Any]:
    if name == "regcred":
        auth = base64.b64encode(f"alice:{TEST_USERS['alice']}".encode()).decode()
        host = registry.host if registry is not None else "registry.example.com"
        config = {"auths": {host: {"auth": auth}}}
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
        }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "data": {"password": base64.b64encode(b"hunter2-db").decode()},
    }


def account(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace},
    }


@pytest.fixture
def private_image(htpasswd_registry: RegistryServer) -> str:
    push_image(htpasswd_registry, "secrets/app", "1.0")
    return f"{htpasswd_registry.host}/secrets/app:1.0"


def check(tmp_path: Path, *args: str, image: str = "busybox:1.36") -> Result:
    path = tmp_path / "shop.yaml"
    path.write_text(RENDERED.format(IMAGE=image))
    result = pullgate("check", "--format", "json", "-n", "shop", *args, str(path))
    return result


def findings(result: Result) -> set[tuple[str, int, str | None]]:
    return {(f["rule"], f["line"], f["container"]) for f in json.loads(result.stdout)["findings"]}


def test_rendered_set_alone_reports_each_missing_reference_at_its_line(tmp_path: Path) -> None:
    result = check(tmp_path, "--offline")
    assert result.exit_code == 1
    assert findings(result) == {
        ("service-account-missing", SA_LINE, None),
        ("pull-secret-missing", PULL_LINE, None),
        ("secret-ref-missing", DB_LINE, "app"),
        ("secret-ref-missing", ENV_LINE, "app"),
        ("secret-ref-missing", TLS_LINE, None),
        ("secret-ref-missing", BUNDLE_LINE, None),
    }
    by_line = {f["line"]: f for f in json.loads(result.stdout)["findings"]}
    pull = by_line[PULL_LINE]
    assert pull["namespace"] == "shop" and pull["kind"] == "Deployment"


def test_a_secret_in_another_namespace_is_named_in_the_message(tmp_path: Path) -> None:
    snapshot = tmp_path / "state.json"
    snapshot.write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": [secret_object("db", "default")]})
    )
    result = check(tmp_path, "--offline", "--cluster-state", str(snapshot))
    [db] = [f for f in json.loads(result.stdout)["findings"] if f["line"] == DB_LINE]
    assert "exists in namespace default" in db["message"]
    assert "namespace-scoped" in db["message"]


@pytest.mark.parametrize("with_data", [True, False])
def test_a_snapshot_holding_the_secrets_makes_the_set_pass(tmp_path: Path, with_data: bool) -> None:
    items = [secret_object(name, "shop") for name in NEEDED] + [account("shop-runner", "shop")]
    if not with_data:
        for item in items:
            item.pop("data", None)
    snapshot = tmp_path / "state.json"
    snapshot.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    result = check(tmp_path, "--offline", "--cluster-state", str(snapshot))
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["findings"] == []


def test_config_external_secrets_count_as_existing(tmp_path: Path) -> None:
    config = tmp_path / ".pullgate.yaml"
    config.write_text(
        "secrets:\n  external:\n    - name: 'shop/*'\n      reason: made by the Vault injector\n"
    )
    result = check(tmp_path, "--offline", "--config", str(config))
    assert findings(result) == {("service-account-missing", SA_LINE, None)}


def test_bad_snapshot_and_bad_namespace_are_usage_errors(tmp_path: Path) -> None:
    missing = check(tmp_path, "--offline", "--cluster-state", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2 and "nope.json" in missing.stderr
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert check(tmp_path, "--offline", "--cluster-state", str(garbage)).exit_code == 2


@pytest.fixture
def api(tmp_path: Path) -> Iterator[KubeAPIServer]:
    objects = [secret_object(name, "shop") for name in NEEDED] + [account("shop-runner", "shop")]
    with KubeAPIServer(tmp_path / "api", objects, tokens={TOKEN: "ci"}) as server:
        yield server


def kubeconfig(api: KubeAPIServer, tmp_path: Path) -> str:
    path = write_kubeconfig(
        tmp_path / "kubeconfig", api.url, user={"token": TOKEN}, ca_file=api.pki.ca_file
    )
    return str(path)


def test_live_cluster_holding_the_secrets_passes_without_reading_a_value(
    tmp_path: Path, api: KubeAPIServer
) -> None:
    result = check(
        tmp_path, "--no-node-credentials", "--cluster", "--kubeconfig", kubeconfig(api, tmp_path)
    )
    # busybox:1.36 lives on Docker Hub, which this machine cannot reach: only exit 3 is left
    assert {f["rule"] for f in json.loads(result.stdout)["findings"]} == {
        "image-registry-unreachable"
    }
    assert result.exit_code == 3
    secret_requests = [r for r in api.requests if "/secrets" in r.path]
    assert secret_requests, "the cluster was asked"
    assert all("as=PartialObjectMetadataList" in r.accept for r in secret_requests)
    assert not any(r.path.rstrip("/").split("/")[-2] == "secrets" for r in secret_requests)
    assert "hunter2-db" not in result.stdout + result.stderr


def test_cluster_credentials_pull_as_the_pod_would(
    tmp_path: Path, htpasswd_registry: RegistryServer, private_image: str
) -> None:
    objects = [secret_object(n, "shop", htpasswd_registry) for n in NEEDED]
    with KubeAPIServer(
        tmp_path / "api", [*objects, account("shop-runner", "shop")], tokens={TOKEN: "ci"}
    ) as server:
        config = kubeconfig(server, tmp_path)
        without = check(
            tmp_path,
            "--no-node-credentials",
            "--cluster",
            "--kubeconfig",
            config,
            image=private_image,
        )
        # the secret exists but its values were not read: could not verify, not a violation
        assert without.exit_code == 3
        assert {f["rule"] for f in json.loads(without.stdout)["findings"]} == {
            "image-pull-unverified"
        }
        fetched_before = [r.path for r in server.requests if r.path.endswith("/secrets/regcred")]
        assert fetched_before == []  # no value read without --cluster-credentials

        with_values = check(
            tmp_path,
            "--no-node-credentials",
            "--cluster",
            "--cluster-credentials",
            "--kubeconfig",
            config,
            image=private_image,
        )
        assert with_values.exit_code == 0, with_values.stdout
        [image] = json.loads(with_values.stdout)["images"]
        assert image["credential"] == "secret:shop/regcred"
        full_gets = [r.path for r in server.requests if "/secrets/" in r.path]
        assert full_gets == ["/api/v1/namespaces/shop/secrets/regcred"]  # that one, only
        output = with_values.stdout + with_values.stderr
        assert TEST_USERS["alice"] not in output and "hunter2-db" not in output


def test_forbidden_and_unreachable_clusters_exit_3(tmp_path: Path) -> None:
    with KubeAPIServer(
        tmp_path / "api", [], tokens={TOKEN: "ci"}, forbidden=[("ci", "list", "secrets", "*")]
    ) as server:
        config = kubeconfig(server, tmp_path)
        result = check(
            tmp_path, "--offline", "--no-node-credentials", "--cluster", "--kubeconfig", config
        )
    # --offline and --cluster do not mix
    assert result.exit_code == 2
    with KubeAPIServer(
        tmp_path / "api2", [], tokens={TOKEN: "ci"}, forbidden=[("ci", "list", "secrets", "*")]
    ) as server:
        config = kubeconfig(server, tmp_path)
        result = check(tmp_path, "--no-node-credentials", "--cluster", "--kubeconfig", config)
        assert result.exit_code == 3
        assert result.stdout == ""
        assert "forbidden" in result.stderr.lower() and "secrets" in result.stderr
        assert "Traceback" not in result.stderr
    # the server is gone now: unreachable
    result = check(tmp_path, "--no-node-credentials", "--cluster", "--kubeconfig", config)
    assert result.exit_code == 3
    assert "Traceback" not in result.stderr


def test_bad_kubeconfig_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "kubeconfig"
    bad.write_text("apiVersion: v1\nkind: Config\ncurrent-context: nowhere\n")
    result = check(tmp_path, "--cluster", "--kubeconfig", str(bad))
    assert result.exit_code == 2
    assert "nowhere" in result.stderr
    assert check(tmp_path, "--cluster-credentials").exit_code == 2  # needs --cluster


def test_live_cluster_account_enforcing_mountable_secrets(tmp_path: Path) -> None:
    """`limitSecretReferences` (plugin/pkg/admission/serviceaccount/admission.go) checks the
    account the API server holds, optional references included: read from a snapshot or the
    live cluster, the account carries its `secrets` list and the
    `kubernetes.io/enforce-mountable-secrets` annotation."""
    runner = account("shop-runner", "shop")
    runner["metadata"]["annotations"] = {"kubernetes.io/enforce-mountable-secrets": "true"}
    listed = ["db", "app-env", "bundle-part", "maybe"]  # not shop-tls
    runner["secrets"] = [{"name": n} for n in listed]
    runner["imagePullSecrets"] = [{"name": "regcred"}]
    objects = [secret_object(name, "shop") for name in NEEDED] + [runner]
    expected = {("secret-not-mountable", TLS_LINE, None)}
    snapshot = tmp_path / "state.json"
    snapshot.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    offline = check(tmp_path, "--no-ci-logins", "--offline", "--cluster-state", str(snapshot))
    assert {f for f in findings(offline) if f[0] == "secret-not-mountable"} == expected
    with KubeAPIServer(tmp_path / "api", objects, tokens={TOKEN: "ci"}) as server:
        live = check(
            tmp_path, "--no-ci-logins", "--cluster", "--kubeconfig", kubeconfig(server, tmp_path)
        )
    assert {f for f in findings(live) if f[0] == "secret-not-mountable"} == expected
