#!/usr/bin/env python3
"""Regenerate the dataset and JPEG fixtures in Tests/SPConvLabTests/Fixtures/datasets/.

Run from the repository root (needs numpy and Pillow; PIL's JPEG decoder is the reference the
Swift decoder is compared with, since torchvision's default loader is PIL):

    python3 tools/make_dataset_fixtures.py

Everything is small (a few KB) and in the real distribution formats:

  tree/                 an ImageFolder tree: classes 'bird', 'cat', 'dog' (sorted), with PNG and
                        JPEG files (RGB and grayscale JPEGs, one JPEG 4:2:0 subsampled), a nested
                        sub-folder under 'bird', upper-case extensions, a hidden file and a text
                        file that torchvision skips.
  tree.json             torchvision's view of tree/: classes and (relative path, class index) in
                        datasets.ImageFolder order, computed here with torchvision's algorithm
                        (find_classes + make_dataset: sorted sub-folders; sorted(os.walk(...)),
                        sorted file names; extensions checked lower-case).
  jpeg/*.jpg            JPEGs; jpeg/*.json holds PIL's decoded pixels (mode, size, bytes as a
                        list), the expected output of JPEGCodec.
  jpeg/truncated.jpg    the first half of rgb_420.jpg (must be refused, not filled with gray).
  jpeg/cmyk.jpg         a CMYK JPEG (refused: PIL keeps CMYK, we decode gray and RGB only).
  cifar10/              cifar-10-batches-bin layout: data_batch_1.bin .. data_batch_5.bin (2
                        records each), test_batch.bin (3 records), batches.meta.txt. Record:
                        label byte, then 1024 R, 1024 G, 1024 B bytes (32 x 32 row-major).
                        Pixel (k, c, y, x) of the i-th record of a file = (k + 3 c + 5 y + 7 x) mod
                        256 with k = the record's global index (train 0..9, test 100..102);
                        label = k mod 10.
  cifar100/             cifar-100-binary layout: train.bin (4 records), test.bin (2),
                        fine_label_names.txt, coarse_label_names.txt. Record: coarse byte, fine
                        byte, 3072 bytes as above; fine label = (7 k) mod 100, coarse = fine // 5.
  idx/                  MNIST-named IDX files (train-*, t10k-*), 12 x 12 images: 6 train, 4 test
                        (gzipped train, raw test). Pixel (k, y, x) = (k + 12 y + x) mod 256 with k
                        the global index (test 100..103); label = k mod 3.
"""
import gzip
import json
import os
import pathlib
import struct

import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/SPConvLabTests/Fixtures/datasets"

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def pattern_image(width, height, seed, mode):
    y, x = np.mgrid[0:height, 0:width]
    r = (seed * 40 + 9 * x + 5 * y) % 256
    g = (seed * 70 + 3 * x * y) % 256
    b = (255 - 11 * x + 4 * y) % 256
    rgb = np.stack([r, g, b], axis=-1).astype(np.uint8)
    image = Image.fromarray(rgb, "RGB")
    return image.convert("L") if mode == "L" else image


def write_tree():
    tree = OUT / "tree"
    files = {
        "cat/a.png": (20, 16, 1, "RGB"),
        "cat/B.JPG": (24, 18, 2, "RGB"),
        "cat/gray.jpeg": (17, 21, 3, "L"),
        "dog/z.jpg": (30, 30, 4, "RGB"),
        "dog/a.PNG": (12, 14, 5, "L"),
        "bird/nested/deep.png": (9, 11, 6, "RGB"),
        "bird/n.jpg": (16, 16, 7, "RGB"),
        "bird/.hidden.png": (8, 8, 8, "RGB"),
    }
    for relative, (w, h, seed, mode) in files.items():
        path = tree / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        image = pattern_image(w, h, seed, mode)
        if relative.lower().endswith(".png"):
            image.save(path, format="PNG")
        else:
            image.save(path, format="JPEG", quality=90)
    (tree / "dog" / "notes.txt").write_text("not an image\n")
    # torchvision's find_classes and make_dataset.
    classes = sorted(entry.name for entry in os.scandir(tree) if entry.is_dir())
    samples = []
    for index, name in enumerate(classes):
        for root, _, names in sorted(os.walk(tree / name, followlinks=True)):
            for file in sorted(names):
                if file.lower().endswith(IMG_EXTENSIONS):
                    samples.append([str(pathlib.Path(root, file).relative_to(tree)), index])
    (OUT / "tree.json").write_text(json.dumps({"classes": classes, "samples": samples}, indent=1) + "\n")


