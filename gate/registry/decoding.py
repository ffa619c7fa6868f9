"""Response bodies decoded under a cap, through every `Content-Encoding` layer as it arrives.

httpx decodes each chunk whole: a few kilobytes of `Content-Encoding: gzip, gzip` can expand to
gigabytes in one call before any length is checked (a decompression bomb). Here each layer
inflates with `max_length`, so no layer ever produces more than the cap allows; only gzip and
deflate are asked for (`ACCEPT_ENCODING`), as registries send nothing else.
"""

from __future__ import annotations

import zlib

ACCEPT_ENCODING = "gzip, deflate"


class BodyTooLarge(Exception):
    """The decoded body would exceed its cap."""


class UndecodableBody(Exception):
    """A coding not asked for, or bytes that do not inflate."""


class _Layer:
    """One coding undone, its output bounded by `budget` bytes in all.

    As httpx decodes: gzip may hold several members (each decoded in turn), deflate may be
    zlib-wrapped or raw. A stream that ends early, or bytes after the last member, is refused.
    """

    def __init__(self, coding: str, budget: int) -> None:
        if coding in ("gzip", "x-gzip"):
            self._wbits = 16 + zlib.MAX_WBITS
        elif coding == "deflate":
            self._wbits = zlib.MAX_WBITS
        else:
            raise UndecodableBody(f"a body in {coding!r}, which was not asked for")
        self._gzip = coding != "deflate"
        self._inflate = zlib.decompressobj(self._wbits)
        self._started = False
        self._left = budget

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        while data:
            try:
                chunk = self._inflate.decompress(data, self._left + 1)
            except zlib.error as exc:
                if not self._started and not self._gzip and self._wbits > 0:
                    # deflate without its zlib header (raw), as some servers send it
                    self._wbits = -zlib.MAX_WBITS
                    self._inflate = zlib.decompressobj(self._wbits)
                    continue
                raise UndecodableBody(f"a body that does not inflate ({exc})") from None
            self._started = True
            self._take(chunk, out)
            if self._inflate.unconsumed_tail:
                raise BodyTooLarge  # output stopped at the budget with input left over
            data = b""
            if self._inflate.eof and self._inflate.unused_data:
                data = self._inflate.unused_data
                if not self._gzip:
                    raise UndecodableBody("bytes after the end of the deflate stream")
                self._inflate = zlib.decompressobj(self._wbits)  # the next gzip member
        return bytes(out)

    def finish(self) -> bytes:
        out = bytearray()
        if self._started:
            self._take(self._inflate.flush(), out)
            if not self._inflate.eof:
                raise UndecodableBody("a compressed body that ends early")
        return bytes(out)

    def _take(self, chunk: bytes, out: bytearray) -> None:
        self._left -= len(chunk)
        if self._left < 0:
            raise BodyTooLarge
        out.extend(chunk)


class BoundedDecoder:
    """Undo `content_encoding` (`gzip`, `gzip, gzip`, ...) chunk by chunk; `BodyTooLarge` as
    soon as the decoded body would pass `cap` bytes (0: no cap).

    A coding's output is the next one's input, which compressed data never outgrows its
    decoded form by more than a little: every layer gets the cap plus that margin.
    """

    def __init__(self, content_encoding: str, cap: int) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        self._cap = cap
        budget = cap + cap // 64 + 4096 if cap else 1 << 62
        self._layers = [_Layer(coding, budget) for coding in reversed(codings)]
        self._size = 0

    def feed(self, raw: bytes) -> bytes:
        data = raw
        for layer in self._layers:
            data = layer.feed(data)
        return self._count(data)

    def finish(self) -> bytes:
        """What the layers still hold, flushed through the ones after them."""
        data = b""
        for layer in self._layers:
            data = (layer.feed(data) if data else b"") + layer.finish()
        return self._count(data)

    def _count(self, data: bytes) -> bytes:
        self._size += len(data)
        if self._cap and self._size > self._cap:
            raise BodyTooLarge
        return data
