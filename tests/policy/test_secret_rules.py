"""Secret references in pod specs, and the rules that check them against the inventory."""

from __future__ import annotations

import textwrap

import pytest

from gate.extract import extract
from gate.inventory import Inventory, add_cluster_state, add_rendered
from gate.load import load_text
from gate.model import Finding
from gate.policy.secrets import secret_findings
from gate.rules import Severity
from gate.workload import SecretRef
from tests.support import paths

DATA = paths.DATA / "secrets"
APP = DATA / "app.yaml"
APP_TEXT = APP.read_text()
FIXTURE_VALUES = (
    "FIXTURE-REGISTRY-PASSWORD-7f3a",
    "FIXTURE-DB-PASSWORD-91c2",
    "FIXTURE-API-TOKEN-5d0e",
)


def line(text: str, needle: str, nth: int = 0) -> int:
    hits = [i for i, ln in enumerate(text.splitlines(), 1) if needle in ln]
    return hits[nth]


def check(
    text: str,
    *,
    namespace: str = "default",
    snapshots: tuple[str, ...] = (),
    external: tuple[tuple[str, str], ...] = (),
    file: str = "set.yaml",
) -> list[Finding]:
    objects = load_text(text, file).objects
    pods = extract(objects, namespace)
    inventory = Inventory()
    add_rendered(inventory, objects, namespace)
    for snapshot in snapshots:
        add_cluster_state(inventory, str(DATA / snapshot), namespace)
    for pattern, reason in external:
        inventory.add_external(pattern, reason)
    return secret_findings(pods, inventory)


def summary(findings: list[Finding]) -> list[tuple[str, int, str | None, str | None]]:
    return sorted((f.rule, f.line, f.name, f.container) for f in findings)


# --- extract -----------------------------------------------------------------------------------


def test_every_reference_kind_is_extracted_at_its_line() -> None:
    (web, report) = extract(load_text(APP_TEXT, str(APP)).objects)
    assert web.service_account == "deployer"
    assert web.service_account_line == line(APP_TEXT, "serviceAccountName: deployer")
    assert web.image_pull_secrets == (("regcred", line(APP_TEXT, "name: regcred")),)
    assert web.secret_refs == (
        SecretRef("db", line(APP_TEXT, "name: db"), "env", "migrate", key="password"),
        SecretRef(
            "feature-flags",
            line(APP_TEXT, "name: feature-flags"),
            "env",
            "app",
            key="flags",
            optional=True,
        ),
        SecretRef("app-env", line(APP_TEXT, "name: app-env"), "envFrom", "app"),
        SecretRef(
            "tls-certs", line(APP_TEXT, "secretName: tls-certs"), "volume", None, volume="tls"
        ),
        SecretRef(
            "api-token", line(APP_TEXT, "name: api-token"), "projected", None, volume="token"
        ),
        SecretRef(
            "extra-token",
            line(APP_TEXT, "name: extra-token"),
            "projected",
            None,
            optional=True,
            volume="token",
        ),
    )
    assert report.service_account == "builder"
    assert report.secret_refs == ()