def write_jpegs():
    folder = OUT / "jpeg"
    folder.mkdir(parents=True, exist_ok=True)
    cases = {
        "rgb_444.jpg": (pattern_image(13, 9, 1, "RGB"), {"quality": 85, "subsampling": 0}),
        "rgb_420.jpg": (pattern_image(19, 14, 2, "RGB"), {"quality": 75, "subsampling": 2}),
        "gray.jpg": (pattern_image(11, 7, 3, "L"), {"quality": 90}),
        "progressive.jpg": (pattern_image(16, 12, 4, "RGB"), {"quality": 80, "progressive": True}),
    }
    for name, (image, options) in cases.items():
        path = folder / name
        image.save(path, format="JPEG", **options)
        decoded = Image.open(path)
        decoded.load()
        pixels = np.asarray(decoded)
        (folder / (name + ".json")).write_text(json.dumps({
            "mode": decoded.mode, "width": decoded.width, "height": decoded.height,
            "pixels": pixels.reshape(-1).tolist()}) + "\n")
    whole = (folder / "rgb_420.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    pattern_image(8, 8, 5, "RGB").convert("CMYK").save(folder / "cmyk.jpg", format="JPEG")


def cifar_pixels(k):
    c, y, x = np.mgrid[0:3, 0:32, 0:32]
    return ((k + 3 * c + 5 * y + 7 * x) % 256).astype(np.uint8).reshape(-1)


def write_cifar():
    folder = OUT / "cifar10"
    folder.mkdir(parents=True, exist_ok=True)
    k = 0
    for batch in range(1, 6):
        records = b""
        for _ in range(2):
            records += bytes([k % 10]) + cifar_pixels(k).tobytes()
            k += 1
        (folder / f"data_batch_{batch}.bin").write_bytes(records)
    (folder / "test_batch.bin").write_bytes(b"".join(bytes([k % 10]) + cifar_pixels(k).tobytes() for k in range(100, 103)))
    (folder / "batches.meta.txt").write_text("\n".join(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                                        "horse", "ship", "truck"]) + "\n\n")
    folder = OUT / "cifar100"
    folder.mkdir(parents=True, exist_ok=True)

    def record(k):
        fine = (7 * k) % 100
        return bytes([fine // 5, fine]) + cifar_pixels(k).tobytes()

    (folder / "train.bin").write_bytes(b"".join(record(k) for k in range(4)))
    (folder / "test.bin").write_bytes(b"".join(record(k) for k in range(100, 102)))
    (folder / "fine_label_names.txt").write_text("\n".join(f"fine{i}" for i in range(100)) + "\n")
    (folder / "coarse_label_names.txt").write_text("\n".join(f"coarse{i}" for i in range(20)) + "\n")


def idx(magic, dims, data):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def write_idx():
    folder = OUT / "idx"
    folder.mkdir(parents=True, exist_ok=True)

    def images(ks):
        y, x = np.mgrid[0:12, 0:12]
        return b"".join(((k + 12 * y + x) % 256).astype(np.uint8).tobytes() for k in ks)

    train, test = list(range(6)), list(range(100, 104))
    for name, data in [("train-images-idx3-ubyte.gz", idx(0x803, [6, 12, 12], images(train))),
                       ("train-labels-idx1-ubyte.gz", idx(0x801, [6], [k % 3 for k in train]))]:
        with open(folder / name, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as file:
            file.write(data)
    (folder / "t10k-images-idx3-ubyte").write_bytes(idx(0x803, [4, 12, 12], images(test)))
    (folder / "t10k-labels-idx1-ubyte").write_bytes(idx(0x801, [4], [k % 3 for k in test]))


if __name__ == "__main__":
    write_tree()
    write_jpegs()
    write_cifar()
    write_idx()
    print(f"wrote fixtures under {OUT.relative_to(ROOT)}")
