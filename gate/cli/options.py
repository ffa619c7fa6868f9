"""The options `check` and `pin` share: registries, credentials, cluster, config, verbosity.

Every option can also be set as `PULLGATE_<OPTION>` in the environment.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import click

from gate.registry.defaults import (
    DEFAULT_DEADLINE,
    DEFAULT_PER_REGISTRY,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    MAX_PER_REGISTRY,
)


def env(name: str) -> str:
    """The environment variable that sets an option: `PULLGATE_<NAME>`."""
    return f"PULLGATE_{name}"


MAX_TIMEOUT = 600.0
"""No single request waits longer than ten minutes, whatever is asked."""
MAX_DEADLINE = 3600.0
"""No run resolves for longer than an hour, whatever is asked."""


class Seconds(click.FloatRange):
    """A finite number of seconds in a range: `nan` and `inf` are no durations (a NaN
    compares false with every bound, so a plain FloatRange lets it through)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return number


def shared_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options every command that resolves images takes (`check` and `pin`)."""
    options = [
        click.argument("paths", nargs=-1, type=str, envvar=env("PATHS")),
        click.option(
            "-n",
            "--namespace",
            default="default",
            show_default=True,
            envvar=env("NAMESPACE"),
            help="Namespace of objects that do not name one.",
        ),
        click.option(
            "--insecure-registry",
            "insecure",
            multiple=True,
            metavar="HOST[:PORT]",
            envvar=env("INSECURE_REGISTRY"),
            help="Allow plain HTTP and unverified TLS for this registry (repeatable).",
        ),
        click.option(
            "--ca-file",
            "ca_files",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False),
            envvar=env("CA_FILE"),
            help="Trust this PEM CA bundle too (repeatable).",
        ),
        click.option(
            "--containerd-hosts",
            "containerd_hosts",
            metavar="DIR[:DIR...]",
            envvar=env("CONTAINERD_HOSTS"),
            help="The nodes' containerd certs.d tree (config_path, e.g. a copy of "
            "/etc/containerd/certs.d; several roots separated by ':' are searched in order, "
            "as the CRI does): mirrors, capabilities, override_path, CAs, client "
            "certificates and headers, read as containerd reads them.",
        ),
        click.option(
            "--timeout",
            type=Seconds(min=0.1, max=MAX_TIMEOUT),
            default=DEFAULT_TIMEOUT,
            show_default=True,
            envvar=env("TIMEOUT"),
            help="Seconds to wait for a registry to answer one request.",
        ),
        click.option(
            "--deadline",
            type=Seconds(min=1, max=MAX_DEADLINE),
            default=DEFAULT_DEADLINE,
            show_default=True,
            envvar=env("DEADLINE"),
            help="Seconds all image resolution may take; images still unresolved then could "
            "not be verified (exit 3).",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0, max=10),
            default=DEFAULT_RETRIES,
            show_default=True,
            envvar=env("RETRIES"),
            help="Retries on network trouble, 429 and 5xx, with exponential backoff.",
        ),
        click.option(
            "--max-requests",
            "max_requests",
            type=click.IntRange(min=1, max=MAX_PER_REGISTRY),
            default=None,
            metavar="N",
            envvar=env("MAX_REQUESTS"),
            help=f"Requests in flight to one registry at a time (default {DEFAULT_PER_REGISTRY}: "
            "enough to hide a slow round trip, polite to the registry; config `max-requests`).",
        ),
        click.option(
            "--allow-empty",
            is_flag=True,
            envvar=env("ALLOW_EMPTY"),
            help="Pass when the paths hold no Kubernetes object (default: exit 2, since a "
            "render step that wrote nothing must not pass).",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False),
            envvar=env("CONFIG"),
            help="Config file (default: .pullgate.yaml found upward from the working directory).",
        ),
        click.option(
            "--no-progress",
            is_flag=True,
            envvar=env("NO_PROGRESS"),
            help="No progress line on stderr (it is shown only on a terminal, outside CI).",
        ),
        click.option(
            "--node-docker-config",
            "node_docker_configs",
            multiple=True,
            type=click.Path(),
            envvar=env("NODE_DOCKER_CONFIG"),
            help="A docker config the nodes hold, read as the kubelet reads it (auths only; "
            "repeatable).",
        ),
        click.option(
            "--image-credential-provider-config",
            "provider_config",
            type=click.Path(),
            envvar=env("IMAGE_CREDENTIAL_PROVIDER_CONFIG"),
            help="The kubelet's CredentialProviderConfig (a file, or a directory of them): run "
            "its plugins as the kubelet does.",
        ),
        click.option(
            "--image-credential-provider-bin-dir",
            "provider_bin_dir",
            type=click.Path(file_okay=False),
            envvar=env("IMAGE_CREDENTIAL_PROVIDER_BIN_DIR"),
            help="Where the credential provider plugins are (the kubelet's flag of that name).",
        ),
        click.option(
            "--docker-config",
            type=click.Path(),
            envvar=env("DOCKER_CONFIG"),
            help="This machine's docker config (file or directory) instead of $DOCKER_CONFIG or "
            "~/.docker/config.json. CI logins only verify for credentials the gate cannot "
            "replay; they never stand in for the nodes.",
        ),
        click.option(
            "--no-ci-logins",
            "--no-node-credentials",
            "no_ci_logins",
            is_flag=True,
            envvar=[env("NO_CI_LOGINS"), env("NO_NODE_CREDENTIALS")],
            help="Do not read this machine's logins at all (--no-node-credentials is the "
            "older name).",
        ),
        click.option(
            "--cluster-state",
            "cluster_state",
            multiple=True,
            type=click.Path(),
            envvar=env("CLUSTER_STATE"),
            help="What exists in the cluster: `kubectl get secrets,serviceaccounts -A -o json` "
            "output (repeatable).",
        ),
        click.option(
            "--cluster",
            "use_cluster",
            is_flag=True,
            envvar=env("CLUSTER"),
            help="Ask the live cluster which Secrets and ServiceAccounts exist (metadata only).",
        ),
        click.option(
            "--kubeconfig",
            type=click.Path(),
            envvar=env("KUBECONFIG"),
            help="With --cluster: this kubeconfig (default: $KUBECONFIG, ~/.kube/config, or "
            "in-cluster).",
        ),
        click.option(
            "--context", envvar=env("CONTEXT"), help="With --cluster: this kubeconfig context."
        ),
        click.option(
            "--cluster-credentials",
            is_flag=True,
            envvar=env("CLUSTER_CREDENTIALS"),
            help="With --cluster: also read the pull secrets pods use, to pull as the pod would.",
        ),
        click.option("-v", "--verbose", count=True, help="Log more on stderr (-vv for HTTP)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command
