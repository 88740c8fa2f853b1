#!/usr/bin/env python3
"""Regenerate the image fixtures in Tests/SPConvLabTests/Fixtures/images/.

Run from the repository root (needs numpy, torch and Pillow; Pillow only decodes the sample
photographs, independently of libpng which the Swift code uses):

    python3 tools/make_image_fixtures.py

It writes two kinds of fixture:

1. Expected preprocessed tensors, raw little-endian float32 in NCHW order, computed with PyTorch
   following the documented preprocessing of `ImagePreprocessor` (drop alpha; BT.601 luma for
   1-channel models; shorter side to S with
   torch.nn.functional.interpolate(mode="bilinear", align_corners=False, antialias=False) on
   float32 values 0..255; centre crop with floor((dim - S) / 2) offsets; /255; (x - mean) / std):
     chelsea_rgb32_cifar10.f32   assets/images/chelsea.png, 3 x 32 x 32, CIFAR-10 normalisation
     horse_gray28_fmnist.f32     assets/images/horse.png (RGBA), 1 x 28 x 28, Fashion-MNIST normalisation
2. Tiny PNG files assembled byte by byte here (zlib + CRC, no image library), whose pixel values
   the Swift tests state by hand:
     rgb_2x2.png          8-bit RGB      (255,0,0) (0,255,0) / (0,0,255) (10,20,30)
     gray_alpha_2x2.png   8-bit gray+alpha  (0,255) (100,128) / (200,0) (255,255)
     gray16_2x2.png       16-bit gray    0x0000 0x8080 / 0xFFFF 0x1234 -> 8-bit 0 128 / 255 18
     palette_2x2.png      2-bit palette [(255,0,0), (0,128,255), (7,8,9)], indices 0 1 / 2 1
     palette_trns_2x2.png same palette with tRNS alphas (255, 0, 77): decodes to RGBA
     huge_header.png      IHDR claiming 20000 x 20000 RGB, then a tiny IDAT and IEND
"""
import pathlib
import struct
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets" / "images"
OUT = ROOT / "Tests" / "SPConvLabTests" / "Fixtures" / "images"

CIFAR10 = ([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616])
FASHION_MNIST = ([0.2860], [0.3530])


def preprocess(path, channels, size, normalization):
    pixels = np.asarray(Image.open(path))  # H x W [x C], uint8, no colour management
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    pixels = torch.from_numpy(pixels.astype(np.float32)).permute(2, 0, 1)  # C x H x W
    colour = pixels.shape[0] >= 3
    pixels = pixels[:3] if colour else pixels[:1]  # drop alpha
    if channels == 1 and colour:
        pixels = (0.299 * pixels[0] + 0.587 * pixels[1] + 0.114 * pixels[2])[None]
    elif channels == 3 and not colour:
        pixels = pixels.expand(3, -1, -1)
    height, width = pixels.shape[1:]
    if width <= height:
        new_w, new_h = size, size * height // width
    else:
        new_w, new_h = size * width // height, size
    resized = F.interpolate(pixels[None], size=(new_h, new_w), mode="bilinear",
                            align_corners=False, antialias=False)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    cropped = resized[:, :, top:top + size, left:left + size] / 255
    mean = torch.tensor(normalization[0], dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(normalization[1], dtype=torch.float32).view(1, -1, 1, 1)
    return ((cropped - mean) / std).contiguous()


def save_f32(name, tensor):
    data = tensor.numpy().astype("<f4").tobytes()
    (OUT / name).write_bytes(data)
    print(f"{name}: shape {list(tensor.shape)}, {len(data)} bytes")


def chunk(kind, payload):
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(width, height, bit_depth, colour_type, rows, extra=b""):
    """A PNG whose rows are given as raw bytes (each is prefixed with filter type 0)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def save_png(name, data):
    (OUT / name).write_bytes(data)
    print(f"{name}: {len(data)} bytes")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    save_f32("chelsea_rgb32_cifar10.f32", preprocess(ASSETS / "chelsea.png", 3, 32, CIFAR10))
    save_f32("horse_gray28_fmnist.f32", preprocess(ASSETS / "horse.png", 1, 28, FASHION_MNIST))

    save_png("rgb_2x2.png", png(2, 2, 8, 2, [bytes([255, 0, 0, 0, 255, 0]),
                                             bytes([0, 0, 255, 10, 20, 30])]))
    save_png("gray_alpha_2x2.png", png(2, 2, 8, 4, [bytes([0, 255, 100, 128]),
                                                    bytes([200, 0, 255, 255])]))
    save_png("gray16_2x2.png", png(2, 2, 16, 0, [struct.pack(">HH", 0x0000, 0x8080),
                                                 struct.pack(">HH", 0xFFFF, 0x1234)]))
    palette = chunk(b"PLTE", bytes([255, 0, 0, 0, 128, 255, 7, 8, 9]))
    # 2-bit indices, packed from the most significant bits: row 0 = 0, 1; row 1 = 2, 1.
    index_rows = [bytes([0b00_01_0000]), bytes([0b10_01_0000])]
    save_png("palette_2x2.png", png(2, 2, 2, 3, index_rows, extra=palette))
    save_png("palette_trns_2x2.png",
             png(2, 2, 2, 3, index_rows, extra=palette + chunk(b"tRNS", bytes([255, 0, 77]))))
    huge = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    save_png("huge_header.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", huge)
             + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    main()
