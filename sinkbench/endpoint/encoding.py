"""Request bodies sent with `Content-Encoding: gzip` or `deflate`, decoded before the ledger reads them.

The endpoint decodes them itself rather than in its HTTP layer, for three
reasons: the output is bounded (a decompression bomb stops at the body cap,
never fills memory and never costs the CPU to inflate the rest); a stream
that is cut short is refused, where a lenient decoder hands on what it had;
and the journal and stats can show the bytes as they came over the wire.

`deflate` is, per RFC 9110, the zlib format; some clients send a raw deflate
stream under that name, and that is accepted too (as browsers and aiohttp
do). Several codings (`gzip, gzip`) are undone in reverse order, at most
MAX_CODINGS of them.
"""

from __future__ import annotations

import zlib

MAX_CODINGS = 4
_GZIP = 16 + zlib.MAX_WBITS
_ZLIB = zlib.MAX_WBITS
_RAW = -zlib.MAX_WBITS


class BodyEncodingError(Exception):
    """The body cannot be decoded: `status` is the answer (400 undecodable, 415 an unknown coding)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def codings(header: str) -> list[str]:
    """The codings a Content-Encoding header lists, in the order they were applied (`identity` left out)."""
    out = [c.strip().lower() for c in header.split(",")]
    return [c for c in out if c and c != "identity"]


def decode(body: bytes, header: str, cap: int) -> bytes | None:
    """`body` with the codings of `header` undone; None when the result would be over `cap` bytes.

    BodyEncodingError when a coding is unknown or the data does not decode.
    """
    names = codings(header)
    if len(names) > MAX_CODINGS:
        raise BodyEncodingError(400, f"Content-Encoding lists {len(names)} codings (at most {MAX_CODINGS})")
    for name in names:
        if name not in ("gzip", "x-gzip", "deflate"):
            raise BodyEncodingError(415, f"unsupported Content-Encoding {name[:40]!r} (gzip and deflate are)")
    data: bytes | None = body
    for name in reversed(names):
        if data is None:
            return None
        if not data:
            continue  # nothing was compressed: an empty body stays empty
        data = _gunzip(data, cap) if name != "deflate" else _inflate(data, cap)
    return data


def _gunzip(data: bytes, cap: int) -> bytes | None:
    """Every member of a gzip stream (concatenated members are one valid stream), at most `cap` bytes."""
    parts: list[bytes] = []
    size = 0
    rest = data
    while rest:
        out, rest = _one_stream(rest, _GZIP, cap - size, "gzip")
        if out is None:
            return None
        parts.append(out)
        size += len(out)
    return b"".join(parts) if len(parts) != 1 else parts[0]


def _inflate(data: bytes, cap: int) -> bytes | None:
    # RFC 1950's header has compression method 8 in its low nibble; anything else is taken as raw deflate.
    wbits = _ZLIB if data[0] & 0x0F == 8 else _RAW
    out, rest = _one_stream(data, wbits, cap, "deflate")
    if rest:
        raise BodyEncodingError(400, "deflate body has data after its end")
    return out


def _one_stream(data: bytes, wbits: int, room: int, name: str) -> tuple[bytes | None, bytes]:
    """One compressed stream: (its output, or None past `room` bytes; the bytes after it)."""
    d = zlib.decompressobj(wbits)
    try:
        # max_length bounds the output: a bomb is stopped here, after room + 1 bytes.
        out = d.decompress(data, room + 1)
    except zlib.error as exc:
        raise BodyEncodingError(400, f"body does not decode as {name}: {exc}") from None
    if len(out) > room:
        return None, b""
    if not d.eof:
        raise BodyEncodingError(400, f"{name} body is cut short (its stream does not end)")
    return out, d.unused_data
