"""Property tests (hypothesis) for the two parsers that read untrusted text: image references
and manifests. Bounded example counts, so the suite stays quick."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.load import load_paths, load_text
from gate.reference import InvalidReference, parse_reference

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_component = st.from_regex(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*", fullmatch=True).filter(
    lambda c: len(c) <= 30
)
_domain = st.one_of(
    st.none(),
    st.sampled_from(["docker.io", "ghcr.io", "quay.io", "localhost", "127.0.0.1:5000"]),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}\.[a-z]{2,5}(:[1-9][0-9]{1,4})?", fullmatch=True),
)
_tag = st.one_of(st.none(), st.from_regex(r"[\w][\w.-]{0,20}", fullmatch=True))
_digest = st.one_of(st.none(), st.text("0123456789abcdef", min_size=64, max_size=64))


@st.composite
def references(draw: st.DrawFn) -> str:
    domain = draw(_domain)
    path = "/".join(draw(st.lists(_component, min_size=1, max_size=3)))
    tag, digest = draw(_tag), draw(_digest)
    text = f"{domain}/{path}" if domain else path
    if tag is not None:
        text += f":{tag}"
    if digest is not None:
        text += f"@sha256:{digest}"
    return text


@FUZZ
@given(references())
def test_normalisation_round_trips(text: str) -> None:
    """Whatever parses, its canonical form parses to the same reference (distribution's
    ParseNormalizedNamed then String(), as the kubelet normalises)."""
    try:
        ref = parse_reference(text)
    except InvalidReference:
        return  # e.g. a 64-hex-character "name", or a path too long: refused, with a reason
    again = parse_reference(ref.canonical)
    assert again == ref
    assert again.canonical == ref.canonical  # a fixed point
    assert ref.canonical.startswith(ref.domain + "/")
    # (`familiar` is for messages only: as docker's FamiliarName, `docker.io/0.0/0` shows as
    # `0.0/0`, which reads back as a host; hypothesis found it, distribution does the same)


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_any_text_parses_or_raises_only_invalid_reference(text: str) -> None:
    try:
        parse_reference(text)
    except InvalidReference as exc:
        assert str(exc).startswith("invalid image reference")


_yaml_bits = st.sampled_from(
    [
        "apiVersion: v1\n",
        "kind: Pod\n",
        "kind: List\n",
        "metadata: {name: p}\n",
        "---\n",
        "spec:\n",
        "  containers:\n",
        "  - name: a\n",
        "    image: nginx\n",
        "items:\n",
        "- {apiVersion: v1, kind: Pod}\n",
        "&a [*a]\n",
        "*b\n",
        "key: [\n",
        "'\n",
        '"\\u',
        "\t",
        "{",
        "}",
        "[",
        "]",
        ": ",
        "- ",
        "#",
        "\r\n",
        "\x00",
        "!!python/object:x\n",
        "<<: *m\n",
        "!!binary AAAA\n",
        "9" * 50,
        "\ufeff",
    ]
)


@FUZZ
@given(st.lists(st.one_of(_yaml_bits, st.text(max_size=20)), max_size=30))
def test_the_loader_takes_any_text(parts: list[str]) -> None:
    """Any text loads into objects or invalid documents, never an exception."""
    result = load_text("".join(parts), "fuzz.yaml")
    assert result.documents >= 0
    for obj in result.objects:
        assert isinstance(obj.data, dict) and obj.kind and obj.api_version
        assert obj.line_of(("metadata", "name")) >= 1
    for bad in result.invalid:
        assert bad.line >= 1 and bad.message


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=400))
def test_the_loader_takes_any_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    """Any bytes in a file load, or are a finding (not UTF-8), never a traceback."""
    path = tmp_path_factory.getbasetemp() / "fuzz.yaml"
    path.write_bytes(data)
    result = load_paths([str(path)])
    assert result.files == [str(path)]
    assert all(bad.line >= 1 for bad in result.invalid)
