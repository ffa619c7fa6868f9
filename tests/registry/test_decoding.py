"""Bodies decoded under a cap through every Content-Encoding layer (gate/registry/decoding.py),
with the edge cases httpx handles for valid responses: several gzip members, raw deflate."""

from __future__ import annotations

import gzip
import zlib

import pytest

from gate.registry.decoding import BodyTooLarge, BoundedDecoder, UndecodableBody

DATA = b"a manifest, more or less " * 100


def _decode(encoding: str, body: bytes, cap: int, step: int = 7) -> bytes:
    decoder = BoundedDecoder(encoding, cap)
    out = b"".join(decoder.feed(body[i : i + step]) for i in range(0, len(body), step))
    return out + decoder.finish()


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("", DATA),
        ("identity", DATA),
        ("gzip", gzip.compress(DATA)),
        ("x-gzip", gzip.compress(DATA)),
        ("gzip, gzip", gzip.compress(gzip.compress(DATA))),
        ("deflate", zlib.compress(DATA)),
        ("deflate", _raw_deflate(DATA)),  # without the zlib header, as httpx accepts
        ("deflate, gzip", gzip.compress(zlib.compress(DATA))),
    ],
)
def test_valid_bodies_decode_exactly(encoding: str, body: bytes) -> None:
    assert _decode(encoding, body, len(DATA)) == DATA


def test_several_gzip_members_are_one_body() -> None:
    body = gzip.compress(DATA[:1000]) + gzip.compress(DATA[1000:])
    assert _decode("gzip", body, len(DATA)) == DATA


def test_the_cap_is_exact_on_every_layer() -> None:
    assert _decode("gzip, gzip", gzip.compress(gzip.compress(DATA)), len(DATA)) == DATA
    with pytest.raises(BodyTooLarge):
        _decode("gzip, gzip", gzip.compress(gzip.compress(DATA)), len(DATA) - 1)


def test_a_bomb_stops_at_the_cap_without_inflating_it() -> None:
    bomb = gzip.compress(gzip.compress(b"\0" * (64 << 20)))
    assert len(bomb) < 100_000
    with pytest.raises(BodyTooLarge):
        _decode("gzip, gzip", bomb, 4 << 20, step=len(bomb))


@pytest.mark.parametrize(
    ("encoding", "body", "words"),
    [
        ("gzip", gzip.compress(DATA)[:-12], "ends early"),
        ("gzip", gzip.compress(DATA) + b"trailing junk", "does not inflate"),
        ("deflate", zlib.compress(DATA) + b"x", "after the end"),
        ("br", b"whatever", "not asked for"),
        ("gzip", b"not gzip at all", "does not inflate"),
    ],
)
def test_broken_bodies_are_refused(encoding: str, body: bytes, words: str) -> None:
    with pytest.raises(UndecodableBody, match=words):
        _decode(encoding, body, 1 << 20)


def test_no_cap_means_no_cap() -> None:
    assert _decode("gzip", gzip.compress(DATA), 0) == DATA
