"""Tests for gate.reference: the same ground as distribution/reference's own tables.

Cases follow normalize_test.go, reference_test.go and regexp_test.go of
github.com/distribution/reference (v0.6), always through ParseNormalizedNamed
semantics, which is what the kubelet applies to a pod's ``image`` field.
"""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from gate.reference import (
    REASON_DIGEST_FORMAT,
    REASON_DIGEST_UNSUPPORTED,
    REASON_EMPTY,
    REASON_HEX_IDENTIFIER,
    REASON_INVALID_FORMAT,
    REASON_INVALID_HOST,
    REASON_KO_PLACEHOLDER,
    REASON_NAME_TOO_LONG,
    REASON_NOT_STRING,
    REASON_TAG_FORMAT,
    REASON_TEMPLATE,
    REASON_UPPERCASE,
    REASON_URL_SCHEME,
    REASON_WHITESPACE,
    InvalidReference,
    Reference,
    is_docker_hub,
    parse_reference,
    validate_digest,
)

H64 = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
F64 = "f" * 64
SHA256 = f"sha256:{H64}"
SHA384 = "sha384:" + "a" * 96
SHA512 = "sha512:" + "f" * 128
HUB = "docker.io"

# (input, domain, path, tag, digest, canonical, familiar)
VALID: list[tuple[str, str, str, str | None, str | None, str, str]] = [
    # Docker Hub normalisation
    ("nginx", HUB, "library/nginx", None, None, "docker.io/library/nginx", "nginx"),
    (
        "nginx:1.27",
        HUB,
        "library/nginx",
        "1.27",
        None,
        "docker.io/library/nginx:1.27",
        "nginx:1.27",
    ),
    ("library/nginx", HUB, "library/nginx", None, None, "docker.io/library/nginx", "nginx"),
    ("docker.io/nginx", HUB, "library/nginx", None, None, "docker.io/library/nginx", "nginx"),
    (
        "index.docker.io/library/nginx:1",
        HUB,
        "library/nginx",
        "1",
        None,
        "docker.io/library/nginx:1",
        "nginx:1",
    ),
    (
        "index.docker.io/debian",
        HUB,
        "library/debian",
        None,
        None,
        "docker.io/library/debian",
        "debian",
    ),
    (
        "docker.io/library/nginx:latest",
        HUB,
        "library/nginx",
        "latest",
        None,
        "docker.io/library/nginx:latest",
        "nginx:latest",
    ),
    ("docker/docker", HUB, "docker/docker", None, None, "docker.io/docker/docker", "docker/docker"),
    ("fooo/bar", HUB, "fooo/bar", None, None, "docker.io/fooo/bar", "fooo/bar"),
    ("other/library", HUB, "other/library", None, None, "docker.io/other/library", "other/library"),
    # library/ with a nested namespace is not an official image: familiar keeps it
    (
        "library/foo/bar",
        HUB,
        "library/foo/bar",
        None,
        None,
        "docker.io/library/foo/bar",
        "library/foo/bar",
    ),
    ("store/foo/bar", HUB, "store/foo/bar", None, None, "docker.io/store/foo/bar", "store/foo/bar"),
    ("test_com/foo", HUB, "test_com/foo", None, None, "docker.io/test_com/foo", "test_com/foo"),
    (
        "ubuntu-12.04-base",
        HUB,
        "library/ubuntu-12.04-base",
        None,
        None,
        "docker.io/library/ubuntu-12.04-base",
        "ubuntu-12.04-base",
    ),
    # no "/": never a domain, even when it looks like one (a tag follows the ":")
    ("test_com", HUB, "library/test_com", None, None, "docker.io/library/test_com", "test_com"),
    (
        "test.com:tag",
        HUB,
        "library/test.com",
        "tag",
        None,
        "docker.io/library/test.com:tag",
        "test.com:tag",
    ),
    (
        "test.com:5000",
        HUB,
        "library/test.com",
        "5000",
        None,
        "docker.io/library/test.com:5000",
        "test.com:5000",
    ),
    (
        "192.168.1.1",
        HUB,
        "library/192.168.1.1",
        None,
        None,
        "docker.io/library/192.168.1.1",
        "192.168.1.1",
    ),
    (
        "192.168.1.1:5000",
        HUB,
        "library/192.168.1.1",
        "5000",
        None,
        "docker.io/library/192.168.1.1:5000",
        "192.168.1.1:5000",
    ),
    ("localhost", HUB, "library/localhost", None, None, "docker.io/library/localhost", "localhost"),
    (
        "foo_bar.com:8080",
        HUB,
        "library/foo_bar.com",
        "8080",
        None,
        "docker.io/library/foo_bar.com:8080",
        "foo_bar.com:8080",
    ),
    (
        "foo/foo_bar.com:8080",
        HUB,
        "foo/foo_bar.com",
        "8080",
        None,
        "docker.io/foo/foo_bar.com:8080",
        "foo/foo_bar.com:8080",
    ),
    # localhost and hosts with "." or ":" are registries
    ("localhost/foo", "localhost", "foo", None, None, "localhost/foo", "localhost/foo"),
    (
        "localhost:5000/foo:bar",
        "localhost:5000",
        "foo",
        "bar",
        None,
        "localhost:5000/foo:bar",
        "localhost:5000/foo:bar",
    ),
    (
        f"127.0.0.1:5000/a/b@{SHA256}",
        "127.0.0.1:5000",
        "a/b",
        None,
        SHA256,
        f"127.0.0.1:5000/a/b@{SHA256}",
        f"127.0.0.1:5000/a/b@{SHA256}",
    ),
    ("quay.io/x/y:1", "quay.io", "x/y", "1", None, "quay.io/x/y:1", "quay.io/x/y:1"),
    ("test:5000/repo", "test:5000", "repo", None, None, "test:5000/repo", "test:5000/repo"),
    (
        "test-com:8080/foo",
        "test-com:8080",
        "foo",
        None,
        None,
        "test-com:8080/foo",
        "test-com:8080/foo",
    ),
    ("192.168.1.1/repo", "192.168.1.1", "repo", None, None, "192.168.1.1/repo", "192.168.1.1/repo"),
    (
        "192.168.1.1:5000/repo:5050",
        "192.168.1.1:5000",
        "repo",
        "5050",
        None,
        "192.168.1.1:5000/repo:5050",
        "192.168.1.1:5000/repo:5050",
    ),
    # the grammar accepts any number of port digits; the registry is the judge
    (
        "192.168.1.1:750050/x",
        "192.168.1.1:750050",
        "x",
        None,
        None,
        "192.168.1.1:750050/x",
        "192.168.1.1:750050/x",
    ),
    (
        "sub-dom1.foo.com/bar/baz/quux",
        "sub-dom1.foo.com",
        "bar/baz/quux",
        None,
        None,
        "sub-dom1.foo.com/bar/baz/quux",
        "sub-dom1.foo.com/bar/baz/quux",
    ),
    (
        "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
        "sub-dom1.foo.com",
        "bar/baz/quux",
        "some-long-tag",
        None,
        "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
        "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
    ),
    (
        "b.gcr.io/test.example.com/my-app:test.example.com",
        "b.gcr.io",
        "test.example.com/my-app",
        "test.example.com",
        None,
        "b.gcr.io/test.example.com/my-app:test.example.com",
        "b.gcr.io/test.example.com/my-app:test.example.com",
    ),
    (
        "xn--n3h.com/myimage:xn--n3h.com",
        "xn--n3h.com",
        "myimage",
        "xn--n3h.com",
        None,
        "xn--n3h.com/myimage:xn--n3h.com",
        "xn--n3h.com/myimage:xn--n3h.com",
    ),
    (
        f"xn--7o8h.com:18080/myimage:xn--7o8h.com@{SHA512}",
        "xn--7o8h.com:18080",
        "myimage",
        "xn--7o8h.com",
        SHA512,
        f"xn--7o8h.com:18080/myimage:xn--7o8h.com@{SHA512}",
        f"xn--7o8h.com:18080/myimage:xn--7o8h.com@{SHA512}",
    ),
    (
        "registry.io/foo/project--id.module--name.ver---sion--name",
        "registry.io",
        "foo/project--id.module--name.ver---sion--name",
        None,
        None,
        "registry.io/foo/project--id.module--name.ver---sion--name",
        "registry.io/foo/project--id.module--name.ver---sion--name",
    ),
    # host names keep their case; upper case in the first element makes it a host
    ("Asdf.com/foo/bar", "Asdf.com", "foo/bar", None, None, "Asdf.com/foo/bar", "Asdf.com/foo/bar"),
    ("Foo/bar", "Foo", "bar", None, None, "Foo/bar", "Foo/bar"),
    ("FOO/bar", "FOO", "bar", None, None, "FOO/bar", "FOO/bar"),
    ("DOCKER/docker", "DOCKER", "docker", None, None, "DOCKER/docker", "DOCKER/docker"),
    # IPv6 in brackets, with or without port
    ("[::1]:5000/foo", "[::1]:5000", "foo", None, None, "[::1]:5000/foo", "[::1]:5000/foo"),
    (
        "[2001:db8::1]/repo",
        "[2001:db8::1]",
        "repo",
        None,
        None,
        "[2001:db8::1]/repo",
        "[2001:db8::1]/repo",
    ),
    (
        "[2001:db8:1:2:3:4:5:6]/repo:tag",
        "[2001:db8:1:2:3:4:5:6]",
        "repo",
        "tag",
        None,
        "[2001:db8:1:2:3:4:5:6]/repo:tag",
        "[2001:db8:1:2:3:4:5:6]/repo:tag",
    ),
    (
        f"[2001:db8::1]:5000/repo:tag@{SHA256}",
        "[2001:db8::1]:5000",
        "repo",
        "tag",
        SHA256,
        f"[2001:db8::1]:5000/repo:tag@{SHA256}",
        f"[2001:db8::1]:5000/repo:tag@{SHA256}",
    ),
    (
        "[2001:db8::]:5000/repo",
        "[2001:db8::]:5000",
        "repo",
        None,
        None,
        "[2001:db8::]:5000/repo",
        "[2001:db8::]:5000/repo",
    ),
    (
        "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
        "[fc00:1:2:3:4:5:6:7]:5000",
        "library/debian",
        None,
        None,
        "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
        "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
    ),
    # path-component separators: ".", "_", "__", and any run of "-"
    ("foo_bar", HUB, "library/foo_bar", None, None, "docker.io/library/foo_bar", "foo_bar"),
    ("foo__bar", HUB, "library/foo__bar", None, None, "docker.io/library/foo__bar", "foo__bar"),
    (
        "foo-----bar",
        HUB,
        "library/foo-----bar",
        None,
        None,
        "docker.io/library/foo-----bar",
        "foo-----bar",
    ),
    (
        "dock__er/docker",
        HUB,
        "dock__er/docker",
        None,
        None,
        "docker.io/dock__er/docker",
        "dock__er/docker",
    ),
    (
        "docker---rules/docker",
        HUB,
        "docker---rules/docker",
        None,
        None,
        "docker.io/docker---rules/docker",
        "docker---rules/docker",
    ),
    ("d/docker", HUB, "d/docker", None, None, "docker.io/d/docker", "d/docker"),
    ("jess/t", HUB, "jess/t", None, None, "docker.io/jess/t", "jess/t"),
    (
        "example.com/some_separator__underscore/myimage",
        "example.com",
        "some_separator__underscore/myimage",
        None,
        None,
        "example.com/some_separator__underscore/myimage",
        "example.com/some_separator__underscore/myimage",
    ),
    # tags: any case, up to 128 characters
    (
        "lowercase:Uppercase",
        HUB,
        "library/lowercase",
        "Uppercase",
        None,
        "docker.io/library/lowercase:Uppercase",
        "lowercase:Uppercase",
    ),
    (
        "foo:_x.y-Z",
        HUB,
        "library/foo",
        "_x.y-Z",
        None,
        "docker.io/library/foo:_x.y-Z",
        "foo:_x.y-Z",
    ),
    (
        "foo:" + "t" * 128,
        HUB,
        "library/foo",
        "t" * 128,
        None,
        "docker.io/library/foo:" + "t" * 128,
        "foo:" + "t" * 128,
    ),
    # digests, alone or with a tag (the tag is kept, the pull is by digest)
    (
        f"redis@{SHA256}",
        HUB,
        "library/redis",
        None,
        SHA256,
        f"docker.io/library/redis@{SHA256}",
        f"redis@{SHA256}",
    ),
    (
        f"busybox:latest@{SHA256}",
        HUB,
        "library/busybox",
        "latest",
        SHA256,
        f"docker.io/library/busybox:latest@{SHA256}",
        f"busybox:latest@{SHA256}",
    ),
    (
        f"foo:tag@sha256:{F64}",
        HUB,
        "library/foo",
        "tag",
        f"sha256:{F64}",
        f"docker.io/library/foo:tag@sha256:{F64}",
        f"foo:tag@sha256:{F64}",
    ),
    (
        f"dmcgowan/myapp@{SHA384}",
        HUB,
        "dmcgowan/myapp",
        None,
        SHA384,
        f"docker.io/dmcgowan/myapp@{SHA384}",
        f"dmcgowan/myapp@{SHA384}",
    ),
    (
        f"localhost:8080@{SHA256}",
        HUB,
        "library/localhost",
        "8080",
        SHA256,
        f"docker.io/library/localhost:8080@{SHA256}",
        f"localhost:8080@{SHA256}",
    ),
    # hex names: only exactly 64 lower-case hex characters, alone, are refused
    (f"docker.io/{H64}", HUB, f"library/{H64}", None, None, f"docker.io/library/{H64}", H64),
    (H64[:-1], HUB, f"library/{H64[:-1]}", None, None, f"docker.io/library/{H64[:-1]}", H64[:-1]),
    ("dbcc1", HUB, "library/dbcc1", None, None, "docker.io/library/dbcc1", "dbcc1"),
    (f"library/{H64}", HUB, f"library/{H64}", None, None, f"docker.io/library/{H64}", H64),
    # ParseAnyReference would call this a digest; ParseNormalizedNamed (the kubelet)
    # reads repository "sha256" with a 64-character tag.
    (SHA256, HUB, "library/sha256", H64, None, f"docker.io/library/{SHA256}", SHA256),
    (
        "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        HUB,
        "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        None,
        None,
        "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
    ),
]

