#!/usr/bin/env python3
"""Writes seed inputs for lake-fuzz's block-decoder targets (zlib-stream, lz4-stream,
lzma-stream): two bytes of piece sizes, three of declared size, then one compressed block as
VTK's compressors write it (zlib; raw LZ4 block, through liblz4; .xz stream with CRC64).

    python3 make_block_seeds.py OUT_DIR      (writes OUT_DIR/{zlib,lz4,lzma}/seed-*)
"""
import ctypes
import lzma
import os
import random
import struct
import sys
import zlib

out = sys.argv[1]
lz4 = ctypes.CDLL("liblz4.so.1")
rng = random.Random(11)


def lz4_block(data):
    bound = lz4.LZ4_compressBound(len(data))
    buffer = ctypes.create_string_buffer(bound)
    size = lz4.LZ4_compress_default(data, buffer, len(data), bound)
    assert size > 0
    return buffer.raw[:size]


shapes = {
    "zeros": bytes(40_000),
    "random": bytes(rng.getrandbits(8) for _ in range(9_000)),
    "floats": b"".join(struct.pack("<f", (i % 97) * 0.25) for i in range(20_000)),
    "pattern": b"abc" * 30_000,
    "text": b" ".join(str(rng.randint(0, 999)).encode() for _ in range(8_000)),
    "tiny": b"x" * 13,
}
coders = {
    "zlib": lambda d: zlib.compress(d, 6),
    "lz4": lz4_block,
    "lzma": lambda d: lzma.compress(d, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=1),
}
for coder, encode in coders.items():
    os.makedirs(os.path.join(out, coder), exist_ok=True)
    for name, data in shapes.items():
        for pieces in (b"\x00\x00", b"\x07\x03", b"\x3f\xff"):
            seed = pieces + struct.pack("<I", len(data))[:3] + encode(data)
            with open(os.path.join(out, coder, "seed-%s-%s" % (name, pieces.hex())), "wb") as f:
                f.write(seed)
