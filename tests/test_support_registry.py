"""Smoke tests of the real-registry test infrastructure itself (tests/support).

If these fail, every real-registry test of pullgate is suspect, so they check the helpers
against independent clients (skopeo, oras-py, plain httpx) rather than against themselves.
They also pin the distribution 2.8 behaviours that pullgate's resolver has to cope with.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.certs import new_key
from tests.support.images import (
    ALL_MANIFEST_TYPES,
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    MediaFlavour,
    RegistryAuth,
    delete_tag,
    get_manifest,
    push_image,
    push_index,
    push_with_oras,
    registry_client,
    retag,
    sha256_digest,
)
from tests.support.registry import (
    TEST_USERS,
    Credentials,
    MissingToolError,
    Mode,
    RegistryServer,
    RegistryStartError,
    user_credentials,
)
from tests.support.skopeo import (
    SkopeoError,
    skopeo_inspect,
    skopeo_inspect_digest,
    skopeo_inspect_raw,
)
from tests.support.token_issuer import (
    TokenFields,
    TokenIssuer,
    decode_jwt_unverified,
    libtrust_key_id,
)

MODES = ["registry", "htpasswd_registry", "tls_registry", "token_registry"]


@pytest.fixture(params=MODES)
def any_registry(request: pytest.FixtureRequest) -> RegistryServer:
    """Each session registry in turn."""
    server: RegistryServer = request.getfixturevalue(request.param)
    return server


def _repo(prefix: str = "public/smoke") -> str:
    """A fresh repository name, so tests sharing a session registry never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _issuer(server: RegistryServer) -> TokenIssuer:
    assert server.issuer is not None
    return server.issuer


# -- pushes agree with skopeo, in every mode ----------------------------------------------


@pytest.mark.parametrize("media", ["oci", "docker"])
def test_single_manifest_digest_matches_skopeo(
    any_registry: RegistryServer, media: MediaFlavour
) -> None:
    repo = _repo()
    pushed = push_image(any_registry, repo, "v1", media=media, arch="arm64", variant="v8")

    assert pushed.digest == sha256_digest(pushed.raw)
    assert pushed.size == len(pushed.raw)
    assert pushed.media_type == (OCI_MANIFEST if media == "oci" else DOCKER_MANIFEST)
    doc = json.loads(pushed.raw)
    assert doc["config"]["mediaType"] == (OCI_CONFIG if media == "oci" else DOCKER_CONFIG)
    if media == "docker":
        assert doc["layers"][0]["mediaType"] == DOCKER_LAYER
    creds = any_registry.admin_auth
    assert skopeo_inspect_digest(any_registry, repo, "v1", creds=creds) == pushed.digest
    assert skopeo_inspect_digest(any_registry, repo, pushed.digest, creds=creds) == pushed.digest
    info = skopeo_inspect(any_registry, repo, "v1", creds=creds, override_arch="arm64")
    assert (info["Os"], info["Architecture"], info["Digest"]) == ("linux", "arm64", pushed.digest)


def test_oci_index_with_attestations_matches_skopeo(any_registry: RegistryServer) -> None:
    repo = _repo()
    platforms = ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"]
    index = push_index(any_registry, repo, "multi", platforms, attestations=True)

    assert index.media_type == OCI_INDEX
    assert set(index.child_digests) == set(platforms)
    entries = json.loads(index.raw)["manifests"]
    assert len(entries) == 2 * len(platforms)
    attestation_entries = [e for e in entries if e["platform"]["os"] == "unknown"]
    assert {e["annotations"]["vnd.docker.reference.digest"] for e in attestation_entries} == set(
        index.child_digests.values()
    )
    assert all(
        e["annotations"]["vnd.docker.reference.type"] == "attestation-manifest"
        and e["platform"]["architecture"] == "unknown"
        for e in attestation_entries
    )
    creds = any_registry.admin_auth
    assert skopeo_inspect_digest(any_registry, repo, "multi", creds=creds) == index.digest
    arm = index.children["linux/arm/v7"]
    assert skopeo_inspect_digest(any_registry, repo, arm.digest, creds=creds) == arm.digest


