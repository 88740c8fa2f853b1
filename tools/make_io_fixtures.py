#!/usr/bin/env python3
"""Generate the safetensors and .npy fixtures used by SafetensorsTests and NPYFileTests.

Rerun from the package root whenever the fixtures need to change:

    pip install numpy safetensors torch
    python3 tools/make_io_fixtures.py

It writes into Tests/SPConvLabTests/Fixtures/io/. The files are produced by the reference
writers (NumPy's np.save / numpy.lib.format.write_array and the `safetensors` package), so
the Swift readers are checked against independent implementations. Expected values for the
reduced- and double-precision fixtures are written to expected.json as the bit patterns of
NumPy's float32 conversion, so the tests compare exactly, NaN payloads included.
"""
import json
import os

import numpy as np
import torch
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file as save_torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SPConvLabTests", "Fixtures", "io")


def f32_bits(array):
    """The float32 bit patterns of `array` converted by NumPy, as a flat list of ints."""
    with np.errstate(over="ignore"):  # 1e300 -> inf is part of the test
        converted = np.asarray(array).astype(np.float32)
    return [int(x) for x in converted.reshape(-1).view(np.uint32)]


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}

    # --- safetensors ---------------------------------------------------------------------------
    # Half-precision values chosen to exercise every branch of the conversion: zero, negative zero,
    # smallest and largest subnormal, smallest normal, max, infinities, NaN, ordinary values.
    half_bits = np.array([0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x7C00, 0xFC00,
                          0x7E00, 0x3C00, 0xC000, 0x3555], dtype=np.uint16)
    half = torch.from_numpy(half_bits.view(np.float16).copy()).reshape(3, 4)
    bfloat = torch.tensor([1.0, -2.5, 3.140625, 1e-40, float("inf"), -float("inf"), 65504.0, 1e38],
                          dtype=torch.bfloat16).reshape(2, 2, 2)
    double = torch.tensor([0.1, -1e-300, 1e300, 2.0 ** -149, 123456789.123], dtype=torch.float64)
    weight = torch.arange(2 * 3 * 1 * 1, dtype=torch.float32).reshape(2, 3, 1, 1) * 0.25 - 0.5
    scalar = torch.tensor(7.5, dtype=torch.float32)
    tracked = torch.tensor(12345, dtype=torch.int64)
    tensors = {
        "layer1.0.conv1.weight": weight,
        "layer1.0.bn1.num_batches_tracked": tracked,
        "half.values": half,
        "bfloat.values": bfloat,
        "double.values": double,
        "scale": scalar,
    }
    save_torch(tensors, os.path.join(OUT, "mixed_dtypes.safetensors"), metadata={"format": "pt"})
    expected["mixed_dtypes.safetensors"] = {
        # NumPy widens F16 and F64 (keeping NaN payloads; torch's .float() canonicalises NaN);
        # NumPy has no bfloat16, so that one goes through torch, whose widening is a bit shift.
        name: {"shape": list(t.shape),
               "f32_bits": f32_bits(t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy())}
        for name, t in tensors.items() if not name.endswith("num_batches_tracked")
    }

    # Byte-identity fixture: F32 tensors only, names already in the order the reference writer
    # lays them out (same dtype, so sorted by name), one metadata entry (the reference keeps
    # metadata in a hash map, so several keys would come out in an unspecified order).
    # The Swift test builds the same tensors from the same formulas.
    reference = {
        "a.bias": np.array([1.5, -2.0, 0.0], dtype=np.float32),
        "b.weight": (np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2) * 0.5 - 3.0),
        "c.scalar": np.array(-0.25, dtype=np.float32),
        "d.empty": np.zeros((0, 4), dtype=np.float32),
    }
    save_numpy(reference, os.path.join(OUT, "f32_reference.safetensors"), metadata={"format": "pt"})
    save_numpy({"x": np.array([1.0, 2.0], dtype=np.float32)},
               os.path.join(OUT, "no_metadata.safetensors"))
    # Metadata and a name that need JSON escaping, to pin down the writer's escaping rules.
    save_numpy({"w\u00e9\t": np.array([1.0, -2.0], dtype=np.float32)},
               os.path.join(OUT, "escaped_metadata.safetensors"),
               metadata={"note": "\u00e9\n\"/\u0001\t\\\u001f\u007f\u2028\U0001F600"})

    # --- npy -----------------------------------------------------------------------------------
    # (2,3,4,5) float32: value = index / 8 - 3, exactly representable, rebuilt by the Swift test.
    grid = (np.arange(120, dtype=np.float32) / 8 - 3).reshape(2, 3, 4, 5)
    np.save(os.path.join(OUT, "grid_2x3x4x5_f4.npy"), grid)
    np.save(os.path.join(OUT, "scalar_f4.npy"), np.array(3.25, dtype=np.float32))
    np.save(os.path.join(OUT, "vector_f4.npy"), np.array([1.0, -2.0, 0.5], dtype=np.float32))
    np.save(os.path.join(OUT, "empty_0x3_f4.npy"), np.zeros((0, 3), dtype=np.float32))

    double_values = np.array([0.1, -1e-300, 1e300, 2.0 ** -149, 123456789.123], dtype=np.float64)
    np.save(os.path.join(OUT, "vector_f8.npy"), double_values)
    expected["vector_f8.npy"] = {"shape": [5], "f32_bits": f32_bits(double_values)}

    half_values = half_bits.view(np.float16).reshape(3, 4)
    np.save(os.path.join(OUT, "half_3x4_f2.npy"), half_values)
    expected["half_3x4_f2.npy"] = {"shape": [3, 4], "f32_bits": f32_bits(half_values)}

    # NumPy only picks version 2.0 / 3.0 on its own for huge or non-latin-1 headers; ask for them.
    small = np.arange(6, dtype=np.float32).reshape(2, 3)
    for version in [(2, 0), (3, 0)]:
        path = os.path.join(OUT, f"v{version[0]}_header_2x3_f4.npy")
        with open(path, "wb") as f:
            np.lib.format.write_array(f, small, version=version)

    # Inputs the reader must refuse with a clear error.
    np.save(os.path.join(OUT, "fortran_2x3_f4.npy"), np.asfortranarray(small))
    np.save(os.path.join(OUT, "int64_i8.npy"), np.arange(4, dtype=np.int64))

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
