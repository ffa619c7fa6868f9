"""What can go wrong when asking a registry, and how its answers say so (status, error body).

The errors are in terms the policy stage turns into findings; the distribution error body
(`{"errors": [{"code": …, "message": …}]}`) decides between them where the status does not.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from gate.credentials import Credential
from gate.reference import Reference, api_host


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


class RateLimited(Unreachable):
    """Docker Hub's pull budget is spent for this runner (429 `TOOMANYREQUESTS`): not asked
    again for hours, and no word on the nodes' own budget."""


class TLSVerificationFailed(Unreachable):
    """The certificate did not verify: never retried, never a reason to try plain HTTP."""


class InvalidResponse(RegistryError):
    """The registry answered, but with something unusable (digest mismatch, oversize, junk)."""


class IntegrityError(InvalidResponse):
    """What was served fails integrity: bytes that do not hash to their digest, a manifest
    that is not a JSON object, an index without manifests, a type that is no image."""


class InsecureRefused(RegistryError):
    """Sending a credential would need plain HTTP to a host not marked insecure."""


# -- a registry's answer as one of these -------------------------------------------------------


def raise_for_status(
    response: httpx.Response, body: bytes, ref: Reference, path: str, credential: Credential
) -> None:
    """Raise what an answer other than 2xx to `path` in `ref`'s repository means."""
    status = response.status_code
    if status < 300:
        return
    codes = _error_codes(body)
    detail = registry_message(body)
    if status == 404 or "MANIFEST_UNKNOWN" in codes or "NAME_UNKNOWN" in codes:
        if "NAME_UNKNOWN" in codes:
            raise NameUnknown(f"repository {ref.name} not found{detail}")
        raise ManifestUnknown(f"{path.partition('/')[2]} not found in {ref.name}{detail}")
    if status in (401, 403):
        # The finding names the registry, the repository and every credential tried;
        # this says only what the registry answered to this one.
        raise Unauthorized(f"{credential.source} answered {status}{detail}", status)
    raise InvalidResponse(f"{api_host(ref.domain)} answered {status}{detail} for {ref.name}")


def registry_message(body: bytes) -> str:
    """`: CODE: message` from an error body, without echoing anything else the server sent."""
    errors = _errors(body)
    if not errors:
        return ""
    first = errors[0]
    code, message = str(first.get("code", "")), str(first.get("message", ""))[:200]
    return f": {code}: {message}" if code and message else f": {code or message}"


def _error_codes(body: bytes) -> set[str]:
    return {str(e.get("code", "")) for e in _errors(body)}


def _errors(body: bytes) -> list[dict[str, Any]]:
    """The `errors` of a distribution error body (empty when there is none, or no JSON)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return []
    errors = document.get("errors") if isinstance(document, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
