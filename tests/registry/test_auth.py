"""WWW-Authenticate parsing and the token cache (pure code; the flows run against the real
registry in test_credentials_registry.py and test_tokens.py)."""

from __future__ import annotations

import asyncio

import pytest

from gate.credentials import ANONYMOUS, Credential
from gate.registry.auth import Challenge, TokenCache, parse_challenges, preferred_challenge


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
            [
                (
                    "bearer",
                    {"realm": "https://auth.docker.io/token", "service": "registry.docker.io"},
                )
            ],
        ),
        (  # gcr.io writes bare token values
            'Bearer realm="https://gcr.io/v2/token",service=gcr.io',
            [("bearer", {"realm": "https://gcr.io/v2/token", "service": "gcr.io"})],
        ),
        (  # a quoted value with commas and an escaped quote
            'Bearer realm="https://a.example/token",scope="repository:a/b:pull,push",'
            'error="insufficient_scope",note="say \\"hi\\""',
            [
                (
                    "bearer",
                    {
                        "realm": "https://a.example/token",
                        "scope": "repository:a/b:pull,push",
                        "error": "insufficient_scope",
                        "note": 'say "hi"',
                    },
                )
            ],
        ),
        (  # several challenges in one header, spaces around '=' and ','
            'Basic realm="Registry Realm" , Bearer realm = "https://t.example/token", service=t',
            [
                ("basic", {"realm": "Registry Realm"}),
                ("bearer", {"realm": "https://t.example/token", "service": "t"}),
            ],
        ),
        ('BASIC realm="x"', [("basic", {"realm": "x"})]),  # schemes are case-insensitive
        ('Basic, Bearer realm="x"', [("basic", {}), ("bearer", {"realm": "x"})]),
        ("Negotiate abc123==", [("negotiate", {})]),  # token68 form
        ("", []),
    ],
)
def test_parse_challenges(header: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    assert [(c.scheme, c.params) for c in parse_challenges(header)] == expected


def test_bearer_is_preferred_over_basic() -> None:
    challenges = parse_challenges('Basic realm="r", Bearer realm="https://t/token"')
    chosen = preferred_challenge(challenges)
    assert chosen is not None and chosen.scheme == "bearer"
    only_basic = preferred_challenge(parse_challenges('Basic realm="r"'))
    assert only_basic is not None and only_basic.scheme == "basic"
    assert preferred_challenge(parse_challenges("Negotiate x")) is None


def test_token_cache_single_flight_expiry_and_keys() -> None:
    calls: list[tuple[str, str]] = []
    now = [1000.0]

    async def fetch(challenge: Challenge, scope: str, credential: Credential) -> tuple[str, float]:
        calls.append((scope, credential.source))
        await asyncio.sleep(0.01)
        return f"token-{len(calls)}", 60.0

    cache = TokenCache(fetch, clock=lambda: now[0])
    challenge = Challenge("bearer", {"realm": "https://t/token", "service": "t"})
    alice = Credential("secret:ns/alice", username="alice", password="pw")

    async def run() -> list[str]:
        many = await asyncio.gather(
            *(cache.get(challenge, "repository:a:pull", alice) for _ in range(20))
        )
        other_scope = await cache.get(challenge, "repository:b:pull", alice)
        anonymous = await cache.get(challenge, "repository:a:pull", ANONYMOUS)
        return [*set(many), other_scope, anonymous]

    tokens = asyncio.run(run())
    assert tokens == ["token-1", "token-2", "token-3"]  # 20 waiters, one fetch
    assert calls == [
        ("repository:a:pull", "secret:ns/alice"),
        ("repository:b:pull", "secret:ns/alice"),
        ("repository:a:pull", "anonymous"),
    ]
    now[0] += 49  # lifetime 60 s less a 10 s margin: still fresh
    assert asyncio.run(cache.get(challenge, "repository:a:pull", alice)) == "token-1"
    now[0] += 2  # now within the margin: fetched again
    assert asyncio.run(cache.get(challenge, "repository:a:pull", alice)) == "token-4"
    cache.invalidate(challenge, "repository:a:pull", alice)
    assert asyncio.run(cache.get(challenge, "repository:a:pull", alice)) == "token-5"


def test_a_failed_fetch_is_not_cached() -> None:
    attempts = [0]

    async def fetch(challenge: Challenge, scope: str, credential: Credential) -> tuple[str, float]:
        attempts[0] += 1
        if attempts[0] == 1:
            raise RuntimeError("token service down")
        return "token", 60.0

    cache = TokenCache(fetch)
    challenge = Challenge("bearer", {"realm": "https://t/token"})
    with pytest.raises(RuntimeError):
        asyncio.run(cache.get(challenge, "s", ANONYMOUS))
    assert asyncio.run(cache.get(challenge, "s", ANONYMOUS)) == "token"


def test_credentials_never_show_their_values() -> None:
    credential = Credential(
        "docker-config:/root/.docker/config.json",
        username="alice",
        password="pw-123",
        identity_token="refresh-456",
        registry_token="bearer-789",
    )
    for text in (repr(credential), str(credential), f"{credential}", repr([credential])):
        for secret in ("pw-123", "refresh-456", "bearer-789"):
            assert secret not in text
    assert "docker-config:/root/.docker/config.json" in str(credential)
