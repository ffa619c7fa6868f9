"""What the registry and cluster clients share about the network: hosts, retries, failure words.

Both clients open their own connections; this module opens none. It holds the three things they
must decide alike: which hosts are loopback (never proxied, plain HTTP allowed), when and how
long to retry (one tenacity policy: exponential backoff with jitter, a capped `Retry-After`),
and how a failed connection is worded (never with a credential, never with raw protocol bytes).
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
import socket
import ssl
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from types import FrameType
from typing import Any, Literal, TypeVar

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from gate.addresses import DEFAULT_PORTS, LOOPBACK_HOSTS, is_loopback, split_host, url_problem
from gate.errors import Terminated
from gate.pem import ca_file_problem, client_pair_problem

RETRY_STATUSES = frozenset({429, 502, 503, 504})
"""Answers worth asking again: the server or something in front of it is busy or restarting
(a 500 is the server's own failure, which asking again does not cure)."""
MAX_RETRY_AFTER = 30.0
"""Longest `Retry-After` honoured, in seconds: a gate waits for a restart, not for a quota."""


def origin(url: str | httpx.URL) -> str:
    """`https://host:port` of a URL: where a failure happened, without path or query."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode('ascii')}"


# --- retries ----------------------------------------------------------------------------------


class Retryable(Exception):
    """A transient failure: raise it inside `retrying()` to be tried again."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after(response: httpx.Response) -> float | None:
    """The `Retry-After` of an answer in seconds, if it gives a number."""
    value = response.headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def retrying(
    attempts: int, backoff: float, also: Callable[[BaseException], bool] | None = None
) -> AsyncRetrying:
    """The one retry policy: `attempts` tries, `backoff * 2**n` with ±50 % jitter between them,
    no wait longer than `MAX_RETRY_AFTER`.

    `Retryable` is retried, and whatever else `also` accepts; a `Retry-After` lengthens the
    wait up to `MAX_RETRY_AFTER`. The last failure is re-raised as it was.
    """

    def wait(state: RetryCallState) -> float:
        jitter = 0.5 + random.random()
        delay: float = min(backoff * (2 ** (state.attempt_number - 1)) * jitter, MAX_RETRY_AFTER)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Retryable) and exc.retry_after is not None:
            return min(max(delay, exc.retry_after), MAX_RETRY_AFTER)
        return delay

    def worth_retrying(exc: BaseException) -> bool:
        return isinstance(exc, Retryable) or (also is not None and also(exc))

    return AsyncRetrying(
        stop=stop_after_attempt(max(1, attempts)),
        wait=wait,
        retry=retry_if_exception(worth_retrying),
        reraise=True,
    )


T = TypeVar("T")

# --- running -------------------------------------------------------------------------------