def test_ephemeral_containers_and_odd_shapes() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          serviceAccount: legacy
          containers:
            - name: c
              image: nginx:1
              env:
                - {name: PLAIN, value: x}
                - {name: FROM_CM, valueFrom: {configMapKeyRef: {name: cm, key: k}}}
                - {name: NO_NAME, valueFrom: {secretKeyRef: {key: k}}}
                - "not a mapping"
              envFrom: [{configMapRef: {name: cm}}, {secretRef: {name: ef, optional: false}}]
          ephemeralContainers:
            - name: debug
              image: busybox:1
              env: [{name: T, valueFrom: {secretKeyRef: {name: dbg, key: t}}}]
          volumes:
            - {name: cm, configMap: {name: cm}}
            - {name: empty, emptyDir: {}}
            - {name: s, secret: {secretName: vol, optional: true}}
            - name: p
              projected: {sources: [{configMap: {name: cm}}, {serviceAccountToken: {path: t}}]}
        """
    )
    (pod,) = extract(load_text(text, "p.yaml").objects)
    assert pod.service_account == "legacy"
    assert pod.service_account_line == line(text, "serviceAccount: legacy")
    assert [(r.name, r.via, r.container, r.optional) for r in pod.secret_refs] == [
        ("ef", "envFrom", "c", False),
        ("dbg", "env", "debug", False),
        ("vol", "volume", None, True),
    ]


# --- rules -------------------------------------------------------------------------------------


def test_nothing_known_each_missing_reference_once_at_its_line() -> None:
    findings = check(APP_TEXT, file=str(APP))
    assert summary(findings) == sorted(
        [
            ("pull-secret-missing", line(APP_TEXT, "name: regcred"), "web", None),
            (
                "service-account-missing",
                line(APP_TEXT, "serviceAccountName: deployer"),
                "web",
                None,
            ),
            ("secret-ref-missing", line(APP_TEXT, "name: db"), "web", "migrate"),
            ("secret-ref-missing", line(APP_TEXT, "name: app-env"), "web", "app"),
            ("secret-ref-missing", line(APP_TEXT, "secretName: tls-certs"), "web", None),
            ("secret-ref-missing", line(APP_TEXT, "name: api-token"), "web", None),
            (
                "service-account-missing",
                line(APP_TEXT, "serviceAccountName: builder"),
                "report",
                None,
            ),
        ]
    )
    for finding in findings:
        assert finding.file == str(APP)
        assert finding.namespace == "shop"
        assert finding.severity is Severity.ERROR
        assert finding.kind in ("Deployment", "CronJob")


@pytest.mark.parametrize(
    "snapshot", ["cluster-state.json", "cluster-state.yaml", "cluster-state-nodata.json"]
)
def test_a_snapshot_holding_the_secrets_makes_the_same_set_pass(snapshot: str) -> None:
    assert check(APP_TEXT, snapshots=(snapshot,)) == []


def test_a_secrets_only_snapshot_leaves_the_service_accounts_missing() -> None:
    findings = check(APP_TEXT, snapshots=("shop-secrets.json",))
    assert {(f.rule, f.name) for f in findings} == {
        ("service-account-missing", "web"),
        ("service-account-missing", "report"),
    }


def test_wrong_namespace_says_where_the_secret_is() -> None:
    findings = check(APP_TEXT, snapshots=("wrong-namespace.json",))
    by_line = {f.line: f for f in findings}
    pull = by_line[line(APP_TEXT, "name: regcred")]
    assert pull.message == (
        "imagePullSecrets names secret regcred, which does not exist in namespace shop "
        "(it exists in namespace default; secrets are namespace-scoped)"
    )
    env = by_line[line(APP_TEXT, "name: db")]
    assert env.message == (
        "container migrate reads an env var from secret db (key password), which does not "
        "exist in namespace shop (it exists in namespace default; secrets are namespace-scoped)"
    )
    account = by_line[line(APP_TEXT, "serviceAccountName: deployer")]
    assert "(it exists in namespace default; service accounts are namespace-scoped)" in (
        account.message
    )


def test_hints_say_what_the_pod_would_show_and_what_to_do() -> None:
    findings = {f.line: f for f in check(APP_TEXT)}
    pull = findings[line(APP_TEXT, "name: regcred")]
    assert "Unable to retrieve some image pull secrets (shop/regcred)" in pull.hint
    assert "kubectl create secret docker-registry regcred -n shop" in pull.hint
    assert "--cluster-state" in pull.hint
    assert 'secrets: {external: [{name: "shop/regcred", reason: "<who creates it>"}]}' in pull.hint
    env = findings[line(APP_TEXT, "name: app-env")]
    assert 'CreateContainerConfigError, `secret "app-env" not found`' in env.hint
    assert "optional: true" in env.hint
    assert env.message == (
        "container app loads its environment from secret app-env, which does not exist in "
        "namespace shop"
    )
    volume = findings[line(APP_TEXT, "secretName: tls-certs")]
    assert (
        volume.message
        == "volume tls mounts secret tls-certs, which does not exist in namespace shop"
    )
    assert 'MountVolume.SetUp failed for volume "tls" : secret "tls-certs" not found' in volume.hint
    projected = findings[line(APP_TEXT, "name: api-token")]
    assert projected.message.startswith("projected volume token mounts secret api-token")
    account = findings[line(APP_TEXT, "serviceAccountName: deployer")]
    assert 'serviceaccount "deployer" not found' in account.hint
    assert "FailedCreate" in account.hint
    assert "pullgate looked in: the rendered manifests." in account.hint


def test_rendered_secret_makers_satisfy_references_with_namespace_defaulting() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: bitnami.com/v1alpha1
        kind: SealedSecret
        metadata: {name: regcred}
        spec:
          encryptedData: {.dockerconfigjson: AgBy==}
          template: {type: kubernetes.io/dockerconfigjson}
        ---
        apiVersion: external-secrets.io/v1
        kind: ExternalSecret
        metadata: {name: db-sync}
        spec:
          target: {name: db}
        ---
        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        metadata: {name: api-token}
        spec:
          secretStoreRef: {name: vault}
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: deployer}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          serviceAccountName: deployer
          imagePullSecrets: [{name: regcred}]
          containers:
            - name: app
              image: registry.example.com/web:1
              env: [{name: P, valueFrom: {secretKeyRef: {name: db, key: password}}}]
              envFrom: [{secretRef: {name: api-token}}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: elsewhere, namespace: other}
        spec:
          imagePullSecrets: [{name: regcred}]
          containers: [{name: app, image: registry.example.com/web:1}]
        """
    )
    findings = check(text, namespace="team-a")
    assert [(f.rule, f.name, f.namespace) for f in findings] == [
        ("pull-secret-missing", "elsewhere", "other")
    ]
    assert "(it exists in namespace team-a; secrets are namespace-scoped)" in findings[0].message


