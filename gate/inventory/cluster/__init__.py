"""The live cluster as an inventory source: which Secrets and ServiceAccounts exist, asked of it.

- `kubeconfig`: the context to use, as kubectl resolves it (or the in-cluster service account);
- `exec`: exec credential plugins and the ExecCredential they print;
- `client`: the API client (metadata-only lists, one Secret read in full when asked for);
- `reader`: the namespaces the pods run in, read into an `Inventory`.

Failures never pass silently: `ClusterConfigError` (exit 2) for a kubeconfig that cannot be
used, `ClusterError` (exit 3) for an API server that is unreachable or refuses. Messages name the
context and server and what was denied; they never carry a credential or a secret value.
"""

from gate.inventory.cluster.client import METADATA_ACCEPT, ClusterClient
from gate.inventory.cluster.errors import ClusterConfigError, ClusterError
from gate.inventory.cluster.kubeconfig import ClusterConfig, ExecPlugin, load_config
from gate.inventory.cluster.reader import ClusterReadout, read_cluster, read_cluster_async

__all__ = [
    "METADATA_ACCEPT",
    "ClusterClient",
    "ClusterConfig",
    "ClusterConfigError",
    "ClusterError",
    "ClusterReadout",
    "ExecPlugin",
    "load_config",
    "read_cluster",
    "read_cluster_async",
]
