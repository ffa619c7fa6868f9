"""The live cluster's two failures: a kubeconfig that cannot be used, an API server that refuses.

Messages name the context and server and what was denied; they never carry a credential or a
secret value.
"""

from __future__ import annotations

from gate.errors import GateError
from gate.exits import EXIT_UNVERIFIED, EXIT_USAGE


class ClusterError(GateError):
    """The cluster could not be asked: unreachable, TLS failure, 401 or 403 (exit 3)."""

    exit_code = EXIT_UNVERIFIED


class ClusterConfigError(ClusterError):
    """The kubeconfig (or in-cluster config) cannot be used as it is (exit 2)."""

    exit_code = EXIT_USAGE
