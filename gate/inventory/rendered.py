"""Secrets and ServiceAccounts the rendered set itself creates, directly or through an operator.

A Secret is often not in the manifests as a `Secret` but as the custom resource an operator turns
into one: `gate.inventory.operators` lists those supported. Read here:

- `Secret`, `ServiceAccount` (core): themselves.
- A `Secret` annotated for Emberstack Reflector auto-reflection, or with
  `replicator.v1.mittwald.de/replicate-to`: copies in the listed namespaces (names or regexes;
  Reflector with no list: every namespace).

Keys that something writes after creation are unknown, not absent: a
`kubernetes.io/service-account-token` Secret gets `token`, `ca.crt` and `namespace` from the
token controller; a Secret annotated `replicator.v1.mittwald.de/replicate-from` gets the
source's keys added, one annotated `reflector.v1.k8s.emberstack.com/reflects` has its data
replaced by the source's.

Anything else that makes Secrets (a Helm hook Job, a cloud controller) belongs in the config's
`secrets: external:` list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gate.inventory.model import (
    ENFORCE_MOUNTABLE_SECRETS,
    SERVICE_ACCOUNT_TOKEN_TYPE,
    TOKEN_CONTROLLER_KEYS,
    ExternalPattern,
    Inventory,
    SecretEntry,
    ServiceAccountEntry,
    data_keys,
    enforces_mountable_secrets,
    mountable_secret_names,
)
from gate.inventory.operators import made_by
from gate.load import KubeObject
from gate.workload import DEFAULT_NAMESPACE

SOURCE_DESCRIPTION = "the rendered manifests"
_REFLECTOR = "reflector.v1.k8s.emberstack.com/"
_REPLICATE_TO = "replicator.v1.mittwald.de/replicate-to"
_REPLICATE_FROM = "replicator.v1.mittwald.de/replicate-from"
_REFLECTS = _REFLECTOR + "reflects"


def add_rendered(
    inventory: Inventory, objects: Iterable[KubeObject], default_namespace: str = DEFAULT_NAMESPACE
) -> None:
    """Add every Secret and ServiceAccount the rendered `objects` create."""
    inventory.add_source(SOURCE_DESCRIPTION)
    for obj in objects:
        add_rendered_object(inventory, obj, default_namespace)


def add_rendered_object(
    inventory: Inventory, obj: KubeObject, default_namespace: str = DEFAULT_NAMESPACE
) -> None:
    """Add what one rendered object creates (objects are taken in document order, one at a
    time, so a stream of any size can be read)."""
    namespace = obj.namespace or default_namespace
    if not _named(obj.name):
        return
    kind, group = obj.kind, _group(obj.api_version)
    if kind == "ServiceAccount" and group == "":
        inventory.add_service_account(_service_account(obj, namespace))
        return
    if kind == "Secret" and group == "":
        _add_secret_object(inventory, obj, namespace)
        return
    for made in made_by(obj, group, namespace, inventory):
        inventory.add_secret(
            SecretEntry(
                namespace=made.namespace,
                name=made.name,
                origin=f"rendered {obj.file}:{made.line}",
                type=made.type,
                keys=made.keys,
                created_by=f"{kind}/{obj.name}",
                file=obj.file,
                line=made.line,
            )
        )


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def _named(name: str) -> bool:
    """A `generateName`-only object gets a random name nothing can refer to."""
    return bool(name) and not name.endswith("*")


def _service_account(obj: KubeObject, namespace: str) -> ServiceAccountEntry:
    names: list[str] = []
    lines: list[int] = []
    entries = obj.data.get("imagePullSecrets")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict) and entry.get("name"):
            names.append(str(entry["name"]))
            lines.append(obj.line_of(("imagePullSecrets", index, "name")))
    line = obj.line_of(("metadata", "name"))
    enforce = enforces_mountable_secrets(obj.metadata.get("annotations"))
    return ServiceAccountEntry(
        namespace=namespace,
        name=obj.name,
        origin=f"rendered {obj.file}:{line}",
        image_pull_secrets=tuple(names),
        pull_secret_lines=tuple(lines),
        file=obj.file,
        line=line,
        mountable_secrets=mountable_secret_names(obj.data.get("secrets")),
        enforce_mountable_secrets=enforce,
        enforce_line=obj.line_of(("metadata", "annotations", ENFORCE_MOUNTABLE_SECRETS))
        if enforce
        else None,
        # not `annotation_keys`: `kubectl apply` keeps annotations added out of band, so
        # the rendered ones are only some of what the account will have
    )


def _add_secret_object(inventory: Inventory, obj: KubeObject, namespace: str) -> None:
    found = data_keys(obj.data)
    keys = set(found or ())
    line = obj.line_of(("metadata", "name"))
    # A SOPS-encrypted Secret (Flux decrypts it at apply time) has readable key names but
    # ciphertext values: it exists, but its values are no use for pulling images.
    # A plain rendered Secret is exactly what will be applied: its values are what they are,
    # none included (the API server then refuses a pull secret without its key).
    # One that a replicator or the token controller fills holds placeholders, not its values.
    encrypted = "sops" in obj.data
    secret_type = str(obj.data.get("type") or "Opaque")
    filled_by, filled_keys = _filled_later(obj, secret_type)
    inventory.add_secret(
        SecretEntry(
            namespace=namespace,
            name=obj.name,
            origin=f"rendered {obj.file}:{line}",
            type=secret_type,
            keys=None if _annotation(obj, _REFLECTS) else frozenset(keys),
            file=obj.file,
            line=line,
            filled_by=filled_by,
            filled_keys=filled_keys,
        ),
        obj=None if encrypted or filled_by is not None else obj.data,
    )
    _add_replicas(inventory, obj, namespace, keys)


def _annotation(obj: KubeObject, key: str) -> str | None:
    annotations = obj.metadata.get("annotations")
    value = annotations.get(key) if isinstance(annotations, dict) else None
    return str(value) if value not in (None, "") else None


def _filled_later(obj: KubeObject, secret_type: str) -> tuple[str | None, frozenset[str] | None]:
    """What writes keys into this Secret after it is applied, and which keys (None: any)."""
    if secret_type == SERVICE_ACCOUNT_TOKEN_TYPE:
        return "the token controller writes token, ca.crt and namespace", TOKEN_CONTROLLER_KEYS
    source = _annotation(obj, _REPLICATE_FROM)
    if source:
        return (
            f"kubernetes-replicator copies the keys of {source} into it ({_REPLICATE_FROM})",
            None,
        )
    source = _annotation(obj, _REFLECTS)
    if source:
        return f"Reflector replaces its data with that of {source} ({_REFLECTS})", None
    return None, None


def _add_replicas(inventory: Inventory, obj: KubeObject, namespace: str, keys: set[str]) -> None:
    """Copies that Reflector or kubernetes-replicator make of an annotated Secret."""
    annotations = obj.metadata.get("annotations")
    if not isinstance(annotations, dict):
        return
    targets: list[str] | None = None
    tool = ""
    if (
        str(annotations.get(_REFLECTOR + "reflection-allowed", "")).lower() == "true"
        and str(annotations.get(_REFLECTOR + "reflection-auto-enabled", "")).lower() == "true"
    ):
        tool = "Reflector"
        listed = annotations.get(_REFLECTOR + "reflection-auto-namespaces") or annotations.get(
            _REFLECTOR + "reflection-allowed-namespaces"
        )
        targets = _split_list(listed) or [".*"]
    elif annotations.get(_REPLICATE_TO):
        tool = "kubernetes-replicator"
        targets = _split_list(annotations.get(_REPLICATE_TO))
    if not targets:
        return
    line = obj.line_of(("metadata", "annotations"))
    plain = [t for t in targets if _is_plain_name(t)]
    patterns = [t for t in targets if not _is_plain_name(t)]
    for target in plain:
        if target == namespace:
            continue
        inventory.add_secret(
            SecretEntry(
                namespace=target,
                name=obj.name,
                origin=f"rendered {obj.file}:{line}",
                type=str(obj.data.get("type") or "Opaque"),
                keys=frozenset(keys),
                created_by=f"{tool} copy of {namespace}/{obj.name}",
                file=obj.file,
                line=line,
            )
        )
    if patterns:
        inventory.add_external_pattern(
            ExternalPattern(
                pattern=f"*/{obj.name}",
                reason=f"{tool} copies Secret {namespace}/{obj.name} there ({obj.file}:{line})",
                origin=f"rendered {obj.file}:{line}",
                namespace_regexes=tuple(patterns),
            )
        )


def _split_list(value: Any) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _is_plain_name(value: str) -> bool:
    return all(c.isalnum() or c == "-" for c in value)
