"""docker-credential-helpers: ask `docker-credential-<name> get` for a registry's login.

The protocol (github.com/docker/docker-credential-helpers, `client.Get`): run the program with
the single argument `get`, write the server URL to its stdin, read
`{"ServerURL": ..., "Username": ..., "Secret": ...}` from its stdout. A helper that has nothing
exits non-zero and prints `credentials not found in native keychain`; a `Username` of `<token>`
means `Secret` is an identity token (an OAuth2 refresh token), not a password.

A helper's output holds the secret, and its error output may too (a shell trace, a dump), so
no message, log line or exception here ever includes any of it: only the program's name, the
server, the exit status. The program runs without a shell, in its own process group, and is
killed with its children after a timeout: a helper waiting for a desktop keychain prompt must
not hang a CI job.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Mapping

from gate.credentials import Credential
from gate.credentials.process import TimedOut, run_program
from gate.errors import GateError

log = logging.getLogger(__name__)

HELPER_PREFIX = "docker-credential-"
DEFAULT_TIMEOUT = 10.0
"""Seconds a helper may take to answer."""
TOKEN_USERNAME = "<token>"
"""The username with which a helper says its secret is an identity token."""

_NOT_FOUND = "credentials not found"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class CredentialHelperError(GateError):
    """A credential helper that is missing, crashed, timed out or answered nonsense.

    The message names the program and the server, never anything the program printed.
    """


def helper_source(name: str) -> str:
    return f"helper:{name}"


def helper_program(name: str) -> str:
    """`docker-credential-<name>`, refusing names that could be paths or options."""
    if _NAME.fullmatch(name) is None:
        raise CredentialHelperError(
            f"invalid credential helper name {name[:60]!r}: expected letters, digits, '.', '_' "
            "or '-' (the program docker-credential-<name> is run)"
        )
    return HELPER_PREFIX + name


def run_helper(
    name: str,
    server_url: str,
    environ: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Credential | None:
    """Ask helper `name` for `server_url`'s login: a Credential, or None if it has none.

    `environ` is the helper's environment and where its `PATH` comes from (default: this
    process's). Raises `CredentialHelperError` on any other outcome.
    """
    program = helper_program(name)
    env = dict(os.environ if environ is None else environ)
    path = shutil.which(program, path=env.get("PATH", os.defpath))
    if path is None:
        raise CredentialHelperError(
            f"credential helper {program} is not installed (not found on PATH); "
            "it is named by the docker config's credsStore or credHelpers"
        )
    log.debug("asking %s for the login to %s", program, server_url)
    try:
        finished = run_program(
            [path, "get"], server_url.encode(), env, timeout, capture_stderr=True
        )
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CredentialHelperError(
            f"credential helper {program} could not be run: {reason}"
        ) from None
    except TimedOut:
        raise CredentialHelperError(
            f"credential helper {program} did not answer for {server_url} within {timeout:g} s"
        ) from None
    if finished.returncode != 0:
        output = (
            (finished.stdout + b"\n" + finished.stderr).decode("utf-8", errors="replace").lower()
        )
        if _NOT_FOUND in output:
            log.debug("%s has no login for %s", program, server_url)
            return None
        status = (
            f"killed by signal {-finished.returncode}"
            if finished.returncode < 0
            else f"exit status {finished.returncode}"
        )
        raise CredentialHelperError(
            f"credential helper {program} failed for {server_url} ({status}); "
            "its output is not shown because it may contain secrets"
        )
    return _parse_output(finished.stdout, program, name, server_url)


def _parse_output(stdout: bytes, program: str, name: str, server_url: str) -> Credential | None:
    try:
        document = json.loads(stdout.decode("utf-8", errors="replace"))
    except json.JSONDecodeError:
        document = None
    username = document.get("Username") if isinstance(document, dict) else None
    secret = document.get("Secret") if isinstance(document, dict) else None
    if not isinstance(username, (str, type(None))) or not isinstance(secret, (str, type(None))):
        document = None
    if not isinstance(document, dict):
        raise CredentialHelperError(
            f"credential helper {program} answered for {server_url} with something other than "
            'the {"ServerURL", "Username", "Secret"} JSON object'
        )
    if not username and not secret:
        log.debug("%s has an empty login for %s", program, server_url)
        return None
    source = helper_source(name)
    if username == TOKEN_USERNAME:
        return Credential(source, identity_token=secret or None)
    return Credential(source, username=username or None, password=secret or None)


class CredentialHelpers:
    """Runs helpers on demand and remembers every answer (and failure) for the run.

    Keyed by (helper, server URL): each helper runs at most once per server in a run.
    """

    def __init__(
        self, environ: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self._timeout = timeout
        self._results: dict[tuple[str, str], Credential | CredentialHelperError | None] = {}
        self.runs = 0
        """Helper processes started (for tests)."""

    def get(self, name: str, server_url: str) -> Credential | None:
        """The login helper `name` holds for `server_url`, or None; `CredentialHelperError`
        if the helper failed (now or earlier in the run)."""
        key = (name, server_url)
        if key not in self._results:
            self.runs += 1
            try:
                self._results[key] = run_helper(name, server_url, self._environ, self._timeout)
            except CredentialHelperError as exc:
                self._results[key] = exc
        result = self._results[key]
        if isinstance(result, CredentialHelperError):
            raise CredentialHelperError(str(result))
        return result
