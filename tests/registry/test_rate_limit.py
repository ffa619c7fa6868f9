"""Docker Hub's pull rate limit, read from the answers pullgate already gets, for real.

Header semantics from Docker's documentation page "Docker Hub pull usage and limits"
(https://docs.docker.com/docker-hub/usage/pulls/, formerly /docker-hub/download-rate-limit/):
manifest answers, to GET and HEAD alike (only a GET counts as a pull), carry
`ratelimit-limit: 100;w=21600` (pulls per window of `w` seconds), `ratelimit-remaining:
76;w=21600` and `docker-ratelimit-source` (the address or account counted); accounts without a
limit get none; a spent budget is a 429 whose error body has the code `TOOMANYREQUESTS`.

Docker Hub is out of reach here: a real HTTP stand-in (`tests.support.hub.HubServer`) in front
of the real distribution registry adds those headers and that 429, and the config points
docker.io at it as a mirror, as tests/registry/test_mirrors.py does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result

from tests.support.cli import pullgate
from tests.support.hub import HubServer
from tests.support.images import push_image
from tests.support.registry import RegistryServer

MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 30
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.27
        - name: again
          image: docker.io/library/nginx:1.27
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: logs, namespace: shop}
spec:
  template:
    spec:
      containers:
        - name: agent
          image: fluent/fluentd:v1.17
"""

ANONYMOUS = "anonymous pulls from this address"


@pytest.fixture(scope="module")
def pushed(registry: RegistryServer) -> None:
    push_image(registry, "library/nginx", "1.27")
    push_image(registry, "fluent/fluentd", "v1.17")


@pytest.fixture
def hub(registry: RegistryServer, pushed: None) -> Iterator[HubServer]:
    with HubServer(registry, limit=100, remaining=76) as server:
        yield server


def run(tmp_path: Path, hub: HubServer, *args: str, fmt: str = "json", config: str = "") -> Result:
    settings = tmp_path / ".pullgate.yaml"
    settings.write_text(f"registries:\n  docker.io:\n    mirrors: ['{hub.url}']\n{config}")
    manifest = tmp_path / "set.yaml"
    manifest.write_text(MANIFESTS)
    return pullgate(
        "check",
        "--format",
        fmt,
        "--config",
        str(settings),
        "--timeout",
        "5",
        "--no-ci-logins",
        *args,
        str(manifest),
        env={"PULLGATE_BACKOFF": "0.05", "PULLGATE_NO_PROGRESS": "1"},
    )


def limit_findings(result: Result) -> list[dict]:
    report = json.loads(result.stdout)
    assert "Traceback" not in result.stdout + result.stderr
    return [f for f in report["findings"] if f["rule"] == "docker-hub-rate-limit"]


def budget_message(left: str, total: int, share: str) -> str:
    return (
        f"Docker Hub's pull budget for {ANONYMOUS} has {left} left, as this runner sees it, but "
        f"this change's pods would make up to {total} pulls, each image once per node ({share})"
    )


@pytest.mark.parametrize(
    ("args", "config"),
    [(("--nodes", "50"), ""), ((), "nodes:\n  count: 50\n")],
    ids=["--nodes", "config nodes.count"],
)
def test_pulls_over_the_budget_left_warn_on_each_pod_template(
    tmp_path: Path, hub: HubServer, args: tuple[str, ...], config: str
) -> None:
    """30 replicas × 1 distinct Docker Hub image (two spellings of nginx:1.27 are one
    reference) + 50 nodes × 1 image = 80 pulls, over the 76 left: one warning per pod
    template, at its first Docker Hub image, with the run's total and its own share."""
    result = run(tmp_path, hub, *args, config=config)
    assert result.exit_code == 0, result.stdout + result.stderr  # a warning fails nothing
    found = limit_findings(result)
    assert [(f["kind"], f["name"], f["container"], f["severity"]) for f in found] == [
        ("Deployment", "web", "web", "warning"),
        ("DaemonSet", "logs", "agent", "warning"),
    ]
    left = "76 of 100 pulls per 6 h"
    assert found[0]["message"] == budget_message(left, 80, "this Deployment: 1 image × 30 replicas")
    daemonset = "this DaemonSet: 1 image × 50 nodes"
    assert found[1]["message"] == budget_message(left, 80, daemonset)
    assert found[0]["line"] == MANIFESTS.splitlines().index("          image: nginx:1.27") + 1
    assert "NAT address" in found[0]["hint"]


def test_pulls_within_the_budget_are_no_finding(tmp_path: Path, hub: HubServer) -> None:
    """Without --nodes the DaemonSet counts once: 31 pulls, within the 76 left."""
    result = run(tmp_path, hub)
    assert result.exit_code == 0
    assert limit_findings(result) == []
    assert hub.manifest_hits() > 0  # the budget was read from real answers


