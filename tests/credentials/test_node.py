"""The nodes' declared credentials: node docker configs, provider answers, `nodes:` patterns.

Upstream: `pkg/kubelet/kuberuntime/kuberuntime_image.go` `PullImage` looks the image up in
`UnionDockerKeyring{the docker config keyring, the external credential provider keyring}`; each
`BasicDockerKeyring.Lookup` falls back to `index.docker.io` on its own (`keyring.go`).
`pkg/credentialprovider/config.go` `ReadDockerConfigFile`: `config.json`, then `.dockercfg`.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from gate.credentials import Credential, CredentialConfigError
from gate.credentials.node import NodeCredentials, read_node_docker_config
from gate.credentials.providers import CredentialProviders, ProviderSpec

V1 = "credentialprovider.kubelet.k8s.io/v1"


def plugin(bin_dir: Path, name: str, key: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    program = bin_dir / name
    answer = {
        "kind": "CredentialProviderResponse",
        "apiVersion": V1,
        "cacheKeyType": "Registry",
        "auth": {key: {"username": "from-provider", "password": "pw"}},
    }
    program.write_text(
        f"#!{sys.executable}\nimport sys\nsys.stdin.read()\nprint({json.dumps(answer)!r})\n"
    )
    program.chmod(program.stat().st_mode | stat.S_IXUSR)


def test_configs_and_providers_are_two_keyrings_each_with_its_docker_hub_fallback(
    tmp_path: Path,
) -> None:
    """A `docker.io` key in the node config matches; the provider's `index.docker.io` key only
    by its own keyring's fallback. One merged keyring would drop the provider's login."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {"docker.io": {"username": "node", "password": "x"}}}))
    plugin(tmp_path / "bin", "hub", "https://index.docker.io/v1/")
    spec = ProviderSpec("hub", ("docker.io",), 0.0, V1)
    node = NodeCredentials(
        [read_node_docker_config(str(config))],
        CredentialProviders([spec], str(tmp_path / "bin"), {}),
    )
    offer = node.lookup("docker.io/library/nginx")
    assert [(c.source, c.username) for c in offer.credentials] == [
        (f"node-config:{config}", "node"),
        ("provider:hub", "from-provider"),
    ]


def test_a_directory_means_config_json_then_dockercfg(tmp_path: Path) -> None:
    (tmp_path / ".dockercfg").write_text(json.dumps({"r.io": {"username": "legacy"}}))
    assert read_node_docker_config(str(tmp_path)).auths[0].credential == Credential(
        f"node-config:{tmp_path / '.dockercfg'}", username="legacy"
    )
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"r.io": {"username": "json"}}}))
    assert read_node_docker_config(str(tmp_path)).auths[0].credential.username == "json"


def test_a_dockerconfigjson_file_alone_is_not_read(tmp_path: Path) -> None:
    (tmp_path / ".dockerconfigjson").write_text(json.dumps({"auths": {}}))
    with pytest.raises(CredentialConfigError, match=r"has no config\.json, \.dockercfg"):
        read_node_docker_config(str(tmp_path))


def test_nodes_patterns_match_with_the_keyring_rules() -> None:
    node = NodeCredentials(registries=["*.dkr.ecr.*.amazonaws.com", "ghcr.io/acme"])
    assert node.lookup("1234.dkr.ecr.eu-west-1.amazonaws.com/app").declared == (
        "nodes:*.dkr.ecr.*.amazonaws.com",
    )
    assert node.lookup("ghcr.io/acme/app").declared == ("nodes:ghcr.io/acme",)
    assert node.lookup("ghcr.io/other/app").declared == ()
    assert node.lookup("dkr.ecr.eu-west-1.amazonaws.com/app").declared == ()  # label count


def test_provider_env_never_carries_the_ci_logins(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    out = tmp_path / "env.json"
    program = bin_dir / "dump"
    answer = {"kind": "CredentialProviderResponse", "apiVersion": V1, "cacheKeyType": "Global"}
    program.write_text(
        f"#!{sys.executable}\nimport json, os, sys\nsys.stdin.read()\n"
        f"open({str(out)!r}, 'w').write(json.dumps(dict(os.environ)))\n"
        f"print({json.dumps(answer)!r})\n"
    )
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    config = tmp_path / "providers.yaml"
    config.write_text(
        "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n"
        "  - {name: dump, matchImages: [r.io], defaultCacheDuration: 1m, apiVersion: "
        f"{V1}}}\n"
    )
    environ = {"GITHUB_TOKEN": "ghs_x", "CI_JOB_TOKEN": "job", "AWS_ROLE_ARN": "arn:role"}
    node = NodeCredentials.load((), str(config), str(bin_dir), (), environ)
    node.lookup("r.io/app")
    seen = json.loads(out.read_text())
    assert seen["AWS_ROLE_ARN"] == "arn:role"  # the job's cloud identity is what the binary uses
    assert "GITHUB_TOKEN" not in seen and "CI_JOB_TOKEN" not in seen
