"""Seed a test registry with images through the plain registry v2 API (httpx, sync).

Why not a container tool: none is installed, and building the bytes ourselves means every
test knows the exact manifest bytes and digests the registry holds. Manifests are
pretty-printed with a 3-space indent (as docker does), never canonical compact JSON, so a
client that re-serialises a manifest before hashing it computes a wrong digest and fails.

Auth is handled by :class:`RegistryAuth`, an ``httpx.Auth`` flow answering the registry's
challenge: nothing (anonymous), Basic (htpasswd), or Bearer (token issuer asked for
``repository:<repo>:pull,push``). TLS uses the server's test CA. Every blob is a few
hundred bytes, so pushing is fast.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import secrets
import shutil
import sys
import tarfile
import tempfile
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urljoin

import httpx

from tests.support.registry import Credentials, RegistryServer

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
IN_TOTO = "application/vnd.in-toto+json"

#: Everything a resolver should put in ``Accept`` to get any manifest back unconverted.
ALL_MANIFEST_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST)

MediaFlavour = Literal["oci", "docker"]

_CREATED = "2024-01-01T00:00:00Z"
ARTIFACT_TYPE = "application/vnd.example.model.v1"


def sha256_digest(data: bytes) -> str:
    """``sha256:<hex>`` of exactly these bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _dumps(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, indent=3).encode()


class RegistryPushError(RuntimeError):
    """The registry (or token issuer) refused something a helper tried to push."""


