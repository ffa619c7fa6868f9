"""A small Docker-token-spec issuer for registry token auth in tests.

The real ``docker-registry`` (distribution 2.8) in ``auth: token`` mode only *verifies*
bearer tokens; something has to issue them. This module is that something: a threaded
``http.server`` on 127.0.0.1 that speaks

* ``GET /token?service=..&scope=..`` (scope may repeat), optional Basic auth — the classic
  Docker token flow; answers ``{"token", "access_token", "expires_in", "issued_at"}`` (which
  of ``token`` / ``access_token`` is configurable, because real issuers differ);
* ``POST /token`` with a form body, ``grant_type=password`` or ``grant_type=refresh_token``
  — the OAuth2 flavour; answers ``access_token`` (plus ``refresh_token`` when asked for
  ``access_type=offline``).

Tokens are ES256 JWTs. Distribution 2.8 finds the verification key through the JWT header
``kid``, which must equal the libtrust key id of a public key from a certificate in its
``rootcertbundle`` (see ``registry/auth/token/token.go``: ``x5c`` first, then ``jwk``, then
``kid`` looked up in the trusted keys built from the bundle). So we sign with a fresh key,
write a self-signed certificate of it as the bundle and put only ``kid`` in the header.

Every request is recorded (``requests``) so tests can assert how many token round trips a
client made, with which scopes and as which user. Passwords are never recorded or logged.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import secrets
import ssl
import threading
import time
import urllib.parse
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.support.certs import cert_pem, new_key, self_signed_cert

DEFAULT_SERVICE = "pullgate-test-registry"
DEFAULT_ISSUER = "pullgate-test-issuer"

#: repository glob (``fnmatch``, ``*`` also matches ``/``) -> allowed actions
#: (``pull``, ``push``, ``delete`` or ``*`` for all). A key of the form ``registry:catalog``
#: (containing a colon) matches a non-repository resource ``type:name`` literally.
AccessRules = Mapping[str, Collection[str]]

TokenFields = Literal["both", "token", "access_token"]


def libtrust_key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """The docker/libtrust key id distribution uses to look up a JWT ``kid``.

    base32 (RFC 4648 alphabet, upper case, ``=`` stripped) of the first 30 bytes of the
    SHA-256 of the DER SubjectPublicKeyInfo, in 12 colon-separated groups of 4.
    """
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url (JWT segments)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_jwt_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a JWT without checking the signature — for test assertions."""
    header, claims, _sig = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(claims))


@dataclass(frozen=True)
class Access:
    """One entry of the JWT ``access`` claim."""

    type: str
    name: str
    actions: tuple[str, ...]

    def scope(self) -> str:
        """The entry written back as a scope string, e.g. ``repository:a/b:pull,push``."""
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


@dataclass(frozen=True)
class TokenRequest:
    """What the issuer saw of one request (never the password).

    ``user`` is the authenticated user, or for a 401 the user name that was tried; None
    for anonymous requests. ``granted`` lists the scopes actually put in the token.
    """

    method: str
    path: str
    user: str | None
    scopes: tuple[str, ...]
    service: str | None
    grant_type: str | None
    status: int
    granted: tuple[str, ...] = ()


def parse_scope(scope: str) -> tuple[str, str, tuple[str, ...]] | None:
    """Split ``type:name:actions``; the name may itself contain colons (``host:5000/x``)."""
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not kind or not name:
        return None
    return kind, name, tuple(a for a in actions.split(",") if a)


@dataclass
class _User:
    password: str
    rules: dict[str, frozenset[str]] = field(default_factory=dict)


def _normalise_rules(rules: AccessRules | None) -> dict[str, frozenset[str]]:
    return {pattern: frozenset(actions) for pattern, actions in (rules or {}).items()}


