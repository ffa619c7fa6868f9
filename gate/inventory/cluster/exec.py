"""Exec credential plugins: run the kubeconfig's `user.exec` command, read its ExecCredential.

client.authentication.k8s.io v1 and v1beta1, non-interactively (a CI job has no terminal), with
`KUBERNETES_EXEC_INFO` and, when the kubeconfig asks for it, the cluster's info.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from typing import Any

from gate.inventory.cluster.errors import ClusterConfigError, ClusterError
from gate.inventory.cluster.kubeconfig import ClusterConfig, optional_text

EXEC_TIMEOUT = 120.0


@dataclass(frozen=True)
class ExecCredential:
    """What a plugin printed: a bearer token, or a client certificate and its key."""

    token: str | None = field(default=None, repr=False)
    client_cert_pem: str | None = field(default=None, repr=False)
    client_key_pem: str | None = field(default=None, repr=False)


def run_plugin(config: ClusterConfig) -> ExecCredential:
    """Run the plugin non-interactively and read its ExecCredential from stdout."""
    plugin = config.exec_plugin
    assert plugin is not None
    where = config.where
    if plugin.interactive_mode == "Always":
        raise ClusterConfigError(
            f"{where}: exec plugin {plugin.command} needs an interactive terminal "
            "(interactiveMode: Always), which a CI job does not have"
        )
    spec: dict[str, Any] = {"interactive": False}
    if config.exec_cluster is not None:
        spec["cluster"] = config.exec_cluster
    env = dict(os.environ)
    env.update(dict(plugin.env))
    env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": plugin.api_version, "kind": "ExecCredential", "spec": spec}
    )
    try:
        done = subprocess.run(
            [plugin.command, *plugin.args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=EXEC_TIMEOUT,
            check=False,
        )
    except OSError as exc:  # not found, not executable, no interpreter line...
        hint = f" {plugin.install_hint.strip()}" if plugin.install_hint else ""
        raise ClusterConfigError(
            f"{where}: exec plugin {plugin.command} cannot be run: {exc.strerror or exc}.{hint}"
        ) from None
    except subprocess.TimeoutExpired:
        raise ClusterError(
            f"{where}: exec plugin {plugin.command} did not finish within {EXEC_TIMEOUT:.0f}s"
        ) from None
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip()[-500:]
        detail = f": {stderr}" if stderr else ""
        raise ClusterError(
            f"{where}: exec plugin {plugin.command} exited with status {done.returncode}{detail}"
        )
    try:
        answer = json.loads(done.stdout)
    except (ValueError, UnicodeDecodeError):
        raise ClusterConfigError(
            f"{where}: exec plugin {plugin.command} did not print an ExecCredential (not JSON)"
        ) from None
    if not isinstance(answer, dict) or answer.get("kind") != "ExecCredential":
        raise ClusterConfigError(
            f"{where}: exec plugin {plugin.command} did not print an ExecCredential"
        )
    if answer.get("apiVersion") != plugin.api_version:
        raise ClusterConfigError(
            f"{where}: exec plugin {plugin.command} answered apiVersion "
            f"{answer.get('apiVersion')!r}, but the kubeconfig asks for {plugin.api_version}"
        )
    status = answer.get("status")
    status = status if isinstance(status, dict) else {}
    token = optional_text(status.get("token"))
    cert, key = (
        optional_text(status.get("clientCertificateData")),
        optional_text(status.get("clientKeyData")),
    )
    if token is None and not (cert and key):
        raise ClusterConfigError(
            f"{where}: exec plugin {plugin.command} returned neither status.token nor "
            "status.clientCertificateData and clientKeyData"
        )
    return ExecCredential(token, cert, key)