def test_docker_manifest_list_matches_skopeo(any_registry: RegistryServer) -> None:
    repo = _repo()
    index = push_index(
        any_registry, repo, "list", ["linux/amd64", "linux/arm64/v8"], media="docker"
    )

    assert index.media_type == DOCKER_MANIFEST_LIST
    entries = json.loads(index.raw)["manifests"]
    assert [e["mediaType"] for e in entries] == [DOCKER_MANIFEST, DOCKER_MANIFEST]
    assert entries[1]["platform"] == {"architecture": "arm64", "os": "linux", "variant": "v8"}
    creds = any_registry.admin_auth
    assert skopeo_inspect_digest(any_registry, repo, "list", creds=creds) == index.digest


def test_oras_push_is_readable_by_skopeo(any_registry: RegistryServer) -> None:
    repo = _repo()
    pushed = push_with_oras(any_registry, repo, "oras", annotations={"org.example": "smoke"})

    doc = json.loads(pushed.raw)
    assert doc["mediaType"] == OCI_MANIFEST
    assert doc["config"]["mediaType"] == OCI_CONFIG
    assert doc["annotations"] == {"org.example": "smoke"}
    creds = any_registry.admin_auth
    assert skopeo_inspect_digest(any_registry, repo, "oras", creds=creds) == pushed.digest
    info = skopeo_inspect(any_registry, repo, "oras", creds=creds)
    assert (info["Os"], info["Architecture"]) == ("linux", "amd64")


def test_plain_skopeo_inspect_reports_the_index_digest(registry: RegistryServer) -> None:
    repo = _repo()
    both = push_index(registry, repo, "both", ["linux/amd64", "linux/arm64/v8"])
    arm_only = push_index(registry, repo, "arm", ["linux/arm64/v8"])

    info = skopeo_inspect(registry, repo, "both", override_arch="amd64")
    assert info["Digest"] == both.digest  # the index, not the linux/amd64 child
    assert info["Architecture"] == "amd64"
    with pytest.raises(SkopeoError, match="no image found in image index"):
        skopeo_inspect(registry, repo, "arm", override_arch="amd64")
    info = skopeo_inspect(registry, repo, "arm", override_arch="arm64", override_variant="v8")
    assert info["Digest"] == arm_only.digest
    assert skopeo_inspect_raw(registry, repo, "arm") == arm_only.raw


def test_retag_and_delete_tag(registry: RegistryServer) -> None:
    repo = _repo()
    first = push_image(registry, repo, "v1")
    second = push_image(registry, repo, "v2")
    assert first.digest != second.digest

    assert retag(registry, repo, "v1", "latest") == first.digest
    assert skopeo_inspect_digest(registry, repo, "latest") == first.digest
    assert retag(registry, repo, "v2", "latest") == second.digest  # the tag moved
    assert skopeo_inspect_digest(registry, repo, "latest") == second.digest

    delete_tag(registry, repo, "latest")
    with pytest.raises(SkopeoError, match="manifest unknown"):
        skopeo_inspect_digest(registry, repo, "latest")
    assert skopeo_inspect_digest(registry, repo, "v2") == second.digest


# -- token auth ------------------------------------------------------------------------


def test_token_anonymous_pull_of_public_repo(token_registry: RegistryServer) -> None:
    repo = _repo("public/app")
    pushed = push_image(token_registry, repo, "v1")
    issuer = _issuer(token_registry)
    issuer.clear_requests()

    assert skopeo_inspect_digest(token_registry, repo, "v1") == pushed.digest
    anonymous = issuer.requests_by(None)
    assert anonymous and all(r.status == 200 for r in anonymous)
    assert any(f"repository:{repo}:pull" in r.granted for r in anonymous)