LONG_PATH_OK = "a/" * 127 + "a"  # 255 characters
LONG_NAMES: list[tuple[str, str, str]] = [
    # (input, domain, path): the 255 limit is on the path; the domain is not counted
    ("a" * 247, HUB, "library/" + "a" * 247),
    (LONG_PATH_OK + ":tag-puts-this-over-max", HUB, LONG_PATH_OK),
    ("registry.example.com:5000/" + "b" * 255, "registry.example.com:5000", "b" * 255),
]

# (input, reason)
INVALID: list[tuple[str, str]] = [
    # not references at all
    ("", REASON_EMPTY),
    (" nginx", REASON_WHITESPACE),
    ("nginx ", REASON_WHITESPACE),
    ("nginx\n", REASON_WHITESPACE),
    ("\tnginx:1", REASON_WHITESPACE),
    ("{{ .Values.image }}", REASON_TEMPLATE),
    ("repo:{{ .Values.tag }}", REASON_TEMPLATE),
    ("repo:{{.Values.tag}", REASON_TEMPLATE),
    ("repo:tag}}", REASON_TEMPLATE),
    ("${IMAGE}", REASON_TEMPLATE),
    ("registry.example.com/app:${TAG}", REASON_TEMPLATE),
    ("nginx:<no value>", REASON_TEMPLATE),
    ("ko://knative.dev/serving/cmd/activator", REASON_KO_PLACEHOLDER),
    ("ko.local/activator:latest", REASON_KO_PLACEHOLDER),
    (f"ko.local/activator-abc@{SHA256}", REASON_KO_PLACEHOLDER),
    ("https://github.com/docker/docker", REASON_URL_SCHEME),
    ("http://registry.example.com/app:1", REASON_URL_SCHEME),
    ("docker://nginx", REASON_URL_SCHEME),
    ("oci://ghcr.io/x/y", REASON_URL_SCHEME),
    # 64-hex image IDs
    (H64, REASON_HEX_IDENTIFIER),
    ("1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", REASON_HEX_IDENTIFIER),
    # upper case in the repository
    ("quay.io/Foo", REASON_UPPERCASE),
    ("UPPER", REASON_UPPERCASE),
    ("Uppercase:tag", REASON_UPPERCASE),
    ("docker/Docker", REASON_UPPERCASE),
    ("docker.io/docker/Docker", REASON_UPPERCASE),
    ("test:5000/Uppercase/lowercase:tag", REASON_UPPERCASE),
    ("Foo/FarB", REASON_UPPERCASE),
    (H64.upper(), REASON_UPPERCASE),
    # distribution checks the text before the first ":", digest algorithm included
    (f"foo@SHA256:{H64}", REASON_UPPERCASE),
    # structure
    (":tag", REASON_INVALID_FORMAT),
    (":justtag", REASON_INVALID_FORMAT),
    (f"@{SHA256}", REASON_INVALID_FORMAT),
    ("a//b", REASON_INVALID_FORMAT),
    ("docker///docker", REASON_INVALID_FORMAT),
    ("docker.io/docker///docker", REASON_INVALID_FORMAT),
    ("a..b/c", REASON_INVALID_FORMAT),
    ("dock..er/docker", REASON_INVALID_FORMAT),
    ("dock_.er/docker", REASON_INVALID_FORMAT),
    ("dock-.er/docker", REASON_INVALID_FORMAT),
    ("-foo", REASON_INVALID_FORMAT),
    ("-docker", REASON_INVALID_FORMAT),
    ("-docker/docker", REASON_INVALID_FORMAT),
    ("docker-/docker", REASON_INVALID_FORMAT),
    ("-docker-/docker", REASON_INVALID_FORMAT),
    ("-docker.io/docker/docker", REASON_INVALID_FORMAT),
    ("foo___bar", REASON_INVALID_FORMAT),
    ("____/____", REASON_INVALID_FORMAT),
    ("_docker/_docker", REASON_INVALID_FORMAT),
    ("docker_/docker_", REASON_INVALID_FORMAT),
    ("example.com/__underscore/myimage", REASON_INVALID_FORMAT),
    ("example.com/..dots/myimage", REASON_INVALID_FORMAT),
    ("example.com/.dots/myimage", REASON_INVALID_FORMAT),
    ("example.com/nodouble..dots/myimage", REASON_INVALID_FORMAT),
    ("docker./docker", REASON_INVALID_FORMAT),
    (".docker/docker", REASON_INVALID_FORMAT),
    ("do..cker/docker", REASON_INVALID_FORMAT),
    ("do__cker:8080/docker", REASON_INVALID_FORMAT),
    ("docker/", REASON_INVALID_FORMAT),
    ("foo.com/", REASON_INVALID_FORMAT),
    ("aa/asdf$$^/aa", REASON_INVALID_FORMAT),
    ("a^a", REASON_INVALID_FORMAT),
    ("foo bar", REASON_INVALID_FORMAT),
    ("foo/bar-", REASON_INVALID_FORMAT),
    ("foo/-bar", REASON_INVALID_FORMAT),
    ("foo.com/a-/a/a", REASON_INVALID_FORMAT),
    ("foo@bar@" + SHA256, REASON_DIGEST_FORMAT),
    # hosts
    ("test.com:http/bar", REASON_INVALID_FORMAT),
    ("localhost:http/name", REASON_INVALID_FORMAT),
    ("-ab.com/x", REASON_INVALID_FORMAT),
    ("ab-.com/x", REASON_INVALID_FORMAT),
    ("ab.-com/x", REASON_INVALID_FORMAT),
    ("ab.com-/x", REASON_INVALID_FORMAT),
    ("foo_bar.com:8080/app", REASON_INVALID_FORMAT),
    ("bad_hostname.com:8080/myapp:tag", REASON_INVALID_FORMAT),
    ("[2001:db8::1]", REASON_INVALID_FORMAT),
    ("[2001:db8::1]:5000", REASON_INVALID_FORMAT),
    ("[2001:db8::1]:tag", REASON_INVALID_FORMAT),
    ("[fc00::1]", REASON_INVALID_FORMAT),
    ("[fc00::1]:5000", REASON_INVALID_FORMAT),
    ("fc00::1:5000/debian", REASON_INVALID_FORMAT),
    ("[fe80::1%eth0]:5000/repo", REASON_INVALID_FORMAT),
    ("[fe80::1%@invalidzone]:5000/repo", REASON_INVALID_FORMAT),
    ("[2001:db8:3:4::192.0.2.33]:5000/debian", REASON_INVALID_FORMAT),
    ("[fd00:1:2::3]75050/x", REASON_INVALID_FORMAT),
    ("[fd00:1:2::3]::75050/x", REASON_INVALID_FORMAT),
    # deliberate deviation: distribution keeps these as names without a registry
    ("a_b.c/x", REASON_INVALID_HOST),
    ("test_com.foo/bar", REASON_INVALID_HOST),
    # length: the repository path, after normalisation, is at most 255
    ("a" * 247 + "b", REASON_NAME_TOO_LONG),  # "library/" makes it 256
    ("a" * 256, REASON_NAME_TOO_LONG),
    ("a/" * 128 + "a:tag", REASON_NAME_TOO_LONG),
    ("quay.io/" + "b" * 256, REASON_NAME_TOO_LONG),
    (
        "_".join(["this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255"] * 4)
        + "/docker",
        REASON_NAME_TOO_LONG,
    ),
    # tags
    ("foo:", REASON_TAG_FORMAT),
    ("foo:-tag", REASON_TAG_FORMAT),
    ("foo:.tag", REASON_TAG_FORMAT),
    ("registry.com:8080/myapp:invalid~tag", REASON_TAG_FORMAT),
    ("foo:" + "t" * 129, REASON_TAG_FORMAT),
    (f"foo:@{SHA256}", REASON_TAG_FORMAT),
    # digests
    ("foo@sha256:abc", REASON_DIGEST_FORMAT),
    ("foo@", REASON_DIGEST_FORMAT),
    ("foo@sha256", REASON_DIGEST_FORMAT),
    ("foo@sha256:", REASON_DIGEST_FORMAT),
    ("registry.com:8080/myapp@sha256:badbadbadbad", REASON_DIGEST_FORMAT),
    ("registry.com:8080/myapp@bad", REASON_DIGEST_FORMAT),
    ("registry.com:8080/myapp@2bad", REASON_DIGEST_FORMAT),
    ("repo@sha256:" + "f" * 34, REASON_DIGEST_FORMAT),
    ("repo@sha256:" + "f" * 65, REASON_DIGEST_FORMAT),
    ("repo@sha256:" + "F" * 64, REASON_DIGEST_FORMAT),
    ("repo@sha512:" + "f" * 64, REASON_DIGEST_FORMAT),
    ("repo@sha384:" + "f" * 64, REASON_DIGEST_FORMAT),
    ("foo@md5:abc", REASON_DIGEST_FORMAT),
    ("foo@md5:" + "d" * 32, REASON_DIGEST_UNSUPPORTED),
    ("validname@invaliddigest:" + F64, REASON_DIGEST_UNSUPPORTED),
    ("foo@sha1:" + "a" * 40, REASON_DIGEST_UNSUPPORTED),
    ("foo@blake3:" + "a" * 64, REASON_DIGEST_UNSUPPORTED),
    ("foo@sha256+b64:" + "a" * 64, REASON_DIGEST_UNSUPPORTED),
    # go-digest's own algorithm grammar is lower case only: format, not support
    ("foo@Sha256:" + "a" * 64, REASON_UPPERCASE),
    ("example.com/foo@Md5:" + "d" * 32, REASON_UPPERCASE),
    ("example.com:5000/foo:t@MD5:" + "d" * 32, REASON_DIGEST_FORMAT),
]


