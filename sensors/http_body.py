"""Decoding an HTTP body in bounded pieces.

httpx decodes ``Content-Encoding`` a network chunk at a time, and one 64 KiB chunk of
a gzip bomb inflates to tens of megabytes in one call, before a size limit can look.
:func:`decoded` inflates gzip and deflate at most :data:`PIECE` bytes at a time, so
the reader's ``max_body`` check runs before more than a piece past it is in memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

__all__ = ["ACCEPT_ENCODING", "PIECE", "BodyDecodeError", "decoded"]

PIECE = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate"  # what decoded() reads; asked for on every poll


class BodyDecodeError(ValueError):
    """A body whose Content-Encoding is unknown or whose compressed data is corrupt."""


def decoded(raw: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    """The body from its ``raw`` (still encoded) chunks, in pieces of at most PIECE bytes.

    Raises:
        BodyDecodeError: an encoding other than identity, gzip or deflate, or corrupt data.
    """
    kinds = [e.strip().lower() for e in encoding.split(",") if e.strip()]
    kinds = [k for k in kinds if k != "identity"]
    if not kinds:
        yield from (chunk for chunk in raw if chunk)
        return
    if len(kinds) > 1 or kinds[0] not in ("gzip", "x-gzip", "deflate"):
        raise BodyDecodeError(
            f"the body's Content-Encoding {encoding!r} is not gzip or "
            "deflate, which is what the sensor asks for"
        )
    yield from _inflate(raw, gzip=kinds[0] != "deflate")


def _inflate(raw: Iterable[bytes], *, gzip: bool) -> Iterator[bytes]:
    inflater: zlib._Decompress | None = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None
    try:
        for chunk in raw:
            data = chunk
            while data:
                if inflater is None:  # deflate: zlib-wrapped, or raw as some servers send
                    inflater = _deflate_for(data)
                if inflater.eof:  # another gzip member follows
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                out = inflater.decompress(data, PIECE)
                data = inflater.unconsumed_tail or (inflater.unused_data if inflater.eof else b"")
                if out:
                    yield out
        if inflater is not None:
            rest = inflater.flush()
            for i in range(0, len(rest), PIECE):
                yield rest[i : i + PIECE]
    except zlib.error as exc:
        raise BodyDecodeError(
            f"the body is not valid {'gzip' if gzip else 'deflate'} data ({exc})"
        ) from None


def _deflate_for(data: bytes) -> zlib._Decompress:
    probe = zlib.decompressobj()
    try:
        probe.decompress(data[:2])
        return zlib.decompressobj()
    except zlib.error:
        return zlib.decompressobj(-zlib.MAX_WBITS)