def test_token_private_repo_is_denied_to_anonymous_and_other_users(
    token_registry: RegistryServer,
) -> None:
    repo = _repo("private/app")
    pushed = push_image(token_registry, repo, "v1")
    path = f"/v2/{repo}/manifests/v1"
    accept = {"Accept": ", ".join(ALL_MANIFEST_TYPES)}

    with registry_client(token_registry, None, actions=("pull",)) as client:
        response = client.get(path, headers=accept)
    assert response.status_code == 401  # 2.8 answers 401, not 403, for a scope-less token
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    with pytest.raises(SkopeoError):
        skopeo_inspect_digest(token_registry, repo, "v1")
    with pytest.raises(SkopeoError):
        skopeo_inspect_digest(token_registry, repo, "v1", creds=user_credentials("bob"))

    alice = user_credentials("alice")
    assert skopeo_inspect_digest(token_registry, repo, "v1", creds=alice) == pushed.digest


def test_token_team_repo_rules(token_registry: RegistryServer) -> None:
    repo = _repo("team/app")
    pushed = push_image(token_registry, repo, "v1")
    for user in TEST_USERS:
        creds = user_credentials(user)
        assert skopeo_inspect_digest(token_registry, repo, "v1", creds=creds) == pushed.digest
    with pytest.raises(SkopeoError):
        skopeo_inspect_digest(token_registry, repo, "v1")


def test_token_issuer_rejects_wrong_password(token_registry: RegistryServer) -> None:
    issuer = _issuer(token_registry)
    params = {"service": issuer.service, "scope": "repository:team/x:pull"}
    issuer.clear_requests()
    response = httpx.get(issuer.realm, params=params, auth=("alice", "not-her-password"))
    assert response.status_code == 401
    assert [(r.user, r.status) for r in issuer.requests] == [("alice", 401)]
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    with pytest.raises(SkopeoError):
        skopeo_inspect_digest(
            token_registry, "team/x", "v1", creds=Credentials("alice", "not-her-password")
        )


def test_token_issuer_counts_requests_and_signs_verifiable_tokens(
    token_registry: RegistryServer,
) -> None:
    repo = _repo("team/count")
    push_image(token_registry, repo, "v1")
    issuer = _issuer(token_registry)
    issuer.clear_requests()

    auth = RegistryAuth(user_credentials("bob"), actions=("pull",))
    with token_registry.client(auth=auth) as client:
        for _ in range(3):
            response = client.head(
                f"/v2/{repo}/manifests/v1", headers={"Accept": ", ".join(ALL_MANIFEST_TYPES)}
            )
            assert response.status_code == 200
    requests = issuer.requests
    assert len(requests) == 1 == auth.token_requests  # one token, reused for all three
    assert requests[0].user == "bob"
    assert requests[0].scopes == (f"repository:{repo}:pull",)
    assert requests[0].granted == (f"repository:{repo}:pull",)

    token = issuer.issue_token("bob", issuer.grant("bob", [f"repository:{repo}:pull,push"]))
    header, claims = decode_jwt_unverified(token)
    assert header == {"typ": "JWT", "alg": "ES256", "kid": issuer.key_id}
    assert claims["aud"] == issuer.service and claims["iss"] == issuer.issuer
    assert claims["access"] == [{"type": "repository", "name": repo, "actions": ["pull"]}]
    assert claims["exp"] - claims["iat"] == 300


def test_token_issuer_response_fields_and_oauth_flow(token_registry: RegistryServer) -> None:
    repo = _repo("team/oauth")
    pushed = push_image(token_registry, repo, "v1")
    issuer = _issuer(token_registry)
    params = {"service": issuer.service, "scope": f"repository:{repo}:pull"}
    try:
        cases: list[tuple[TokenFields, set[str]]] = [
            ("both", {"token", "access_token"}),
            ("token", {"token"}),
            ("access_token", {"access_token"}),
        ]
        for fields, expected in cases:
            issuer.token_fields = fields
            body = httpx.get(issuer.realm, params=params, auth=("bob", "builder")).json()
            assert {"token", "access_token"} & body.keys() == expected
            assert body["expires_in"] == 300 and "issued_at" in body
    finally:
        issuer.token_fields = "both"

    form = {
        "grant_type": "password",
        "username": "alice",
        "password": "wonderland",
        "service": issuer.service,
        "scope": f"repository:{repo}:pull",
        "client_id": "pullgate-tests",
        "access_type": "offline",
    }
    first = httpx.post(issuer.realm, data=form).json()
    assert "token" not in first and first["refresh_token"]
    refreshed = httpx.post(
        issuer.realm,
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "service": issuer.service,
            "scope": f"repository:{repo}:pull",
            "client_id": "pullgate-tests",
        },
    ).json()
    with token_registry.client() as client:
        response = client.get(
            f"/v2/{repo}/manifests/v1",
            headers={
                "Accept": OCI_MANIFEST,
                "Authorization": f"Bearer {refreshed['access_token']}",
            },
        )
    assert response.status_code == 200
    assert response.headers["Docker-Content-Digest"] == pushed.digest
    bad = httpx.post(issuer.realm, data={**form, "password": "nope"})
    assert bad.status_code == 401