def _case_id(value: object) -> str | None:
    """Keep test ids readable: long inputs show their start and length."""
    if isinstance(value, str) and len(value) > 48:
        return f"{value[:24]}...[{len(value)}]"
    return None


VALID_IDS = [_case_id(case[0]) or case[0] for case in VALID]


@pytest.mark.parametrize(
    ("text", "domain", "path", "tag", "digest", "canonical", "familiar"), VALID, ids=VALID_IDS
)
def test_valid(
    text: str,
    domain: str,
    path: str,
    tag: str | None,
    digest: str | None,
    canonical: str,
    familiar: str,
) -> None:
    ref = parse_reference(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (domain, path, tag, digest)
    assert ref.name == f"{domain}/{path}"
    assert ref.canonical == canonical
    assert str(ref) == canonical
    assert ref.familiar == familiar


@pytest.mark.parametrize(("text", "domain", "path"), LONG_NAMES, ids=["247", "255", "domain"])
def test_long_names_within_limit(text: str, domain: str, path: str) -> None:
    ref = parse_reference(text)
    assert (ref.domain, ref.path) == (domain, path)
    assert len(ref.path) <= 255


@pytest.mark.parametrize(("text", "reason"), INVALID, ids=_case_id)
def test_invalid(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference(text)
    assert caught.value.reason == reason
    assert caught.value.reference == text


@pytest.mark.parametrize(
    ("text", "_domain", "_path", "_tag", "_digest", "canonical", "familiar"), VALID, ids=VALID_IDS
)
def test_canonical_and_familiar_round_trip(
    text: str,
    _domain: str,
    _path: str,
    _tag: str | None,
    _digest: str | None,
    canonical: str,
    familiar: str,
) -> None:
    """Both printed forms mean the same image again (distribution's ambiguous names)."""
    ref = parse_reference(text)
    assert parse_reference(canonical) == ref
    if len(familiar) == 64 and all(c in "0123456789abcdef" for c in familiar):
        # docker.io/library/<64 hex> familiarises to a bare image ID, as in docker.
        with pytest.raises(InvalidReference):
            parse_reference(familiar)
    else:
        assert parse_reference(familiar) == ref


@pytest.mark.parametrize(
    ("familiar", "spellings"),
    [
        ("fooo/bar", ["docker.io/fooo/bar", "index.docker.io/fooo/bar"]),
        ("ubuntu", ["library/ubuntu", "docker.io/ubuntu", "index.docker.io/library/ubuntu"]),
        ("foo", ["docker.io/foo", "docker.io/library/foo"]),
        ("127.0.0.1:8000/private/moonbase", []),
        ("example.com:8000/privatebasee", []),
    ],
)
def test_equivalent_spellings(familiar: str, spellings: list[str]) -> None:
    ref = parse_reference(familiar)
    for spelling in spellings:
        assert parse_reference(spelling) == ref
    assert ref.familiar == familiar


@pytest.mark.parametrize(
    ("text", "effective_tag", "pull_ref", "docker_ref"),
    [
        ("nginx", "latest", "latest", "docker.io/library/nginx:latest"),
        ("nginx:1.27", "1.27", "1.27", "docker.io/library/nginx:1.27"),
        (f"nginx@{SHA256}", None, SHA256, f"docker.io/library/nginx@{SHA256}"),
        (f"nginx:1.27@{SHA256}", "1.27", SHA256, f"docker.io/library/nginx@{SHA256}"),
        ("localhost:5000/foo", "latest", "latest", "localhost:5000/foo:latest"),
    ],
)
def test_what_is_pulled(
    text: str, effective_tag: str | None, pull_ref: str, docker_ref: str
) -> None:
    ref = parse_reference(text)
    assert ref.effective_tag == effective_tag
    assert ref.pull_ref == pull_ref
    assert ref.docker_ref == docker_ref


def test_absent_tag_is_not_stored() -> None:
    ref = parse_reference("nginx")
    assert ref.tag is None
    assert ref.digest is None
    assert ref.canonical == "docker.io/library/nginx"


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("docker.io", True),
        ("index.docker.io", True),
        ("registry-1.docker.io", True),
        ("registry.hub.docker.com", True),
        ("Docker.IO", True),
        ("quay.io", False),
        ("docker.io:5000", False),
        ("mirror.gcr.io", False),
        ("localhost", False),
        ("", False),
    ],
)
def test_is_docker_hub(domain: str, expected: bool) -> None:
    assert is_docker_hub(domain) is expected


