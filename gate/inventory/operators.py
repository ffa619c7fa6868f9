"""Secrets that operators make from the custom resources and annotations they watch.

Supported (any API version of each group, since the fields below are stable across them):

- `SealedSecret` (bitnami.com): `metadata.name` in its own namespace; the controller forces both,
  whatever `spec.template.metadata` says. Keys: `encryptedData` and `template.data`.
- `ExternalSecret` (external-secrets.io v1alpha1, v1beta1, v1): `spec.target.name`, default its
  own name; none when `creationPolicy` is `Merge` or `None` (those need the Secret to exist).
- `ClusterExternalSecret` (external-secrets.io): `externalSecretSpec.target.name`, else
  `externalSecretName`, else its own name, in each of `spec.namespaces`; with a namespace
  selector, in any namespace (only the cluster can evaluate a label selector).
- `VaultStaticSecret`, `VaultDynamicSecret`, `VaultPKISecret`, `HCPVaultSecretsApp` and any other
  kind of secrets.hashicorp.com (Vault Secrets Operator): `spec.destination.name`, only with
  `spec.destination.create: true` (otherwise the Secret must exist already).
- `SopsSecret` (isindir.github.com): each `spec.secretTemplates[].name`; a SOPS-encrypted name
  cannot be read, and the finding's hint says so.
- `Certificate` (cert-manager.io): `spec.secretName`; an `Ingress` or `Gateway` annotated for
  cert-manager's ingress-shim: `spec.tls[].secretName` / `listeners[].tls.certificateRefs[]`.
- `SecretProviderClass` (secrets-store.csi.x-k8s.io): each `spec.secretObjects[].secretName`.
- `DopplerSecret` (secrets.doppler.com): `spec.managedSecret.name` in its `namespace`, default
  the DopplerSecret's own.
- `InfisicalSecret` (secrets.infisical.com): `spec.managedSecretReference` and each
  `spec.managedKubeSecretReferences[]` (`secretName` in `secretNamespace`).
- `OnePasswordItem` (onepassword.com): its own name; any object annotated
  `operator.1password.io/item-name`: that name.
- Anything with `spec.writeConnectionSecretToRef` (Crossplane): `name` in `namespace`, default
  the object's own.
- A `Job` running kube-webhook-certgen `create` (image `.../kube-webhook-certgen`, as
  ingress-nginx and many charts use it): `--secret-name` in `--namespace` (both required by
  the tool), keys `ca`, `--cert-name` (default `cert`) and `--key-name` (default `key`); read
  by `gate.inventory.certgen`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gate.inventory.certgen import certgen_secrets
from gate.inventory.made import MadeSecret
from gate.inventory.model import ExternalPattern, Inventory
from gate.load import KubeObject, PathKey

_CERT_MANAGER_SHIM_ANNOTATIONS = (
    "cert-manager.io/cluster-issuer",
    "cert-manager.io/issuer",
    "kubernetes.io/tls-acme",
)
_ONEPASSWORD_ITEM_NAME = "operator.1password.io/item-name"
_ESO_NOT_CREATING = {"Merge", "None"}


def made_by(
    obj: KubeObject, group: str, namespace: str, inventory: Inventory
) -> Iterator[MadeSecret]:
    """The Secrets a non-Secret object of API `group` makes (the module docstring's table)."""
    kind, spec = obj.kind, obj.data.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    name_line = obj.line_of(("metadata", "name"))

    if group == "bitnami.com" and kind == "SealedSecret":
        yield _sealed_secret(obj, namespace, spec, name_line)
    elif group == "external-secrets.io" and kind == "ExternalSecret":
        made = _external_secret(obj, spec, ("spec",), obj.name, namespace)
        if made is not None:
            yield made
    elif group == "external-secrets.io" and kind == "ClusterExternalSecret":
        yield from _cluster_external_secret(obj, spec, inventory)
    elif group == "secrets.hashicorp.com":
        destination = spec.get("destination")
        if (
            isinstance(destination, dict)
            and destination.get("create") is True
            and destination.get("name")
        ):
            yield MadeSecret(
                namespace,
                str(destination["name"]),
                obj.line_of(("spec", "destination", "name")),
                _str(destination.get("type")) or "Opaque",
            )
    elif group == "batch" and kind == "Job":
        yield from certgen_secrets(obj, namespace)
    elif group == "isindir.github.com" and kind == "SopsSecret":
        yield from _sops_secret(obj, namespace, spec, inventory)
    elif group == "cert-manager.io" and kind == "Certificate":
        if spec.get("secretName"):
            yield MadeSecret(
                namespace,
                str(spec["secretName"]),
                obj.line_of(("spec", "secretName")),
                "kubernetes.io/tls",
            )
    elif kind == "Ingress" and _shim_annotated(obj):
        yield from _ingress_tls(obj, namespace, spec)
    elif group == "gateway.networking.k8s.io" and kind == "Gateway" and _shim_annotated(obj):
        yield from _gateway_tls(obj, namespace, spec)
    elif group == "secrets-store.csi.x-k8s.io" and kind == "SecretProviderClass":
        yield from _secret_provider_class(obj, namespace, spec)
    elif group == "secrets.doppler.com" and kind == "DopplerSecret":
        managed = spec.get("managedSecret")
        if isinstance(managed, dict) and managed.get("name"):
            yield MadeSecret(
                _str(managed.get("namespace")) or namespace,
                str(managed["name"]),
                obj.line_of(("spec", "managedSecret", "name")),
                _str(managed.get("type")) or "Opaque",
            )
    elif group == "secrets.infisical.com" and kind == "InfisicalSecret":
        yield from _infisical_secret(obj, namespace, spec)
    elif group == "onepassword.com" and kind == "OnePasswordItem":
        yield MadeSecret(namespace, obj.name, name_line, _str(obj.data.get("type")) or "Opaque")

    annotations = obj.metadata.get("annotations")
    if isinstance(annotations, dict) and annotations.get(_ONEPASSWORD_ITEM_NAME):
        yield MadeSecret(
            namespace,
            str(annotations[_ONEPASSWORD_ITEM_NAME]),
            obj.line_of(("metadata", "annotations", _ONEPASSWORD_ITEM_NAME)),
            "Opaque",
        )
    ref = spec.get("writeConnectionSecretToRef")
    if isinstance(ref, dict) and ref.get("name"):
        yield MadeSecret(
            _str(ref.get("namespace")) or namespace,
            str(ref["name"]),
            obj.line_of(("spec", "writeConnectionSecretToRef", "name")),
            "connection.crossplane.io/v1alpha1",
        )


def _sealed_secret(obj: KubeObject, namespace: str, spec: dict[str, Any], line: int) -> MadeSecret:
    template = spec.get("template")
    template = template if isinstance(template, dict) else {}
    keys: frozenset[str] | None = None
    encrypted = spec.get("encryptedData")
    if "data" not in spec:  # the deprecated whole-Secret `data` blob hides its keys
        names = set(encrypted) if isinstance(encrypted, dict) else set()
        extra = template.get("data")
        if isinstance(extra, dict):
            names |= {str(k) for k, v in extra.items() if v is not None}
            names -= {str(k) for k, v in extra.items() if v is None}
        keys = frozenset(str(k) for k in names)
    return MadeSecret(namespace, obj.name, line, _str(template.get("type")) or "Opaque", keys)


def _external_secret(
    obj: KubeObject, spec: dict[str, Any], spec_path: PathKey, default_name: str, namespace: str
) -> MadeSecret | None:
    target = spec.get("target")
    target = target if isinstance(target, dict) else {}
    if str(target.get("creationPolicy") or "Owner") in _ESO_NOT_CREATING:
        return None
    template = target.get("template")
    secret_type = _str(template.get("type")) if isinstance(template, dict) else None
    if target.get("name"):
        return MadeSecret(
            namespace,
            str(target["name"]),
            obj.line_of((*spec_path, "target", "name")),
            secret_type or "Opaque",
        )
    name_line = obj.line_of(("metadata", "name"))
    return MadeSecret(namespace, default_name, name_line, secret_type or "Opaque")


def _cluster_external_secret(
    obj: KubeObject, spec: dict[str, Any], inventory: Inventory
) -> Iterator[MadeSecret]:
    es_spec = spec.get("externalSecretSpec")
    es_spec = es_spec if isinstance(es_spec, dict) else {}
    default_name = _str(spec.get("externalSecretName")) or obj.name
    namespaces = spec.get("namespaces")
    for namespace in namespaces if isinstance(namespaces, list) else []:
        made = _external_secret(
            obj, es_spec, ("spec", "externalSecretSpec"), default_name, str(namespace)
        )
        if made is not None:
            yield made
    if spec.get("namespaceSelector") or spec.get("namespaceSelectors"):
        made = _external_secret(obj, es_spec, ("spec", "externalSecretSpec"), default_name, "*")
        if made is not None:
            inventory.add_external_pattern(
                ExternalPattern(
                    pattern=f"*/{made.name}",
                    reason=f"ClusterExternalSecret {obj.name} ({obj.file}:{made.line}) selects "
                    "its namespaces by label, which only the cluster can evaluate",
                    origin=f"rendered {obj.file}:{made.line}",
                )
            )


def _sops_secret(
    obj: KubeObject, namespace: str, spec: dict[str, Any], inventory: Inventory
) -> Iterator[MadeSecret]:
    templates = spec.get("secretTemplates")
    for index, template in enumerate(templates if isinstance(templates, list) else []):
        if not isinstance(template, dict) or not template.get("name"):
            continue
        name = str(template["name"])
        if name.startswith("ENC["):
            inventory.add_unreadable(
                namespace,
                f"SopsSecret {obj.name} ({obj.file}:{obj.line_of(('metadata', 'name'))}) makes "
                "Secrets whose names are encrypted (sops --encrypted-regex "
                "'^(data|stringData)$' keeps them readable)",
            )
            continue
        keys: set[str] = set()
        for field_name in ("data", "stringData"):
            values = template.get(field_name)
            if isinstance(values, dict):
                keys.update(str(k) for k in values)
        yield MadeSecret(
            namespace,
            name,
            obj.line_of(("spec", "secretTemplates", index, "name")),
            _str(template.get("type")) or "Opaque",
            frozenset(keys),
        )


def _shim_annotated(obj: KubeObject) -> bool:
    annotations = obj.metadata.get("annotations")
    return isinstance(annotations, dict) and any(
        annotations.get(a) for a in _CERT_MANAGER_SHIM_ANNOTATIONS
    )


def _ingress_tls(obj: KubeObject, namespace: str, spec: dict[str, Any]) -> Iterator[MadeSecret]:
    tls = spec.get("tls")
    for index, entry in enumerate(tls if isinstance(tls, list) else []):
        if isinstance(entry, dict) and entry.get("secretName"):
            line = obj.line_of(("spec", "tls", index, "secretName"))
            yield MadeSecret(namespace, str(entry["secretName"]), line, "kubernetes.io/tls")


def _gateway_tls(obj: KubeObject, namespace: str, spec: dict[str, Any]) -> Iterator[MadeSecret]:
    listeners = spec.get("listeners")
    for index, listener in enumerate(listeners if isinstance(listeners, list) else []):
        tls = listener.get("tls") if isinstance(listener, dict) else None
        refs = tls.get("certificateRefs") if isinstance(tls, dict) else None
        for rindex, ref in enumerate(refs if isinstance(refs, list) else []):
            if not isinstance(ref, dict) or not ref.get("name"):
                continue
            if ref.get("kind", "Secret") != "Secret" or ref.get("group", "") not in ("", "core"):
                continue
            path = ("spec", "listeners", index, "tls", "certificateRefs", rindex, "name")
            yield MadeSecret(
                _str(ref.get("namespace")) or namespace,
                str(ref["name"]),
                obj.line_of(path),
                "kubernetes.io/tls",
            )


def _secret_provider_class(
    obj: KubeObject, namespace: str, spec: dict[str, Any]
) -> Iterator[MadeSecret]:
    objects = spec.get("secretObjects")
    for index, entry in enumerate(objects if isinstance(objects, list) else []):
        if not isinstance(entry, dict) or not entry.get("secretName"):
            continue
        data = entry.get("data")
        keys = frozenset(
            str(d["key"])
            for d in (data if isinstance(data, list) else [])
            if isinstance(d, dict) and d.get("key")
        )
        yield MadeSecret(
            namespace,
            str(entry["secretName"]),
            obj.line_of(("spec", "secretObjects", index, "secretName")),
            _str(entry.get("type")) or "Opaque",
            keys,
        )


def _infisical_secret(
    obj: KubeObject, namespace: str, spec: dict[str, Any]
) -> Iterator[MadeSecret]:
    refs: list[tuple[PathKey, Any]] = [
        (("spec", "managedSecretReference"), spec.get("managedSecretReference"))
    ]
    many = spec.get("managedKubeSecretReferences")
    for index, ref in enumerate(many if isinstance(many, list) else []):
        refs.append((("spec", "managedKubeSecretReferences", index), ref))
    for path, ref in refs:
        if isinstance(ref, dict) and ref.get("secretName"):
            yield MadeSecret(
                _str(ref.get("secretNamespace")) or namespace,
                str(ref["secretName"]),
                obj.line_of((*path, "secretName")),
                _str(ref.get("secretType")) or "Opaque",
            )


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
