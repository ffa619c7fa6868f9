"""The inventory: what the rendered set, cluster-state files and config say exists."""

from __future__ import annotations

import importlib.util
import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.extract import extract
from gate.inventory import (
    ClusterStateError,
    Inventory,
    add_cluster_state,
    add_rendered,
)
from gate.load import load_text
from gate.workload import validate_namespace
from tests.support import paths

DATA = paths.DATA / "secrets"
FIXTURE_VALUES = (
    "FIXTURE-REGISTRY-PASSWORD-7f3a",
    "FIXTURE-DB-PASSWORD-91c2",
    "FIXTURE-API-TOKEN-5d0e",
)


def rendered(text: str, namespace: str = "default") -> Inventory:
    inventory = Inventory()
    add_rendered(inventory, load_text(textwrap.dedent(text), "set.yaml").objects, namespace)
    return inventory


def line_of(text: str, needle: str) -> int:
    lines = textwrap.dedent(text).splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def names(inventory: Inventory) -> set[tuple[str, str]]:
    return {(e.namespace, e.name) for e in inventory.secrets}


# --- the rendered set --------------------------------------------------------------------------


def test_secrets_and_service_accounts_with_namespace_defaulting() -> None:
    text = """\
        apiVersion: v1
        kind: Secret
        metadata: {name: db, namespace: prod}
        type: Opaque
        data: {password: cGFzcw==}
        stringData: {user: app}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: unplaced}
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: deployer}
        imagePullSecrets: [{name: regcred}, {name: other}]
        ---
        apiVersion: v1
        kind: Secret
        metadata: {generateName: random-}
        """
    inventory = rendered(text, namespace="team-a")
    assert names(inventory) == {("prod", "db"), ("team-a", "unplaced")}
    db = inventory.secret("prod", "db")
    assert db is not None
    assert db.keys == frozenset({"password", "user"})
    assert db.type == "Opaque"
    assert db.origin == f"rendered set.yaml:{line_of(text, 'name: db')}"
    assert inventory.secret_object("prod", "db") is not None
    unplaced = inventory.secret("team-a", "unplaced")
    assert unplaced is not None and unplaced.keys == frozenset()
    # a plain rendered Secret is what will be applied: no values is what it holds
    assert inventory.secret_object("team-a", "unplaced") == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "unplaced"},
    }
    account = inventory.service_account("team-a", "deployer")
    assert account is not None
    assert account.image_pull_secrets == ("regcred", "other")
    assert account.pull_secret_lines == (line_of(text, "imagePullSecrets"),) * 2
    assert inventory.searched == ["the rendered manifests"]


def test_default_service_account_exists_everywhere() -> None:
    inventory = Inventory()
    assert inventory.service_account_exists("any", "default")
    assert not inventory.service_account_exists("any", "builder")


def test_sops_encrypted_secret_exists_but_gives_no_values() -> None:
    inventory = rendered(
        """\
        apiVersion: v1
        kind: Secret
        metadata: {name: creds}
        stringData: {.dockerconfigjson: "ENC[AES256_GCM,data:abc,type:str]"}
        sops: {version: 3.8.1}
        """
    )
    assert inventory.secret_exists("default", "creds")
    assert inventory.secret_keys("default", "creds") == frozenset({".dockerconfigjson"})
    assert inventory.secret_object("default", "creds") is None


def test_sealed_secret_name_is_its_own_whatever_the_template_says() -> None:
    text = """\
        apiVersion: bitnami.com/v1alpha1
        kind: SealedSecret
        metadata: {name: web-creds, namespace: prod}
        spec:
          encryptedData: {password: AgBy3i4OJSWK+PiTySYZZA==, user: AgCx==}
          template:
            metadata: {name: ignored-by-the-controller, namespace: elsewhere}
            type: kubernetes.io/basic-auth
            data: {url: "https://{{ .user }}@example.com", user: null}
        """
    inventory = rendered(text)
    assert names(inventory) == {("prod", "web-creds")}
    entry = inventory.secret("prod", "web-creds")
    assert entry is not None
    assert entry.created_by == "SealedSecret/web-creds"
    assert entry.type == "kubernetes.io/basic-auth"
    assert entry.keys == frozenset({"password", "url"})
    assert entry.line == line_of(text, "name: web-creds")
    assert inventory.secret_object("prod", "web-creds") is None


