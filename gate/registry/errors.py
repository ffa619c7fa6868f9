"""What can go wrong when asking a registry, in terms the policy stage turns into findings."""

from __future__ import annotations


class RegistryError(Exception):
    """Base class; `str()` is a plain sentence without any credential in it."""


class ManifestUnknown(RegistryError):
    """404 MANIFEST_UNKNOWN (or a bare 404): no such tag or digest."""


class NameUnknown(RegistryError):
    """404 NAME_UNKNOWN: no such repository."""


class Unauthorized(RegistryError):
    """401 or 403 after offering the credential."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Unreachable(RegistryError):
    """DNS, connect, TLS, proxy, timeout, rate limit or server errors, after retries."""


class TLSVerificationFailed(Unreachable):
    """The certificate did not verify: never retried, never a reason to try plain HTTP."""


class InvalidResponse(RegistryError):
    """The registry answered, but with something unusable (digest mismatch, oversize, junk)."""


class InsecureRefused(RegistryError):
    """Sending a credential would need plain HTTP to a host not marked insecure."""
