"""Registry mirrors from the config, and Docker Hub's HEAD-first resolution, for real.

Docker Hub itself is out of reach here, so the real distribution registry plays a docker.io
mirror (configured as containerd's hosts would be). References on docker.io are resolved as
pullgate resolves Docker Hub: a HEAD for the tag (free of the pull rate limit), then a GET by
digest only for content not already known. The registry's own access log counts the requests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import Result

from tests.support.cli import pullgate
from tests.support.images import push_image, push_index, retag
from tests.support.registry import RegistryServer
from tests.support.skopeo import skopeo_inspect_digest

MANIFEST = """\
apiVersion: v1
kind: Pod
metadata: {name: hub}
spec:
  containers:
    - {name: a, image: nginx:1.27}
    - {name: b, image: "docker.io/library/nginx:stable"}
    - {name: c, image: index.docker.io/library/redis:7}
    - {name: d, image: hubonly/tool:1.0}
"""


def requests_since(server: RegistryServer, offset: int) -> list[str]:
    log = server.log_path.read_text()[offset:]
    return re.findall(
        r'"((?:GET|HEAD) /v2/\S+/manifests/\S+) HTTP/[\d.]+" \d+ \d+ "[^"]*" "pullgate/', log
    )


def run(config: Path, manifest: Path) -> Result:
    return pullgate(
        "check",
        "--format",
        "json",
        "--config",
        str(config),
        "--retries",
        "0",
        "--timeout",
        "5",
        "--no-node-credentials",
        str(manifest),
    )


@pytest.mark.parametrize("key", ["docker.io", "Index.Docker.IO"])  # any spelling of Docker Hub
def test_docker_hub_through_a_mirror_heads_first(
    tmp_path: Path, registry: RegistryServer, key: str
) -> None:
    nginx = push_index(registry, "library/nginx", "1.27", ["linux/amd64", "linux/arm64"])
    retag(registry, "library/nginx", "1.27", "stable")
    redis = push_image(registry, "library/redis", "7")
    config = tmp_path / ".pullgate.yaml"
    config.write_text(f"registries:\n  docker.io:\n    mirrors: ['http://{registry.host}']\n")
    manifest = tmp_path / "hub.yaml"
    manifest.write_text(MANIFEST)
    offset = len(registry.log_path.read_text())
    result = run(config, manifest)
    report = json.loads(result.stdout)
    images = {i["reference"]: i for i in report["images"]}
    assert images["nginx:1.27"]["digest"] == nginx.digest
    assert images["nginx:1.27"]["mirror"] == f"http://{registry.host}"
    assert images["docker.io/library/nginx:stable"]["digest"] == nginx.digest
    assert images["index.docker.io/library/redis:7"]["digest"] == redis.digest
    assert nginx.digest == skopeo_inspect_digest(registry, "library/nginx", "stable")
    # HEAD for every tag; GET by digest once per content; never a GET by tag. Each names the
    # registry meant (`?ns=docker.io`), as containerd's resolver does for a mirror
    # (core/remotes/docker/resolver.go `addNamespace`).
    requests = requests_since(registry, offset)
    assert sorted(requests) == sorted(
        f"{request}?ns=docker.io"
        for request in [
            "HEAD /v2/library/nginx/manifests/1.27",
            "HEAD /v2/library/nginx/manifests/stable",
            f"GET /v2/library/nginx/manifests/{nginx.digest}",
            "HEAD /v2/library/redis/manifests/7",
            f"GET /v2/library/redis/manifests/{redis.digest}",
            "HEAD /v2/hubonly/tool/manifests/1.0",
        ]
    ), requests
    # not in the mirror: Docker Hub itself is asked, and is out of reach from here
    [finding] = report["findings"]
    assert (finding["rule"], finding["container"]) == ("image-registry-unreachable", "d")
    assert "registry-1.docker.io" in finding["message"]
    assert result.exit_code == 3


def test_a_plain_http_mirror_written_so_is_asked_over_plain_http(tmp_path: Path) -> None:
    """A mirror written `http://` is taken as written, as containerd takes a hosts.toml host
    (`ConfigureHosts`): writing the scheme marks it for plain HTTP. Here it does not resolve,
    so every image could not be verified, and the finding names the mirror."""
    config = tmp_path / ".pullgate.yaml"
    config.write_text("registries:\n  docker.io:\n    mirrors: ['http://mirror.invalid']\n")
    manifest = tmp_path / "hub.yaml"
    manifest.write_text(MANIFEST)
    result = run(config, manifest)
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert all("mirror" not in image for image in report["images"])
    assert all(image["status"] == "unreachable" for image in report["images"])
    assert all("http://mirror.invalid" in f["message"] for f in report["findings"])
    assert not any("plain HTTP" in f["message"] for f in report["findings"])
