"""Gzip responses put together from parts compressed once.

A dashboard page is the viewer's frame (navigation, CSRF token) around content that is the
same for every viewer and cached; compressing the whole page again on every request costs
more than rendering it (800 KB of cards for 200 teams: ~25 ms of level-6 deflate). So the
cached content keeps its compressed form: deflate blocks that end on a full flush, which
resets the compressor's history, so they can follow any other blocks in a stream. A
response is the gzip header, the frame's head compressed now, the content's blocks as
stored, the frame's tail compressed now with the final block, and the trailer (RFC 1952).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

LEVEL = 6  # as GZipMiddleware
# Magic, deflate, no flags, no modification time, no extra flags, unknown OS.
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def deflate_part(data: bytes) -> bytes:
    """`data` as raw deflate blocks ending on a full flush (no final block): a part that can
    be placed anywhere in a stream."""
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


def gzip_parts(parts: Sequence[tuple[bytes, bytes | None]]) -> bytes:
    """One gzip member of the parts in order. Each part is its bytes and, if it was
    compressed beforehand with `deflate_part`, those blocks (copied as they are)."""
    out = [HEADER]
    crc = 0
    size = 0
    for data, deflated in parts:
        out.append(deflated if deflated is not None else deflate_part(data))
        crc = zlib.crc32(data, crc)
        size += len(data)
    out.append(zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS).flush(zlib.Z_FINISH))
    out.append(struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))
    return b"".join(out)
