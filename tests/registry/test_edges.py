"""Registry answers the real distribution registry never gives (it refuses manifests over
4 MiB on push and always serves the bytes it hashed), so respx stands in for these only."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json

import httpx
import respx

from gate.credentials import ANONYMOUS, Credential
from gate.model import Outcome, Resolution
from gate.reference import parse_reference
from gate.registry.client import RegistryClient
from gate.registry.resolver import Resolver
from gate.registry.transport import TransportOptions

INDEX = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": "sha256:" + "a" * 64,
                "size": 1,
                "platform": {"os": "linux", "architecture": "amd64"},
            }
        ],
    }
).encode()


def _resolve(image: str) -> Resolution:
    async def run() -> Resolution:
        async with RegistryClient(TransportOptions(retries=0)) as client:
            return await Resolver(client).resolve(parse_reference(image), (ANONYMOUS,))

    return asyncio.run(run())


@respx.mock(assert_all_called=False)
def test_a_body_that_does_not_match_its_digest_is_refused(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("https://registry.example.com/v2/").respond(200)
    respx_mock.get("https://registry.example.com/v2/app/manifests/1.0").respond(
        200,
        content=INDEX,
        headers={
            "Content-Type": "application/vnd.oci.image.index.v1+json",
            "Docker-Content-Digest": "sha256:" + "b" * 64,
        },
    )
    result = _resolve("registry.example.com/app:1.0")
    assert result.outcome is Outcome.MANIFEST_INVALID  # integrity: image-manifest-invalid
    assert "hashes to" in result.detail


@respx.mock(assert_all_called=False)
def test_a_body_served_for_a_digest_must_hash_to_it(respx_mock: respx.MockRouter) -> None:
    wanted = "sha256:" + "c" * 64
    respx_mock.get("https://registry.example.com/v2/").respond(200)
    respx_mock.get(f"https://registry.example.com/v2/app/manifests/{wanted}").respond(
        200, content=INDEX, headers={"Content-Type": "application/vnd.oci.image.index.v1+json"}
    )
    result = _resolve(f"registry.example.com/app@{wanted}")
    assert result.outcome is Outcome.MANIFEST_INVALID  # integrity: image-manifest-invalid


@respx.mock(assert_all_called=False)
def test_without_the_header_the_digest_is_the_body_hash(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("https://registry.example.com/v2/").respond(200)
    respx_mock.get("https://registry.example.com/v2/app/manifests/1.0").respond(
        200, content=INDEX, headers={"Content-Type": "application/vnd.oci.image.index.v1+json"}
    )
    result = _resolve("registry.example.com/app:1.0")
    assert result.outcome is Outcome.RESOLVED
    assert result.digest == "sha256:" + hashlib.sha256(INDEX).hexdigest()
    assert result.platforms == ("linux/amd64",)


@respx.mock(assert_all_called=False)
def test_manifests_over_4_mib_are_refused(respx_mock: respx.MockRouter) -> None:
    big = b"{" + b" " * (4 * 1024 * 1024) + b"}"
    respx_mock.get("https://registry.example.com/v2/").respond(200)
    respx_mock.get("https://registry.example.com/v2/app/manifests/1.0").respond(
        200, content=big, headers={"Content-Type": "application/vnd.oci.image.index.v1+json"}
    )
    result = _resolve("registry.example.com/app:1.0")
    assert result.outcome is Outcome.INVALID_RESPONSE
    assert "limit" in result.detail


@respx.mock(assert_all_called=False)
def test_name_unknown_is_a_missing_repository(respx_mock: respx.MockRouter) -> None:
    # Registries other than distribution 2.8 (e.g. Harbor, Quay) say NAME_UNKNOWN directly.
    respx_mock.get("https://registry.example.com/v2/").respond(200)
    respx_mock.get("https://registry.example.com/v2/nope/manifests/1.0").respond(
        404, json={"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known"}]}
    )
    result = _resolve("registry.example.com/nope:1.0")
    assert result.outcome is Outcome.NAME_UNKNOWN


ALICE = Credential("secret:apps/a", username="alice", password="a-pass")
BOB = Credential("secret:apps/b", username="bob", password="b-pass")


def _resolve_with(image: str, credentials: tuple[Credential, ...]) -> Resolution:
    async def run() -> Resolution:
        async with RegistryClient(TransportOptions(retries=0)) as client:
            return await Resolver(client).resolve(parse_reference(image), credentials)

    return asyncio.run(run())


def _basic(credential: Credential) -> str:
    raw = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


@respx.mock(assert_all_called=False)
def test_every_credential_is_tried_until_one_pulls(respx_mock: respx.MockRouter) -> None:
    # Registries that hide private repositories answer 404 to a login without access (the
    # distribution registry answers 401), so a not-found for one credential proves nothing.
    respx_mock.get("https://registry.example.com/v2/").respond(
        401, headers={"WWW-Authenticate": 'Basic realm="r"'}
    )
    route = respx_mock.get("https://registry.example.com/v2/app/manifests/1.0")
    route.side_effect = lambda request: (
        httpx.Response(
            200, content=INDEX, headers={"Content-Type": "application/vnd.oci.image.index.v1+json"}
        )
        if request.headers.get("Authorization") == _basic(BOB)
        else httpx.Response(404, json={"errors": [{"code": "NAME_UNKNOWN", "message": "x"}]})
    )
    result = _resolve_with("registry.example.com/app:1.0", (ALICE, BOB))
    assert result.outcome is Outcome.RESOLVED
    assert result.credential == "secret:apps/b"


@respx.mock(assert_all_called=False)
def test_could_not_verify_outweighs_refusals(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("https://registry.example.com/v2/").respond(
        401, headers={"WWW-Authenticate": 'Basic realm="r"'}
    )
    route = respx_mock.get("https://registry.example.com/v2/app/manifests/1.0")
    route.side_effect = lambda request: (
        httpx.Response(503)
        if request.headers.get("Authorization") == _basic(BOB)
        else httpx.Response(401, json={"errors": [{"code": "UNAUTHORIZED", "message": "no"}]})
    )
    result = _resolve_with("registry.example.com/app:1.0", (ALICE, BOB))
    assert result.outcome is Outcome.UNREACHABLE  # exit 3: maybe bob could have pulled


@respx.mock(assert_all_called=False)
def test_any_json_is_not_a_manifest(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("https://registry.example.com/v2/").respond(200)
    respx_mock.get("https://registry.example.com/v2/app/manifests/1.0").respond(
        200, json={"hello": "world"}
    )
    result = _resolve("registry.example.com/app:1.0")
    assert result.outcome is Outcome.MANIFEST_INVALID  # integrity: image-manifest-invalid
    assert "not an image manifest" in result.detail


@respx.mock(assert_all_called=False)
def test_token_requests_never_follow_redirects(respx_mock: respx.MockRouter) -> None:
    refresh = Credential("docker-config:/x", identity_token="REFRESH-VALUE")
    respx_mock.get("https://registry.example.com/v2/").respond(
        401,
        headers={"WWW-Authenticate": 'Bearer realm="https://auth.example.com/token",service=r'},
    )
    respx_mock.post("https://auth.example.com/token").respond(
        307, headers={"Location": "http://elsewhere.example/steal"}
    )
    respx_mock.get(url__startswith="https://auth.example.com/token").respond(
        307, headers={"Location": "http://elsewhere.example/steal"}
    )
    elsewhere = respx_mock.route(host="elsewhere.example").respond(200, json={"token": "t"})
    result = _resolve_with("registry.example.com/app:1.0", (refresh,))
    assert result.outcome is Outcome.INVALID_RESPONSE
    assert "redirect" in result.detail
    assert not elsewhere.called
