#!/usr/bin/env python3
"""Regenerate the IDX fixtures in Tests/SPConvLabTests/Fixtures/idx/.

Run from the repository root (needs numpy; gzip is Python's own module, written with mtime=0
so reruns give identical bytes):

    python3 tools/make_idx_fixtures.py

The images are 5 of 28 x 28 with pixel (k, y, x) = (50 k + 28 y + x) mod 256, so image 0 has
pixel 0 at (y 0, x 0) and 255 at (y 9, x 3); the labels are 9 2 1 1 6 (the first five labels of
the real Fashion-MNIST test set). IDX: big-endian magic 0x00000803 (images) / 0x00000801
(labels), then one big-endian uint32 per dimension, then the bytes.

Valid files:
  images5.idx3, images5.idx3.gz       the 5 images, raw and gzipped
  labels5.idx1, labels5.idx1.gz       the 5 labels, raw and gzipped
  two_members.gz                      gzip(labels5.idx1[:6]) + gzip(labels5.idx1[6:]): two gzip members
  fmnist5/                            a Fashion-MNIST folder: t10k-* gzipped, train-* raw (same data)
Hostile files:
  wrong_magic.idx3                    images5.idx3 with the magic written little-endian (03 08 00 00)
  truncated.idx3.gz                   the first half of images5.idx3.gz
  corrupt.idx3.gz                     images5.idx3.gz with 16 bytes in the middle of the deflate data inverted
  trailing_garbage.gz                 labels5.idx1.gz followed by the bytes "garbage"
  truncated_data.idx3                 a header for 5 images followed by 3 images of data
  extra_data.idx3                     a header for 5 images followed by 6 images of data
  huge_count.idx3, huge_count.idx3.gz a header claiming 2^31 images of 28 x 28, then one image
  mismatch/                           a Fashion-MNIST folder with 5 t10k images but 4 labels
"""
import gzip
import pathlib
import struct

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/SPConvLabTests/Fixtures/idx"


def idx(magic, dims, data):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def write(name, data):
    path = OUT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def main():
    k, y, x = np.meshgrid(np.arange(5), np.arange(28), np.arange(28), indexing="ij")
    images = ((50 * k + 28 * y + x) % 256).astype(np.uint8)
    assert images[0, 0, 0] == 0 and images[0, 9, 3] == 255
    labels = np.array([9, 2, 1, 1, 6], dtype=np.uint8)

    images5 = idx(0x803, [5, 28, 28], images.tobytes())
    labels5 = idx(0x801, [5], labels.tobytes())
    write("images5.idx3", images5)
    write("images5.idx3.gz", gz(images5))
    write("labels5.idx1", labels5)
    write("labels5.idx1.gz", gz(labels5))
    write("two_members.gz", gz(labels5[:6]) + gz(labels5[6:]))

    write("fmnist5/t10k-images-idx3-ubyte.gz", gz(images5))
    write("fmnist5/t10k-labels-idx1-ubyte.gz", gz(labels5))
    write("fmnist5/train-images-idx3-ubyte", images5)
    write("fmnist5/train-labels-idx1-ubyte", labels5)

    write("wrong_magic.idx3", struct.pack("<I", 0x803) + images5[4:])
    compressed = gz(images5)
    write("truncated.idx3.gz", compressed[: len(compressed) // 2])
    middle = len(compressed) // 2
    corrupt = bytearray(compressed)
    for i in range(middle, middle + 16):
        corrupt[i] ^= 0xFF
    write("corrupt.idx3.gz", bytes(corrupt))
    write("trailing_garbage.gz", gz(labels5) + b"garbage")
    write("truncated_data.idx3", idx(0x803, [5, 28, 28], images[:3].tobytes()))
    write("extra_data.idx3", idx(0x803, [5, 28, 28], images.tobytes() + images[:1].tobytes()))
    huge = idx(0x803, [2**31, 28, 28], images[:1].tobytes())
    write("huge_count.idx3", huge)
    write("huge_count.idx3.gz", gz(huge))
    write("mismatch/t10k-images-idx3-ubyte", images5)
    write("mismatch/t10k-labels-idx1-ubyte", idx(0x801, [4], labels[:4].tobytes()))


if __name__ == "__main__":
    main()
