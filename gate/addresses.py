"""Host names and URLs as settings write them: `host:port`, loopback, a mirror's URL.

Pure and light: the configuration reads these before any connection, and an offline run never
loads the network stack.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
DEFAULT_PORTS = {"http": 80, "https": 443}


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


_HOST_CHARACTERS = re.compile(r"[\w.:%-]+")
"""What a host name (an IDN too) or an IP address (IPv6 without brackets) is written with."""


def url_problem(url: str) -> str | None:
    """Why `url` cannot name a mirror (an http(s) URL without user info), or None."""
    try:
        parsed = urlsplit(url)
        host = parsed.hostname
    except ValueError:
        return f"{url!r} is not a URL"
    if parsed.scheme not in ("https", "http") or not host:
        return "must be an http(s):// URL"
    if not _HOST_CHARACTERS.fullmatch(host):
        return f"{host!r} is not a host name (a placeholder such as <mirror host> left unfilled?)"
    if parsed.username is not None or parsed.password is not None:
        return "must not carry a user name or password (mirrors are asked anonymously)"
    return None