@pytest.mark.parametrize("version", ["v1beta1", "v1"])
def test_external_secret_target_name_or_its_own(version: str) -> None:
    text = f"""\
        apiVersion: external-secrets.io/{version}
        kind: ExternalSecret
        metadata: {{name: db-sync, namespace: prod}}
        spec:
          secretStoreRef: {{name: vault, kind: ClusterSecretStore}}
          target:
            name: db
            template: {{type: kubernetes.io/dockerconfigjson}}
        ---
        apiVersion: external-secrets.io/{version}
        kind: ExternalSecret
        metadata: {{name: api-key, namespace: prod}}
        spec:
          secretStoreRef: {{name: vault}}
          data: [{{secretKey: key, remoteRef: {{key: api}}}}]
        ---
        apiVersion: external-secrets.io/{version}
        kind: ExternalSecret
        metadata: {{name: merged, namespace: prod}}
        spec:
          target: {{name: existing, creationPolicy: Merge}}
        ---
        apiVersion: external-secrets.io/{version}
        kind: ExternalSecret
        metadata: {{name: orphan, namespace: prod}}
        spec:
          target: {{creationPolicy: Orphan}}
        """
    inventory = rendered(text)
    assert names(inventory) == {("prod", "db"), ("prod", "api-key"), ("prod", "orphan")}
    db = inventory.secret("prod", "db")
    assert db is not None
    assert db.line == line_of(text, "    name: db")
    assert db.type == "kubernetes.io/dockerconfigjson"
    assert db.created_by == "ExternalSecret/db-sync"
    assert db.keys is None  # what the provider returns is not known here
    api_key = inventory.secret("prod", "api-key")
    assert api_key is not None and api_key.line == line_of(text, "name: api-key")


def test_cluster_external_secret_namespaces_and_selectors() -> None:
    inventory = rendered(
        """\
        apiVersion: external-secrets.io/v1beta1
        kind: ClusterExternalSecret
        metadata: {name: shared}
        spec:
          namespaces: [team-a, team-b]
          externalSecretName: shared-es
          externalSecretSpec:
            target: {name: registry-cred}
        ---
        apiVersion: external-secrets.io/v1
        kind: ClusterExternalSecret
        metadata: {name: labelled}
        spec:
          namespaceSelectors: [{matchLabels: {tier: web}}]
          externalSecretSpec: {secretStoreRef: {name: vault}}
        """
    )
    assert names(inventory) == {("team-a", "registry-cred"), ("team-b", "registry-cred")}
    assert inventory.secret_exists("anything", "labelled")  # selector: only the cluster knows
    match = inventory.external_match("anything", "labelled")
    assert match is not None and "label" in match.reason
    assert not inventory.secret_exists("team-c", "registry-cred")


def test_vault_secrets_operator_only_when_it_creates_the_destination() -> None:
    inventory = rendered(
        """\
        apiVersion: secrets.hashicorp.com/v1beta1
        kind: VaultStaticSecret
        metadata: {name: static, namespace: app}
        spec:
          mount: kv
          path: web
          destination: {name: web-config, create: true}
        ---
        apiVersion: secrets.hashicorp.com/v1beta1
        kind: VaultDynamicSecret
        metadata: {name: dynamic, namespace: app}
        spec:
          destination: {name: db-creds, create: true, type: kubernetes.io/basic-auth}
        ---
        apiVersion: secrets.hashicorp.com/v1beta1
        kind: VaultPKISecret
        metadata: {name: pki, namespace: app}
        spec:
          destination: {name: must-exist}
        ---
        apiVersion: secrets.hashicorp.com/v1beta1
        kind: HCPVaultSecretsApp
        metadata: {name: hcp, namespace: app}
        spec:
          destination: {name: hcp-app, create: true}
        """
    )
    assert names(inventory) == {("app", "web-config"), ("app", "db-creds"), ("app", "hcp-app")}
    entry = inventory.secret("app", "db-creds")
    assert entry is not None and entry.type == "kubernetes.io/basic-auth"


