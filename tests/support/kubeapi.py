"""A small Kubernetes API server for tests: HTTPS on 127.0.0.1, the handful of paths used.

It answers as kube-apiserver does for what pullgate (and `kubectl get secrets,serviceaccounts`)
asks: discovery (`/api`, `/apis`, `/api/v1`), namespaced and cluster-wide LISTs of secrets and
serviceaccounts (full `SecretList`, or `PartialObjectMetadataList` when the Accept header asks
`as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`), GETs of one object, `limit`/`continue`
chunking, and `Status` objects for 401, 403 and 404 in the API server's own words.

Authentication: bearer tokens (`tokens`: token -> user name) and client certificates signed by
`client_ca` (user = the certificate's CN); no credentials is `system:anonymous`. Authorization:
everything is allowed except what `forbidden` lists as (user, verb, resource, namespace), with
`"*"` matching any user or namespace, and anything for `system:anonymous`.

Every request is recorded (path, query, Accept, Authorization, user) so that tests can assert
what was, and what was not, asked.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import ssl
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.certs import TestPKI, cert_pem, key_pem, make_test_pki, new_key, self_signed_cert

RESOURCES = {"secrets": "Secret", "serviceaccounts": "ServiceAccount"}
VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-pullgate-test",
    "goVersion": "go1.23.0",
    "platform": "linux/amd64",
}
METADATA_AS = "as=PartialObjectMetadataList"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    accept: str
    authorization: str | None
    user: str


@dataclass(frozen=True)
class ClientCert:
    """PEM text of a client certificate and key signed by the server's client CA."""

    cert_pem: str = field(repr=False)
    key_pem: str = field(repr=False)


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict:
    """A `Status` object exactly as kube-apiserver serialises one."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


class KubeAPIServer:
    def __init__(
        self,
        workdir: Path,
        objects: Iterable[Mapping[str, Any]] = (),
        *,
        tokens: Mapping[str, str] | None = None,
        forbidden: Iterable[tuple[str, str, str, str]] = (),
        metadata_lists: bool = True,
        page_size: int | None = None,
    ) -> None:
        self.workdir = workdir
        self.pki: TestPKI = make_test_pki(workdir / "pki")
        self.tokens = dict(tokens or {})
        self.forbidden = set(forbidden)
        self.metadata_lists = metadata_lists
        """False: behave like a pre-1.15 server and ignore `as=PartialObjectMetadataList`."""
        self.page_size = page_size
        """Cap every page at this many items (to exercise `continue`)."""
        self.requests: list[Recorded] = []
        self._objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._resource_version = 1000
        self._client_ca_key = new_key()
        self._client_ca = self_signed_cert(self._client_ca_key, "pullgate test client CA")
        self.client_ca_file = workdir / "pki" / "client-ca.crt"
        self.client_ca_file.write_bytes(cert_pem(self._client_ca))
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for obj in objects:
            self.add(obj)

    # state

    def add(self, obj: Mapping[str, Any]) -> None:
        """Store an object (as `kubectl create --dry-run=client -o json` printed it)."""
        stored = copy.deepcopy(dict(obj))
        meta = stored.setdefault("metadata", {})
        meta.setdefault("namespace", "default")
        meta.pop("creationTimestamp", None)
        if stored.get("kind") == "Secret":
            stored.setdefault("type", "Opaque")  # the API server's defaulting
        with self._lock:
            self._resource_version += 1
            meta["uid"] = str(uuid.uuid4())
            meta["resourceVersion"] = str(self._resource_version)
            meta["creationTimestamp"] = (
                dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
                .isoformat()
                .replace("+00:00", "Z")
            )
            resource = {v: k for k, v in RESOURCES.items()}[stored["kind"]]
            self._objects[(resource, meta["namespace"], meta["name"])] = stored

    def client_cert(self, user: str) -> ClientCert:
        """A client certificate for `user`, trusted by this server."""
        key = new_key()
        now = dt.datetime.now(dt.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user)]))
            .issuer_name(self._client_ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
            .sign(self._client_ca_key, hashes.SHA256())
        )
        return ClientCert(cert_pem(cert).decode(), key_pem(key).decode())

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    # lifecycle

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"https://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> KubeAPIServer:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pki.cert_file, self.pki.key_file)
        context.load_verify_locations(self.client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
        server = self

        class Handler(_Handler):
            api = server

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        httpd.socket = context.wrap_socket(
            httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> KubeAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # answers

    def _list(self, resource: str, namespace: str | None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(obj)
                for (res, ns, _), obj in sorted(self._objects.items())
                if res == resource and (namespace is None or ns == namespace)
            ]

    def _get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            obj = self._objects.get((resource, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def _denied(self, user: str, verb: str, resource: str, namespace: str) -> bool:
        if user == "system:anonymous":  # RBAC grants the anonymous user nothing on secrets
            return True
        return any(
            u in (user, "*") and v == verb and r == resource and n in (namespace, "*")
            for u, v, r, n in self.forbidden
        )


class _Handler(BaseHTTPRequestHandler):
    api: KubeAPIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.do_handshake()  # type: ignore[attr-defined]
        except (ssl.SSLError, OSError):
            self.close_connection = True

    def _user(self) -> str | None:
        """The authenticated user; None for a bad token (401)."""
        header = self.headers.get("Authorization")
        if header is not None:
            scheme, _, value = header.partition(" ")
            if scheme != "Bearer":
                return None
            return self.api.tokens.get(value)
        peer = self.connection.getpeercert()  # type: ignore[attr-defined]
        if peer:
            for rdn in peer.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        return str(value)
        return "system:anonymous"

    def _send(
        self, code: int, body: dict[str, Any], content_type: str = "application/json"
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        accept = self.headers.get("Accept", "")
        user = self._user()
        self.api.requests.append(
            Recorded(
                "GET",
                parts.path,
                query,
                accept,
                self.headers.get("Authorization"),
                user or "<invalid>",
            )
        )
        if user is None:
            self._send(401, status(401, "Unauthorized", "Unauthorized"))
            return
        segments = [unquote(s) for s in parts.path.strip("/").split("/")]
        if segments == ["version"]:
            self._send(200, VERSION)
        elif segments == ["api"]:
            self._send(
                200,
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}
                    ],
                },
            )
        elif segments == ["apis"]:
            self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
        elif segments == ["api", "v1"]:
            self._send(200, _resource_list())
        elif len(segments) == 3 and segments[:2] == ["api", "v1"] and segments[2] in RESOURCES:
            self._collection(user, segments[2], None, query, accept)
        elif (
            len(segments) in (5, 6)
            and segments[:3] == ["api", "v1", "namespaces"]
            and segments[4] in RESOURCES
        ):
            namespace, resource = segments[3], segments[4]
            if len(segments) == 5:
                self._collection(user, resource, namespace, query, accept)
            else:
                self._object(user, resource, namespace, segments[5], accept)
        else:
            self._send(
                404,
                status(404, "NotFound", "the server could not find the requested resource", {}),
            )

    def _forbidden(
        self, user: str, verb: str, resource: str, namespace: str | None, name: str | None = None
    ) -> None:
        subject = f'{resource} "{name}"' if name else resource
        where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
        message = (
            f'{subject} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API '
            f'group ""{where}'
        )
        details: dict[str, Any] = {"kind": resource}
        if name:
            details = {"name": name, "kind": resource}
        self._send(403, status(403, "Forbidden", message, details))

    def _collection(
        self, user: str, resource: str, namespace: str | None, query: dict[str, str], accept: str
    ) -> None:
        if self.api._denied(user, "list", resource, namespace or "*"):
            self._forbidden(user, "list", resource, namespace)
            return
        items = self.api._list(resource, namespace)
        start = int(base64.b64decode(query["continue"]).decode()) if "continue" in query else 0
        limit = int(query["limit"]) if query.get("limit", "").isdigit() else len(items)
        if self.api.page_size is not None:
            limit = min(limit, self.api.page_size)
        page = items[start : start + limit] if limit else items[start:]
        list_meta: dict[str, Any] = {"resourceVersion": str(self.api._resource_version)}
        if start + len(page) < len(items):
            list_meta["continue"] = base64.b64encode(str(start + len(page)).encode()).decode()
            list_meta["remainingItemCount"] = len(items) - start - len(page)
        if METADATA_AS in accept and self.api.metadata_lists:
            body = {
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": list_meta,
                "items": [
                    {
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": item["metadata"],
                    }
                    for item in page
                ],
            }
            content_type = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
            self._send(200, body, content_type)
            return
        for item in page:  # items of a typed list carry no kind/apiVersion of their own
            item.pop("kind", None)
            item.pop("apiVersion", None)
        kind = RESOURCES[resource] + "List"
        self._send(200, {"kind": kind, "apiVersion": "v1", "metadata": list_meta, "items": page})

    def _object(self, user: str, resource: str, namespace: str, name: str, accept: str) -> None:
        if self.api._denied(user, "get", resource, namespace):
            self._forbidden(user, "get", resource, namespace, name)
            return
        obj = self.api._get(resource, namespace, name)
        if obj is None:
            self._send(
                404,
                status(
                    404,
                    "NotFound",
                    f'{resource} "{name}" not found',
                    {"name": name, "kind": resource},
                ),
            )
            return
        if "as=PartialObjectMetadata" in accept and self.api.metadata_lists:
            obj = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        self._send(200, obj)


def _resource_list() -> dict[str, Any]:
    verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    return {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": name,
                "singularName": kind.lower(),
                "namespaced": True,
                "kind": kind,
                "verbs": verbs,
                "shortNames": ["sa"] if name == "serviceaccounts" else [],
                "storageVersionHash": "",
            }
            for name, kind in RESOURCES.items()
        ],
    }


def write_kubeconfig(
    path: Path,
    server: str,
    *,
    user: Mapping[str, Any],
    ca_file: Path | None = None,
    context: str = "test",
    cluster: Mapping[str, Any] | None = None,
) -> Path:
    """A one-context kubeconfig (clusters/users/contexts as kubectl writes them)."""
    cluster_entry: dict[str, Any] = {"server": server}
    if ca_file is not None:
        cluster_entry["certificate-authority-data"] = base64.b64encode(
            ca_file.read_bytes()
        ).decode()
    cluster_entry.update(cluster or {})
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": f"{context}-cluster", "cluster": cluster_entry}],
        "users": [{"name": f"{context}-user", "user": dict(user)}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": f"{context}-cluster", "user": f"{context}-user"},
            }
        ],
        "current-context": context,
        "preferences": {},
    }
    path.write_text(json.dumps(config, indent=2))
    return path