@dataclass(frozen=True)
class Platform:
    """An OCI platform; ``str()`` gives ``os/arch[/variant]``."""

    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``linux/amd64`` or ``linux/arm64/v8``."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform must be os/arch[/variant], got {text!r}")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def as_dict(self) -> dict[str, str]:
        """The ``platform`` object of an index entry."""
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True)
class PushedManifest:
    """A single image (or artifact) manifest as it now sits in the registry."""

    host: str
    repo: str
    tag: str | None
    digest: str
    media_type: str
    size: int
    raw: bytes = field(repr=False)
    config_digest: str
    platform: Platform
    layer_digests: tuple[str, ...] = ()

    @property
    def reference(self) -> str:
        """``host/repo@digest``."""
        return f"{self.host}/{self.repo}@{self.digest}"

    @property
    def tag_reference(self) -> str:
        """``host/repo:tag`` (only for manifests pushed by tag)."""
        if self.tag is None:
            raise ValueError("manifest was pushed by digest, it has no tag")
        return f"{self.host}/{self.repo}:{self.tag}"

    def descriptor(self) -> dict[str, Any]:
        """An OCI descriptor of this manifest (what an index lists)."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class PushedIndex:
    """An OCI image index or Docker manifest list, plus what it points at."""

    host: str
    repo: str
    tag: str | None
    digest: str
    media_type: str
    size: int
    raw: bytes = field(repr=False)
    children: dict[str, PushedManifest]
    attestations: dict[str, PushedManifest] = field(default_factory=dict)

    @property
    def child_digests(self) -> dict[str, str]:
        """Platform string (``linux/arm64/v8``) -> child manifest digest."""
        return {p: m.digest for p, m in self.children.items()}

    @property
    def reference(self) -> str:
        """``host/repo@digest``."""
        return f"{self.host}/{self.repo}@{self.digest}"

    @property
    def tag_reference(self) -> str:
        """``host/repo:tag``."""
        if self.tag is None:
            raise ValueError("index was pushed by digest, it has no tag")
        return f"{self.host}/{self.repo}:{self.tag}"


# -- auth ------------------------------------------------------------------------------

_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_REPO_IN_PATH = re.compile(r"^/v2/(.+?)/(?:manifests|blobs|tags|referrers)/")


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``WWW-Authenticate: Bearer realm="..",service=".."`` -> ``("bearer", {...})``."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_CHALLENGE_PARAM.findall(rest))


class RegistryAuth(httpx.Auth):
    """Answer registry auth challenges the way docker/containerd do.

    Sends the request bare first; on 401 with ``Basic`` it retries with the credentials
    (and keeps sending them), on ``Bearer`` it fetches a token from the challenge's realm
    for ``repository:<repo>:<actions>`` (Basic auth to the issuer when credentials are set,
    anonymous otherwise), caches it per repository and retries.
    """

    requires_response_body = True

    def __init__(
        self, credentials: Credentials | None, actions: Sequence[str] = ("pull", "push")
    ) -> None:
        self._credentials = credentials
        self._actions = ",".join(actions)
        self._tokens: dict[str, str] = {}
        self._use_basic = False
        #: Number of token requests made, for tests that care about round trips.
        self.token_requests = 0

    def _basic_header(self) -> str:
        assert self._credentials is not None
        token = base64.b64encode(self._credentials.colon_joined().encode()).decode()
        return f"Basic {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        match = _REPO_IN_PATH.match(request.url.path)
        repo = match.group(1) if match else ""
        if self._use_basic and self._credentials is not None:  # Basic is sent pre-emptively
            request.headers["Authorization"] = self._basic_header()
        elif repo in self._tokens:
            request.headers["Authorization"] = f"Bearer {self._tokens[repo]}"
        response = yield request
        if response.status_code != 401:
            return
        scheme, params = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic" and self._credentials is not None:
            self._use_basic = True
            request.headers["Authorization"] = self._basic_header()
            yield request
        elif scheme == "bearer" and "realm" in params:
            query: dict[str, str] = {}
            if "service" in params:
                query["service"] = params["service"]
            if repo:
                query["scope"] = f"repository:{repo}:{self._actions}"
            elif "scope" in params:
                query["scope"] = params["scope"]
            token_request = httpx.Request("GET", params["realm"], params=query)
            if self._credentials is not None:
                token_request.headers["Authorization"] = self._basic_header()
            self.token_requests += 1
            token_response = yield token_request
            if token_response.status_code != 200:
                raise RegistryPushError(
                    f"token issuer {params['realm']} answered {token_response.status_code}: "
                    f"{token_response.text[:200]}"
                )
            body = token_response.json()
            token = body.get("token") or body.get("access_token")
            if not token:
                raise RegistryPushError("token issuer answered without token/access_token")
            self._tokens[repo] = token
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


def _fetch_token(
    server: RegistryServer, repo: str, creds: Credentials | None, actions: Sequence[str]
) -> str:
    """A bearer token for ``repository:<repo>:<actions>`` straight from the issuer."""
    assert server.issuer is not None
    with httpx.Client(transport=_Retrying(server.verify())) as client:
        response = client.get(
            server.issuer.realm,
            params={
                "service": server.issuer.service,
                "scope": f"repository:{repo}:{','.join(actions)}",
            },
            auth=creds.as_tuple() if creds else None,
        )
    _check(response, (200,), "fetch token")
    body = response.json()
    token: str = body.get("token") or body["access_token"]
    return token


class _Retrying(httpx.BaseTransport):
    """Sends a request again when the connection fails under it, and says so on stderr.

    Seeding is setup, not the behaviour under test: a full run on a busy two-core machine
    now and then sees a connection reset while pushing (CI, 1 run in ~10), which failed a
    whole module's fixture. Every request the helpers send is safe to repeat (a new upload
    session, a PUT of the same bytes, a token GET), so a reset costs a retry, not the run;
    the line on stderr keeps each one visible in the CI log.
    """

    ATTEMPTS = 4

    def __init__(self, verify: Any) -> None:
        # a fresh connection per request: the retry after a 401 waits for a token (ES256 in
        # Python, slow on a busy machine) and must not go out on a connection the registry
        # has meanwhile closed
        limits = httpx.Limits(max_keepalive_connections=0)
        self._inner = httpx.HTTPTransport(verify=verify, limits=limits)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                return self._inner.handle_request(request)
            except httpx.TransportError as exc:
                if attempt == self.ATTEMPTS:
                    raise
                sys.stderr.write(
                    f"tests/support: {request.method} {request.url} failed ({exc!r}); "
                    f"attempt {attempt + 1} of {self.ATTEMPTS}\n"
                )
                time.sleep(0.2 * attempt)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._inner.close()


def registry_client(
    server: RegistryServer,
    credentials: Credentials | Literal["admin"] | None = "admin",
    *,
    actions: Sequence[str] = ("pull", "push"),
) -> httpx.Client:
    """An httpx client for ``server`` that handles its auth (admin credentials by default)."""
    creds = server.admin_auth if credentials == "admin" else credentials
    return httpx.Client(
        base_url=server.url,
        verify=server.verify(),
        auth=RegistryAuth(creds, actions),
        timeout=10.0,
        transport=_Retrying(server.verify()),
    )


def _check(response: httpx.Response, expected: Sequence[int], what: str) -> None:
    if response.status_code not in expected:
        raise RegistryPushError(
            f"{what}: {response.request.method} {response.request.url.path} -> "
            f"{response.status_code} {response.text[:300]}"
        )


# -- low-level operations --------------------------------------------------------------


def upload_blob(client: httpx.Client, repo: str, data: bytes) -> str:
    """Monolithic upload (POST to start, PUT with ``?digest=``); returns the digest."""
    digest = sha256_digest(data)
    started = client.post(f"/v2/{repo}/blobs/uploads/")
    _check(started, (202,), "start blob upload")
    location = urljoin(str(started.url), started.headers["Location"])
    sep = "&" if "?" in location else "?"
    done = client.put(
        f"{location}{sep}digest={quote(digest)}",
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    _check(done, (201,), "finish blob upload")
    return digest


def put_manifest(client: httpx.Client, repo: str, ref: str, raw: bytes, media_type: str) -> str:
    """PUT manifest bytes under a tag or digest; checks the registry's digest matches ours."""
    response = client.put(
        f"/v2/{repo}/manifests/{ref}", content=raw, headers={"Content-Type": media_type}
    )
    _check(response, (201,), f"put manifest {repo}:{ref}")
    digest = sha256_digest(raw)
    answered = response.headers.get("Docker-Content-Digest")
    if answered != digest:
        raise RegistryPushError(f"registry says {answered} for a manifest we hashed as {digest}")
    return digest


