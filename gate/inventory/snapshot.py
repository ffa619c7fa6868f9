"""Cluster-state files: what `kubectl get secrets,serviceaccounts -A -o json` (or -o yaml) prints.

kubectl prints a `kind: List` whose items are full objects; a single-namespace or single-kind
`get` prints the same, an older kubectl a `SecretList`, and `get secret NAME` one object. All
are accepted. A snapshot may have had its `data` stripped (so that no value sits in CI
artifacts): such Secrets still exist, with unknown keys and no values to pull with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gate.errors import GateError
from gate.inventory.model import (
    Inventory,
    SecretEntry,
    ServiceAccountEntry,
    annotation_keys,
    data_keys,
    enforces_mountable_secrets,
    mountable_secret_names,
    pull_secret_names,
)
from gate.load import load_text
from gate.workload import DEFAULT_NAMESPACE


class ClusterStateError(GateError):
    """A cluster-state file cannot be read or parsed: a usage error (exit 2)."""


def add_cluster_state(
    inventory: Inventory, path: str, default_namespace: str = DEFAULT_NAMESPACE
) -> int:
    """Add the Secrets and ServiceAccounts of one cluster-state file; returns how many."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ClusterStateError(f"{path}: no such cluster-state file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ClusterStateError(f"{path}: cannot read cluster-state file: {reason}") from None
    loaded = load_text(text, path)
    if loaded.invalid:
        bad = loaded.invalid[0]
        raise ClusterStateError(f"{bad.file}:{bad.line}: not a cluster-state file: {bad.message}")
    origin = f"cluster-state {path}"
    inventory.add_source(origin)
    count = 0
    for obj in loaded.objects:
        for item in _items(obj.data):
            count += _add_item(inventory, item, origin, default_namespace)
    return count


def _items(data: dict[str, Any]) -> list[dict[str, Any]]:
    """`SecretList`, `ServiceAccountList` (and nested Lists) flattened; `kind: List` is already."""
    items = data.get("items")
    if str(data.get("kind", "")).endswith("List") and isinstance(items, list):
        return [i for item in items if isinstance(item, dict) for i in _items(item)]
    return [data]


def _add_item(inventory: Inventory, item: dict[str, Any], origin: str, default_ns: str) -> int:
    kind = item.get("kind")
    meta = item.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        return 0
    name, namespace = str(meta["name"]), str(meta.get("namespace") or default_ns)
    if kind == "ServiceAccount":
        names = pull_secret_names(item.get("imagePullSecrets"))
        inventory.add_service_account(
            ServiceAccountEntry(
                namespace,
                name,
                origin,
                names,
                mountable_secrets=mountable_secret_names(item.get("secrets")),
                enforce_mountable_secrets=enforces_mountable_secrets(meta.get("annotations")),
                annotation_keys=annotation_keys(meta.get("annotations")),
            )
        )
        return 1
    if kind == "Secret":
        keys = data_keys(item)
        inventory.add_secret(
            SecretEntry(namespace, name, origin, str(item.get("type") or "Opaque"), keys),
            obj=item if keys is not None else None,
        )
        return 1
    return 0