class TokenIssuer:
    """Threaded token endpoint; start it before the registry that points ``realm`` here.

    ``users`` maps user name -> password, ``rules`` user name -> :data:`AccessRules`,
    ``anonymous_rules`` what a caller without credentials may do. An authenticated user
    gets the union of their own rules and the anonymous rules (as on Docker Hub, logging in
    never loses access to public repositories). Requests for actions that are not allowed
    still get a token, just without those actions — that is what real issuers do, and the
    registry then answers 401/403 itself. Wrong credentials get a 401 from the issuer.
    """

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        rules: Mapping[str, AccessRules] | None = None,
        anonymous_rules: AccessRules | None = None,
        allow_anonymous: bool = True,
        service: str = DEFAULT_SERVICE,
        issuer: str = DEFAULT_ISSUER,
        token_fields: TokenFields = "both",
        expires_in: int = 300,
        workdir: Path,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.service = service
        self.issuer = issuer
        self.token_fields: TokenFields = token_fields
        self.expires_in = expires_in
        self.allow_anonymous = allow_anonymous
        #: When set, every request is answered with this HTTP status (outage simulation).
        self.fail_with: int | None = None
        self._users: dict[str, _User] = {}
        for name, password in (users or {}).items():
            self._users[name] = _User(password, _normalise_rules((rules or {}).get(name)))
        for name in rules or {}:
            if name not in self._users:
                raise ValueError(f"rules given for unknown user {name!r}")
        self.anonymous_rules = _normalise_rules(anonymous_rules)
        self._refresh_tokens: dict[str, str] = {}
        self._requests: list[TokenRequest] = []
        self._lock = threading.Lock()

        workdir.mkdir(parents=True, exist_ok=True)
        self._key = new_key()
        self.key_id = libtrust_key_id(self._key.public_key())
        #: The ``rootcertbundle`` for the registry: a self-signed cert of the signing key.
        self.rootcertbundle = workdir / "token-signing.crt"
        self.rootcertbundle.write_bytes(
            cert_pem(self_signed_cert(self._key, "pullgate token signer", ca=False))
        )
        self._tls = tls
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- users and rules -------------------------------------------------------------

    def add_user(self, name: str, password: str, rules: AccessRules | None = None) -> None:
        """Register (or replace) a user at run time."""
        with self._lock:
            self._users[name] = _User(password, _normalise_rules(rules))

    def set_rules(self, name: str | None, rules: AccessRules) -> None:
        """Replace the rules of a user, or the anonymous rules when ``name`` is None."""
        with self._lock:
            if name is None:
                self.anonymous_rules = _normalise_rules(rules)
            else:
                self._users[name].rules = _normalise_rules(rules)

    def allowed_actions(self, user: str | None, kind: str, name: str) -> frozenset[str]:
        """Actions ``user`` (None = anonymous) may perform on resource ``kind:name``."""
        with self._lock:
            rule_sets = [self.anonymous_rules]
            if user is not None:
                rule_sets.insert(0, self._users[user].rules)
        allowed: set[str] = set()
        for rule_set in rule_sets:
            for pattern, actions in rule_set.items():
                if ":" in pattern:
                    if pattern == f"{kind}:{name}":
                        allowed |= actions
                elif kind == "repository" and fnmatch.fnmatchcase(name, pattern):
                    allowed |= actions
        return frozenset(allowed)

    def grant(self, user: str | None, scopes: Iterable[str]) -> list[Access]:
        """The ``access`` claim for ``scopes``: the requested actions that are allowed."""
        merged: dict[tuple[str, str], list[str]] = {}
        for scope in scopes:
            parsed = parse_scope(scope)
            if parsed is None:
                continue
            kind, name, actions = parsed
            allowed = self.allowed_actions(user, kind, name)
            granted = merged.setdefault((kind, name), [])
            for action in actions:
                if (action in allowed or "*" in allowed) and action not in granted:
                    granted.append(action)
        return [Access(k, n, tuple(acts)) for (k, n), acts in merged.items() if acts]

    # -- tokens ----------------------------------------------------------------------

    def issue_token(
        self,
        user: str | None,
        access: Iterable[Access],
        *,
        expires_in: int | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        now: float | None = None,
    ) -> str:
        """Mint a signed JWT; overrides let tests forge expired or mis-addressed tokens."""
        issued = int(now if now is not None else time.time())
        lifetime = self.expires_in if expires_in is None else expires_in
        header = {"typ": "JWT", "alg": "ES256", "kid": self.key_id}
        claims = {
            "iss": issuer or self.issuer,
            "sub": user or "",
            "aud": audience or self.service,
            "exp": issued + lifetime,
            "nbf": issued - 1,
            "iat": issued,
            "jti": secrets.token_hex(12),
            "access": [
                {"type": a.type, "name": a.name, "actions": list(a.actions)} for a in access
            ],
        }
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        der_sig = self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der_sig)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return signing_input + "." + _b64url(signature)

    def check_password(self, user: str, password: str) -> bool:
        """Constant-time password check against the configured users."""
        with self._lock:
            entry = self._users.get(user)
        if entry is None:
            return False
        return secrets.compare_digest(entry.password.encode(), password.encode())

    def new_refresh_token(self, user: str) -> str:
        """An opaque refresh token bound to ``user``."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._refresh_tokens[token] = user
        return token

    def user_for_refresh_token(self, token: str) -> str | None:
        """The user a refresh token was issued to, if it is one of ours."""
        with self._lock:
            return self._refresh_tokens.get(token)

    # -- request log -----------------------------------------------------------------

    def record(self, entry: TokenRequest) -> None:
        """Append one request to the log (called by the handler)."""
        with self._lock:
            self._requests.append(entry)

    @property
    def requests(self) -> list[TokenRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget recorded requests (call at the start of a test that counts them)."""
        with self._lock:
            self._requests.clear()

    def requests_by(self, user: str | None) -> list[TokenRequest]:
        """Recorded requests made as ``user`` (None = anonymous)."""
        return [r for r in self.requests if r.user == user]

    # -- server lifecycle ------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234``."""
        if self._httpd is None:
            raise RuntimeError("token issuer not started")
        scheme = "https" if self._tls else "http"
        host, port = self._httpd.server_address[:2]
        return f"{scheme}://{host!s}:{port}"

    @property
    def realm(self) -> str:
        """The token endpoint, for the registry's ``auth.token.realm``."""
        return self.url + "/token"

    def start(self) -> TokenIssuer:
        """Bind an ephemeral port on 127.0.0.1 and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        httpd = _IssuerHTTPServer(("127.0.0.1", 0), _Handler, self)
        if self._tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self._tls[0]), str(self._tls[1]))
            # the handshake in the handler's thread, not in accept(): a client that connects and
            # says nothing must not hold the serving loop (nor `stop()`, which waits for it)
            httpd.socket = context.wrap_socket(
                httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, name="pullgate-token-issuer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is None:
            return
        if self._thread is not None and self._thread.is_alive():
            self._httpd.shutdown()  # waits for serve_forever: only if it still runs
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> TokenIssuer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _IssuerHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        issuer: TokenIssuer,
    ) -> None:
        self.issuer = issuer
        super().__init__(address, handler)


class _AuthFailed(Exception):
    def __init__(self, attempted_user: str | None = None) -> None:
        super().__init__(attempted_user)
        self.attempted_user = attempted_user


class _Handler(BaseHTTPRequestHandler):
    server: _IssuerHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the request log lives in ``TokenIssuer.requests``."""

    # -- helpers ---------------------------------------------------------------------

    def _send_json(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _basic_user(self) -> str | None:
        """The authenticated user from a Basic header, None if absent; raises on bad creds."""
        header = self.headers.get("Authorization")
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise _AuthFailed
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except ValueError as exc:
            raise _AuthFailed from exc
        if not self.server.issuer.check_password(user, password):
            raise _AuthFailed(user)
        return user

    def _deny(
        self,
        method: str,
        scopes: tuple[str, ...],
        service: str | None,
        grant: str | None,
        attempted_user: str | None = None,
    ) -> None:
        """401 from the issuer; the request is logged under the user name that was tried."""
        issuer = self.server.issuer
        path = self.path.split("?")[0]
        issuer.record(TokenRequest(method, path, attempted_user, scopes, service, grant, 401))
        self._send_json(
            HTTPStatus.UNAUTHORIZED,
            {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
            {"WWW-Authenticate": f'Basic realm="{issuer.issuer}"'},
        )

    def _mint(self, user: str | None, scopes: tuple[str, ...]) -> tuple[str, list[Access], int]:
        issuer = self.server.issuer
        access = issuer.grant(user, scopes)
        return issuer.issue_token(user, access), access, int(time.time())

    # -- verbs -----------------------------------------------------------------------

    def do_GET(self) -> None:
        issuer = self.server.issuer
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        scopes = tuple(s for raw in query.get("scope", []) for s in raw.split(" ") if s)
        service = query.get("service", [None])[0]
        if url.path != "/token":
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})
            return
        if issuer.fail_with is not None:
            issuer.record(
                TokenRequest("GET", url.path, None, scopes, service, None, issuer.fail_with)
            )
            self._send_json(issuer.fail_with, {"error": "simulated failure"})
            return
        try:
            user = self._basic_user()
        except _AuthFailed as exc:
            self._deny("GET", scopes, service, None, exc.attempted_user)
            return
        if user is None and not issuer.allow_anonymous:
            self._deny("GET", scopes, service, None)
            return
        if service is not None and service != issuer.service:
            issuer.record(TokenRequest("GET", url.path, user, scopes, service, None, 400))
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "invalid_request"})
            return
        token, access, issued = self._mint(user, scopes)
        body: dict[str, Any] = {
            "expires_in": issuer.expires_in,
            "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issued)),
        }
        if issuer.token_fields in ("both", "token"):
            body["token"] = token
        if issuer.token_fields in ("both", "access_token"):
            body["access_token"] = token
        if user is not None and query.get("offline_token", ["false"])[0] == "true":
            body["refresh_token"] = issuer.new_refresh_token(user)
        issuer.record(
            TokenRequest(
                "GET", url.path, user, scopes, service, None, 200, tuple(a.scope() for a in access)
            )
        )
        self._send_json(HTTPStatus.OK, body)

    def do_POST(self) -> None:
        issuer = self.server.issuer
        path = urllib.parse.urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())

        def one(name: str) -> str | None:
            return form.get(name, [None])[0]

        grant_type = one("grant_type")
        service = one("service")
        scopes = tuple(s for raw in form.get("scope", []) for s in raw.split(" ") if s)
        if path != "/token":
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})
            return
        if issuer.fail_with is not None:
            issuer.record(
                TokenRequest("POST", path, None, scopes, service, grant_type, issuer.fail_with)
            )
            self._send_json(issuer.fail_with, {"error": "simulated failure"})
            return
        user: str | None
        refresh: str | None = None
        if grant_type == "password":
            user = one("username")
            if user is None or not issuer.check_password(user, one("password") or ""):
                self._deny("POST", scopes, service, grant_type, user)
                return
            if one("access_type") == "offline":
                refresh = issuer.new_refresh_token(user)
        elif grant_type == "refresh_token":
            refresh = one("refresh_token") or ""
            user = issuer.user_for_refresh_token(refresh)
            if user is None:
                self._deny("POST", scopes, service, grant_type)
                return
        else:
            issuer.record(TokenRequest("POST", path, None, scopes, service, grant_type, 400))
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "unsupported_grant_type"})
            return
        if service is not None and service != issuer.service:
            issuer.record(TokenRequest("POST", path, user, scopes, service, grant_type, 400))
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "invalid_request"})
            return
        token, access, issued = self._mint(user, scopes)
        body: dict[str, Any] = {
            "access_token": token,
            "expires_in": issuer.expires_in,
            "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issued)),
            "scope": " ".join(a.scope() for a in access),
        }
        if refresh is not None:
            body["refresh_token"] = refresh
        issuer.record(
            TokenRequest(
                "POST",
                path,
                user,
                scopes,
                service,
                grant_type,
                200,
                tuple(a.scope() for a in access),
            )
        )
        self._send_json(HTTPStatus.OK, body)