def get_manifest(
    server: RegistryServer, repo: str, ref: str, *, accept: Sequence[str] = ALL_MANIFEST_TYPES
) -> httpx.Response:
    """GET a manifest as admin with the given Accept list (raw response, not checked)."""
    with registry_client(server) as client:
        return client.get(f"/v2/{repo}/manifests/{ref}", headers={"Accept": ", ".join(accept)})


# -- building blocks -------------------------------------------------------------------


def _random_layer() -> tuple[bytes, str]:
    """A gzip'd tar with one small random file: (compressed bytes, diff_id)."""
    payload = secrets.token_bytes(256)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(f"pullgate/{secrets.token_hex(4)}.bin")
        info.size = len(payload)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(payload))
    uncompressed = buf.getvalue()
    return gzip.compress(uncompressed, mtime=0), sha256_digest(uncompressed)


def _config_blob(platform: Platform, diff_ids: Sequence[str]) -> bytes:
    config: dict[str, Any] = {
        "architecture": platform.architecture,
        "os": platform.os,
        "config": {},
        "created": _CREATED,
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
    }
    if platform.variant:
        config["variant"] = platform.variant
    return _dumps(config)


def _push_manifest_doc(
    server: RegistryServer,
    client: httpx.Client,
    repo: str,
    tag: str | None,
    doc: Mapping[str, Any],
    media_type: str,
    platform: Platform,
    config_digest: str,
    layer_digests: Sequence[str],
) -> PushedManifest:
    raw = _dumps(doc)
    digest = sha256_digest(raw)
    put_manifest(client, repo, tag or digest, raw, media_type)
    return PushedManifest(
        host=server.host,
        repo=repo,
        tag=tag,
        digest=digest,
        media_type=media_type,
        size=len(raw),
        raw=raw,
        config_digest=config_digest,
        platform=platform,
        layer_digests=tuple(layer_digests),
    )


