"""Session-wide real registries (see tests/support/registry.py).

Each server starts once per session (~0.1 s) and tests use distinct repository names, so
they can share it. A missing `docker-registry` or `skopeo` fails these fixtures loudly
instead of skipping: a silently skipped real-registry suite would prove nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.registry import (
    TEST_USERS,
    TOKEN_ANONYMOUS_RULES,
    TOKEN_USER_RULES,
    RegistryServer,
    missing_tools_message,
)


def _serve(factory: pytest.TempPathFactory, name: str, **kwargs: Any) -> Iterator[RegistryServer]:
    problem = missing_tools_message()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    server = RegistryServer(workdir=factory.mktemp(name), **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """Plain HTTP, anonymous push and pull."""
    yield from _serve(tmp_path_factory, "registry-anonymous", mode="anonymous")


@pytest.fixture(scope="session")
def htpasswd_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """Plain HTTP, Basic auth; users alice/wonderland and bob/builder (plus the admin)."""
    yield from _serve(tmp_path_factory, "registry-htpasswd", mode="htpasswd", users=TEST_USERS)


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """HTTPS with a test CA (``ca_file``), anonymous."""
    yield from _serve(tmp_path_factory, "registry-tls", mode="tls")


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """Bearer-token auth: anonymous pull on ``public/*``, alice pull on ``private/*`` and
    ``team/*``, bob pull on ``team/*``; the admin may push anything."""
    yield from _serve(
        tmp_path_factory,
        "registry-token",
        mode="token",
        users=TEST_USERS,
        rules=TOKEN_USER_RULES,
        anonymous_rules=TOKEN_ANONYMOUS_RULES,
    )
