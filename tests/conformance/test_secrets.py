"""Secrets a pod needs, judged as the cluster judges them (issue 10), one row per upstream rule.

Each row is a rendered set run through `pullgate check --offline --format json` (the registry
plays no part here) and the exact findings it must give: rule, severity, line and words of the
message. The row's id names the upstream source that decides it; paths are in
kubernetes/kubernetes unless the id names another repository:

- secret volumes: `MakePayload` in pkg/volume/secret/secret.go (a missing `items[].key` fails
  the mount, `references non-existent secret key`, unless the source is optional; an optional
  missing secret mounts empty) and `SetUpAt` there (a non-optional missing secret fails);
- projected volumes: `collectData` in pkg/volume/projected/projected.go (each secret source
  with its own `optional`, through the same `MakePayload`);
- env keys: `makeEnvironmentVariables` in pkg/kubelet/kubelet_pods.go;
- volume types that read a secret: `VisitPodSecretNames` in pkg/api/pod/util.go lists them; the
  namespace and the failure come from each plugin (cited per row);
- keys written after creation: `generateTokenIfNeeded` in
  pkg/controller/serviceaccount/tokens_controller.go; mittwald/kubernetes-replicator
  replicate/secret/secrets.go `ReplicateDataFrom` (adds the source's keys);
  emberstack/kubernetes-reflector src/ES.Kubernetes.Reflector/Mirroring/SecretMirror.cs
  `OnResourceConfigurePatch` (replaces the data);
- kube-webhook-certgen: kubernetes/ingress-nginx images/kube-webhook-certgen/rootfs/cmd/create.go
  (`--secret-name`, `--namespace`, `--host` required; `--cert-name`/`--key-name` default
  `cert`/`key`) and pkg/k8s/k8s.go `SaveCertsToSecret` (writes `ca` and those two);
  jet/kube-webhook-certgen cmd/create.go (the same flags, fixed keys);
- enforce-mountable-secrets: `limitSecretReferences` and `enforceMountableSecrets`
  (strconv.ParseBool) in plugin/pkg/admission/serviceaccount/admission.go, which `Validate`
  runs after `Admit` copied the account's imagePullSecrets onto a pod that had none;
- empty imagePullSecrets names: `warningsForPodSpecAndMeta` in pkg/api/pod/warnings.go (a
  warning, not an error; `validateImagePullSecrets` in pkg/apis/core/validation accepts it),
  `Admit` in the admission plugin (`len(pod.Spec.ImagePullSecrets) == 0` before copying) and
  `getPullSecretsForPod` in pkg/kubelet/kubelet_pods.go (skips it).
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from gate.extract import extract
from gate.inventory import Inventory, add_rendered
from gate.load import load_text
from tests.support.cli import pullgate

NS = "shop"
MARK = re.compile(r"#\s*<([A-Za-z0-9]+)>")


@dataclass(frozen=True)
class Want:
    """One finding a row must give: at the line marked `# <mark>`, with these words."""

    rule: str
    mark: str
    words: tuple[str, ...] = ()
    severity: str = "error"


@dataclass(frozen=True)
class Row:
    id: str
    manifests: str
    want: tuple[Want, ...] = ()
    state: list[dict[str, Any]] | None = field(default=None, hash=False)
    """Objects for a `--cluster-state` file, when the row needs one."""


def pod(spec: str, *, kind: str = "Deployment", name: str = "web") -> str:
    """A workload in namespace shop whose pod spec is `spec` (YAML at column 0)."""
    meta = f"kind: {kind}\nmetadata:\n  name: {name}\n  namespace: {NS}\n"
    if kind == "Pod":
        body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
        return f"apiVersion: v1\n{meta}spec:\n{body}\n"
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), " " * 6)
    api = "batch/v1" if kind == "Job" else "apps/v1"
    return f"apiVersion: {api}\n{meta}spec:\n  template:\n    spec:\n{body}\n"


def doc(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


def secret(name: str, data: str = "{}", *, extra: str = "", namespace: str = NS) -> str:
    """A rendered Secret; `data` is a flow mapping of its keys, `extra` more top-level YAML
    (or `  annotations: ...` under metadata, which it follows)."""
    extra = extra + "\n" if extra else ""
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
        f"{extra}data: {data}\n"
    )


def join(*docs: str) -> str:
    return "---\n".join(docs)


APP = "- name: app\n  image: registry.example.com/shop/web:1.0\n"


def app(before: str) -> str:
    """A pod spec: `before` (YAML lines at column 0), then the one container `app`."""
    return textwrap.dedent(before).strip("\n") + "\ncontainers:\n" + textwrap.indent(APP, "  ")


TOKEN_TYPE = (
    "  annotations: {kubernetes.io/service-account.name: runner}\n"
    "type: kubernetes.io/service-account-token"
)


def volumes(text: str, containers: str = APP) -> str:
    return (
        "containers:\n"
        + textwrap.indent(containers, "  ")
        + "volumes:\n"
        + textwrap.indent(textwrap.dedent(text).strip("\n") + "\n", "  ")
    )


def account(name: str, *, enforce: str | None = "true", body: str = "") -> str:
    annotations = (
        f'  annotations:\n    kubernetes.io/enforce-mountable-secrets: "{enforce}"  # <sa>\n'
        if enforce is not None
        else ""
    )
    return (
        f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {NS}\n"
        f"{annotations}{textwrap.dedent(body).strip(chr(10))}\n"
    )


def certgen_job(
    args: str,
    *,
    image: str = "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.5.2",
    env: str = "",
) -> str:
    container = f"- name: create\n  image: {image}\n  args:\n" + textwrap.indent(
        textwrap.dedent(args).strip("\n") + "\n", "    "
    )
    if env:
        container += "  env:\n" + textwrap.indent(textwrap.dedent(env).strip("\n") + "\n", "    ")
    return pod(
        "restartPolicy: OnFailure\ncontainers:\n" + textwrap.indent(container, "  "),
        kind="Job",
        name="admission-create",
    )


def webhook_pod(items: str = "[{key: cert, path: tls.crt}, {key: key, path: tls.key}]") -> str:
    return pod(
        volumes(
            f"""
            - name: webhook
              secret:
                secretName: webhook-cert  # <name>
                items: {items}  # <items>
            """
        )
    )


KEYED = "{tls.crt: eA==}"

ROWS = [
    # --- secret volumes: pkg/volume/secret/secret.go MakePayload / SetUpAt ---------------------
    Row(
        "secret-volume-missing-key:secret.go#MakePayload",
        join(
            secret("tls", KEYED),
            pod(
                volumes(
                    """
                    - name: tls
                      secret:
                        secretName: tls
                        items:
                          - key: tls.key  # <k>
                            path: key.pem
                    """
                )
            ),
        ),
        (
            Want(
                "secret-ref-missing",
                "k",
                (
                    "volume tls mounts key tls.key of secret tls",
                    "it has: tls.crt",
                    "references non-existent secret key: tls.key",
                ),
            ),
        ),
    ),
    Row(
        "secret-volume-missing-key-optional:secret.go#MakePayload(optional)",
        join(
            secret("tls", KEYED),
            pod(
                volumes(
                    """
                    - name: tls
                      secret:
                        secretName: tls
                        optional: true
                        items: [{key: tls.key, path: key.pem}]
                    """
                )
            ),
        ),
    ),
    Row(
        "secret-volume-key-present:secret.go#MakePayload",
        join(
            secret("tls", KEYED),
            pod(
                volumes(
                    "- {name: tls, secret: {secretName: tls, items: [{key: tls.crt, path: c}]}}"
                )
            ),
        ),
    ),
    Row(
        "secret-volume-missing-secret-is-at-name-not-key:secret.go#SetUpAt",
        pod(
            volumes(
                """
                - name: tls
                  secret:
                    secretName: tls  # <n>
                    items: [{key: tls.key, path: key.pem}]
                """
            )
        ),
        (Want("secret-ref-missing", "n", ("volume tls mounts secret tls", "does not exist")),),
    ),
    Row(
        "secret-volume-missing-secret-optional:secret.go#SetUpAt(optional)",
        pod(
            volumes(
                """
                - name: tls
                  secret: {secretName: tls, optional: true, items: [{key: a, path: a}]}
                """
            )
        ),
    ),
    # --- projected: pkg/volume/projected/projected.go collectData ----------------------------
    Row(
        "projected-missing-key:projected.go#collectData",
        join(
            secret("bundle", "{a: eA==}"),
            pod(
                volumes(
                    """
                    - name: all
                      projected:
                        sources:
                          - secret:
                              name: bundle
                              items:
                                - {key: a, path: a}
                                - {key: b, path: b}  # <b>
                    """
                )
            ),
        ),
        (
            Want(
                "secret-ref-missing",
                "b",
                (
                    "projected volume all mounts key b of secret bundle",
                    "it has: a",
                    "references non-existent secret key: b",
                    "projected source `optional: true`",
                ),
            ),
        ),
    ),
    Row(
        "projected-each-source-own-optional:projected.go#collectData",
        join(
            secret("one", "{a: eA==}"),
            pod(
                volumes(
                    """
                    - name: all
                      projected:
                        sources:
                          - secret: {name: one, optional: true, items: [{key: zz, path: z}]}
                          - secret: {name: one, items: [{key: a, path: a}]}
                          - secret: {name: absent, optional: true}
                    """
                )
            ),
        ),
    ),
    Row(
        "projected-missing-secret:projected.go#collectData",
        pod(
            volumes(
                """
                - name: all
                  projected:
                    sources:
                      - secret: {name: absent}  # <n>
                """
            )
        ),
        (Want("secret-ref-missing", "n", ("projected volume all mounts secret absent",)),),
    ),
    # --- env: pkg/kubelet/kubelet_pods.go makeEnvironmentVariables ----------------------------
    Row(
        "env-missing-key:kubelet_pods.go#makeEnvironmentVariables",
        join(
            secret("db", "{password: eA==}"),
            pod(
                """
                containers:
                  - name: app
                    image: registry.example.com/shop/web:1.0
                    env:
                      - name: P
                        valueFrom:
                          secretKeyRef:
                            name: db  # <k>
                            key: passwd
                """
            ),
        ),
        (
            Want(
                "secret-ref-missing",
                "k",
                ("container app reads key passwd of secret db", "couldn't find key passwd"),
            ),
        ),
    ),
    # --- volume types whose plugin reads a secret: pkg/api/pod/util.go VisitPodSecretNames ----
    Row(
        "csi-nodePublishSecretRef:pkg/volume/csi/csi_mounter.go#SetUpAt(pod namespace)",
        pod(
            volumes(
                """
                - name: certs
                  csi:
                    driver: secrets-store.csi.k8s.io
                    nodePublishSecretRef: {name: csi-creds}  # <n>
                """
            )
        ),
        (
            Want(
                "secret-ref-missing",
                "n",
                (
                    "csi volume certs needs secret csi-creds (csi.nodePublishSecretRef)",
                    "namespace shop",
                ),
            ),
        ),
    ),
    Row(
        "csi-nodePublishSecretRef-present:csi_mounter.go#SetUpAt",
        join(
            secret("csi-creds"),
            pod(
                volumes(
                    "- {name: certs, csi: {driver: d, nodePublishSecretRef: {name: csi-creds}}}"
                )
            ),
        ),
    ),
    Row(
        "cephfs-secretRef:pkg/volume/cephfs/cephfs.go#getSecretNameAndNamespace(pod namespace)",
        pod(
            volumes(
                """
                - name: fs
                  cephfs:
                    monitors: [10.0.0.1:6789]
                    secretRef: {name: ceph}  # <n>
                """
            )
        ),
        (
            Want(
                "secret-ref-missing",
                "n",
                ("cephfs volume fs needs secret ceph (cephfs.secretRef)",),
            ),
        ),
    ),
    Row(
        "rbd-secretRef:pkg/volume/rbd/rbd.go#parsePodSecret(pod namespace)",
        pod(
            volumes(
                """
                - name: disk
                  rbd:
                    monitors: [10.0.0.1:6789]
                    image: img
                    secretRef: {name: ceph-rbd}  # <n>
                """
            )
        ),
        (
            Want(
                "secret-ref-missing",
                "n",
                ("rbd volume disk needs secret ceph-rbd (rbd.secretRef)",),
            ),
        ),
    ),
    Row(
        "iscsi-secretRef-with-chap:pkg/volume/iscsi/iscsi.go#createSecretMap",
        pod(
            volumes(
                """
                - name: lun
                  iscsi:
                    targetPortal: 10.0.0.2:3260
                    iqn: iqn.2001-04.com.example:storage
                    lun: 0
                    chapAuthSession: true
                    secretRef: {name: chap}  # <n>
                """
            )
        ),
        (
            Want(
                "secret-ref-missing", "n", ("iscsi volume lun needs secret chap (iscsi.secretRef)",)
            ),
        ),
    ),
    Row(
        "iscsi-secretRef-without-chap-unread:iscsi.go#createSecretMap",
        pod(
            volumes(
                """
                - name: lun
                  iscsi:
                    targetPortal: 10.0.0.2
                    iqn: iqn.2001-04.com.example:s
                    lun: 0
                    secretRef: {name: chap}
                """
            )
        ),
    ),
    Row(
        "flexVolume-secretRef:pkg/volume/flexvolume/util.go#addSecretsToOptions(pod namespace)",
        pod(
            volumes(
                """
                - name: cifs
                  flexVolume:
                    driver: example/cifs
                    secretRef: {name: cifs-creds}  # <n>
                """
            )
        ),
        (
            Want(
                "secret-ref-missing",
                "n",
                ("flexVolume volume cifs needs secret cifs-creds (flexVolume.secretRef)",),
            ),
        ),
    ),
    Row(
        "azureFile-secretName:csi-translation-lib/plugins/azure_file.go#TranslateInTreeInlineVolumeToCSI",
        pod(
            volumes(
                """
                - name: share
                  azureFile:
                    secretName: azure-acct  # <n>
                    shareName: data
                """
            )
        ),
        (
            Want(
                "secret-ref-missing",
                "n",
                ("azureFile volume share needs secret azure-acct (azureFile.secretName)",),
            ),
        ),
    ),
    Row(
        "azureFile-inline-reads-pod-namespace-not-another:azure_file.go#TranslateInTreeInlineVolumeToCSI",
        join(
            secret("azure-acct", namespace="default"),
            pod(
                volumes(
                    "- name: share\n  azureFile: {secretName: azure-acct, shareName: data}  # <n>"
                )
            ),
        ),
        (Want("secret-ref-missing", "n", ("exists in namespace default", "namespace-scoped")),),
    ),
    Row(
        "scaleIO-secretRef:pkg/volume/scaleio/sio_util.go#getSecretAndNamespaceFromSpec",
        pod(
            volumes(
                """
                - name: sio
                  scaleIO:
                    gateway: https://gw
                    system: s
                    secretRef: {name: sio-creds}  # <n>
                """
            )
        ),
        (
            Want(
                "secret-ref-missing",
                "n",
                ("scaleIO volume sio needs secret sio-creds (scaleIO.secretRef)",),
            ),
        ),
    ),
    Row(
        "storageos-secretRef:pkg/volume/storageos/storageos.go#getAPICfg(pod namespace)",
        pod(
            volumes(
                """
                - name: sos
                  storageos:
                    volumeName: v
                    secretRef: {name: sos-api}  # <n>
                """
            )
        ),
        (
            Want(
                "secret-ref-missing",
                "n",
                ("storageos volume sos needs secret sos-api (storageos.secretRef)",),
            ),
        ),
    ),
    Row(
        "cinder-secretRef-unread:csi-translation-lib/plugins/openstack_cinder.go#TranslateInTreeInlineVolumeToCSI",
        pod(volumes("- name: vol\n  cinder: {volumeID: abc, secretRef: {name: os-creds}}")),
    ),
    # --- keys written after creation ----------------------------------------------------------
    Row(
        "service-account-token-keys-unknown:tokens_controller.go#generateTokenIfNeeded",
        join(
            secret(
                "runner-token",
                "{}",
                extra=TOKEN_TYPE,
            ),
            pod(
                """
                containers:
                  - name: app
                    image: registry.example.com/shop/web:1.0
                    env:
                      - {name: T, valueFrom: {secretKeyRef: {name: runner-token, key: token}}}
                volumes:
                  - name: t
                    secret:
                      secretName: runner-token
                      items: [{key: ca.crt, path: ca}, {key: namespace, path: ns}]
                """
            ),
        ),
    ),
    Row(
        "service-account-token-other-key-absent:tokens_controller.go#generateTokenIfNeeded",
        join(
            secret(
                "runner-token",
                "{}",
                extra=TOKEN_TYPE,
            ),
            pod(
                """
                containers:
                  - name: app
                    image: registry.example.com/shop/web:1.0
                    env:
                      - {name: T, valueFrom: {secretKeyRef: {name: runner-token, key: tokn}}}  # <k>
                """
            ),
        ),
        (
            Want(
                "secret-ref-missing",
                "k",
                (
                    "key tokn of secret runner-token",
                    "the token controller writes token, ca.crt and namespace",
                ),
            ),
        ),
    ),
    Row(
        "replicate-from-keys-unknown:mittwald/kubernetes-replicator#ReplicateDataFrom",
        join(
            secret(
                "wildcard-tls",
                extra="  annotations:\n"
                "    replicator.v1.mittwald.de/replicate-from: cert-manager/wildcard-tls",
            ),
            pod(
                volumes(
                    """
                    - name: tls
                      secret: {secretName: wildcard-tls, items: [{key: tls.crt, path: c}]}
                    """
                )
            ),
        ),
    ),
    Row(
        "reflects-data-replaced:emberstack/kubernetes-reflector#SecretMirror",
        join(
            secret(
                "mirror",
                "{old: eA==}",
                extra="  annotations: {reflector.v1.k8s.emberstack.com/reflects: infra/src}",
            ),
            pod(volumes("- {name: m, secret: {secretName: mirror, items: [{key: new, path: n}]}}")),
        ),
    ),
    Row(
        "plain-secret-without-data-has-no-keys:secret.go#MakePayload",
        join(
            secret("empty", "{}"),
            pod(
                volumes(
                    "- name: e\n  secret: {secretName: empty, items: [{key: a, path: a}]}  # <k>"
                )
            ),
        ),
        (
            Want(
                "secret-ref-missing",
                "k",
                ("volume e mounts key a of secret empty", "no keys at all"),
            ),
        ),
    ),
    # --- kube-webhook-certgen: ingress-nginx images/kube-webhook-certgen -------------------------
    Row(
        "certgen-equals-form:ingress-nginx/kube-webhook-certgen#create.go,k8s.go#SaveCertsToSecret",
        join(
            certgen_job(
                "- create\n- --host=web-admission\n- --namespace=shop\n- --secret-name=webhook-cert"
            ),
            webhook_pod(),
        ),
    ),
    Row(
        "certgen-two-token-form-and-env-namespace:ingress-nginx/kube-webhook-certgen#create.go",
        join(
            certgen_job(
                """
                - create
                - --host
                - web-admission
                - --namespace
                - $(POD_NAMESPACE)
                - --secret-name
                - webhook-cert
                """,
                env="""
                - name: POD_NAMESPACE
                  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
                """,
            ),
            webhook_pod("[{key: ca, path: ca.crt}]"),
        ),
    ),
    Row(
        "certgen-jettech-image:jet/kube-webhook-certgen#cmd/create.go",
        join(
            certgen_job(
                "- create\n- --host=h\n- --namespace=shop\n- --secret-name=webhook-cert",
                image="docker.io/jettech/kube-webhook-certgen:v1.5.1",
            ),
            webhook_pod(),
        ),
    ),
    Row(
        "certgen-namespace-required:ingress-nginx/kube-webhook-certgen#create.go(MarkFlagRequired)",
        join(certgen_job("- create\n- --host=h\n- --secret-name=webhook-cert"), webhook_pod()),
        (
            Want(
                "secret-ref-missing",
                "name",
                ("volume webhook mounts secret webhook-cert", "does not exist"),
            ),
        ),
    ),
    Row(
        "certgen-patch-makes-no-secret:ingress-nginx/kube-webhook-certgen#patch.go",
        join(
            certgen_job(
                "- patch\n- --namespace=shop\n- --secret-name=webhook-cert\n- --webhook-name=x"
            ),
            webhook_pod(),
        ),
        (Want("secret-ref-missing", "name", ("does not exist",)),),
    ),
    Row(
        "certgen-other-namespace:ingress-nginx/kube-webhook-certgen#create.go",
        join(
            certgen_job(
                "- create\n- --host=h\n- --namespace=ingress\n- --secret-name=webhook-cert"
            ),
            webhook_pod(),
        ),
        (Want("secret-ref-missing", "name", ("exists in namespace ingress",)),),
    ),
    Row(
        "certgen-keys-ca-cert-key:ingress-nginx/kube-webhook-certgen#k8s.go#SaveCertsToSecret",
        join(
            certgen_job("- create\n- --host=h\n- --namespace=shop\n- --secret-name=webhook-cert"),
            webhook_pod("[{key: tls.crt, path: tls.crt}]"),
        ),
        (
            Want(
                "secret-ref-missing",
                "items",
                (
                    "key tls.crt of secret webhook-cert",
                    "made by Job/admission-create",
                    "it has: ca, cert, key",
                ),
            ),
        ),
    ),
    Row(
        "certgen-cert-name-flag:ingress-nginx/kube-webhook-certgen#create.go(--cert-name)",
        join(
            certgen_job(
                "- create\n- --host=h\n- --namespace=shop\n- --secret-name=webhook-cert\n"
                "- --cert-name=tls.crt\n- --key-name=tls.key"
            ),
            webhook_pod("[{key: tls.crt, path: c}, {key: tls.key, path: k}, {key: ca, path: ca}]"),
        ),
    ),
    # --- enforce-mountable-secrets: admission.go limitSecretReferences ---------------------------
    Row(
        "enforce-secret-volume-unlisted:admission.go#limitSecretReferences",
        join(
            account("locked", body="secrets: [{name: other}]"),
            secret("tls", KEYED),
            pod(
                "serviceAccountName: locked\n"
                + volumes("- name: tls\n  secret: {secretName: tls}  # <v>")
            ),
        ),
        (
            Want(
                "secret-not-mountable",
                "v",
                (
                    "volume tls mounts secret tls",
                    "service account locked does not list in its secrets",
                    "set.yaml:7 sets kubernetes.io/enforce-mountable-secrets",
                ),
            ),
        ),
    ),
    Row(
        "enforce-secret-volume-listed:admission.go#limitSecretReferences",
        join(
            account("locked", body="secrets: [{name: tls}]"),
            secret("tls", KEYED),
            pod(
                "serviceAccountName: locked\n" + volumes("- {name: tls, secret: {secretName: tls}}")
            ),
        ),
    ),
    Row(
        "enforce-false:admission.go#enforceMountableSecrets",
        join(
            account("locked", enforce="false"),
            secret("tls", KEYED),
            pod(
                "serviceAccountName: locked\n" + volumes("- {name: tls, secret: {secretName: tls}}")
            ),
        ),
    ),
    Row(
        "enforce-unparsable-is-off:admission.go#enforceMountableSecrets(strconv.ParseBool)",
        join(
            account("locked", enforce="yes"),
            secret("tls", KEYED),
            pod(
                "serviceAccountName: locked\n" + volumes("- {name: tls, secret: {secretName: tls}}")
            ),
        ),
    ),
    Row(
        "enforce-go-true-spelling:admission.go#enforceMountableSecrets(strconv.ParseBool)",
        join(
            account("locked", enforce="1"),
            secret("tls", KEYED),
            pod(
                "serviceAccountName: locked\n"
                + volumes("- name: tls\n  secret: {secretName: tls}  # <v>")
            ),
        ),
        (Want("secret-not-mountable", "v", ("volume tls mounts secret tls",)),),
    ),
    Row(
        "enforce-env-envFrom-init-optional:admission.go#limitSecretReferences",
        join(
            account("locked", body="secrets: [{name: listed}]"),
            secret("listed", "{k: eA==}"),
            secret("db", "{k: eA==}"),
            pod(
                """
                serviceAccountName: locked
                initContainers:
                  - name: migrate
                    image: registry.example.com/shop/migrate:1.0
                    env:
                      - {name: A, valueFrom: {secretKeyRef: {name: db, key: k}}}  # <init>
                containers:
                  - name: app
                    image: registry.example.com/shop/web:1.0
                    envFrom:
                      - secretRef: {name: db}  # <from>
                      - secretRef: {name: listed}
                    env:
                      - name: B
                        valueFrom:
                          secretKeyRef: {name: maybe, key: k, optional: true}  # <opt>
                """
            ),
        ),
        (
            Want(
                "secret-not-mountable", "init", ("init container migrate with envVar", "secret db")
            ),
            Want(
                "secret-not-mountable",
                "from",
                ("container app loads its environment from secret db", "with envFrom"),
            ),
            Want(
                "secret-not-mountable", "opt", ("secret maybe", "`optional: true` does not exempt")
            ),
        ),
    ),
    Row(
        "enforce-projected-csi-unchecked:admission.go#limitSecretReferences(secret volumes only)",
        join(
            account("locked"),
            secret("bundle", "{a: eA==}"),
            secret("csi-creds"),
            pod(
                "serviceAccountName: locked\n"
                + volumes(
                    """
                    - {name: p, projected: {sources: [{secret: {name: bundle}}]}}
                    - {name: c, csi: {driver: d, nodePublishSecretRef: {name: csi-creds}}}
                    """
                )
            ),
        ),
    ),
    Row(
        "enforce-pull-secret-checked-against-imagePullSecrets:admission.go#limitSecretReferences",
        join(
            account("locked", body="secrets: [{name: regcred}]\nimagePullSecrets: [{name: other}]"),
            secret(
                "regcred",
                extra="type: kubernetes.io/dockerconfigjson",
                data="{.dockerconfigjson: e30=}",
            ),
            secret(
                "other",
                extra="type: kubernetes.io/dockerconfigjson",
                data="{.dockerconfigjson: e30=}",
            ),
            pod(
                app(
                    """
                    serviceAccountName: locked
                    imagePullSecrets:
                      - name: regcred  # <p>
                    """
                )
            ),
        ),
        (
            Want(
                "secret-not-mountable",
                "p",
                (
                    "imagePullSecrets names secret regcred",
                    "does not list in its imagePullSecrets",
                    "does not reference that imagePullSecret",
                ),
            ),
        ),
    ),
    Row(
        "enforce-copied-pull-secrets-pass:admission.go#Admit-then-Validate",
        join(
            account("locked", body="imagePullSecrets: [{name: other}]"),
            secret(
                "other",
                extra="type: kubernetes.io/dockerconfigjson",
                data="{.dockerconfigjson: e30=}",
            ),
            pod(app("serviceAccountName: locked")),
        ),
    ),
    Row(
        "enforce-from-cluster-state:admission.go#limitSecretReferences",
        join(
            secret("tls", KEYED),
            pod(
                "serviceAccountName: locked\n"
                + volumes("- name: tls\n  secret: {secretName: tls}  # <v>")
            ),
        ),
        (
            Want(
                "secret-not-mountable",
                "v",
                ("service account locked", "cluster-state", "state.json"),
            ),
        ),
        state=[
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": "locked",
                    "namespace": NS,
                    "annotations": {"kubernetes.io/enforce-mountable-secrets": "true"},
                },
                "secrets": [{"name": "other"}],
            }
        ],
    ),
    Row(
        "enforce-ephemeral-unchecked-at-create:admission.go#limitEphemeralContainerSecretReferences",
        join(
            account("locked"),
            secret("dbg", "{t: eA==}"),
            pod(
                """
                serviceAccountName: locked
                containers:
                  - name: app
                    image: registry.example.com/shop/web:1.0
                ephemeralContainers:
                  - name: debug
                    image: registry.example.com/shop/debug:1.0
                    env:
                      - {name: T, valueFrom: {secretKeyRef: {name: dbg, key: t}}}
                """,
                kind="Pod",
            ),
        ),
    ),
    Row(
        "enforce-default-account:admission.go#Admit(DefaultServiceAccountName)",
        join(
            account("default"),
            secret("tls", KEYED),
            pod(volumes("- name: tls\n  secret: {secretName: tls}  # <v>")),
        ),
        (Want("secret-not-mountable", "v", ("service account default does not list",)),),
    ),
    # --- empty imagePullSecrets names: warnings.go, admission.go#Admit, kubelet_pods.go ----------
    Row(
        "account-pull-secret-inherited-baseline:admission.go#Admit",
        join(
            account("runner", enforce=None, body="imagePullSecrets:\n  - name: absent  # <sa>"),
            pod(app("serviceAccountName: runner")),
        ),
        (
            Want(
                "pull-secret-missing",
                "sa",
                ("service account runner gives its pods pull secret absent",),
            ),
        ),
    ),
    Row(
        "empty-name-blocks-account-copy:warnings.go+admission.go#Admit(len==0)",
        join(
            account("runner", enforce=None, body="imagePullSecrets:\n  - name: absent"),
            pod(
                app(
                    """
                    serviceAccountName: runner
                    imagePullSecrets:
                      - name: ""  # <e>
                    """
                )
            ),
        ),
        (
            Want(
                "pull-secret-missing",
                "e",
                (
                    "entry without a name",
                    "does not get the pull secrets of service account runner (absent)",
                    "invalid empty name",
                ),
                severity="warning",
            ),
        ),
    ),
    Row(
        "empty-mapping-entry:warnings.go+kubelet_pods.go#getPullSecretsForPod",
        pod(app("imagePullSecrets:\n  - {}  # <e>")),
        (
            Want(
                "pull-secret-missing",
                "e",
                ("entry without a name", "would not get its service account's pull secrets"),
                severity="warning",
            ),
        ),
    ),
    Row(
        "empty-name-beside-named:warnings.go",
        join(
            secret(
                "regcred",
                extra="type: kubernetes.io/dockerconfigjson",
                data="{.dockerconfigjson: e30=}",
            ),
            pod(
                app(
                    """
                    imagePullSecrets:
                      - name: regcred
                      - name: ""  # <e>
                    """
                )
            ),
        ),
        (Want("pull-secret-missing", "e", ("it names no secret",), severity="warning"),),
    ),
    Row(
        "empty-name-under-enforcement:admission.go#limitSecretReferences",
        join(
            account("locked", body="imagePullSecrets: [{name: regcred}]"),
            pod(
                app(
                    """
                    serviceAccountName: locked
                    imagePullSecrets:
                      - name: ""  # <e>
                    """
                )
            ),
        ),
        (
            Want("pull-secret-missing", "e", ("entry without a name",), severity="warning"),
            Want("secret-not-mountable", "e", ('imagePullSecrets[…].name=""',)),
        ),
    ),
]

# API-DECODE: the API server decodes the object into k8s.io/api/core/v1 types first
# (`LocalObjectReference.Name`, `SecretKeySelector.Key`, `KeyToPath.Key`, ... are Go strings;
# `ImagePullSecrets` is []LocalObjectReference): a wrong JSON type refuses the whole object,
# so the gate reports it and invents no secret name from it.
ROWS += [
    Row(
        "API-DECODE-pull-secret-as-string:core/v1/types.go#LocalObjectReference",
        pod(
            app(
                """
                imagePullSecrets:
                  - regcred  # <e>
                """
            )
        ),
        (Want("manifest-invalid", "e", ("imagePullSecrets[0] must be an object",)),),
    ),
    Row(
        "API-DECODE-pull-secret-name-number:core/v1/types.go#LocalObjectReference",
        pod(
            app(
                """
                imagePullSecrets:
                  - name: 123  # <e>
                """
            )
        ),
        (
            Want(
                "manifest-invalid",
                "e",
                ("imagePullSecrets[0].name must be a string, not a number",),
            ),
        ),
    ),
    Row(
        "API-DECODE-secretKeyRef-key-number:core/v1/types.go#SecretKeySelector",
        join(
            secret("db", "{password: cA==}"),
            pod(
                """
                containers:
                  - name: app
                    image: registry.example.com/shop/web:1.0
                    env:
                      - name: PASSWORD
                        valueFrom:
                          secretKeyRef:
                            name: db
                            key: 42  # <e>
                """
            ),
        ),
        (Want("manifest-invalid", "e", ("secretKeyRef.key must be a string",)),),
    ),
    Row(
        "API-DECODE-secretName-list:core/v1/types.go#SecretVolumeSource",
        pod(
            volumes(
                """
                - name: certs
                  secret:
                    secretName: [a, b]  # <e>
                """
            )
        ),
        (Want("manifest-invalid", "e", ("secret.secretName must be a string, not a list",)),),
    ),
    Row(
        "API-DECODE-items-key-number:core/v1/types.go#KeyToPath",
        join(
            secret("tls", "{'1': YQ==}"),
            pod(
                volumes(
                    """
                    - name: certs
                      secret:
                        secretName: tls
                        items:
                          - key: 1  # <e>
                            path: one
                    """
                )
            ),
        ),
        (Want("manifest-invalid", "e", ("items[0].key must be a string",)),),
    ),
    Row(
        "API-DECODE-nodePublishSecretRef-name-number:core/v1/types.go#CSIVolumeSource",
        pod(
            volumes(
                """
                - name: vault
                  csi:
                    driver: secrets-store.csi.k8s.io
                    nodePublishSecretRef:
                      name: 7  # <e>
                """
            )
        ),
        (Want("manifest-invalid", "e", ("nodePublishSecretRef.name must be a string",)),),
    ),
    Row(
        "API-DECODE-certgen-number-arg:core/v1/types.go#Container.Args",
        join(
            certgen_job(
                """
                - create
                - --host=webhook.shop.svc
                - --secret-name=webhook-cert
                - --namespace
                - 12  # <x>
                """
            ),
            webhook_pod(),
        ),
        (
            Want("manifest-invalid", "x", ("args[4] must be a string, not a number",)),
            Want("secret-ref-missing", "name", ("webhook-cert",)),
        ),
    ),
]


def marks(text: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        for match in MARK.finditer(line):
            found.setdefault(match.group(1), number)
    return found


def run(tmp_path: Path, row: Row, *extra: str) -> Result:
    path = tmp_path / "set.yaml"
    path.write_text(row.manifests)
    args = ["check", "--offline", "--format", "json", "-n", NS, *extra]
    if row.state is not None:
        state = tmp_path / "state.json"
        state.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": row.state}))
        args += ["--cluster-state", str(state)]
    result = pullgate(*args, str(path))
    return result


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_conformance(tmp_path: Path, row: Row) -> None:
    result = run(tmp_path, row)
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    lines = marks(row.manifests)
    got = {(f["rule"], f["severity"], f["line"]) for f in report["findings"]}
    assert got == {(w.rule, w.severity, lines[w.mark]) for w in row.want}, report["findings"]
    for want in row.want:
        [finding] = [
            f for f in report["findings"] if (f["rule"], f["line"]) == (want.rule, lines[want.mark])
        ]
        text = finding["message"] + " " + finding["hint"]
        for words in want.words:
            assert words in text, (words, finding)
        assert finding["file"].endswith("set.yaml") and finding["namespace"] == NS
    errors = any(w.severity == "error" for w in row.want)
    assert result.exit_code == (1 if errors else 0), result.stdout


def test_every_row_has_a_unique_id_naming_its_source() -> None:
    ids = [row.id for row in ROWS]
    assert len(ids) == len(set(ids))
    assert all(":" in i for i in ids)


# --- notes for keys that cannot be known --------------------------------------------------------


def test_unknown_keys_pass_with_a_note_on_stderr(tmp_path: Path) -> None:
    """The check passes; `-v` says which key went unchecked and why, stdout stays the report."""
    [row] = [r for r in ROWS if r.id.startswith("service-account-token-keys-unknown")]
    result = run(tmp_path, row, "-v")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["findings"] == []
    assert "key token of secret shop/runner-token not checked" in result.stderr
    assert "the token controller writes token, ca.crt and namespace" in result.stderr
    [replicated] = [r for r in ROWS if r.id.startswith("replicate-from")]
    result = run(tmp_path, replicated, "-v")
    assert "key tls.crt of secret shop/wildcard-tls not checked" in result.stderr
    assert "kubernetes-replicator copies the keys of cert-manager/wildcard-tls" in result.stderr
    quiet = run(tmp_path, row)
    assert "not checked" not in quiet.stderr


# --- the inventory and the keychain's view of pull secrets ---------------------------------------


def test_empty_entry_keeps_the_account_pull_secrets_off_the_pod() -> None:
    """`pull_secrets_for` (what the keychain looks up) has no empty name and no inheritance."""
    text = join(
        account("runner", enforce=None, body="imagePullSecrets: [{name: regcred}]"),
        pod(app('serviceAccountName: runner\nimagePullSecrets: [{name: ""}, null]')),
    )
    objects = load_text(text, "set.yaml").objects
    (web,) = extract(objects, NS)
    assert web.image_pull_secrets == ()
    assert len(web.empty_pull_secrets) == 2 and web.has_own_pull_secrets
    inventory = Inventory()
    add_rendered(inventory, objects, NS)
    source = inventory.pull_secrets_for(web)
    assert source.names == () and source.service_account is None
    assert inventory.needed_pull_secrets([web]) == []


def test_certgen_secret_is_made_by_the_job() -> None:
    text = certgen_job(
        "- create\n- --host=h\n- --namespace=shop\n- --secret-name=webhook-cert  # <n>"
    )
    inventory = Inventory()
    add_rendered(inventory, load_text(text, "set.yaml").objects, NS)
    entry = inventory.secret(NS, "webhook-cert")
    assert entry is not None
    assert entry.created_by == "Job/admission-create"
    assert entry.keys == frozenset({"ca", "cert", "key"}) and entry.type == "Opaque"
    assert entry.line == marks(text)["n"]


def test_service_account_entry_carries_mountable_secrets() -> None:
    text = account("locked", body="secrets: [{name: a}, {name: b, namespace: ignored}]")
    inventory = Inventory()
    add_rendered(inventory, load_text(text, "sa.yaml").objects, NS)
    entry = inventory.service_account(NS, "locked")
    assert entry is not None and entry.enforce_mountable_secrets
    assert entry.mountable_secrets == ("a", "b")
    assert entry.where == f"sa.yaml:{marks(text)['sa']}"


def test_a_secret_filled_later_holds_no_values_to_pull_with() -> None:
    """Its `data` is a placeholder the replicator overwrites: the secret exists, its values are
    not the ones the kubelet will read, so the keychain must not replay them."""
    text = secret(
        "regcred",
        "{.dockerconfigjson: e30K}",
        extra="  annotations: {replicator.v1.mittwald.de/replicate-from: infra/regcred}\n"
        "type: kubernetes.io/dockerconfigjson",
    )
    inventory = Inventory()
    add_rendered(inventory, load_text(text, "set.yaml").objects, NS)
    assert inventory.secret_exists(NS, "regcred")
    assert inventory.secret_object(NS, "regcred") is None
    assert inventory.has_key(NS, "regcred", ".dockerconfigjson") is True
    assert inventory.has_key(NS, "regcred", "other") is None
    assert inventory.secret_keys(NS, "regcred") is None