def _push_image_with(
    server: RegistryServer,
    client: httpx.Client,
    repo: str,
    tag: str | None,
    platform: Platform,
    media: MediaFlavour,
    layers: int,
    annotations: Mapping[str, str] | None,
) -> PushedManifest:
    if media not in ("oci", "docker"):
        raise ValueError(f"media must be 'oci' or 'docker', got {media!r}")
    layer_type, config_type, manifest_type = (
        (OCI_LAYER, OCI_CONFIG, OCI_MANIFEST)
        if media == "oci"
        else (DOCKER_LAYER, DOCKER_CONFIG, DOCKER_MANIFEST)
    )
    descriptors: list[dict[str, Any]] = []
    diff_ids: list[str] = []
    for _ in range(layers):
        blob, diff_id = _random_layer()
        digest = upload_blob(client, repo, blob)
        descriptors.append({"mediaType": layer_type, "digest": digest, "size": len(blob)})
        diff_ids.append(diff_id)
    config = _config_blob(platform, diff_ids)
    config_digest = upload_blob(client, repo, config)
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "digest": config_digest, "size": len(config)},
        "layers": descriptors,
    }
    if annotations:
        doc["annotations"] = dict(annotations)
    return _push_manifest_doc(
        server,
        client,
        repo,
        tag,
        doc,
        manifest_type,
        platform,
        config_digest,
        [d["digest"] for d in descriptors],
    )


def _push_attestation(
    server: RegistryServer, client: httpx.Client, repo: str, subject: PushedManifest
) -> PushedManifest:
    """A BuildKit-style provenance attestation manifest for ``subject`` (pushed by digest)."""
    statement = _dumps(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "subject": [
                {
                    "name": f"pkg:docker/{repo}?platform={quote(str(subject.platform), safe='')}",
                    "digest": {"sha256": subject.digest.removeprefix("sha256:")},
                }
            ],
            "predicate": {"buildType": "https://mobyproject.org/buildkit@v1"},
        }
    )
    statement_digest = upload_blob(client, repo, statement)
    unknown = Platform("unknown", "unknown")
    config = _config_blob(unknown, [statement_digest])
    config_digest = upload_blob(client, repo, config)
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
        "layers": [
            {
                "mediaType": IN_TOTO,
                "digest": statement_digest,
                "size": len(statement),
                "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
            }
        ],
    }
    return _push_manifest_doc(
        server, client, repo, None, doc, OCI_MANIFEST, unknown, config_digest, [statement_digest]
    )


# -- public helpers --------------------------------------------------------------------


def push_image(
    server: RegistryServer,
    repo: str,
    tag: str | None = None,
    *,
    os: str = "linux",
    arch: str = "amd64",
    variant: str | None = None,
    media: MediaFlavour = "oci",
    layers: int = 1,
    extra_annotations: Mapping[str, str] | None = None,
) -> PushedManifest:
    """Push one single-platform image (random layers, so every call gives a new digest).

    ``media="oci"`` gives an OCI image manifest with OCI config/layer types, ``"docker"`` a
    Docker schema 2 manifest with Docker types. Pushed by ``tag`` if given, else by digest.
    """
    with registry_client(server) as client:
        return _push_image_with(
            server,
            client,
            repo,
            tag,
            Platform(os, arch, variant),
            media,
            layers,
            extra_annotations,
        )


