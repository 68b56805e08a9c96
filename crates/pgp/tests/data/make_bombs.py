#!/usr/bin/env python3
"""Writes the decompression-bomb fixtures (issue 20, item 4): OpenPGP packets, not encrypted,
that the tests encrypt to a fresh key with `plico_pgp::encrypt_packets`.

- bomb-nested.bin: Compressed(Compressed(Literal(1 GiB of zeros))), a few KB.
- bomb-flat.bin:   Compressed(Literal(200 MiB of zeros)), one layer, over the plaintext cap.

Run it from this folder: python3 make_bombs.py
"""
import struct
import zlib

GIB = 1 << 30


def literal_packet_stream(size):
    """A literal data packet (tag 11, binary) of `size` zero bytes of data, as chunks: one
    partial-length chunk per 2^k bytes (RFC 9580 section 4.2.1.4), ending with a definite length."""
    body_len = 6 + size  # 'b', name length 0, 4-byte date, data
    yield b"\xcb"  # new format, tag 11
    header = b"b\x00\x00\x00\x00\x00"
    pending = header
    remaining = body_len
    zero = bytes(1 << 20)
    while remaining >= 1 << 20:
        # Partial chunks of 1 MiB (0xE0 | 20).
        yield b"\xf4"
        chunk_left = 1 << 20
        if pending:
            yield pending
            chunk_left -= len(pending)
            pending = b""
        yield zero[:chunk_left]
        remaining -= 1 << 20
    # The last part: a definite length (two-octet form when it fits, else five-octet).
    tail = pending + bytes(remaining - len(pending))
    yield b"\xff" + struct.pack(">I", len(tail))
    yield tail


def compressed_packet(chunks):
    """A compressed data packet (tag 8, ZIP = raw deflate) around the given byte chunks."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = bytearray(b"\x01")
    for chunk in chunks:
        body += deflate.compress(chunk)
    body += deflate.flush()
    return b"\xc8\xff" + struct.pack(">I", len(body)) + bytes(body)


with open("bomb-nested.bin", "wb") as out:
    inner = compressed_packet(literal_packet_stream(GIB))
    out.write(compressed_packet([inner]))

with open("bomb-flat.bin", "wb") as out:
    out.write(compressed_packet(literal_packet_stream(200 << 20)))
