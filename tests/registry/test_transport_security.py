"""TLS trust, plain HTTP and where credentials may go.

The TLS cases run against the real registry serving HTTPS with a test CA. The last cases need
what a real registry on loopback cannot be made to do (a non-loopback plain-HTTP token realm, a
redirect to another host), so they use respx, and say why.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import httpx
import pytest
import respx

from gate.credentials import Credential
from gate.model import Outcome
from gate.reference import parse_reference
from gate.registry.client import RegistryClient
from gate.registry.resolver import Resolver
from gate.registry.transport import TransportOptions
from tests.support.cli import pullgate
from tests.support.images import push_image
from tests.support.registry import RegistryServer
from tests.support.skopeo import skopeo_inspect_digest


def _pod(image: str) -> str:
    return (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        f"    - name: app\n      image: {image}\n"
    )


def _check(tmp_path: Path, image: str, *args: str) -> tuple[int, dict, str]:
    path = tmp_path / "pod.yaml"
    path.write_text(_pod(image))
    result = pullgate("check", "--format", "json", "--no-node-credentials", *args, str(path))
    return result.exit_code, json.loads(result.stdout or "{}"), result.stderr


def test_tls_registry_needs_its_ca(tmp_path: Path, tls_registry: RegistryServer) -> None:
    pushed = push_image(tls_registry, "tls/app", "1.0")
    image = f"{tls_registry.host}/tls/app:1.0"
    assert tls_registry.ca_file is not None

    code, report, _ = _check(tmp_path, image, "--ca-file", str(tls_registry.ca_file))
    assert code == 0, report
    assert report["images"][0]["digest"] == pushed.digest
    assert pushed.digest == skopeo_inspect_digest(tls_registry, "tls/app", "1.0")

    # Without the CA: a verification failure, not retried, never a fallback to plain HTTP.
    before = tls_registry.log_path.read_text().count('"pullgate/')
    code, report, _ = _check(tmp_path, image, "--retries", "3")
    assert code == 3
    [finding] = report["findings"]
    assert finding["rule"] == "image-registry-unreachable"
    assert "TLS certificate verification failed" in finding["message"]
    assert "--ca-file" in finding["message"]
    assert "attempts" not in finding["message"]  # a certificate failure is not retried
    after = tls_registry.log_path.read_text().count('"pullgate/')
    assert after == before  # and nothing was served: no fallback to plain HTTP

    # Marked insecure: TLS errors are ignored for that host only.
    code, report, _ = _check(tmp_path, image, "--insecure-registry", tls_registry.host)
    assert code == 0, report


def test_ssl_cert_file_is_honoured(tmp_path: Path, tls_registry: RegistryServer) -> None:
    push_image(tls_registry, "tls/env", "1.0")
    assert tls_registry.ca_file is not None
    path = tmp_path / "pod.yaml"
    path.write_text(_pod(f"{tls_registry.host}/tls/env:1.0"))
    result = pullgate(
        "check",
        "--format",
        "json",
        "--no-node-credentials",
        str(path),
        env={"SSL_CERT_FILE": str(tls_registry.ca_file)},
    )
    assert result.exit_code == 0, result.stdout


# -- what a loopback registry cannot show: respx, for these edge cases only -------------------

SECRET = "s3cr3t-password"
CREDENTIAL = Credential("secret:apps/regcred", username="alice", password=SECRET)


def _resolve(options: TransportOptions, image: str) -> object:
    async def run() -> object:
        async with RegistryClient(options) as client:
            return await Resolver(client).resolve(parse_reference(image), (CREDENTIAL,))

    return asyncio.run(run())


@respx.mock(assert_all_called=False)
def test_credentials_never_go_to_a_plain_http_realm(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("https://registry.example.com/v2/").respond(
        401,
        headers={
            "WWW-Authenticate": 'Bearer realm="http://auth.example.com/token",'
            'service="registry.example.com"'
        },
    )
    token_route = respx_mock.get(url__startswith="http://auth.example.com/token").respond(
        200, json={"token": "t"}
    )
    result = _resolve(TransportOptions(retries=0), "registry.example.com/app:1.0")
    # pullgate's own refusal: could not verify (exit 3), not the registry's 401
    assert result.outcome is Outcome.REFUSED
    assert "plain HTTP" in result.detail
    assert not token_route.called  # nothing was sent there at all
    assert SECRET not in result.detail


@respx.mock(assert_all_called=False)
def test_plain_http_registry_elsewhere_is_never_asked(respx_mock: respx.MockRouter) -> None:
    plain = respx_mock.get(url__startswith="http://registry.example.com").respond(200)
    respx_mock.get("https://registry.example.com/v2/").mock(
        side_effect=httpx.ConnectError("connection refused")
    )
    result = _resolve(TransportOptions(retries=0), "registry.example.com/app:1.0")
    assert result.outcome is Outcome.UNREACHABLE
    assert not plain.called


@respx.mock(assert_all_called=False)
def test_authorization_is_not_forwarded_across_hosts_on_redirect(
    respx_mock: respx.MockRouter,
) -> None:
    basic = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()
    respx_mock.get("https://registry.example.com/v2/").respond(
        401, headers={"WWW-Authenticate": 'Basic realm="registry"'}
    )
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [],
        }
    ).encode()
    respx_mock.get("https://registry.example.com/v2/app/manifests/1.0").respond(
        307, headers={"Location": "https://cdn.example.net/blob/manifest"}
    )
    cdn = respx_mock.get("https://cdn.example.net/blob/manifest").respond(
        200, content=manifest, headers={"Content-Type": "application/vnd.oci.image.index.v1+json"}
    )
    result = _resolve(TransportOptions(retries=0), "registry.example.com/app:1.0")
    assert result.outcome is Outcome.RESOLVED
    assert cdn.called
    sent = cdn.calls.last.request.headers
    assert "Authorization" not in sent
    assert basic not in str(sent)


@pytest.mark.parametrize("status", [429, 503])
@respx.mock(assert_all_called=False)
def test_rate_limits_and_outages_are_retried_then_unverified(
    respx_mock: respx.MockRouter, status: int
) -> None:
    respx_mock.get("https://registry.example.com/v2/").respond(200)
    route = respx_mock.get("https://registry.example.com/v2/app/manifests/1.0").respond(
        status, headers={"Retry-After": "0"}
    )
    options = TransportOptions(retries=2, backoff=0.01)
    result = _resolve(options, "registry.example.com/app:1.0")
    assert result.outcome is Outcome.UNREACHABLE
    assert route.call_count == 3
    assert str(status) in result.detail


def test_loopback_is_never_proxied(tmp_path: Path, registry: RegistryServer) -> None:
    """HTTP_PROXY must not see plain-HTTP loopback traffic (Go and containerd never proxy it):
    a proxy on a closed port would make the registry unreachable if it were used."""
    push_image(registry, "tls/noproxy", "1.0")
    path = tmp_path / "pod.yaml"
    path.write_text(_pod(f"{registry.host}/tls/noproxy:1.0"))
    result = pullgate(
        "check",
        "--format",
        "json",
        "--retries",
        "0",
        "--no-node-credentials",
        str(path),
        env={
            "HTTP_PROXY": "http://127.0.0.1:9",
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "",
        },
    )
    assert result.exit_code == 0, result.stdout


def test_debug_logging_over_http2_shows_no_credentials(tmp_path: Path) -> None:
    users = {"carol": "h2-secret-password"}
    with RegistryServer("tls", users=users, workdir=tmp_path / "reg") as server:
        push_image(server, "h2/app", "1.0")
        assert server.ca_file is not None
        auth = base64.b64encode(b"carol:h2-secret-password").decode()
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"auths": {server.host: {"auth": auth}}}))
        path = tmp_path / "pod.yaml"
        path.write_text(_pod(f"{server.host}/h2/app:1.0"))
        result = pullgate(
            "check",
            "-vv",
            "--format",
            "json",
            "--ca-file",
            str(server.ca_file),
            "--node-docker-config",
            str(config),
            str(path),
        )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "HTTP/2" in server.log_path.read_text()  # the request went over HTTP/2
    assert "HTTP Request" in result.stderr  # -vv logs requests...
    for secret in ("h2-secret-password", auth, auth[:16]):  # ...but never the credential
        assert secret not in result.stdout + result.stderr
    assert (
        "hpack" not in result.stderr.lower() or "encoded header block" not in result.stderr.lower()
    )