def push_index(
    server: RegistryServer,
    repo: str,
    tag: str | None,
    platforms: Sequence[str],
    *,
    media: MediaFlavour = "oci",
    attestations: bool = False,
    extra_annotations: Mapping[str, str] | None = None,
) -> PushedIndex:
    """Push one child image per platform (by digest), then an index over them.

    ``media="oci"``: OCI image index of OCI manifests; ``"docker"``: Docker manifest list
    of Docker schema 2 manifests. ``attestations=True`` (OCI only) adds, per platform, a
    BuildKit-style attestation manifest listed with platform ``unknown/unknown`` and the
    ``vnd.docker.reference.*`` annotations — the entries a resolver must never pick.
    """
    if attestations and media != "oci":
        raise ValueError("attestation manifests only exist in OCI indexes")
    parsed = [Platform.parse(p) for p in platforms]
    children: dict[str, PushedManifest] = {}
    attests: dict[str, PushedManifest] = {}
    entries: list[dict[str, Any]] = []
    with registry_client(server) as client:
        for platform in parsed:
            child = _push_image_with(server, client, repo, None, platform, media, 1, None)
            children[str(platform)] = child
            entries.append({**child.descriptor(), "platform": platform.as_dict()})
        if attestations:
            for key, child in children.items():
                attestation = _push_attestation(server, client, repo, child)
                attests[key] = attestation
                entries.append(
                    {
                        **attestation.descriptor(),
                        "annotations": {
                            "vnd.docker.reference.digest": child.digest,
                            "vnd.docker.reference.type": "attestation-manifest",
                        },
                        "platform": {"architecture": "unknown", "os": "unknown"},
                    }
                )
        index_type = OCI_INDEX if media == "oci" else DOCKER_MANIFEST_LIST
        doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": index_type, "manifests": entries}
        if extra_annotations:
            doc["annotations"] = dict(extra_annotations)
        raw = _dumps(doc)
        digest = sha256_digest(raw)
        put_manifest(client, repo, tag or digest, raw, index_type)
    return PushedIndex(
        host=server.host,
        repo=repo,
        tag=tag,
        digest=digest,
        media_type=index_type,
        size=len(raw),
        raw=raw,
        children=children,
        attestations=attests,
    )


def retag(server: RegistryServer, repo: str, from_ref: str, to_tag: str) -> str:
    """Point ``to_tag`` at the manifest ``from_ref`` (tag or digest) currently names.

    Re-PUTs the exact stored bytes under the new tag, which is how a tag "moves" in a
    registry (e.g. ``latest`` after a new build). Returns the digest now behind ``to_tag``.
    """
    with registry_client(server) as client:
        response = client.get(
            f"/v2/{repo}/manifests/{from_ref}", headers={"Accept": ", ".join(ALL_MANIFEST_TYPES)}
        )
        _check(response, (200,), f"get manifest {repo}:{from_ref}")
        media_type = response.headers["Content-Type"].split(";")[0].strip()
        return put_manifest(client, repo, to_tag, response.content, media_type)


def delete_tag(server: RegistryServer, repo: str, tag: str) -> None:
    """Remove ``tag`` only; the manifest and any other tags on it stay.

    distribution 2.8 has no API for this: ``DELETE /v2/<repo>/manifests/<tag>`` answers
    400 ``DIGEST_INVALID`` (only deletion by digest exists, and that drops every tag on the
    manifest). So we remove the tag's directory from the filesystem storage, which 2.8 reads
    on every request (the test config enables no tag cache), so the tag is gone at once.
    """
    tag_dir = (
        server.storage_root / "docker/registry/v2/repositories" / repo / "_manifests/tags" / tag
    )
    if not tag_dir.is_dir():
        raise RegistryPushError(f"no tag {repo}:{tag} in {server.storage_root}")
    shutil.rmtree(tag_dir)


def delete_manifest(server: RegistryServer, repo: str, digest: str) -> None:
    """Delete a manifest by digest (every tag pointing at it disappears too)."""
    with registry_client(server, actions=("pull", "push", "delete")) as client:
        response = client.delete(f"/v2/{repo}/manifests/{digest}")
        _check(response, (202,), f"delete manifest {repo}@{digest}")


