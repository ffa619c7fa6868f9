"""What the registry and cluster clients share about the network: hosts, retries, failure words.

Both clients open their own connections; this module opens none. It holds the three things they
must decide alike: which hosts are loopback (never proxied, plain HTTP allowed), when and how
long to retry (one tenacity policy: exponential backoff with jitter, a capped `Retry-After`),
and how a failed connection is worded (never with a credential, never with raw protocol bytes).
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import signal
import socket
import ssl
import threading
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any, TypeVar

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from gate.errors import Terminated

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
"""Answers worth asking again: the server or something in front of it is busy or restarting
(a 500 is the server's own failure, which asking again does not cure)."""
MAX_RETRY_AFTER = 30.0
"""Longest `Retry-After` honoured, in seconds: a gate waits for a restart, not for a quota."""


def split_host(host: str) -> tuple[str, int | None]:
    """`registry:5000` -> ("registry", 5000); `[::1]:5000` -> ("::1", 5000)."""
    if host.startswith("["):
        end = host.find("]")
        name, rest = host[1:end], host[end + 1 :]
        return name, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        return name, int(port)
    return host, None


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1, with or without a port."""
    name, _ = split_host(host)
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


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


def failure_reason(url: str | httpx.URL, exc: httpx.HTTPError) -> str:
    """What went wrong reaching `url`, in plain words: `cannot resolve host x`, `connection
    refused`, `timed out (ConnectTimeout)`, `TLS certificate verification failed`, …"""
    if isinstance(exc, httpx.TimeoutException):
        said = str(exc)
        return (
            f"timed out ({said if said.startswith('no complete answer') else type(exc).__name__})"
        )
    if is_cert_failure(exc):
        return "TLS certificate verification failed"
    host = httpx.URL(url).host
    for cause in causes(exc):
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve host {host}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed ({cause.reason or cause})"
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "name or service not known" in lowered or "name resolution" in lowered:
        return f"cannot resolve host {host}"
    if "connection refused" in lowered or "all connection attempts failed" in lowered:
        return "connection refused"
    if isinstance(exc, httpx.ProxyError):
        return f"proxy error ({text})"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({text})"
    return text


# --- checking settings before any connection --------------------------------------------------


def url_problem(url: str) -> str | None:
    """Why `url` cannot name a mirror (an http(s) URL without user info), or None."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return f"{url!r} is not a URL"
    if parsed.scheme not in ("https", "http") or not parsed.host:
        return "must be an http(s):// URL"
    if parsed.userinfo:
        return "must not carry a user name or password (mirrors are asked anonymously)"
    return None


def ca_file_problem(path: str) -> str | None:
    """Why `path` cannot serve as a PEM CA bundle, or None (checked before any connection)."""
    try:
        ssl.create_default_context().load_verify_locations(cafile=path)
    except (ssl.SSLError, OSError, ValueError) as exc:
        return f"{path} is not a PEM CA bundle ({getattr(exc, 'reason', None) or exc})"
    return None


def client_pair_problem(cert_file: str, key_file: str | None) -> str | None:
    """Why `cert_file` (with `key_file`, or its own key) cannot serve as a TLS client
    certificate, or None (checked before any connection). The message names the files only."""
    try:
        ssl.create_default_context().load_cert_chain(cert_file, key_file)
    except (ssl.SSLError, OSError, ValueError) as exc:
        files = f"{cert_file} and {key_file}" if key_file else cert_file
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        return f"{files}: not a PEM client certificate and key ({reason})"
    return None