def run_cancellable(work: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(work)`, where SIGTERM cancels the work as Ctrl-C does, then raises
    `Terminated`.

    A signal handler that raises inside the event loop is unsafe: asyncio logs and drops any
    exception but KeyboardInterrupt raised in a callback, and tasks still running at shutdown
    report it again. Cancelling the main task lets every task wind down (connections closed),
    and the previous SIGTERM handler is back in place afterwards.
    """
    terminated: list[bool] = []

    async def main() -> T | None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            terminated.append(True)
            if task is not None:
                loop.call_soon_threadsafe(task.cancel)

        # a Python-level handler (not loop.add_signal_handler, whose removal leaves SIGTERM at
        # its default, killing the process without cleanup, until the old one is back)
        previous = None
        if task is not None and threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, on_sigterm)
        try:
            return await work
        except asyncio.CancelledError:
            if terminated:
                return None
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    result = asyncio.run(main())
    if terminated:
        raise Terminated(signal.SIGTERM)
    return result  # type: ignore[return-value]


# --- wording failures -------------------------------------------------------------------------


def causes(exc: BaseException) -> list[BaseException]:
    """`exc` and every exception it was raised from or during, innermost last."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def is_cert_failure(exc: BaseException) -> bool:
    """Whether a TLS certificate did not verify (final: never retried, never downgraded)."""
    return any(
        isinstance(c, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(c)
        for c in causes(exc)
    )


def is_name_unknown(exc: BaseException) -> bool:
    """DNS answered that the host does not exist (NXDOMAIN): final, unlike a DNS timeout."""
    return any(
        isinstance(cause, socket.gaierror)
        and cause.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME))
        for cause in causes(exc)
    )


@dataclass(frozen=True)
class Route:
    """How a failed request was sent, as the transport that sent it knows: the proxy (named
    without credentials) and the variable it came from, and whether a client certificate was
    offered. Attached to the exception with `mark_route`, read back with `route_of`."""

    proxy: str | None = None
    """`scheme://host:port` of the proxy, never with its user name or password."""
    proxy_variable: str | None = None
    proxy_credentials: bool = False
    """Whether the proxy URL carried a user name or password (sent as Proxy-Authorization)."""
    client_certificate: bool = False


_ROUTE = "_pullgate_route"


def mark_route(exc: BaseException, route: Route) -> None:
    """Remember on `exc` how its request was sent (for `describe_failure`)."""
    setattr(exc, _ROUTE, route)


def route_of(exc: BaseException) -> Route | None:
    """The `Route` marked on `exc` or on anything it was raised from, or None."""
    for cause in causes(exc):
        route = getattr(cause, _ROUTE, None)
        if isinstance(route, Route):
            return route
    return None


# OpenSSL's X509_V_ERR_* codes, as `ssl.SSLCertVerificationError.verify_code` carries them.
_UNKNOWN_AUTHORITY = frozenset({2, 18, 19, 20, 21, 27})
"""Issuer not found, self-signed leaf, self-signed in chain, no local issuer, leaf not
verifiable, untrusted."""
_NOT_YET_VALID, _EXPIRED = 9, 10
_WRONG_NAME = frozenset({62, 63, 64})
"""Hostname, email and IP address mismatch."""

_CLIENT_CERT_REQUIRED = ("CERTIFICATE_REQUIRED",)
"""TLS 1.3's `certificate_required` alert: the server wants a client certificate."""
_CLIENT_CERT_REFUSED = (
    "ALERT_BAD_CERTIFICATE",
    "ALERT_UNKNOWN_CA",
    "ALERT_CERTIFICATE_UNKNOWN",
    "ALERT_UNSUPPORTED_CERTIFICATE",
    "ALERT_CERTIFICATE_EXPIRED",
    "ALERT_CERTIFICATE_REVOKED",
)
"""Alerts a server sends about the client's certificate (or its absence, before TLS 1.3)."""
_HANDSHAKE_FAILURE = "ALERT_HANDSHAKE_FAILURE"

FailureKind = Literal[
    "timeout",
    "cert-unknown-authority",
    "cert-expired",
    "cert-not-yet-valid",
    "cert-wrong-name",
    "cert-other",
    "client-cert-required",
    "client-cert-refused",
    "tls",
    "proxy-auth",
    "proxy-refused",
    "proxy-unreachable",
    "proxy-unsupported",
    "dns",
    "refused",
    "other",
]


@dataclass(frozen=True)
class Failure:
    """A failed request in plain words (`reason`), what kind of failure it is, and how the
    request was sent (`route`, where the transport marked it)."""

    reason: str
    kind: FailureKind
    route: Route | None = None

    @property
    def proxied(self) -> bool:
        return self.route is not None and self.route.proxy is not None


def _verification_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    for cause in causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
    return None


def _tls_alert(exc: BaseException) -> str | None:
    """The OpenSSL reason of the innermost TLS error (`TLSV13_ALERT_CERTIFICATE_REQUIRED`, …)."""
    for cause in reversed(causes(exc)):
        if isinstance(cause, ssl.SSLError):
            return str(cause.reason or cause)
    for cause in causes(exc):
        match = re.search(r"\b[A-Z0-9]+_ALERT_[A-Z_]+\b", str(cause))
        if match:
            return match.group(0)
    return None


def _code_from_words(said: str) -> int | None:
    """The OpenSSL code that an OS verifier's message means, where it says plainly."""
    if "expired" in said:
        return _EXPIRED
    if "not yet valid" in said or "not valid yet" in said:
        return _NOT_YET_VALID
    if "hostname" in said or "name mismatch" in said or "does not match" in said:
        return 62
    if (
        "not trusted" in said
        or "untrusted" in said
        or "self-signed" in said
        or "self signed" in said
    ):
        return 19
    return None


def _cert_failure(host: str, exc: BaseException) -> tuple[FailureKind, str]:
    """Why the server's certificate did not verify, from OpenSSL's verify code."""
    error = _verification_error(exc)
    code = getattr(error, "verify_code", None)
    said = str(getattr(error, "verify_message", "") or "").rstrip(".")
    if code not in (*_UNKNOWN_AUTHORITY, _EXPIRED, _NOT_YET_VALID, *_WRONG_NAME):
        # truststore on macOS and Windows carries the OS's own codes: read its words
        code = _code_from_words(said.lower())
    if code in _UNKNOWN_AUTHORITY:
        detail = f" ({said})" if said else ""
        words = f"the certificate is signed by an unknown authority{detail}"
        return "cert-unknown-authority", words
    if code == _EXPIRED:
        return "cert-expired", "the certificate has expired"
    if code == _NOT_YET_VALID:
        return "cert-not-yet-valid", "the certificate is not valid yet"
    if code in _WRONG_NAME:
        return "cert-wrong-name", f"the certificate is not valid for the name {host}"
    return "cert-other", said or "the certificate did not verify"


def _proxy_failure(url: str | httpx.URL, exc: httpx.HTTPError, route: Route) -> Failure | None:
    """What went wrong at the proxy itself, or None when the failure is the far end's."""
    proxy = f"the proxy {route.proxy} (from {route.proxy_variable})"
    text = str(exc)
    if isinstance(exc, httpx.ProxyError):
        status = re.match(r"^(\d{3})\b\s*(.*)$", text)
        if status and status.group(1) == "407":
            if route.proxy_credentials:
                return Failure(
                    f"{proxy} refused the credentials given in {route.proxy_variable} "
                    "(407 Proxy Authentication Required)",
                    "proxy-auth",
                    route,
                )
            return Failure(
                f"{proxy} asks for credentials (407 Proxy Authentication Required)",
                "proxy-auth",
                route,
            )
        if status:
            target = httpx.URL(url)
            where = f"{target.host}:{target.port or DEFAULT_PORTS.get(target.scheme, 443)}"
            return Failure(
                f"{proxy} would not open a connection to {where} ({text.strip()})",
                "proxy-refused",
                route,
            )
        if text.startswith("unsupported proxy scheme "):
            scheme = text.rpartition(" ")[2]
            return Failure(
                f"{proxy} is a {scheme}:// proxy, which pullgate cannot use "
                "(http:// and https:// proxies only)",
                "proxy-unsupported",
                route,
            )
    if is_cert_failure(exc) or any(isinstance(c, ssl.SSLError) for c in causes(exc)):
        return None  # TLS with the registry, through the tunnel: the far end's
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return None
    unreachable = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)) or any(
        isinstance(c, (socket.gaierror, ConnectionRefusedError)) for c in causes(exc)
    )
    if not unreachable:
        return None
    if isinstance(exc, httpx.ConnectTimeout):
        why = "timed out"
    elif any(isinstance(c, socket.gaierror) for c in causes(exc)) or "name" in text.lower():
        why = "its host name does not resolve"
    elif "refused" in text.lower() or "all connection attempts failed" in text.lower():
        why = "connection refused"
    else:
        why = text or type(exc).__name__
    return Failure(f"cannot reach {proxy}: {why}", "proxy-unreachable", route)


