"""Keyring matching, as the kubelet's `pkg/credentialprovider/keyring.go` matches.

Pure functions: no registry is involved. The expectations follow keyring.go's `Add` (scheme
stripped, `/v1/` and `/v2/` dropped), `URLsMatch` (per-label globs, equal label counts, equal
ports, plain string prefix paths), `Lookup` (reverse-sorted index, Docker Hub fallback).
"""

from __future__ import annotations

import logging

import pytest

from gate.credentials import Credential
from gate.credentials.keyring import (
    BadKey,
    KeyIndex,
    Keyring,
    is_default_registry_match,
    key_matches,
    label_matches,
    normalize_key,
    redact_key,
)


@pytest.mark.parametrize(
    ("key", "normalised"),
    [
        ("host", "host"),
        ("https://host", "host"),
        ("https://host/", "host"),
        ("https://host/v1/", "host"),
        ("http://host:5000/v2/", "host:5000"),
        ("host:5000", "host:5000"),
        ("host/v2/", "host"),
        ("host/team", "host/team"),
        ("https://host/v2/team", "host/team"),
        ("host/team/", "host/team/"),
        ("host/v1", "host/v1"),  # only `/v1/` with its slash is dropped
        ("https://index.docker.io/v1/", "index.docker.io"),
        ("user:pass@host/team", "host/team"),  # user info never reaches a key
        ("host/team?x=1#frag", "host/team"),
        ("host/te%61m", "host/team"),
        ("*.example.com", "*.example.com"),
        ("[::1]:5000", "[::1]:5000"),
    ],
)
def test_normalize_key(key: str, normalised: str) -> None:
    assert normalize_key(key) == normalised


@pytest.mark.parametrize(
    "key",
    ["host:abc", "host/%zz", "ho st", "[::1", "[a-c].example.com", "x[^a].example.com", "a\tb"],
)
def test_unparseable_keys_are_rejected(key: str) -> None:
    with pytest.raises(BadKey):
        normalize_key(key)


def test_unparseable_key_is_ignored_and_logged_without_user_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    keyring = Keyring()
    with caplog.at_level(logging.WARNING):
        added = keyring.add("https://me:hunter2@host:port/", Credential("secret:ns/s", "u", "p"))
    assert not added
    assert not keyring
    assert keyring.lookup("host/app") == []
    assert "hunter2" not in caplog.text
    assert "***@host:port" in caplog.text
    assert redact_key("me:hunter2@host") == "***@host"


# (key as written, image name, matches?)
MATCHES = [
    # plain host, with scheme and API version paths
    ("host", "host/app", True),
    ("https://host/v1/", "host/app", True),
    ("http://host:5000/v2/", "host:5000/team/app", True),
    ("http://host:5000/v2/", "host/team/app", False),
    # path: a plain string prefix, not a path segment
    ("host/team", "host/team/app", True),
    ("host/team", "host/teammate/app", True),
    ("host/team/", "host/teammate/app", False),
    ("host/team", "host/other/app", False),
    ("host/team/app", "host/team", False),
    ("host/v1", "host/app", False),
    # per-label globs, equal label counts
    ("*.example.com", "a.example.com/app", True),
    ("*.example.com", "example.com/app", False),
    ("*.example.com", "a.b.example.com/app", False),
    ("*.*.example.com", "a.b.example.com/app", True),
    ("a*.example.com", "abc.example.com/app", True),
    ("a*.example.com", "bc.example.com/app", False),
    ("registry.*.com", "registry.example.com/app", True),
    ("x[a-c].example.com", "xb.example.com/app", True),
    ("x[a-c].example.com", "xd.example.com/app", False),
    ("a.x[a-c]", "a.xc/app", True),
    # Go's URL parser: `?` starts a query, so this key is an empty host that matches nothing
    ("?.example.com", "a.example.com/app", False),
    ("*.example.com/team", "a.example.com/team/app", True),
    ("*.example.com/team", "a.example.com/other/app", False),
    # ports must be equal (no port is a port of its own)
    ("host:5000", "host:5000/app", True),
    ("host:5000", "host:5001/app", False),
    ("host", "host:5000/app", False),
    ("host:5000", "host/app", False),
    ("127.0.0.1:5000", "127.0.0.1:5000/team/app", True),
    ("*.0.0.1:5000", "127.0.0.1:5000/team/app", True),
    ("[::1]:5000", "[::1]:5000/app", True),
    # case-sensitive, as filepath.Match
    ("Registry.example.com", "registry.example.com/app", False),
    # Docker Hub keys by name
    ("docker.io", "docker.io/library/nginx", True),
    ("index.docker.io", "quay.io/library/nginx", False),
]


@pytest.mark.parametrize(("key", "image", "expected"), MATCHES)
def test_key_matches(key: str, image: str, expected: bool) -> None:
    assert key_matches(normalize_key(key), image) is expected
    keyring = Keyring()
    credential = Credential("secret:ns/s", username="u", password="p")
    keyring.add(key, credential)
    assert keyring.lookup(image) == ([credential] if expected else [])


