"""PEM files a setting names: a CA bundle, a client certificate and its key, checked before
any connection so that a bad file is a located error, not a failed handshake.

`ssl` is imported when a file is checked: most runs name none.
"""

from __future__ import annotations


def ca_file_problem(path: str) -> str | None:
    """Why `path` cannot serve as a PEM CA bundle, or None (checked before any connection)."""
    import ssl

    try:
        ssl.create_default_context().load_verify_locations(cafile=path)
    except (ssl.SSLError, OSError, ValueError) as exc:
        return f"{path} is not a PEM CA bundle ({getattr(exc, 'reason', None) or exc})"
    return None


def client_pair_problem(cert: str, key: str | None = None) -> str | None:
    """Why `cert` and `key` cannot serve as a TLS client certificate, or None (checked before
    any connection). `key` None: the key is in the certificate file, as containerd allows."""
    texts: dict[str, str] = {}
    for path in (cert, key):
        if path is None:
            continue
        try:
            with open(path, encoding="ascii", errors="replace") as handle:
                texts[path] = handle.read()
        except OSError as exc:
            return f"{path} cannot be read ({exc.strerror or exc})"
    key_file = key or cert
    if "-----BEGIN CERTIFICATE-----" not in texts[cert]:
        return f"{cert} holds no PEM certificate"
    if "PRIVATE KEY-----" not in texts[key_file]:
        return f"{key_file} holds no PEM private key"
    if "ENCRYPTED" in texts[key_file]:
        return f"{key_file} is an encrypted key; give its decrypted form (containerd needs it too)"

    def no_password() -> str:
        raise ValueError("encrypted key")

    import ssl

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(cert, key, password=no_password)
    except (ssl.SSLError, ValueError, OSError) as exc:
        reason = str(getattr(exc, "reason", None) or exc)
        if "KEY_VALUES_MISMATCH" in reason.upper():
            return f"the key {key_file} does not belong to the certificate {cert}"
        files = cert if key is None else f"{cert} with the key {key}"
        return f"{files} cannot be loaded as a client certificate ({reason})"
    return None
