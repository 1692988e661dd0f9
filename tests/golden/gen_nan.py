#!/usr/bin/python3
"""NaN golden values for tests/ops/nan_test.cpp, computed with PyTorch 1.13 (Debian's python3-torch).

Each case runs one op on inputs that hold NaN (and ties, and ordinary values), forward, then
backpropagates a fixed grad_output, in float32 and float64. NaN is written as the string "nan"
(JSON has no NaN). What PyTorch does is the reference: relu(NaN) = NaN with the gradient passing,
clamp(NaN) = NaN with gradient 0, maximum's gradient reaching both sides at a NaN, max() sharing
its gradient among the NaN inputs, max-pool taking the last NaN of a window, argmax the first.

Run: /usr/bin/python3 tests/golden/gen_nan.py      (writes nan.json next to this file)
"""
import json
import math
import os

import torch
import torch.nn.functional as F

N = float("nan")
X4 = [N, -1.0, 0.0, 2.0, -0.5, 3.0]
ROW = [[1.0, N, 3.0, N], [2.0, 5.0, 1.0, 0.0], [4.0, 4.0, -1.0, 2.0]]
POOL = [[[[1.0, N, 3.0, 4.0], [2.0, 5.0, N, 0.0], [1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]]]

# id -> (inputs, function returning a tensor or (tensor, indices))
CASES = {
    "relu": ([X4], F.relu),
    "leaky_relu": ([X4], lambda x: F.leaky_relu(x, 0.1)),
    "elu": ([X4], F.elu),
    "gelu": ([X4], F.gelu),
    "silu": ([X4], F.silu),
    "softplus": ([X4], F.softplus),
    "sigmoid": ([X4], torch.sigmoid),
    "tanh": ([X4], torch.tanh),
    "abs": ([X4], torch.abs),
    "clamp": ([X4], lambda x: x.clamp(-0.7, 1.0)),
    "clamp_min": ([X4], lambda x: x.clamp(min=0.0)),
    "clamp_max": ([X4], lambda x: x.clamp(max=1.0)),
    "maximum": ([[N, 1.0, N, 2.0, 3.0, -1.0], [1.0, N, N, 2.0, 1.0, 4.0]], torch.maximum),
    "minimum": ([[N, 1.0, N, 2.0, 3.0, -1.0], [1.0, N, N, 2.0, 1.0, 4.0]], torch.minimum),
    "max_dim": ([ROW], lambda x: torch.max(x, 1)),
    "min_dim": ([ROW], lambda x: torch.min(x, 1)),
    "max_dim0": ([ROW], lambda x: torch.max(x, 0)),
    "max_all": ([ROW], torch.max),
    "min_all": ([ROW], torch.min),
    "amax": ([ROW], lambda x: torch.amax(x, 1)),
    "amin": ([ROW], lambda x: torch.amin(x, 1)),
    "max_pool2d": ([POOL], lambda x: F.max_pool2d(x, 2)),
    "max_pool2d_s1": ([POOL], lambda x: F.max_pool2d(x, 3, stride=1)),
    "max_pool1d": ([[[[1.0, N, 3.0, 4.0, N, N, 2.0, 0.0, -1.0]]]], lambda x: F.max_pool1d(x, 3)),
    "softmax": ([ROW], lambda x: torch.softmax(x, 1)),
    "log_softmax": ([ROW], lambda x: torch.log_softmax(x, 1)),
    "logsumexp": ([ROW], lambda x: torch.logsumexp(x, 1)),
    "conv2d_relu": (
        [POOL, [[[[0.5, -1.0], [1.0, 0.25]]], [[[-0.5, 1.0], [0.0, 2.0]]]], [0.1, -0.2]],
        lambda x, w, b: F.relu(F.conv2d(x, w, b)),
    ),
}
# argmax/argmin have no gradient: indices only
ARG = {
    "argmax": lambda x: torch.argmax(x),
    "argmin": lambda x: torch.argmin(x),
    "argmax_dim": lambda x: torch.argmax(x, 1),
    "argmin_dim": lambda x: torch.argmin(x, 1),
}


def enc(t):
    return {
        "shape": list(t.shape),
        "data": ["nan" if math.isnan(v) else v for v in t.detach().reshape(-1).double().tolist()],
    }


def main():
    cases = []
    for dtype in (torch.float32, torch.float64):
        dname = str(dtype).replace("torch.", "")
        for cid, (ins, fn) in CASES.items():
            xs = [torch.tensor(v, dtype=dtype, requires_grad=True) for v in ins]
            res = fn(*xs)
            out, idx = (res[0], res[1]) if isinstance(res, tuple) else (res, None)
            n = out.numel()
            g = torch.tensor([0.5 + 0.25 * k for k in range(n)], dtype=dtype).reshape(out.shape)
            out.backward(g)
            c = {"id": cid, "dtype": dname, "inputs": [enc(x) for x in xs], "output": enc(out),
                 "grad_output": enc(g), "grads": [enc(x.grad) for x in xs]}
            if idx is not None:
                c["indices"] = idx.reshape(-1).tolist()
            cases.append(c)
        for cid, fn in ARG.items():
            x = torch.tensor(ROW, dtype=dtype)
            cases.append({"id": cid, "dtype": dname, "inputs": [enc(x)],
                          "indices": fn(x).reshape(-1).tolist()})
    doc = {"torch": torch.__version__, "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nan.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
