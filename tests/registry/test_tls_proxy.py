"""Per-host TLS, mutual TLS, broken certificates and proxies, against real components.

The registry is the real `docker-registry` (TLS from a throw-away CA, `http.tls.clientcas` for
mutual TLS); the proxy is a real one (tests/support/proxy.py) with its own host table, so that
`registry.test` resolves only through it: an image there that resolves proves the request went
through the proxy, and one that does not resolve without it proves it was not used.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest
import truststore

from gate.credentials import ANONYMOUS
from gate.model import Outcome
from gate.net import client_pair_problem
from gate.reference import parse_reference
from gate.registry import transport
from gate.registry.client import RegistryClient
from gate.registry.resolver import Resolution, Resolver
from gate.registry.transport import (
    HostTLS,
    TLSProfile,
    TLSSetupError,
    TransportOptions,
    build_client,
    ssl_context,
    tls_profile,
)
from tests.support.certs import make_client_pki, make_test_pki
from tests.support.cli import pullgate
from tests.support.images import push_image
from tests.support.proxy import TestProxy
from tests.support.registry import RegistryServer

PROXY_USER, PROXY_PASSWORD = "proxy-user", "proxy-pass-7f3a9c"
NAME = "registry.test"
"""A name only the test proxy resolves (to 127.0.0.1)."""


def _resolve(options: TransportOptions, image: str) -> Resolution:
    async def run() -> Resolution:
        async with RegistryClient(options) as client:
            return await Resolver(client).resolve(parse_reference(image), (ANONYMOUS,))

    return asyncio.run(run())


def _trusting(
    server: RegistryServer,
    host: str | None = None,
    client_pairs: tuple[tuple[str, str | None], ...] = (),
) -> TransportOptions:
    """No retries; the server's test CA trusted for `host` (default: the server's own)."""
    assert server.ca_file is not None
    tls = HostTLS(ca_files=(str(server.ca_file),), client_pairs=client_pairs)
    return TransportOptions(retries=0, host_tls={host or server.host: tls})


@pytest.fixture(autouse=True)
def _no_proxy_from_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def named_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """HTTPS, its certificate for `registry.test` too (and for 127.0.0.1, for seeding)."""
    server = RegistryServer(
        "tls", workdir=tmp_path_factory.mktemp("named"), dns_names=("localhost", NAME)
    )
    with server:
        yield server


@pytest.fixture(scope="module")
def mtls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    with RegistryServer("tls", workdir=tmp_path_factory.mktemp("mtls"), client_cas=True) as s:
        yield s


# -- TLS per host -------------------------------------------------------------------------------


def test_host_tls_ca_is_trusted_for_that_host_only(tls_registry: RegistryServer) -> None:
    push_image(tls_registry, "tlsproxy/ca", "1.0")
    image = f"{tls_registry.host}/tlsproxy/ca:1.0"
    assert _resolve(_trusting(tls_registry), image).outcome is Outcome.RESOLVED

    # the same CA given for another host: this one is not trusted, and the message says why
    elsewhere = _resolve(_trusting(tls_registry, host="other.example:5000"), image)
    assert elsewhere.outcome is Outcome.UNREACHABLE
    assert "TLS certificate verification failed" in elsewhere.detail
    assert "unknown authority" in elsewhere.detail
    for fix in ("`ca` in hosts.toml", f"registries.{tls_registry.host}.ca-file", "--ca-file"):
        assert fix in elsewhere.detail


def test_skip_verify_for_one_host(tls_registry: RegistryServer) -> None:
    push_image(tls_registry, "tlsproxy/skip", "1.0")
    options = TransportOptions(retries=0, host_tls={tls_registry.host: HostTLS(skip_verify=True)})
    result = _resolve(options, f"{tls_registry.host}/tlsproxy/skip:1.0")
    assert result.outcome is Outcome.RESOLVED


def test_mutual_tls(mtls_registry: RegistryServer) -> None:
    assert mtls_registry.client_pki is not None
    pki = mtls_registry.client_pki
    push_image(mtls_registry, "tlsproxy/mtls", "1.0")
    image = f"{mtls_registry.host}/tlsproxy/mtls:1.0"

    pair = ((str(pki.cert_file), str(pki.key_file)),)
    assert _resolve(_trusting(mtls_registry, client_pairs=pair), image).outcome is Outcome.RESOLVED
    # the key in the certificate's file, as containerd's `client = "file.pem"` allows
    combined = ((str(pki.combined_file), None),)
    result = _resolve(_trusting(mtls_registry, client_pairs=combined), image)
    assert result.outcome is Outcome.RESOLVED

    without = _resolve(_trusting(mtls_registry), image)
    assert without.outcome is Outcome.UNREACHABLE
    assert "requires a TLS client certificate" in without.detail
    assert "`client` in hosts.toml" in without.detail
    assert f"registries.{mtls_registry.host}.cert-file" in without.detail
    assert "attempts" not in without.detail  # asking again changes nothing: not retried


def test_client_certificate_that_cannot_load_names_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "client.crt"
    junk.write_text("not a certificate\n")
    assert client_pair_problem(str(junk), None) == f"{junk} holds no PEM certificate"
    missing = tmp_path / "missing.key"
    assert str(missing) in (client_pair_problem(str(junk), str(missing)) or "")
    options = TransportOptions(
        host_tls={"registry.example": HostTLS(client_pairs=((str(junk), None),))}
    )
    with pytest.raises(TLSSetupError, match=str(junk)):
        build_client(options)


def test_key_of_another_certificate(tmp_path: Path, mtls_registry: RegistryServer) -> None:
    assert mtls_registry.client_pki is not None
    other = make_client_pki(tmp_path / "other")
    problem = client_pair_problem(str(mtls_registry.client_pki.cert_file), str(other.key_file))
    assert problem == (
        f"the key {other.key_file} does not belong to the certificate "
        f"{mtls_registry.client_pki.cert_file}"
    )


def test_certificate_for_another_name(tmp_path: Path) -> None:
    # made out to `localhost` only: asked as 127.0.0.1, the name does not match
    with RegistryServer("tls", workdir=tmp_path / "reg", cert_ip_addresses=()) as server:
        push_image(server, "tlsproxy/name", "1.0")
        result = _resolve(_trusting(server), f"{server.host}/tlsproxy/name:1.0")
    assert result.outcome is Outcome.UNREACHABLE
    assert "the certificate is not valid for the name 127.0.0.1" in result.detail
    assert "use the name the certificate is for" in result.detail


def test_expired_certificate(tmp_path: Path) -> None:
    with RegistryServer("tls", workdir=tmp_path / "reg", cert_expired=True) as server:
        push_image(server, "tlsproxy/old", "1.0")
        result = _resolve(_trusting(server), f"{server.host}/tlsproxy/old:1.0")
    assert result.outcome is Outcome.UNREACHABLE
    assert "the certificate has expired" in result.detail
    assert "must be renewed on the registry" in result.detail


# -- proxies ------------------------------------------------------------------------------------


def _named_image(server: RegistryServer, repo: str) -> str:
    push_image(server, repo, "1.0")
    return f"{NAME}:{server.port}/{repo}:1.0"


def test_https_proxy_is_used(
    monkeypatch: pytest.MonkeyPatch, named_registry: RegistryServer
) -> None:
    image = _named_image(named_registry, "tlsproxy/via")
    with TestProxy(hosts={NAME: "127.0.0.1"}) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        result = _resolve(_trusting(named_registry, f"{NAME}:{named_registry.port}"), image)
    assert result.outcome is Outcome.RESOLVED, result.detail
    assert f"{NAME}:{named_registry.port}" in proxy.targets()
    assert {r.method for r in proxy.requests} == {"CONNECT"}


def test_no_proxy_bypasses_the_proxy(
    monkeypatch: pytest.MonkeyPatch, named_registry: RegistryServer
) -> None:
    image = _named_image(named_registry, "tlsproxy/direct")
    with TestProxy(hosts={NAME: "127.0.0.1"}) as proxy:
        monkeypatch.setenv("https_proxy", proxy.url)
        monkeypatch.setenv("no_proxy", f".example.com,{NAME}")
        result = _resolve(_trusting(named_registry, f"{NAME}:{named_registry.port}"), image)
    # gone direct: the name does not resolve outside the proxy
    assert result.outcome is Outcome.UNREACHABLE
    assert f"cannot resolve host {NAME}" in result.detail
    assert proxy.requests == []


def test_loopback_never_reaches_the_proxy(
    monkeypatch: pytest.MonkeyPatch, tls_registry: RegistryServer
) -> None:
    push_image(tls_registry, "tlsproxy/loopback", "1.0")
    with TestProxy(hosts={NAME: "127.0.0.1"}) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        result = _resolve(_trusting(tls_registry), f"{tls_registry.host}/tlsproxy/loopback:1.0")
    assert result.outcome is Outcome.RESOLVED
    assert proxy.requests == []


def test_proxy_asking_for_credentials(
    monkeypatch: pytest.MonkeyPatch, named_registry: RegistryServer
) -> None:
    image = _named_image(named_registry, "tlsproxy/auth")
    with TestProxy(hosts={NAME: "127.0.0.1"}, credentials=(PROXY_USER, PROXY_PASSWORD)) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        result = _resolve(_trusting(named_registry, f"{NAME}:{named_registry.port}"), image)
    assert result.outcome is Outcome.UNREACHABLE
    assert (
        f"the proxy {proxy.url} (from HTTPS_PROXY) asks for credentials "
        "(407 Proxy Authentication Required); put them in HTTPS_PROXY as "
        f"http://USER:PASSWORD@127.0.0.1:{proxy.port}"
    ) in result.detail
    assert "attempts" not in result.detail


def test_proxy_credentials_are_sent_and_never_shown(
    tmp_path: Path, named_registry: RegistryServer
) -> None:
    """End to end: the CLI with credentials in HTTPS_PROXY resolves through the proxy, and the
    password is nowhere in stdout (the JSON report) or stderr, even at -vv."""
    image = _named_image(named_registry, "tlsproxy/creds")
    assert named_registry.ca_file is not None
    pod = tmp_path / "pod.yaml"
    pod.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        f"    - name: app\n      image: {image}\n"
    )
    with TestProxy(hosts={NAME: "127.0.0.1"}, credentials=(PROXY_USER, PROXY_PASSWORD)) as proxy:
        result = pullgate(
            "check", "-vv", "--format", "json", "--no-node-credentials",
            "--ca-file", str(named_registry.ca_file), str(pod),
            env={"HTTPS_PROXY": proxy.url_with(PROXY_USER, PROXY_PASSWORD), "NO_PROXY": ""},
        )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["images"][0]["digest"].startswith("sha256:")
    assert proxy.requests and all(r.authorized for r in proxy.requests)
    for shown in (result.stdout, result.stderr):
        assert PROXY_PASSWORD not in shown


def test_wrong_proxy_credentials(
    monkeypatch: pytest.MonkeyPatch, named_registry: RegistryServer
) -> None:
    image = _named_image(named_registry, "tlsproxy/wrong")
    with TestProxy(hosts={NAME: "127.0.0.1"}, credentials=(PROXY_USER, PROXY_PASSWORD)) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url_with(PROXY_USER, "not-the-password"))
        result = _resolve(_trusting(named_registry, f"{NAME}:{named_registry.port}"), image)
    assert result.outcome is Outcome.UNREACHABLE
    assert "refused the credentials given in HTTPS_PROXY" in result.detail
    assert "not-the-password" not in result.detail
    assert proxy.requests and proxy.requests[0].authorization_sent


def test_plain_http_through_a_proxy_asking_for_credentials(
    monkeypatch: pytest.MonkeyPatch, registry: RegistryServer
) -> None:
    """A forwarded plain-HTTP request answered 407 gives the same message as a CONNECT."""
    push_image(registry, "tlsproxy/plain", "1.0")
    image = f"{NAME}:{registry.port}/tlsproxy/plain:1.0"
    options = TransportOptions(
        retries=0, insecure_registries=frozenset({f"{NAME}:{registry.port}"})
    )
    with TestProxy(hosts={NAME: "127.0.0.1"}, credentials=(PROXY_USER, PROXY_PASSWORD)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        refused = _resolve(options, image)
        monkeypatch.setenv("HTTP_PROXY", proxy.url_with(PROXY_USER, PROXY_PASSWORD))
        monkeypatch.setenv("HTTPS_PROXY", proxy.url_with(PROXY_USER, PROXY_PASSWORD))
        resolved = _resolve(options, image)
    assert refused.outcome is Outcome.UNREACHABLE
    assert "(from HTTP_PROXY) asks for credentials (407 Proxy Authentication Required)" in (
        refused.detail
    )
    assert "put them in HTTP_PROXY as http://USER:PASSWORD@" in refused.detail
    assert resolved.outcome is Outcome.RESOLVED, resolved.detail
    forwarded = [r for r in proxy.requests if r.method != "CONNECT" and r.authorized]
    assert forwarded and forwarded[0].target.startswith(f"http://{NAME}:{registry.port}/v2/")


def test_proxy_that_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch, named_registry: RegistryServer
) -> None:
    image = _named_image(named_registry, "tlsproxy/down")
    monkeypatch.setenv("HTTPS_PROXY", f"{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:9")
    result = _resolve(_trusting(named_registry, f"{NAME}:{named_registry.port}"), image)
    assert result.outcome is Outcome.UNREACHABLE
    assert "cannot reach the proxy http://127.0.0.1:9 (from HTTPS_PROXY)" in result.detail
    assert PROXY_PASSWORD not in result.detail and PROXY_USER not in result.detail


def test_proxy_refusing_the_connection(
    monkeypatch: pytest.MonkeyPatch, named_registry: RegistryServer
) -> None:
    image = _named_image(named_registry, "tlsproxy/refused")
    with TestProxy(hosts={}) as proxy:  # knows no name: CONNECT answered 502
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        result = _resolve(_trusting(named_registry, f"{NAME}:{named_registry.port}"), image)
    assert result.outcome is Outcome.UNREACHABLE
    assert (
        f"the proxy {proxy.url} (from HTTPS_PROXY) would not open a connection to "
        f"{NAME}:{named_registry.port} (502 Bad Gateway)"
    ) in result.detail


# -- how a host's TLS is put together -----------------------------------------------------------


def test_tls_profile_host_port_entry_over_bare_host() -> None:
    """A host's TLS is for that host URL only, as containerd builds one client per
    `[host."…"]` (`config/hosts.go`): a bare `reg.example` is port 443, so its skip_verify
    and CAs never reach `reg.example:5000`. `--insecure-registry`'s bare name keeps meaning
    every port (as Docker's does)."""
    options = TransportOptions(
        ca_files=("all.pem",),
        host_tls={
            "reg.example": HostTLS(ca_files=("bare.pem",), skip_verify=True),
            "reg.example:5000": HostTLS(ca_files=("port.pem",), skip_verify=False),
        },
    )
    on_5000 = tls_profile(options, "reg.example", 5000)
    assert on_5000.verify
    assert on_5000.ca_files == ("all.pem", "port.pem")
    only_bare = TransportOptions(host_tls={"reg.example": HostTLS(skip_verify=True)})
    assert tls_profile(only_bare, "reg.example", 5000).verify
    assert not tls_profile(options, "reg.example", 443).verify  # only the bare entry applies
    assert tls_profile(options, "other.example", 443) == TLSProfile(ca_files=("all.pem",))
    insecure = TransportOptions(insecure_registries=frozenset({"reg.example:5000"}))
    assert not tls_profile(insecure, "reg.example", 5000).verify
    assert tls_profile(insecure, "reg.example", 443).verify


def test_certifi_stands_in_where_the_system_has_no_ca(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[object] = []
    real = truststore.SSLContext.load_verify_locations

    def spy(self: truststore.SSLContext, cafile: object = None, **kwargs: object) -> None:
        loaded.append(cafile)
        real(self, cafile=cafile, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(truststore.SSLContext, "load_verify_locations", spy)
    ssl_context()
    assert certifi.where() not in loaded  # this machine has a CA store of its own
    monkeypatch.setattr(transport, "_system_has_cas", lambda: False)
    context = ssl_context()
    assert loaded == [certifi.where()]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_a_proxy_url_httpx_cannot_use_is_a_plain_message(tmp_path: Path) -> None:
    """Go parses `http://u:pw@1.2.3.999:3128` and fails at the dial; here it is a located
    finding naming the variable, never the URL with its password, and no traceback."""
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        "spec: {containers: [{name: a, image: 'registry.test:5000/x/y:1'}]}\n"
    )
    env = {"HTTPS_PROXY": "http://user:pw-SECRET@1.2.3.999:3128", "NO_PROXY": ""}
    result = pullgate("check", "--retries", "0", "--no-ci-logins", str(manifest), env=env)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert "the proxy URL in HTTPS_PROXY is not valid" in result.stdout
    assert "pw-SECRET" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


class _LateAlertServer:
    """A TLS 1.3 server that demands a client certificate and reads the client's last
    handshake flight only after a pause: the client has finished its handshake and sent its
    request, so the alert (`certificate required`) reaches it on its first read, the path
    where anyio raises a raw `ssl.SSLError` that httpcore does not map. Real TLS, one
    connection at a time, in a thread."""

    def __init__(self, directory: Path) -> None:
        import socket
        import threading

        self.pki = make_test_pki(directory)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_3
        self.context.load_cert_chain(str(self.pki.cert_file), str(self.pki.key_file))
        self.context.load_verify_locations(str(self.pki.ca_file))
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.alerts = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import time

        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
                tls = self.context.wrap_bio(incoming, outgoing, server_side=True)
                flights = 0
                while True:
                    data = connection.recv(65536)
                    if not data:
                        break
                    incoming.write(data)
                    try:
                        tls.do_handshake()
                    except ssl.SSLWantReadError:
                        pass
                    except ssl.SSLError:
                        connection.sendall(outgoing.read())  # the alert
                        self.alerts += 1
                        break
                    connection.sendall(outgoing.read())
                    flights += 1
                    if flights == 1:
                        time.sleep(0.5)  # the client finishes, sends its request, reads

    def close(self) -> None:
        self.listener.close()


def test_an_alert_on_the_first_read_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    """A server that refuses the missing client certificate after the handshake (TLS 1.3):
    the alert arrives on the client's first read. It is the same located finding as one
    during the handshake (it was an internal error, exit 2, whenever CI was slow)."""
    server = _LateAlertServer(tmp_path / "pki")
    try:
        tls = HostTLS(ca_files=(str(server.pki.ca_file),))
        options = TransportOptions(retries=0, host_tls={server.host: tls})
        result = _resolve(options, f"{server.host}/team/app:1.0")
    finally:
        server.close()
    assert server.alerts >= 1  # the server did refuse, after the client's handshake
    assert result.outcome is Outcome.UNREACHABLE
    assert "requires a TLS client certificate" in result.detail
    assert "`client` in hosts.toml" in result.detail
