"""Credentials stage: which credentials the kubelet would offer a registry for a pod.

A credential carries its values privately: `repr` and `str` show only where it came from, so
that no log line, exception or report can print a password by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gate.errors import GateError


@dataclass(frozen=True)
class Credential:
    """One login for one registry, named by its source (never by its value)."""

    source: str
    """`anonymous`, `secret:<ns>/<name>`, `docker-config:<path>`, `helper:<name>`, `env:<VAR>`."""
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)
    """A refresh token (docker config `identitytoken`), exchanged at the token endpoint."""
    registry_token: str | None = field(default=None, repr=False)
    """A bearer token to send as is (docker config `registrytoken`)."""

    @property
    def anonymous(self) -> bool:
        return not (self.username or self.password or self.identity_token or self.registry_token)

    def __str__(self) -> str:
        return self.source


ANONYMOUS = Credential("anonymous")


class CredentialConfigError(GateError):
    """A declared credential source that cannot be used: a docker config that does not exist or
    does not parse, a credential provider config the kubelet would refuse (the CLI exits 2).

    The message names the path and the reason, never a value from the file.
    """