@pytest.mark.parametrize(
    ("digest", "reason"),
    [
        (SHA256, None),
        (SHA384, None),
        (SHA512, None),
        ("", REASON_DIGEST_FORMAT),
        (":" + H64, REASON_DIGEST_FORMAT),
        ("sha256:", REASON_DIGEST_FORMAT),
        (H64, REASON_DIGEST_FORMAT),
        ("sha256:" + H64[:-1], REASON_DIGEST_FORMAT),
        ("sha256:" + H64.upper(), REASON_DIGEST_FORMAT),
        ("sha256:" + "g" * 64, REASON_DIGEST_FORMAT),
        ("sha512:" + H64, REASON_DIGEST_FORMAT),
        ("md5:" + "d" * 32, REASON_DIGEST_UNSUPPORTED),
        ("sha256+b64:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564", REASON_DIGEST_UNSUPPORTED),
        ("MD5:" + "d" * 32, REASON_DIGEST_FORMAT),
        ("md5:!!", REASON_DIGEST_FORMAT),
    ],
)
def test_validate_digest(digest: str, reason: str | None) -> None:
    problem = validate_digest(digest)
    assert (problem[0] if problem else None) == reason


def test_with_digest_pins_and_keeps_tag() -> None:
    ref = parse_reference("quay.io/x/y:1")
    pinned = ref.with_digest(SHA256)
    assert pinned.canonical == f"quay.io/x/y:1@{SHA256}"
    assert pinned.pull_ref == SHA256
    assert ref.digest is None
    with pytest.raises(InvalidReference) as caught:
        ref.with_digest("sha256:abc")
    assert caught.value.reason == REASON_DIGEST_FORMAT