def describe_failure(url: str | httpx.URL, exc: httpx.HTTPError) -> Failure:
    """What went wrong reaching `url`: plain words, the kind, and the proxy it went through.

    Never a credential: a proxy is named as `scheme://host:port` and the variable it came
    from; a TLS failure by OpenSSL's verify code (unknown authority, expired, wrong name) or
    by the server's alert (it wants a client certificate).
    """
    route = route_of(exc)
    if route is not None and route.proxy is not None:
        at_proxy = _proxy_failure(url, exc, route)
        if at_proxy is not None:
            return at_proxy
    failure = _direct_failure(url, exc, route)
    if route is not None and route.proxy is not None:
        return Failure(
            f"{failure.reason} (through the proxy {route.proxy} from {route.proxy_variable})",
            failure.kind,
            route,
        )
    return failure


def _direct_failure(url: str | httpx.URL, exc: httpx.HTTPError, route: Route | None) -> Failure:
    host = httpx.URL(url).host
    if isinstance(exc, httpx.TimeoutException):
        said = str(exc)
        kind = said if said.startswith("no complete answer") else type(exc).__name__
        return Failure(f"timed out ({kind})", "timeout", route)
    if is_cert_failure(exc):
        kind, words = _cert_failure(host, exc)
        return Failure(f"TLS certificate verification failed: {words}", kind, route)
    alert = _tls_alert(exc)
    offered = route is not None and route.client_certificate
    if alert is not None:
        upper = alert.upper()
        if any(word in upper for word in _CLIENT_CERT_REQUIRED) or (
            not offered and any(word in upper for word in _CLIENT_CERT_REFUSED)
        ):
            return Failure(
                f"the server requires a TLS client certificate ({alert})",
                "client-cert-required",
                route,
            )
        if offered and any(word in upper for word in _CLIENT_CERT_REFUSED):
            return Failure(
                f"the server refused the TLS client certificate ({alert})",
                "client-cert-refused",
                route,
            )
        if _HANDSHAKE_FAILURE in upper and not offered:
            return Failure(
                f"TLS handshake failed ({alert}); the server may require a client certificate",
                "client-cert-required",
                route,
            )
    for cause in causes(exc):
        if isinstance(cause, socket.gaierror):
            return Failure(f"cannot resolve host {host}", "dns", route)
        if isinstance(cause, ConnectionRefusedError):
            return Failure("connection refused", "refused", route)
        if isinstance(cause, ssl.SSLError):
            return Failure(f"TLS handshake failed ({cause.reason or cause})", "tls", route)
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "name or service not known" in lowered or "name resolution" in lowered:
        return Failure(f"cannot resolve host {host}", "dns", route)
    if "connection refused" in lowered or "all connection attempts failed" in lowered:
        return Failure("connection refused", "refused", route)
    if isinstance(exc, httpx.ProxyError):
        return Failure(f"proxy error ({text})", "other", route)
    if isinstance(exc, httpx.ConnectError):
        return Failure(f"cannot connect ({text})", "other", route)
    return Failure(text, "other", route)


def failure_reason(url: str | httpx.URL, exc: httpx.HTTPError) -> str:
    """What went wrong reaching `url`, in plain words: `cannot resolve host x`, `connection
    refused`, `timed out (ConnectTimeout)`, `TLS certificate verification failed: the
    certificate has expired`, `cannot reach the proxy http://proxy:3128 (from HTTPS_PROXY):
    connection refused`, …"""
    return describe_failure(url, exc).reason


# --- checking settings before any connection --------------------------------------------------


__all__ = [
    "DEFAULT_PORTS",
    "LOOPBACK_HOSTS",
    "ca_file_problem",
    "client_pair_problem",
    "is_loopback",
    "split_host",
    "url_problem",
]
