"""Inventory stage: which Secrets and ServiceAccounts exist in each target namespace.

Sources, consulted in this order (the first to name an object keeps it):

1. the rendered set itself: Secrets, ServiceAccounts and the custom resources that make Secrets
   (`gate.inventory.operators` lists the operators supported);
2. cluster-state files (`gate.inventory.snapshot`);
3. the live cluster, metadata only unless asked for pull-secret values (`gate.inventory.cluster`);
4. config `secrets: external:` patterns (`Inventory.add_external`).

Only `gate.inventory.cluster` touches the network; everything here reads files and objects.
"""

from gate.inventory.model import (
    DEFAULT_SERVICE_ACCOUNT,
    ENFORCE_MOUNTABLE_SECRETS,
    ExternalPattern,
    Inventory,
    PullSecretSource,
    SecretEntry,
    ServiceAccountEntry,
    Unreadable,
)
from gate.inventory.rendered import add_rendered, add_rendered_object
from gate.inventory.snapshot import ClusterStateError, add_cluster_state

__all__ = [
    "DEFAULT_SERVICE_ACCOUNT",
    "ENFORCE_MOUNTABLE_SECRETS",
    "ClusterStateError",
    "ExternalPattern",
    "Inventory",
    "PullSecretSource",
    "SecretEntry",
    "ServiceAccountEntry",
    "Unreadable",
    "add_cluster_state",
    "add_rendered",
    "add_rendered_object",
]