def test_libtrust_key_id_shape(token_registry: RegistryServer) -> None:
    key_id = _issuer(token_registry).key_id
    groups = key_id.split(":")
    assert len(groups) == 12
    assert all(re.fullmatch("[A-Z2-7]{4}", g) for g in groups)  # base32 alphabet
    assert libtrust_key_id(new_key().public_key()) != key_id


# -- htpasswd and TLS ------------------------------------------------------------------


def test_htpasswd_requires_basic_auth(htpasswd_registry: RegistryServer) -> None:
    repo = _repo()
    pushed = push_image(htpasswd_registry, repo, "v1")
    with htpasswd_registry.client() as client:
        bare = client.get("/v2/")
    assert bare.status_code == 401
    assert bare.headers["WWW-Authenticate"] == 'Basic realm="pullgate-test"'
    with htpasswd_registry.client(auth=("alice", "wrong")) as client:
        assert client.get("/v2/").status_code == 401
    creds = user_credentials("bob")
    assert skopeo_inspect_digest(htpasswd_registry, repo, "v1", creds=creds) == pushed.digest
    with pytest.raises(SkopeoError):
        skopeo_inspect_digest(htpasswd_registry, repo, "v1")


def test_tls_needs_the_test_ca(tls_registry: RegistryServer) -> None:
    assert tls_registry.url.startswith("https://127.0.0.1:")
    assert tls_registry.ca_file is not None and tls_registry.ca_file.read_text().startswith(
        "-----BEGIN CERTIFICATE-----"
    )
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{tls_registry.url}/v2/")
    response = httpx.get(f"{tls_registry.url}/v2/", verify=tls_registry.verify())
    assert response.status_code == 200
    localhost = tls_registry.url.replace("127.0.0.1", "localhost")
    assert httpx.get(f"{localhost}/v2/", verify=tls_registry.verify()).status_code == 200


@pytest.mark.parametrize("auth", ["htpasswd", "token"])
def test_tls_combines_with_auth(tmp_path: Path, auth: Mode) -> None:
    kwargs: dict[str, Any] = {"users": TEST_USERS}
    if auth == "token":
        kwargs["anonymous_rules"] = {"public/*": ("pull",)}
    with RegistryServer(auth, tls=True, workdir=tmp_path, **kwargs) as server:
        assert server.tls and server.auth == auth and server.url.startswith("https://")
        pushed = push_image(server, "public/tls", "v1")
        creds = server.admin_auth
        assert skopeo_inspect_digest(server, "public/tls", "v1", creds=creds) == pushed.digest
        assert push_with_oras(server, "public/tls-oras", "v1").digest


def test_tls_mode_with_users_means_htpasswd(tmp_path: Path) -> None:
    with RegistryServer("tls", users={"carol": "secret"}, workdir=tmp_path) as server:
        assert (server.tls, server.auth) == (True, "htpasswd")
        assert "secret" not in repr(server.admin_auth) and "secret" not in repr(server)


# -- what distribution 2.8 actually does (pullgate's resolver must cope) ----------------


