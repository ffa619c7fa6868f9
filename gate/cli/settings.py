"""Settings precedence: command line (and PULLGATE_* environment) over the config file over
defaults, turned into the pipeline's `CheckOptions`."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from gate import platform as platforms
from gate.cli.app import UsageError
from gate.config import Config, ConfigError, find_config, load_config
from gate.hosts import HostsError, load_certs_d_roots
from gate.lock import read_lock
from gate.pem import ca_file_problem
from gate.pipeline import CheckOptions, ClusterOptions, NodeOptions
from gate.policy.platforms import DEFAULT_PLATFORMS
from gate.registry.defaults import DEFAULT_BACKOFF, DEFAULT_PER_REGISTRY
from gate.registry.options import TransportOptions, default_tls, host_tls
from gate.rules import Severity
from gate.workload import validate_namespace

log = logging.getLogger("gate")

MAX_BACKOFF = 30.0
"""The first retry's wait, doubled on each retry: capped like a Retry-After (gate.net)."""


def load_settings_file(path: str | None) -> Config:
    """`--config PATH`, else the nearest `.pullgate.yaml`, else the defaults."""
    if path is not None:
        if not Path(path).is_file():
            raise ConfigError(f"--config {path}: no such file")
        found: Path | None = Path(path)
    else:
        found = find_config()
    if found is None:
        return Config()
    config = load_config(found)
    log.info("using config %s", found)
    return config


class Settings:
    """Command line (and PULLGATE_* environment) over the config file over defaults."""

    def __init__(self, ctx: click.Context, params: dict[str, Any], config: Config) -> None:
        self.ctx = ctx
        self.params = params
        self.config = config

    def _given(self, name: str) -> bool:
        source = self.ctx.get_parameter_source(name)
        return source not in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)

    @property
    def format(self) -> str:
        """`--format`; in a GitHub Actions job the default is GitHub's own annotations."""
        if not self._given("fmt") and os.environ.get("GITHUB_ACTIONS") == "true":
            return "github"
        return str(self.params["fmt"])

    @property
    def fail_on(self) -> Severity:
        if self._given("fail_on") or self.config.fail_on is None:
            return Severity(self.params["fail_on"])
        return self.config.fail_on

    def _nodes(self) -> NodeOptions:
        """What the nodes hold: each option wins over its config key; patterns only in config."""
        params, nodes = self.params, self.config.nodes
        docker_configs = params["node_docker_configs"] or nodes.docker_configs
        provider_config, bin_dir = params["provider_config"], params["provider_bin_dir"]
        if provider_config is None and bin_dir is None:
            provider_config, bin_dir = nodes.provider_config, nodes.provider_bin_dir
        count = params.get("node_count") or nodes.count
        return NodeOptions(tuple(docker_configs), provider_config, bin_dir, nodes.registries, count)

    def _runtime(self) -> platforms.Runtime:
        config_runtime = self.config.runtime
        runtime = (
            platforms.parse_runtime(config_runtime) if config_runtime else platforms.DEFAULT_RUNTIME
        )
        if self.params.get("runtime_name"):
            try:
                runtime = platforms.parse_runtime(self.params["runtime_name"])
            except ValueError as exc:
                raise UsageError(f"--runtime: {exc}") from None
        return runtime

    def _transport(self) -> TransportOptions:
        params, config = self.params, self.config
        try:
            insecure = config.insecure_api_hosts(params["insecure"])
        except ValueError as exc:
            raise UsageError(f"--insecure-registry {exc}") from None
        for ca_file in params["ca_files"]:
            problem = ca_file_problem(ca_file)
            if problem:
                raise UsageError(f"--ca-file: {problem}")
        raw_backoff = os.environ.get("PULLGATE_BACKOFF", str(DEFAULT_BACKOFF))
        try:
            backoff = float(raw_backoff)
        except ValueError:
            backoff = math.nan
        if not (math.isfinite(backoff) and 0 <= backoff <= MAX_BACKOFF):
            raise UsageError(
                f"PULLGATE_BACKOFF={raw_backoff!r}: must be a number of seconds from 0 to "
                f"{MAX_BACKOFF:g}"
            )
        hosts = config.hosts()
        if params.get("containerd_hosts"):
            try:
                hosts = load_certs_d_roots(params["containerd_hosts"]).then(hosts)
            except HostsError as exc:
                raise UsageError(f"--containerd-hosts: {exc}") from None
        return TransportOptions(
            insecure_registries=insecure,
            ca_files=params["ca_files"],
            hosts=hosts,
            host_tls=host_tls(hosts),
            plain_http_hosts=frozenset(h.host for h in hosts.all_hosts() if h.scheme == "http"),
            default_tls=default_tls(hosts),
            timeout=params["timeout"],
            deadline=params["deadline"],
            retries=params["retries"],
            backoff=backoff,
            per_registry=params.get("max_requests") or config.max_requests or DEFAULT_PER_REGISTRY,
        )

    def check_options(self, paths: tuple[str, ...]) -> CheckOptions:
        params, config = self.params, self.config
        namespace = params["namespace"]
        if not self._given("namespace") and config.namespace:
            namespace = config.namespace
        try:
            validate_namespace(namespace)
        except ValueError as exc:
            raise UsageError(f"--namespace: {exc}") from None
        lock = read_lock(params["lock_path"]) if params.get("lock_path") else None
        try:
            node_platforms = tuple(platforms.parse(n) for n in params.get("platform_names", ()))
        except ValueError as exc:
            raise UsageError(f"--platform: {exc}") from None
        runtime = self._runtime()
        offline = params.get("offline", False)
        use_cluster = params["use_cluster"]
        if (params["cluster_credentials"] or params["context"]) and not use_cluster:
            raise UsageError("--cluster-credentials and --context need --cluster")
        if use_cluster and offline:
            raise UsageError("--cluster asks the API server; it cannot be combined with --offline")
        return CheckOptions(
            paths=paths,
            namespace=namespace,
            offline=offline,
            lock=lock,
            image_paths=config.images,
            external_secrets=config.external_secrets,
            cluster_state=params["cluster_state"],
            cluster=ClusterOptions(
                params["kubeconfig"], params["context"], params["cluster_credentials"]
            )
            if use_cluster
            else None,
            docker_config=params["docker_config"],
            ci_logins=not params["no_ci_logins"],
            nodes=self._nodes(),
            platforms=node_platforms or config.platforms or DEFAULT_PLATFORMS,
            runtime=runtime,
            severity=config.severity,
            ignores=config.ignore,
            transport=self._transport(),
            allow_empty=params["allow_empty"],
        )