def test_a_key_the_secret_does_not_have() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: Secret
        metadata: {name: db}
        data: {password: cA==, user: dQ==}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          containers:
            - name: app
              image: nginx:1
              env:
                - {name: A, valueFrom: {secretKeyRef: {name: db, key: pasword}}}
                - {name: B, valueFrom: {secretKeyRef: {name: db, key: other, optional: true}}}
                - {name: C, valueFrom: {secretKeyRef: {name: db, key: user}}}
        """
    )
    (finding,) = check(text)
    assert finding.rule == "secret-ref-missing"
    assert finding.line == line(text, "key: pasword")
    assert finding.message == (
        "container app reads key pasword of secret db, which has no such key in namespace default "
        "(rendered set.yaml:3); it has: password, user"
    )
    assert "couldn't find key pasword in Secret default/db" in finding.hint


def test_unknown_keys_are_not_checked() -> None:
    text = APP_TEXT.replace("key: password", "key: not-in-the-snapshot")
    assert check(text, snapshots=("cluster-state-nodata.json",)) == []
    (finding,) = check(text, snapshots=("cluster-state.json",))
    assert "has no such key" in finding.message


def test_external_patterns_count_as_existing() -> None:
    findings = check(
        APP_TEXT,
        snapshots=("shop-secrets.json",),
        external=(("shop/*", "created by the platform's terraform"),),
    )
    assert {f.rule for f in findings} == {"service-account-missing"}  # accounts are not secrets
    assert check(APP_TEXT, external=(("*/*", "everything is managed elsewhere"),)) != []


def test_inherited_pull_secret_missing_once_on_the_service_account() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: builder}
        imagePullSecrets: [{name: ghcr}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: one}
        spec:
          serviceAccountName: builder
          containers: [{name: c, image: "ghcr.io/org/a:1"}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: two}
        spec:
          serviceAccountName: builder
          containers: [{name: c, image: "ghcr.io/org/b:1"}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: own}
        spec:
          serviceAccountName: builder
          imagePullSecrets: [{name: ghcr}]
          containers: [{name: c, image: "ghcr.io/org/c:1"}]
        """
    )
    findings = check(text)
    assert summary(findings) == [
        ("pull-secret-missing", line(text, "imagePullSecrets: [{name: ghcr}]"), "builder", None),
        ("pull-secret-missing", line(text, "imagePullSecrets: [{name: ghcr}]", 1), "own", None),
    ]
    inherited = next(f for f in findings if f.kind == "ServiceAccount")
    assert inherited.message == (
        "service account builder gives its pods pull secret ghcr, which does not exist in "
        "namespace default"
    )


def test_inherited_from_a_cluster_account_sits_on_the_pod() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: batch/v1
        kind: Job
        metadata: {name: build, namespace: shop}
        spec:
          template:
            spec:
              serviceAccountName: builder
              containers: [{name: c, image: "registry.example.com/b:1"}]
        """
    )
    findings = check(text, snapshots=("cluster-state-nodata.json", "wrong-namespace.json"))
    assert findings == []
    only_accounts = Inventory()
    add_cluster_state(only_accounts, str(DATA / "wrong-namespace.json"))
    pods = extract(load_text(text, "job.yaml").objects)
    # builder lives in default there: the Job's namespace has no such account
    (finding,) = secret_findings(pods, only_accounts)
    assert finding.rule == "service-account-missing"


def test_optional_references_are_never_findings() -> None:
    findings = check(APP_TEXT)
    assert not any("feature-flags" in f.message or "extra-token" in f.message for f in findings)


def test_no_secret_value_in_any_finding() -> None:
    for snapshot in ("wrong-namespace.json", "cluster-state.json"):
        text = APP_TEXT.replace("key: password", "key: nope")
        for finding in check(text, snapshots=(snapshot,)):
            rendered = repr(finding) + finding.message + finding.hint
            for value in FIXTURE_VALUES:
                assert value not in rendered