def test_error_carries_reference_reason_and_detail() -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference("foo:" + "t" * 129)
    err = caught.value
    assert isinstance(err, ValueError)
    assert err.reason == REASON_TAG_FORMAT
    assert err.detail
    assert REASON_TAG_FORMAT in str(err)
    assert "foo:ttt" in str(err)
    again = pickle.loads(pickle.dumps(err))
    assert (again.reference, again.reason, again.detail) == (err.reference, err.reason, err.detail)


def test_error_is_raised_fresh_each_time() -> None:
    """Failures are cached, but each call gets its own exception object."""
    errors = []
    for _ in range(2):
        with pytest.raises(InvalidReference) as caught:
            parse_reference("UPPER")
        errors.append(caught.value)
    assert errors[0] is not errors[1]
    assert errors[0].reason == errors[1].reason == REASON_UPPERCASE


def test_non_string_input() -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference(1.27)  # type: ignore[arg-type]
    assert caught.value.reason == REASON_NOT_STRING


def test_reference_is_frozen_and_hashable() -> None:
    ref = parse_reference("nginx:1.27")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.tag = "1.28"  # type: ignore[misc]
    assert {ref, parse_reference("docker.io/library/nginx:1.27")} == {ref}
    assert parse_reference("nginx:1.27") is ref  # served from the cache
    assert Reference("docker.io", "library/nginx", "1.27") == ref


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a" * 50_000 + "!", id="long-run"),
        pytest.param("a-" * 25_000 + "!", id="dashes"),
        pytest.param("a." * 25_000 + "/x!", id="dots"),
        pytest.param("a/" * 25_000 + "A", id="slashes"),
        pytest.param("[" + ":" * 50_000 + "]/x:!", id="ipv6"),
    ],
)
def test_hostile_input_fails_quickly(text: str) -> None:
    """Long garbage must not make the regular expressions backtrack for ages."""
    with pytest.raises(InvalidReference):
        parse_reference(text)