def push_with_oras(
    server: RegistryServer,
    repo: str,
    tag: str,
    *,
    platform: str = "linux/amd64",
    annotations: Mapping[str, str] | None = None,
    credentials: Credentials | Literal["admin"] | None = "admin",
) -> PushedManifest:
    """Push a single-layer OCI image with oras-py, an independent client implementation.

    What lands: an OCI image manifest (``application/vnd.oci.image.manifest.v1+json``, as
    oras-py serialises it — compact-ish ``requests`` JSON, a layer ``title`` annotation)
    whose config is a real image config (``application/vnd.oci.image.config.v1+json`` with
    ``os``/``architecture``) and whose one layer is a small gzip'd tar. oras-py speaks plain
    HTTP when ``insecure=True`` and takes a CA bundle path as ``tls_verify``; credentials go
    through ``auth.set_basic_auth`` (never ``login``, which would write a docker config).
    The manifest bytes are read back from the registry to fill in ``raw``.
    """
    import oras.client  # type: ignore[import-untyped]  # local: only needed here

    creds = server.admin_auth if credentials == "admin" else credentials
    parsed = Platform.parse(platform)
    backend = "basic" if server.auth == "htpasswd" else "token"
    client = oras.client.OrasClient(
        hostname=server.host,
        insecure=not server.tls,
        tls_verify=str(server.ca_file) if server.ca_file else True,
        auth_backend=backend,
    )
    if creds is not None:
        client.auth.set_basic_auth(creds.username, creds.password)
    if server.issuer is not None:
        # oras-py 0.2.x keeps ONE bearer token whatever its scope: after a pull-scoped
        # challenge (its first HEAD of a blob) it re-sends that token on the upload POST and
        # fails. Handing it a pull,push token up front is what `oras login` + a push-scoped
        # first request would amount to.
        client.auth.set_token_auth(_fetch_token(server, repo, creds, ("pull", "push")))
    with tempfile.TemporaryDirectory(prefix="pullgate-oras-") as tmp:
        layer, diff_id = _random_layer()
        layer_path = Path(tmp) / "layer.tar.gz"
        layer_path.write_bytes(layer)
        config_path = Path(tmp) / "config.json"
        config_path.write_bytes(_config_blob(parsed, [diff_id]))
        response = client.push(
            target=f"{server.host}/{repo}:{tag}",
            files=[f"{layer_path}:{OCI_LAYER}"],
            manifest_config=f"{config_path}:{OCI_CONFIG}",
            manifest_annotations=dict(annotations) if annotations else None,
            disable_path_validation=True,
            quiet=True,
        )
    if response.status_code != 201:
        raise RegistryPushError(f"oras push failed: {response.status_code} {response.text[:300]}")
    digest = response.headers["Docker-Content-Digest"]
    fetched = get_manifest(server, repo, digest)
    _check(fetched, (200,), f"read back oras manifest {repo}@{digest}")
    raw = fetched.content
    if sha256_digest(raw) != digest:
        raise RegistryPushError("oras manifest bytes do not hash to the digest oras got back")
    doc = json.loads(raw)
    return PushedManifest(
        host=server.host,
        repo=repo,
        tag=tag,
        digest=digest,
        media_type=doc.get("mediaType", OCI_MANIFEST),
        size=len(raw),
        raw=raw,
        config_digest=doc["config"]["digest"],
        platform=parsed,
        layer_digests=tuple(layer["digest"] for layer in doc["layers"]),
    )


# -- indexes written entry by entry (platform fields left out, raw spellings, os.version) ----

SAME: Literal["same"] = "same"


@dataclass(frozen=True)
class IndexChild:
    """One entry of :func:`push_custom_index`.

    ``config`` is the child image's own platform, ``os/arch[/variant]`` as written into its
    config blob (``None``: the child is an artifact whose config is not an image config);
    ``os_version`` goes into the config as ``os.version``. ``platform`` is what the index
    entry says: :data:`SAME` copies the config's fields, ``None`` leaves the ``platform``
    field out, a mapping is written verbatim (raw spellings such as ``"variant": "7"``).
    """

    config: str | None = "linux/amd64"
    platform: Mapping[str, str] | Literal["same"] | None = SAME
    os_version: str | None = None


def _platform_fields(text: str, os_version: str | None) -> dict[str, str]:
    fields = Platform.parse(text).as_dict()
    if os_version:
        fields["os.version"] = os_version
    return fields


