"""Ask skopeo, an independent registry client, what a reference resolves to.

Tests compare pullgate's answers (and our push helpers' digests) against skopeo's, so a bug
shared by our code and our helpers cannot hide.

What skopeo 1.9.3 reports, checked against distribution 2.8:

* ``skopeo inspect`` (no ``--raw``) puts the digest of the *top-level* manifest in
  ``Digest`` — for an image index / manifest list that is the index digest, not the child —
  but it still picks a platform child to read the config from, so it *fails* on an index
  without a child for the running (or ``--override-*``) platform.
* ``skopeo inspect --raw`` prints the manifest bytes exactly as served (no trailing
  newline) with no platform step, so sha256 of its output is the digest for every kind of
  manifest. :func:`skopeo_inspect_digest` uses that.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Sequence
from typing import Any

from tests.support.registry import Credentials, RegistryServer, require_tool


class SkopeoError(RuntimeError):
    """skopeo exited non-zero; the message carries its stderr."""

    def __init__(self, message: str, stderr: str) -> None:
        super().__init__(message)
        self.stderr = stderr


def _transport_ref(server: RegistryServer, repo: str, ref: str) -> str:
    return "docker://" + server.reference(repo, ref)


def skopeo_args(server: RegistryServer, creds: Credentials | None) -> list[str]:
    """TLS and auth flags for ``server``: plain HTTP needs ``--tls-verify=false``, TLS a
    ``--cert-dir`` holding ``ca.crt``; ``--no-creds`` keeps any ambient auth.json out."""
    args: list[str] = []
    if server.tls:
        assert server.ca_dir is not None
        args += ["--tls-verify=true", "--cert-dir", str(server.ca_dir)]
    else:
        args.append("--tls-verify=false")
    if creds is None:
        args.append("--no-creds")
    else:
        args += ["--creds", creds.colon_joined()]
    return args


def _run(
    global_args: Sequence[str], inspect_args: Sequence[str], what: str, timeout: float
) -> bytes:
    binary = require_tool("skopeo")
    cmd = [binary, *global_args, "inspect", *inspect_args]
    proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()
        # The command line may carry --creds, so it is deliberately not in the message.
        raise SkopeoError(
            f"skopeo inspect {what} failed (exit {proc.returncode}): {stderr}", stderr
        )
    return proc.stdout


def skopeo_inspect_raw(
    server: RegistryServer,
    repo: str,
    ref: str,
    *,
    creds: Credentials | None = None,
    timeout: float = 30.0,
) -> bytes:
    """The manifest bytes ``repo:ref`` (tag or digest) names, as skopeo fetched them."""
    args = [*skopeo_args(server, creds), "--raw", _transport_ref(server, repo, ref)]
    return _run([], args, f"--raw {server.reference(repo, ref)}", timeout)


def skopeo_inspect_digest(
    server: RegistryServer,
    repo: str,
    ref: str,
    *,
    creds: Credentials | None = None,
    timeout: float = 30.0,
) -> str:
    """``sha256:<hex>`` of the manifest ``repo:ref`` names — the index itself for an index.

    Uses ``--raw`` (see the module docstring) so no platform choice is involved.
    """
    raw = skopeo_inspect_raw(server, repo, ref, creds=creds, timeout=timeout)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def skopeo_inspect(
    server: RegistryServer,
    repo: str,
    ref: str,
    *,
    creds: Credentials | None = None,
    override_os: str | None = None,
    override_arch: str | None = None,
    override_variant: str | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Plain ``skopeo inspect`` JSON (``Digest``, ``Architecture``, ``Os``, ...).

    For an index, ``Digest`` is the index digest while ``Architecture``/``Os`` come from
    the child picked for the host platform or the ``override_*`` one; raises if none fits.
    """
    global_args: list[str] = []
    if override_os:
        global_args += ["--override-os", override_os]
    if override_arch:
        global_args += ["--override-arch", override_arch]
    if override_variant:
        global_args += ["--override-variant", override_variant]
    args = [*skopeo_args(server, creds), _transport_ref(server, repo, ref)]
    out = _run(global_args, args, server.reference(repo, ref), timeout)
    result: dict[str, Any] = json.loads(out)
    return result
