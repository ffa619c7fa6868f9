"""The live cluster read into an inventory: the Secrets and ServiceAccounts of the pods' namespaces.

Names only, unless the caller asks for credentials: then the pull secrets some pod will use, and
no other, are read in full (to build the keyring the kubelet would).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from gate.inventory import Inventory, SecretEntry
from gate.inventory.cluster.client import ORIGIN, ClusterClient
from gate.inventory.cluster.kubeconfig import ClusterConfig
from gate.inventory.model import data_keys
from gate.net import run_cancellable
from gate.workload import PodSpec


@dataclass
class ClusterReadout:
    """What the cluster was asked and answered, for logs and the summary."""

    where: str
    namespaces: list[str] = field(default_factory=list)
    secrets: int = 0
    service_accounts: int = 0
    fetched: list[str] = field(default_factory=list)
    """`namespace/name` of each Secret read in full (only with credentials=True)."""


async def read_cluster_async(
    config: ClusterConfig,
    inventory: Inventory,
    pods: Iterable[PodSpec],
    *,
    credentials: bool = False,
) -> ClusterReadout:
    """Add to `inventory` the Secrets and ServiceAccounts of the namespaces `pods` run in.

    With `credentials`, also read in full the pull secrets those pods would use that exist in the
    cluster and that no earlier source (rendered set, cluster-state file) gave values for.
    """
    pods = list(pods)
    readout = ClusterReadout(config.where)
    namespaces = sorted({pod.object.namespace for pod in pods})
    readout.namespaces = namespaces
    inventory.add_source(f"cluster {config.where}")
    if not namespaces:
        return readout
    async with ClusterClient(config) as client:
        secret_lists = await asyncio.gather(*(client.secret_names(ns) for ns in namespaces))
        account_lists = await asyncio.gather(*(client.service_accounts(ns) for ns in namespaces))
        in_cluster: set[tuple[str, str]] = set()
        for namespace, names in zip(namespaces, secret_lists, strict=True):
            for name in names:
                in_cluster.add((namespace, name))
                inventory.add_secret(SecretEntry(namespace, name, ORIGIN))
            readout.secrets += len(names)
        for accounts in account_lists:
            for account in accounts:
                inventory.add_service_account(account)
            readout.service_accounts += len(accounts)
        if not credentials:
            return readout
        wanted = [
            key
            for key in inventory.needed_pull_secrets(pods)
            if key in in_cluster and inventory.secret_object(*key) is None
        ]
        objects = await asyncio.gather(*(client.secret(ns, name) for ns, name in wanted))
        for (namespace, name), obj in zip(wanted, objects, strict=True):
            if obj is None:
                continue
            readout.fetched.append(f"{namespace}/{name}")
            keys = data_keys(obj) or frozenset()
            entry = SecretEntry(namespace, name, ORIGIN, str(obj.get("type") or "Opaque"), keys)
            inventory.add_secret(entry, obj=obj)
    return readout


def read_cluster(
    config: ClusterConfig,
    inventory: Inventory,
    pods: Iterable[PodSpec],
    *,
    credentials: bool = False,
) -> ClusterReadout:
    """`read_cluster_async` for callers outside an event loop (the pipeline)."""
    return run_cancellable(read_cluster_async(config, inventory, pods, credentials=credentials))
