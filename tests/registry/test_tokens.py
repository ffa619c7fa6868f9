"""Bearer tokens against the real registry in token mode: identity tokens, stale tokens.

The registry verifies every token the test issuer signs; nothing here is mocked. Identity
tokens are a CI login's (docker's `identitytoken`, a helper's `<token>`): the kubelet never reads
one, so they verify on behalf of registries declared in `nodes: registries`.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.credentials import Credential
from gate.model import Outcome, Resolution
from gate.reference import parse_reference
from gate.registry.client import RegistryClient
from gate.registry.resolver import Resolver
from gate.registry.transport import TransportOptions
from tests.support.cli import pullgate
from tests.support.images import push_image
from tests.support.registry import RegistryServer

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: apps}}
spec:
  containers:
    - {{name: app, image: {IMAGE}}}
"""


@pytest.fixture
def issuer_log(token_registry: RegistryServer) -> Iterator[Any]:
    issuer = token_registry.issuer
    assert issuer is not None
    issuer.clear_requests()
    yield issuer


def _check(tmp_path: Path, image: str, *args: str, env: dict[str, str] | None = None) -> Any:
    path = tmp_path / "pod.yaml"
    path.write_text(POD.format(IMAGE=image))
    result = pullgate("check", "--format", "json", *args, str(path), env=env)
    return result


def _nodes(tmp_path: Path, registry: RegistryServer) -> tuple[str, str]:
    """`--config` declaring that the nodes pull from `registry` by their own means."""
    config = tmp_path / "pullgate.yaml"
    config.write_text(f"nodes:\n  registries: ['{registry.host}']\n")
    return "--config", str(config)


def test_identity_token_from_the_ci_docker_config(
    tmp_path: Path, token_registry: RegistryServer, issuer_log: Any
) -> None:
    push_image(token_registry, "private/idtoken", "1.0")
    refresh = issuer_log.new_refresh_token("alice")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {token_registry.host: {"identitytoken": refresh}}}))
    result = _check(
        tmp_path,
        f"{token_registry.host}/private/idtoken:1.0",
        "--docker-config",
        str(config),
        *_nodes(tmp_path, token_registry),
    )
    assert result.exit_code == 0, result.stdout
    [image] = json.loads(result.stdout)["images"]
    assert image["credential"] == f"nodes:{token_registry.host}"
    assert image["verified_with"] == f"docker-config:{config}"
    [request] = [r for r in issuer_log.requests if r.method == "POST"]
    assert request.grant_type == "refresh_token" and request.user == "alice"
    assert refresh not in result.stdout + result.stderr


def test_identity_token_from_a_credential_helper(
    tmp_path: Path, token_registry: RegistryServer, issuer_log: Any
) -> None:
    push_image(token_registry, "private/helper", "1.0")
    refresh = issuer_log.new_refresh_token("alice")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-pgtest"
    answer = json.dumps({"ServerURL": "SERVER", "Username": "<token>", "Secret": refresh})
    helper.write_text(f"#!/bin/sh\nread server\nprintf '%s' '{answer}'\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"credHelpers": {token_registry.host: "pgtest"}}))
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = _check(
        tmp_path,
        f"{token_registry.host}/private/helper:1.0",
        "--docker-config",
        str(config),
        *_nodes(tmp_path, token_registry),
        env=env,
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    [image] = json.loads(result.stdout)["images"]
    assert image["verified_with"] == "helper:pgtest"
    assert any(r.grant_type == "refresh_token" for r in issuer_log.requests)
    assert refresh not in result.stdout + result.stderr


def test_a_stale_token_is_fetched_again_once(
    token_registry: RegistryServer, issuer_log: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    push_image(token_registry, "private/stale", "1.0")
    original = issuer_log.issue_token
    minted: list[int] = []

    def first_one_stale(*args: Any, **kwargs: Any) -> str:
        # The first token is past its expiry (beyond the registry's 60 s leeway) although the
        # answer says it lives 300 s: the registry answers 401 error="invalid_token".
        if not minted:
            kwargs["expires_in"] = -120
        minted.append(1)
        return str(original(*args, **kwargs))

    monkeypatch.setattr(issuer_log, "issue_token", first_one_stale)
    alice = Credential("secret:apps/regcred", username="alice", password="wonderland")

    async def resolve() -> Resolution:
        async with RegistryClient(TransportOptions(retries=0)) as client:
            return await Resolver(client).resolve(
                parse_reference(f"{token_registry.host}/private/stale:1.0"), (alice,)
            )

    result = asyncio.run(resolve())
    assert result.outcome is Outcome.RESOLVED, result.detail
    token_requests = [r for r in issuer_log.requests if r.user == "alice"]
    assert len(token_requests) == 2  # the stale one, and exactly one refetch


def test_wrong_refresh_token_cannot_verify(
    tmp_path: Path, token_registry: RegistryServer, issuer_log: Any
) -> None:
    push_image(token_registry, "private/badtoken", "1.0")
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"auths": {token_registry.host: {"identitytoken": "not-a-real-token"}}})
    )
    started = time.monotonic()
    result = _check(
        tmp_path,
        f"{token_registry.host}/private/badtoken:1.0",
        "--docker-config",
        str(config),
        *_nodes(tmp_path, token_registry),
    )
    assert result.exit_code == 3
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "image-pull-unverified"
    assert f"docker-config:{config}" in finding["message"]
    assert "not-a-real-token" not in result.stdout + result.stderr
    assert time.monotonic() - started < 20