def test_without_nodes_a_daemonset_counts_once_and_says_so(tmp_path: Path, hub: HubServer) -> None:
    hub.remaining = 30
    result = run(tmp_path, hub)
    found = limit_findings(result)
    assert [f["kind"] for f in found] == ["Deployment", "DaemonSet"]
    assert found[1]["message"] == budget_message(
        "30 of 100 pulls per 6 h",
        31,
        "this DaemonSet: 1 image × 1 node: pass --nodes N (or config `nodes: {count: N}`) "
        "to count one pull per node exactly",
    )


def test_junk_rate_limit_headers_are_ignored(tmp_path: Path, hub: HubServer) -> None:
    hub.junk = True
    result = run(tmp_path, hub, "--nodes", "50")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert limit_findings(result) == []
    images = json.loads(result.stdout)["images"]
    assert all(image["digest"] for image in images)  # resolved as if no header was there


def test_a_spent_budget_is_reported_at_once_and_could_not_verify(
    tmp_path: Path, hub: HubServer
) -> None:
    """A 429 TOOMANYREQUESTS is not retried for seconds (the window lasts hours): one request
    per image despite --retries 5, the rate-limit sentence, exit 3 (the runner's budget is not
    the nodes')."""
    hub.spent, hub.retry_after = True, 7200
    start = time.monotonic()
    result = run(tmp_path, hub, "--retries", "5")
    elapsed = time.monotonic() - start
    assert result.exit_code == 3, result.stdout + result.stderr
    assert sorted(hub.hits) == [
        "HEAD /v2/fluent/fluentd/manifests/v1.17",
        "HEAD /v2/library/nginx/manifests/1.27",
    ]
    assert set(hub.hits.values()) == {1}
    report = json.loads(result.stdout)
    spent = (
        f"Docker Hub's pull rate limit is spent for {ANONYMOUS}: 429 Too Many Requests; the "
        "window resets in about 2 h"
    )
    found = limit_findings(result)
    assert [(f["name"], f["container"]) for f in found] == [("web", "web"), ("logs", "agent")]
    assert found[0]["message"] == (
        f"{spent}; so nginx:1.27 could not be verified (this runner's budget, which need not be "
        "the nodes')"
    )
    unverified = [f for f in report["findings"] if f["rule"] == "image-registry-unreachable"]
    assert {f["container"] for f in unverified} == {"web", "again", "agent"}
    assert all(spent in f["message"] for f in unverified)
    assert all("the nodes' budget is their own" in f["hint"] for f in unverified)
    assert all("network" not in f["hint"] for f in unverified)
    assert elapsed < 20


def test_a_spent_budget_on_a_get_names_docker_hubs_words(registry: RegistryServer) -> None:
    """Through the client itself: a GET (with a body) gives Docker Hub's own error text."""
    import asyncio

    from gate.credentials import ANONYMOUS as ANON
    from gate.reference import parse_reference
    from gate.registry.client import RegistryClient
    from gate.registry.errors import Unreachable
    from gate.registry.transport import TransportOptions

    async def get(hub: HubServer) -> str:
        async with RegistryClient(TransportOptions(retries=5, backoff=0.05)) as client:
            ref = parse_reference(f"{hub.host}/library/nginx:1.27")
            try:
                await client.get_manifest(ref, ANON)
            except Unreachable as exc:
                return str(exc)
            return ""

    with HubServer(registry, spent=True) as hub:
        said = asyncio.run(get(hub))
        assert hub.manifest_hits() == 1
    assert said == (
        f"Docker Hub's pull rate limit is spent for {ANONYMOUS}: TOOMANYREQUESTS: You have "
        "reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit"
        "; the window is rolling: pulls come back within 6 h"
    )


def test_the_text_and_json_reports_show_the_rule(tmp_path: Path, hub: HubServer) -> None:
    json_result = run(tmp_path, hub, "--nodes", "50")
    [first, _] = limit_findings(json_result)
    text = run(tmp_path, hub, "--nodes", "50", fmt="text").stdout
    assert "warning [docker-hub-rate-limit]" in text
    assert first["message"] in text
    # the closing digest counts pod templates, not the image each warning happens to point at
    assert (
        "  2 objects over Docker Hub's pull budget [docker-hub-rate-limit]: "
        "Deployment shop/web, DaemonSet shop/logs"
    ) in text.splitlines()
    explained = pullgate("explain", "docker-hub-rate-limit")
    assert explained.exit_code == 0 and "warning by default" in explained.stdout
    sarif = json.loads(run(tmp_path, hub, "--nodes", "50", fmt="sarif").stdout)
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "docker-hub-rate-limit" in rules