def _push_child(
    server: RegistryServer, client: httpx.Client, repo: str, child: IndexChild, media: MediaFlavour
) -> tuple[PushedManifest, dict[str, str] | None]:
    """Push one child (by digest); returns it and its config's platform fields (if an image)."""
    if child.config is None:
        blob, _ = _random_layer()
        layer = upload_blob(client, repo, blob)
        config = _dumps({"model": secrets.token_hex(4)})
        config_digest = upload_blob(client, repo, config)
        doc = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": ARTIFACT_TYPE,
            "config": {
                "mediaType": "application/vnd.example.model.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [
                {"mediaType": "application/octet-stream", "digest": layer, "size": len(blob)}
            ],
        }
        unknown = Platform("unknown", "unknown")
        pushed = _push_manifest_doc(
            server, client, repo, None, doc, OCI_MANIFEST, unknown, config_digest, [layer]
        )
        return pushed, None
    fields = _platform_fields(child.config, child.os_version)
    layer_type, config_type, manifest_type = (
        (OCI_LAYER, OCI_CONFIG, OCI_MANIFEST)
        if media == "oci"
        else (DOCKER_LAYER, DOCKER_CONFIG, DOCKER_MANIFEST)
    )
    blob, diff_id = _random_layer()
    layer = upload_blob(client, repo, blob)
    config = _dumps(
        {
            **fields,
            "config": {},
            "created": _CREATED,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    )
    config_digest = upload_blob(client, repo, config)
    doc = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": layer_type, "digest": layer, "size": len(blob)}],
    }
    pushed = _push_manifest_doc(
        server,
        client,
        repo,
        None,
        doc,
        manifest_type,
        Platform.parse(child.config),
        config_digest,
        [layer],
    )
    return pushed, fields


def push_custom_index(
    server: RegistryServer,
    repo: str,
    tag: str,
    children: Sequence[IndexChild],
    *,
    media: MediaFlavour = "oci",
) -> PushedIndex:
    """Push each child by digest, then an index listing them in order, entry by entry.

    Unlike :func:`push_index`, an entry may lack its ``platform`` field, spell it otherwise
    than its config does, carry ``os.version``, or point at an artifact. ``children`` of the
    result are keyed ``"<position>:<config>"``.
    """
    entries: list[dict[str, Any]] = []
    pushed_children: dict[str, PushedManifest] = {}
    with registry_client(server) as client:
        for position, child in enumerate(children):
            pushed, fields = _push_child(server, client, repo, child, media)
            pushed_children[f"{position}:{child.config}"] = pushed
            entry: dict[str, Any] = pushed.descriptor()
            if fields is None:  # OCI 1.1: a descriptor of an artifact names its type
                entry["artifactType"] = ARTIFACT_TYPE
            if child.platform == SAME and fields is not None:
                entry["platform"] = fields
            elif isinstance(child.platform, Mapping):
                entry["platform"] = dict(child.platform)
            entries.append(entry)
        index_type = OCI_INDEX if media == "oci" else DOCKER_MANIFEST_LIST
        raw = _dumps({"schemaVersion": 2, "mediaType": index_type, "manifests": entries})
        digest = put_manifest(client, repo, tag, raw, index_type)
    return PushedIndex(
        host=server.host,
        repo=repo,
        tag=tag,
        digest=digest,
        media_type=index_type,
        size=len(raw),
        raw=raw,
        children=pushed_children,
    )


def push_artifact(server: RegistryServer, repo: str, tag: str) -> PushedManifest:
    """Push a single OCI manifest whose config is not an image config (an artifact)."""
    with registry_client(server) as client:
        pushed, _ = _push_child(server, client, repo, IndexChild(config=None), "oci")
        put_manifest(client, repo, tag, pushed.raw, OCI_MANIFEST)
    return pushed


def push_big_config_image(
    server: RegistryServer, repo: str, tag: str, *, config_size: int, platform: str = "linux/amd64"
) -> PushedManifest:
    """Push a single-platform image whose config is padded (a long label) to ``config_size``."""
    parsed = Platform.parse(platform)
    with registry_client(server) as client:
        blob, diff_id = _random_layer()
        layer = upload_blob(client, repo, blob)
        base = json.loads(_config_blob(parsed, [diff_id]))
        base["config"] = {"Labels": {"padding": ""}}
        padding = config_size - len(_dumps(base))
        base["config"]["Labels"]["padding"] = "x" * max(padding, 0)
        config = _dumps(base)
        config_digest = upload_blob(client, repo, config)
        doc = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": layer, "size": len(blob)}],
        }
        return _push_manifest_doc(
            server, client, repo, tag, doc, OCI_MANIFEST, parsed, config_digest, [layer]
        )