def test_sops_secret_templates_and_encrypted_names() -> None:
    inventory = rendered(
        """\
        apiVersion: isindir.github.com/v1alpha3
        kind: SopsSecret
        metadata: {name: bundle, namespace: app}
        spec:
          secretTemplates:
            - name: one
              stringData: {token: "ENC[AES256_GCM,data:x,type:str]"}
            - name: two
              type: kubernetes.io/dockerconfigjson
              data: {.dockerconfigjson: "ENC[AES256_GCM,data:y,type:str]"}
            - name: "ENC[AES256_GCM,data:zzz,type:str]"
              stringData: {a: b}
        sops: {version: 3.8.1}
        """
    )
    assert names(inventory) == {("app", "one"), ("app", "two")}
    assert inventory.secret_keys("app", "one") == frozenset({"token"})
    (unreadable,) = inventory.unreadable_in("app")
    assert "SopsSecret bundle" in unreadable.description
    assert "encrypted" in unreadable.description


def test_other_secret_makers() -> None:
    text = """\
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: web, namespace: app}
        spec: {secretName: web-tls, dnsNames: [example.com]}
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: web
          namespace: app
          annotations: {cert-manager.io/cluster-issuer: letsencrypt}
        spec:
          tls: [{hosts: [example.com], secretName: ingress-tls}]
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: plain, namespace: app}
        spec:
          tls: [{secretName: not-made-by-anyone}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata:
          name: gw
          namespace: app
          annotations: {cert-manager.io/issuer: ca}
        spec:
          listeners:
            - name: https
              tls: {certificateRefs: [{name: gw-tls}, {name: gw-other, namespace: infra}]}
            - name: http
        ---
        apiVersion: secrets-store.csi.x-k8s.io/v1
        kind: SecretProviderClass
        metadata: {name: azure, namespace: app}
        spec:
          secretObjects:
            - secretName: synced
              type: Opaque
              data: [{objectName: dbpass, key: password}]
        ---
        apiVersion: secrets.doppler.com/v1alpha1
        kind: DopplerSecret
        metadata: {name: doppler, namespace: doppler-operator-system}
        spec:
          managedSecret: {name: doppler-managed, namespace: app}
        ---
        apiVersion: secrets.infisical.com/v1alpha1
        kind: InfisicalSecret
        metadata: {name: infisical, namespace: app}
        spec:
          managedSecretReference: {secretName: inf-one, secretNamespace: app}
          managedKubeSecretReferences:
            - {secretName: inf-two, secretNamespace: other}
        ---
        apiVersion: onepassword.com/v1
        kind: OnePasswordItem
        metadata: {name: op-item, namespace: app}
        spec: {itemPath: vaults/x/items/y}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: annotated
          namespace: app
          annotations:
            operator.1password.io/item-path: vaults/x/items/z
            operator.1password.io/item-name: op-annotated
        spec:
          template: {spec: {containers: [{name: c, image: "nginx:1"}]}}
        ---
        apiVersion: database.aws.crossplane.io/v1beta1
        kind: RDSInstance
        metadata: {name: db}
        spec:
          writeConnectionSecretToRef: {name: rds-conn, namespace: app}
        """
    inventory = rendered(text)
    assert names(inventory) == {
        ("app", "web-tls"),
        ("app", "ingress-tls"),
        ("app", "gw-tls"),
        ("infra", "gw-other"),
        ("app", "synced"),
        ("app", "doppler-managed"),
        ("app", "inf-one"),
        ("other", "inf-two"),
        ("app", "op-item"),
        ("app", "op-annotated"),
        ("app", "rds-conn"),
    }
    assert inventory.secret_keys("app", "synced") == frozenset({"password"})
    cert = inventory.secret("app", "web-tls")
    assert cert is not None
    assert cert.type == "kubernetes.io/tls"
    assert cert.line == line_of(text, "secretName: web-tls")