def test_registry_28_error_shapes(registry: RegistryServer) -> None:
    repo = _repo()
    pushed = push_image(registry, repo, "v1")
    accept = {"Accept": ", ".join(ALL_MANIFEST_TYPES)}
    with registry.client() as client:
        missing_repo = client.get(f"/v2/{_repo()}/manifests/v1", headers=accept)
        missing_tag = client.get(f"/v2/{repo}/manifests/nope", headers=accept)
        head_missing = client.head(f"/v2/{repo}/manifests/nope", headers=accept)
        head_found = client.head(f"/v2/{repo}/manifests/v1", headers=accept)
        tags_missing_repo = client.get(f"/v2/{_repo()}/tags/list")
    # A missing repository is not NAME_UNKNOWN on the manifests endpoint, only on tags/list.
    assert missing_repo.status_code == missing_tag.status_code == 404
    assert missing_repo.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert missing_tag.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert tags_missing_repo.json()["errors"][0]["code"] == "NAME_UNKNOWN"
    # HEAD mirrors GET: same status and headers, no body.
    assert head_missing.status_code == 404 and head_missing.content == b""
    assert head_found.status_code == 200 and head_found.content == b""
    assert head_found.headers["Docker-Content-Digest"] == pushed.digest
    assert head_found.headers["Content-Type"] == OCI_MANIFEST
    assert int(head_found.headers["Content-Length"]) == pushed.size


def test_registry_28_content_negotiation(registry: RegistryServer) -> None:
    repo = _repo()
    oci = push_image(registry, repo, "oci")
    docker = push_image(registry, repo, "docker", media="docker")
    mlist = push_index(registry, repo, "list", ["linux/arm64/v8", "linux/amd64"], media="docker")

    def fetch(ref: str, *accept: str) -> httpx.Response:
        return get_manifest(registry, repo, ref, accept=accept)

    # OCI content without an OCI Accept: 404 MANIFEST_UNKNOWN, even by digest.
    for ref in ("oci", oci.digest):
        response = fetch(ref, DOCKER_MANIFEST)
        assert response.status_code == 404
        assert "OCI manifest found" in response.json()["errors"][0]["message"]
    # Docker schema 2 by tag with no usable Accept: 400 MANIFEST_INVALID (the schema 1
    # down-conversion path); by digest it is served as stored.
    assert fetch("docker", "*/*").status_code == 400
    assert fetch("docker", "*/*").json()["errors"][0]["code"] == "MANIFEST_INVALID"
    assert fetch(docker.digest, "*/*").headers["Docker-Content-Digest"] == docker.digest
    # A manifest list fetched by tag accepting only schema 2 is silently replaced by its
    # linux/amd64 child: the digest header is the child's, not the list's.
    rewritten = fetch("list", DOCKER_MANIFEST)
    assert rewritten.headers["Docker-Content-Digest"] == mlist.child_digests["linux/amd64"]
    assert fetch("list", *ALL_MANIFEST_TYPES).headers["Docker-Content-Digest"] == mlist.digest


# -- failure reporting of the infrastructure itself --------------------------------------


def test_missing_binary_fails_with_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match="make test"):
        RegistryServer(workdir=tmp_path).start()


def test_start_failure_reports_log_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = RegistryServer(workdir=tmp_path)
    monkeypatch.setattr(server, "_config", lambda: {"version": 0.1, "http": {"addr": server.host}})
    with pytest.raises(RegistryStartError, match=r"(?s)exited with code.*storage"):
        server.start()
    assert server.log_path.exists()
    assert os.path.isdir(tmp_path)


def test_seeding_sends_a_request_again_after_a_connection_reset(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The push helpers' transport: a connection reset under a request (as CI saw once in a
    full run) costs a retry with a line on stderr, never a whole module's fixture."""
    import socket
    import struct
    import threading

    from tests.support.images import _Retrying

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        first, _ = listener.accept()
        first.recv(65536)
        # SO_LINGER 0: close() sends RST, as a peer that drops the connection does
        first.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        first.close()
        second, _ = listener.accept()
        second.recv(65536)
        second.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        second.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with httpx.Client(transport=_Retrying(verify=True), timeout=5) as client:
            response = client.get(f"http://127.0.0.1:{port}/v2/")
    finally:
        thread.join(timeout=5)
        listener.close()
    assert response.status_code == 200 and response.text == "ok"
    assert "GET http://127.0.0.1:" in capfd.readouterr().err
