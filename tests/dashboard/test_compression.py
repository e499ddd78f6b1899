"""Gzip responses put together from parts compressed once."""

from __future__ import annotations

import gzip
import os
import zlib

from apps.dashboard.compression import deflate_part, gzip_parts


def test_parts_compressed_beforehand_or_now_make_one_valid_gzip_member():
    head = b"<html><body>" + b"frame " * 500
    content = b"".join(b"<li>%s</li>\n" % os.urandom(40).hex().encode() for _ in range(2000))
    tail = b"</body></html>"
    body = gzip_parts([(head, None), (content, deflate_part(content)), (tail, None)])

    assert gzip.decompress(body) == head + content + tail
    # A streaming decoder, as a browser's, reads it to its end and finds nothing after.
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert decoder.decompress(body) + decoder.flush() == head + content + tail
    assert decoder.eof
    assert decoder.unused_data == b""


def test_a_single_part_and_an_empty_one():
    assert gzip.decompress(gzip_parts([(b"abc", deflate_part(b"abc"))])) == b"abc"
    assert gzip.decompress(gzip_parts([(b"", None), (b"x" * 70000, None)])) == b"x" * 70000


def test_the_copied_part_is_compressed():
    content = b"<div class='card'>the same card</div>\n" * 5000
    assert len(deflate_part(content)) < len(content) // 20