def test_reflected_and_replicated_copies() -> None:
    inventory = rendered(
        """\
        apiVersion: v1
        kind: Secret
        metadata:
          name: regcred
          namespace: infra
          annotations:
            reflector.v1.k8s.emberstack.com/reflection-allowed: "true"
            reflector.v1.k8s.emberstack.com/reflection-auto-enabled: "true"
            reflector.v1.k8s.emberstack.com/reflection-auto-namespaces: "shop,team-[0-9]+"
        type: kubernetes.io/dockerconfigjson
        data: {.dockerconfigjson: e30=}
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: shared
          namespace: infra
          annotations:
            replicator.v1.mittwald.de/replicate-to: "web,api"
        data: {k: dg==}
        """
    )
    assert ("shop", "regcred") in names(inventory)
    assert inventory.secret_exists("team-42", "regcred")
    assert not inventory.secret_exists("team-x", "regcred")
    assert {("web", "shared"), ("api", "shared")} <= names(inventory)
    copy = inventory.secret("shop", "regcred")
    assert copy is not None and copy.created_by == "Reflector copy of infra/regcred"


# --- cluster-state files -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cluster-state.json", "cluster-state.yaml"])
def test_kubectl_get_all_namespaces_list(name: str) -> None:
    inventory = Inventory()
    path = str(DATA / name)
    count = add_cluster_state(inventory, path)
    assert count == 8
    assert names(inventory) == {
        ("shop", n) for n in ("regcred", "db", "app-env", "tls-certs", "api-token")
    }
    regcred = inventory.secret("shop", "regcred")
    assert regcred is not None
    assert regcred.type == "kubernetes.io/dockerconfigjson"
    assert regcred.keys == frozenset({".dockerconfigjson"})
    assert regcred.origin == f"cluster-state {path}"
    obj = inventory.secret_object("shop", "regcred")
    assert obj is not None and ".dockerconfigjson" in obj["data"]
    builder = inventory.service_account("shop", "builder")
    assert builder is not None and builder.image_pull_secrets == ("regcred",)
    assert inventory.service_account("default", "other") is not None
    assert inventory.searched == [f"cluster-state {path}"]


def test_snapshot_without_data_proves_existence_only() -> None:
    inventory = Inventory()
    add_cluster_state(inventory, str(DATA / "cluster-state-nodata.json"))
    assert inventory.secret_exists("shop", "db")
    assert inventory.secret_keys("shop", "db") is None
    assert inventory.secret_object("shop", "regcred") is None


def test_single_namespace_and_older_list_kinds(tmp_path: Path) -> None:
    inventory = Inventory()
    assert add_cluster_state(inventory, str(DATA / "shop-secrets.json")) == 5
    assert inventory.service_accounts == []
    legacy = json.loads((DATA / "shop-secrets.json").read_text())
    legacy["kind"] = "SecretList"
    for item in legacy["items"]:
        item["metadata"].pop("namespace")
    (tmp_path / "legacy.json").write_text(json.dumps(legacy))
    other = Inventory()
    add_cluster_state(other, str(tmp_path / "legacy.json"), default_namespace="fallback")
    assert ("fallback", "db") in names(other)
    single = legacy["items"][0]
    (tmp_path / "one.json").write_text(json.dumps({"apiVersion": "v1", "kind": "Secret", **single}))
    assert add_cluster_state(Inventory(), str(tmp_path / "one.json")) == 1