@pytest.mark.parametrize(
    ("pattern", "label", "expected"),
    [
        ("abc", "abc", True),
        ("a*", "a", True),
        ("*c", "abc", True),
        ("a*b*c", "axxbyyc", True),
        ("a*b*c", "axxbyy", False),
        ("a\\*", "a*", True),
        ("a\\*", "ab", False),
        ("[a-c]", "d", False),
        ("[\\]]", "]", True),
        ("[x-]", "x", False),  # bad pattern: `-` must not end a class
        ("[]a]", "a", False),  # bad pattern: an empty class
        ("[a", "a", False),  # bad pattern: unclosed
        ("a\\", "a", False),  # bad pattern: trailing escape
        ("[!a]", "!", True),  # Go negates with ^ only: this class is `!` or `a`
        ("[!a]", "b", False),
    ],
)
def test_label_glob_follows_go_filepath_match(pattern: str, label: str, expected: bool) -> None:
    assert label_matches(pattern, label) is expected


def test_bad_pattern_key_never_matches() -> None:
    """A key Go parses but `filepath.Match` refuses (ErrBadPattern) is kept and never matches."""
    keyring = Keyring()
    assert keyring.add("x[.example.com", Credential("secret:ns/s", username="u", password="p"))
    assert len(keyring) == 1
    assert keyring.lookup("x[.example.com/app") == []


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("docker.io/library/nginx", True),
        ("index.docker.io/library/nginx", True),
        ("library/nginx", True),
        ("nginx", True),
        ("ghcr.io/owner/app", False),
        ("localhost:5000/app", False),
        ("/app", False),
    ],
)
def test_is_default_registry_match(image: str, expected: bool) -> None:
    assert is_default_registry_match(image) is expected


def test_docker_hub_falls_back_to_index_docker_io() -> None:
    hub = Credential("secret:ns/hub", username="u", password="p")
    # By the glob rules alone `index.docker.io` (3 labels) never matches `docker.io` (2 labels):
    assert not key_matches("index.docker.io", "docker.io/library/nginx")
    keyring = Keyring()
    keyring.add("https://index.docker.io/v1/", hub)
    assert keyring.lookup("docker.io/library/nginx") == [hub]
    assert keyring.lookup("docker.io/someone/app") == [hub]
    assert keyring.lookup("quay.io/someone/app") == []


def test_docker_hub_fallback_only_when_nothing_matched() -> None:
    hub = Credential("secret:ns/hub", username="u", password="p")
    direct = Credential("secret:ns/direct", username="u2", password="p2")
    keyring = Keyring()
    keyring.add("index.docker.io", hub)
    keyring.add("docker.io/library", direct)
    assert keyring.lookup("docker.io/library/nginx") == [direct]
    assert keyring.lookup("docker.io/someone/app") == [hub]


def test_order_most_specific_key_first_then_insertion_order() -> None:
    """The index is sorted in reverse: `host/team/app` > `host/team` > `host`, and a concrete
    label sorts before `*`; several credentials under one key keep the order they were added
    (secret order), whichever secret added the more specific key."""
    first_host = Credential("secret:ns/first", username="a", password="1")
    second_team = Credential("secret:ns/second", username="b", password="2")
    third_host = Credential("secret:ns/third", username="c", password="3")
    glob = Credential("secret:ns/glob", username="d", password="4")
    deep = Credential("secret:ns/deep", username="e", password="5")
    keyring = Keyring()
    keyring.add("https://registry.example.com/v1/", first_host)
    keyring.add("registry.example.com/team", second_team)
    keyring.add("registry.example.com", third_host)
    keyring.add("*.example.com", glob)
    keyring.add("registry.example.com/team/app", deep)
    assert keyring.keys() == [
        "registry.example.com/team/app",
        "registry.example.com/team",
        "registry.example.com",
        "*.example.com",
    ]
    assert keyring.lookup("registry.example.com/team/app") == [
        deep,
        second_team,
        first_host,
        third_host,
        glob,
    ]
    assert keyring.lookup("registry.example.com/other/app") == [first_host, third_host, glob]


def test_duplicates_are_returned_once() -> None:
    same = Credential("secret:ns/s", username="u", password="p")
    keyring = Keyring()
    keyring.add("host", same)
    keyring.add("https://host/v2/", Credential("secret:ns/s", username="u", password="p"))
    keyring.add("host/team", same)
    other_source = Credential("secret:ns/t", username="u", password="p")
    keyring.add("host", other_source)
    assert len(keyring) == 4
    assert keyring.lookup("host/team/app") == [same, other_source]


def test_key_index_holds_any_value() -> None:
    helpers: KeyIndex[str] = KeyIndex()
    helpers.add("gcr.io", "gcloud")
    helpers.add("*.pkg.dev", "gcloud")
    helpers.add("https://index.docker.io/v1/", "desktop")
    assert helpers.lookup("us.pkg.dev/project/app") == ["gcloud"]
    assert helpers.lookup("docker.io/library/nginx") == ["desktop"]
    assert helpers.lookup("quay.io/x/y") == []
