#!/usr/bin/python3
# Writes the safetensors fixtures the C++ io tests read (tests/io/):
#   mlp.safetensors     state_dict of torch nn.Sequential(Linear(4, 8), ReLU, Linear(8, 3)) plus
#                       "input" [5, 4] and the model's "logits" [5, 3], with __metadata__
#   dtypes.safetensors  one small tensor per stored dtype (F32 F64 I64 BOOL F16 BF16 I32 U8),
#                       values given by formulas the C++ test recomputes
# The safetensors pip package is not installed, so the bytes are written here with numpy/json,
# following the format: u64 little-endian header length, JSON header, raw little-endian data.
# Run with Debian's python3-torch: /usr/bin/python3 tests/golden/gen_safetensors.py
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype string, shape, raw little-endian bytes), in data order."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)  # data 8-byte aligned, as the reference writer
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for _, _, _, raw in tensors:
            f.write(raw)


def le(array, dtype):
    return np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()


def mlp():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    x = torch.randn(5, 4)
    with torch.no_grad():
        logits = model(x)
    entries = []
    for name, t in list(model.state_dict().items()) + [("input", x), ("logits", logits)]:
        a = t.detach().numpy()
        entries.append((name, "F32", a.shape, le(a, "f4")))
    write_safetensors(os.path.join(HERE, "mlp.safetensors"), entries,
                      {"format": "pt", "generator": "tests/golden/gen_safetensors.py",
                       "torch": torch.__version__})


def dtypes():
    # Every value is exactly representable in its dtype, so the C++ side can compare exactly.
    k = np.arange(12)
    f = (k - 6) * 0.25                           # -1.5 .. 1.25
    entries = [
        ("f32", "F32", (3, 4), le(f, "f4")),
        ("f64", "F64", (2, 6), le(f / 3.0, "f8")),
        ("i64", "I64", (12,), le((k - 6) * 1000000000000, "i8")),
        ("bool", "BOOL", (4, 3), le(k % 3 == 0, "u1")),
        ("f16", "F16", (12,), le(f, "f2")),
        ("bf16", "BF16", (2, 2, 3),
         torch.tensor(f, dtype=torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()),
        ("i32", "I32", (12,), le((k - 6) * 100000, "i4")),
        ("u8", "U8", (12,), le(k * 20, "u1")),
        ("scalar", "F32", (), le(np.array(3.5), "f4")),
        ("empty", "F32", (0, 3), b""),
    ]
    write_safetensors(os.path.join(HERE, "dtypes.safetensors"), entries, {"kind": "dtype fixture"})


if __name__ == "__main__":
    mlp()
    dtypes()