def test_cluster_state_errors(tmp_path: Path) -> None:
    with pytest.raises(ClusterStateError, match="no such cluster-state file"):
        add_cluster_state(Inventory(), str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text('{"items": [')
    with pytest.raises(ClusterStateError, match=r"bad\.json:1: not a cluster-state file"):
        add_cluster_state(Inventory(), str(tmp_path / "bad.json"))


def test_first_source_keeps_the_entry_first_with_data_the_object() -> None:
    inventory = rendered(
        """\
        apiVersion: bitnami.com/v1alpha1
        kind: SealedSecret
        metadata: {name: regcred, namespace: shop}
        spec:
          encryptedData: {.dockerconfigjson: AgBy==}
          template: {type: kubernetes.io/dockerconfigjson}
        """
    )
    add_cluster_state(inventory, str(DATA / "cluster-state.json"))
    entry = inventory.secret("shop", "regcred")
    assert entry is not None and entry.created_by == "SealedSecret/regcred"
    obj = inventory.secret_object("shop", "regcred")
    assert obj is not None and obj["metadata"]["uid"]  # the cluster's copy carries the values


def test_no_value_in_any_repr() -> None:
    inventory = Inventory()
    add_cluster_state(inventory, str(DATA / "cluster-state.json"))
    text = repr(inventory) + repr(inventory.secrets) + repr(inventory.service_accounts)
    encoded = json.loads((DATA / "cluster-state.json").read_text())["items"][0]["data"]
    for value in (*FIXTURE_VALUES, *encoded.values()):
        assert value not in text


# --- config and helpers ------------------------------------------------------------------------


def test_external_patterns() -> None:
    inventory = Inventory()
    inventory.add_external("prod/db-*", "made by the DBA's terraform")
    inventory.add_external("*/registry-cred", "copied by the platform's sync job")
    assert inventory.secret_exists("prod", "db-main")
    assert not inventory.secret_exists("stage", "db-main")
    assert inventory.secret_exists("anywhere", "registry-cred")
    match = inventory.external_match("prod", "db-main")
    assert match is not None and match.reason == "made by the DBA's terraform"
    for pattern, reason in (("no-slash", "r"), ("a/b/c", "r"), ("/x", "r"), ("a/b", " ")):
        with pytest.raises(ValueError, match=r"secrets\.external"):
            inventory.add_external(pattern, reason)


@pytest.mark.parametrize("name", ["default", "kube-system", "a", "team-42"])
def test_valid_namespaces(name: str) -> None:
    assert validate_namespace(name) == name


@pytest.mark.parametrize("name", ["", "Prod", "-a", "a-", "a_b", "a.b", "x" * 64])
def test_invalid_namespaces(name: str) -> None:
    with pytest.raises(ValueError, match="DNS-1123 label"):
        validate_namespace(name)


def test_pull_secrets_own_or_inherited_from_the_service_account() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: Pod
        metadata: {name: own, namespace: shop}
        spec:
          serviceAccountName: builder
          imagePullSecrets: [{name: mine}]
          containers: [{name: c, image: "nginx:1"}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: inherits, namespace: shop}
        spec:
          serviceAccountName: builder
          containers: [{name: c, image: "nginx:1"}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: plain, namespace: shop}
        spec:
          containers: [{name: c, image: "nginx:1"}]
        """
    )
    inventory = Inventory()
    add_cluster_state(inventory, str(DATA / "cluster-state.json"))
    own, inherits, plain = extract(load_text(text, "pods.yaml").objects)
    assert inventory.pull_secrets_for(own).names == ("mine",)
    source = inventory.pull_secrets_for(inherits)
    assert source.names == ("regcred",) and source.service_account == "builder"
    assert inventory.pull_secrets_for(plain).names == ()
    assert inventory.needed_pull_secrets([own, inherits, plain, inherits]) == [
        ("shop", "mine"),
        ("shop", "regcred"),
    ]


def _normalized(path: Path) -> Any:
    """The file's content with what differs per run (uids, the throw-away TLS pair) masked."""
    data = yaml.safe_load(path.read_text())
    for item in data["items"]:
        item["metadata"]["uid"] = "UID"
        for key in ("tls.crt", "tls.key"):
            if key in item.get("data", {}):
                item["data"][key] = "PEM"
    return data


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_fixtures_are_what_the_real_kubectl_prints(tmp_path: Path) -> None:
    """Regenerate with kubectl (against tests/support/kubeapi.py) and compare, uids aside."""
    spec = importlib.util.spec_from_file_location("generate_fixtures", DATA / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(tmp_path)
    produced = sorted(p.name for p in tmp_path.iterdir())
    assert produced == [
        "cluster-state-nodata.json",
        "cluster-state.json",
        "cluster-state.yaml",
        "shop-secrets.json",
        "wrong-namespace.json",
    ]
    for name in produced:
        assert _normalized(tmp_path / name) == _normalized(DATA / name), name
