#!/usr/bin/python3
"""Golden values for tests/ops/golden_test.cpp, computed with PyTorch 1.13 (Debian's python3-torch).

For every row of tests/ops/op_table.h (same id, same function written with torch) and for float32
and float64, this draws small fixed inputs, runs the function forward, backpropagates a fixed
grad_output and writes inputs, output, grad_output and input gradients to tests/golden/ops.json.

Run: /usr/bin/python3 tests/golden/gen_ops.py      (writes next to this file; deterministic)
"""
import json
import os
import zlib

import torch
import torch.nn.functional as F

REAL, POS = "real", "positive"


def idx(*v):
    return torch.tensor(v, dtype=torch.int64)


def mask(rows):
    return torch.tensor(rows, dtype=torch.bool)


def split_weighted(x):
    p = torch.split(x, 2)
    return torch.cat([p[0] * 1.0, p[1] * 2.0, p[2] * 3.0])


def split_sizes(x):
    p = torch.split(x, [1, 3], 1)
    return torch.cat([p[0] * -1.0, p[1] * 0.5], 1)


def chunk_weighted(x):
    p = torch.chunk(x, 3, 1)
    return torch.cat([p[0] * 3.0, p[1], p[2] * -2.0], 1)


M23 = [[True, False, True], [False, False, True]]
G_IDX = [[0, 0, 3], [1, 2, 1], [3, 3, 0]]

# id -> (inputs as (shape, domain), function). Keep in step with tests/ops/op_table.h.
ROWS = {
    # binary
    "add": ([((2, 3), REAL), ((2, 3), REAL)], lambda a, b: torch.add(a, b)),
    "add/broadcast": ([((2, 3), REAL), ((3,), REAL)], lambda a, b: a + b),
    "add/alpha": ([((2, 3), REAL), ((1, 3), REAL)], lambda a, b: torch.add(a, b, alpha=2.5)),
    "add/0d": ([((), REAL), ((2, 3), REAL)], lambda a, b: a + b),
    "sub": ([((2, 3), REAL), ((2, 1), REAL)], lambda a, b: a - b),
    "sub/alpha": ([((3,), REAL), ((2, 3), REAL)], lambda a, b: torch.sub(a, b, alpha=0.5)),
    "mul": ([((2, 3), REAL), ((2, 3), REAL)], lambda a, b: a * b),
    "mul/broadcast": ([((4, 1, 3), REAL), ((2, 1), REAL)], lambda a, b: a * b),
    "mul/same_input": ([((2, 3), REAL)], lambda a: a * a),
    "div": ([((2, 3), REAL), ((2, 3), REAL)], lambda a, b: a / b),
    "div/broadcast": ([((3,), REAL), ((2, 3), POS)], lambda a, b: a / b),
    "pow": ([((2, 3), POS), ((2, 3), REAL)], lambda a, b: torch.pow(a, b)),
    "pow/broadcast": ([((2, 3), POS), ((3,), REAL)], lambda a, b: torch.pow(a, b)),
    "maximum": ([((2, 3), REAL), ((2, 3), REAL)], torch.maximum),
    "maximum/broadcast": ([((2, 3), REAL), ((3,), REAL)], torch.maximum),
    "minimum": ([((2, 3), REAL), ((2, 3), REAL)], torch.minimum),
    "minimum/broadcast": ([((2, 1), REAL), ((2, 3), REAL)], torch.minimum),
    # with a scalar
    "add_scalar": ([((2, 3), REAL)], lambda x: x + 1.5),
    "sub_scalar": ([((2, 3), REAL)], lambda x: x - 1.5),
    "rsub": ([((2, 3), REAL)], lambda x: 1.5 - x),
    "mul_scalar": ([((2, 3), REAL)], lambda x: x * -2.5),
    "div_scalar": ([((2, 3), REAL)], lambda x: x / 4.0),
    "rdiv": ([((2, 3), REAL)], lambda x: 2.0 / x),
    "pow_scalar": ([((2, 3), REAL)], lambda x: torch.pow(x, 3.0)),
    "pow_scalar/sqrt": ([((2, 3), POS)], lambda x: torch.pow(x, 0.5)),
    "pow_scalar/square": ([((2, 3), REAL)], lambda x: x.pow(2.0)),
    "pow_scalar/negative": ([((2, 3), POS)], lambda x: torch.pow(x, -1.5)),
    "rpow": ([((2, 3), REAL)], lambda x: torch.pow(2.0, x)),
    # unary
    "neg": ([((2, 3), REAL)], lambda x: -x),
    "exp": ([((2, 3), REAL)], torch.exp),
    "log": ([((2, 3), POS)], torch.log),
    "sqrt": ([((2, 3), POS)], torch.sqrt),
    "rsqrt": ([((2, 3), POS)], torch.rsqrt),
    "abs": ([((2, 3), REAL)], torch.abs),
    "sin": ([((2, 3), REAL)], torch.sin),
    "cos": ([((2, 3), REAL)], torch.cos),
    "square": ([((2, 3), REAL)], torch.square),
    "clamp": ([((2, 3), REAL)], lambda x: torch.clamp(x, -0.5, 0.5)),
    "clamp/min": ([((2, 3), REAL)], lambda x: torch.clamp(x, min=-0.5)),
    "clamp/max": ([((2, 3), REAL)], lambda x: torch.clamp(x, max=0.5)),
    "where": ([((2, 3), REAL), ((2, 3), REAL)], lambda a, b: torch.where(mask(M23), a, b)),
    "where/broadcast": ([((1, 3), REAL), ((3,), REAL)],
                        lambda a, b: torch.where(mask([[True], [False]]), a, b)),
    "where_scalar": ([((2, 3), REAL)], lambda a: torch.where(mask(M23), a, 0.5)),
    "masked_fill": ([((2, 3), REAL)], lambda a: a.masked_fill(mask(M23), -1.0)),
    "masked_fill/broadcast": ([((2, 3), REAL)],
                              lambda a: a.masked_fill(mask([[False, True, False]]), 2.0)),
    # activations
    # Heaviside step (torch.heaviside has no derivative in 1.13; its gradient is zero anyway)
    "step": ([((2, 3), REAL)], lambda x: (x > 0).to(x.dtype) + x),
    "sigmoid": ([((2, 3), REAL)], torch.sigmoid),
    "tanh": ([((2, 3), REAL)], torch.tanh),
    "relu": ([((2, 3), REAL)], torch.relu),
    "leaky_relu": ([((2, 3), REAL)], lambda x: F.leaky_relu(x, 0.1)),
    "elu": ([((2, 3), REAL)], lambda x: F.elu(x, 1.5)),
    "gelu": ([((2, 3), REAL)], F.gelu),
    "gelu_tanh": ([((2, 3), REAL)], lambda x: F.gelu(x, approximate="tanh")),
    "silu": ([((2, 3), REAL)], F.silu),
    "softplus": ([((2, 3), REAL)], F.softplus),
    "softplus/beta_threshold": ([((2, 3), REAL)], lambda x: F.softplus(x, beta=2.0, threshold=2.0)),
    "softmax": ([((2, 3), REAL)], lambda x: torch.softmax(x, 1)),
    "softmax/dim0": ([((3, 2), REAL)], lambda x: torch.softmax(x, 0)),
    "softmax/3d": ([((2, 3, 2), REAL)], lambda x: x.softmax(1)),
    "log_softmax": ([((2, 3), REAL)], lambda x: torch.log_softmax(x, -1)),
    "log_softmax/3d": ([((2, 3, 2), REAL)], lambda x: x.log_softmax(0)),
    # reductions
    "sum": ([((2, 3), REAL)], torch.sum),
    "sum_dim": ([((2, 3), REAL)], lambda x: torch.sum(x, 1)),
    "sum_dim/keepdim": ([((2, 3, 2), REAL)], lambda x: x.sum((0, 2), keepdim=True)),
    "sum_dim/negative": ([((2, 3), REAL)], lambda x: torch.sum(x, -1)),
    "mean": ([((2, 3), REAL)], torch.mean),
    "mean_dim": ([((2, 3), REAL)], lambda x: torch.mean(x, 0)),
    "mean_dim/keepdim": ([((2, 3, 2), REAL)], lambda x: x.mean((1, 2), keepdim=True)),
    "var": ([((2, 3), REAL)], torch.var),
    "var/dim": ([((2, 3), REAL)], lambda x: torch.var(x, 1)),
    "var/population_keepdim": ([((3, 2), REAL)],
                               lambda x: torch.var(x, 0, unbiased=False, keepdim=True)),
    "std": ([((2, 3), REAL)], torch.std),
    "std/dim": ([((2, 3), REAL)], lambda x: torch.std(x, 1)),
    "max": ([((2, 3), REAL)], torch.max),
    "min": ([((2, 3), REAL)], lambda x: x.min()),
    "max_dim": ([((2, 3), REAL)], lambda x: torch.max(x, 1).values),
    "max_dim/keepdim": ([((3, 2), REAL)], lambda x: torch.max(x, 0, keepdim=True).values),
    "min_dim": ([((2, 3), REAL)], lambda x: torch.min(x, -1).values),
    "amax": ([((2, 3), REAL)], lambda x: torch.amax(x, 1)),
    "amax/keepdim": ([((2, 3, 2), REAL)], lambda x: torch.amax(x, (0, 2), keepdim=True)),
    "amin": ([((2, 3), REAL)], lambda x: torch.amin(x, 0)),
    "logsumexp": ([((2, 3), REAL)], lambda x: torch.logsumexp(x, 1)),
    "logsumexp/keepdim": ([((2, 3), REAL)], lambda x: torch.logsumexp(x, 0, keepdim=True)),
    "sum_to": ([((2, 3, 4), REAL)], lambda x: x.sum_to_size(3, 1)),
    # linear algebra
    "matmul/1d_1d": ([((3,), REAL), ((3,), REAL)], torch.matmul),
    "matmul/1d_2d": ([((3,), REAL), ((3, 2), REAL)], torch.matmul),
    "matmul/2d_1d": ([((2, 3), REAL), ((3,), REAL)], torch.matmul),
    "matmul/2d": ([((2, 3), REAL), ((3, 4), REAL)], lambda a, b: a.matmul(b)),
    "matmul/batched": ([((2, 2, 3), REAL), ((2, 3, 2), REAL)], torch.matmul),
    "matmul/broadcast": ([((2, 1, 2, 3), REAL), ((3, 3, 2), REAL)], torch.matmul),
    "matmul/batched_2d": ([((2, 2, 3), REAL), ((3, 2), REAL)], torch.matmul),
    "matmul/2d_batched": ([((2, 3), REAL), ((2, 3, 2), REAL)], torch.matmul),
    "matmul/1d_batched": ([((3,), REAL), ((2, 3, 2), REAL)], torch.matmul),
    "matmul/batched_1d": ([((2, 2, 3), REAL), ((3,), REAL)], torch.matmul),
    "mm": ([((2, 3), REAL), ((3, 4), REAL)], torch.mm),
    "dot": ([((4,), REAL), ((4,), REAL)], torch.dot),
    "outer": ([((3,), REAL), ((2,), REAL)], torch.outer),
    "linear": ([((2, 3), REAL), ((4, 3), REAL), ((4,), REAL)], F.linear),
    "linear/no_bias_1d": ([((3,), REAL), ((2, 3), REAL)], F.linear),
    "linear/3d": ([((2, 2, 3), REAL), ((4, 3), REAL), ((4,), REAL)], F.linear),
    # structure
    "cat": ([((2, 3), REAL), ((1, 3), REAL)], lambda a, b: torch.cat([a, b])),
    "cat/dim1": ([((2, 1), REAL), ((2, 2), REAL), ((2, 3), REAL)],
                 lambda a, b, c: torch.cat([a, b, c], 1)),
    "stack": ([((2, 3), REAL), ((2, 3), REAL)], lambda a, b: torch.stack([a, b], 1)),
    "split": ([((5, 2), REAL)], split_weighted),
    "split_sizes": ([((2, 4), REAL)], split_sizes),
    "chunk": ([((2, 6), REAL)], chunk_weighted),
    "chunk/one_used": ([((5, 2), REAL)], lambda x: torch.chunk(x, 2)[1]),
    "index_select": ([((4, 3), REAL)], lambda x: torch.index_select(x, 0, idx(3, 0, 3))),
    "index_select/dim1": ([((2, 4), REAL)], lambda x: torch.index_select(x, 1, idx(1, 1, 2))),
    "gather": ([((3, 4), REAL)], lambda x: torch.gather(x, 1, torch.tensor(G_IDX))),
    "gather/dim0": ([((3, 2), REAL)],
                    lambda x: torch.gather(x, 0, torch.tensor([[2, 0], [2, 2], [0, 1], [1, 1]]))),
    "scatter_add": ([((3, 4), REAL), ((3, 3), REAL)],
                    lambda a, s: torch.scatter_add(a, 1, torch.tensor(G_IDX), s)),
    # only src[:1, :2] is read; PyTorch's backward cannot return the larger src gradient itself,
    # so the slice is taken explicitly (same values, zeros elsewhere)
    "scatter_add/small_index": ([((2, 3), REAL), ((3, 3), REAL)],
                                lambda a, s: torch.scatter_add(a, 0, torch.tensor([[1, 0]]),
                                                               s[:1, :2])),
    "pad": ([((2, 3), REAL)], lambda x: F.pad(x, (1, 2))),
    "pad/2d_value": ([((2, 2, 3), REAL)], lambda x: F.pad(x, (0, 1, 2, 0), value=0.5)),
    # views and copies
    "view": ([((2, 3), REAL)], lambda x: x.view(3, -1)),
    "reshape": ([((2, 3), REAL)], lambda x: torch.reshape(x, (3, 2))),
    "reshape/flat": ([((2, 3), REAL)], lambda x: x.reshape(-1)),
    "transpose": ([((2, 3, 2), REAL)], lambda x: torch.transpose(x, 0, 2)),
    "transpose/method": ([((2, 3), REAL)], lambda x: x.transpose(-1, -2) * 1.0),
    "t": ([((2, 3), REAL)], lambda x: x.t()),
    "permute": ([((2, 3, 2), REAL)], lambda x: x.permute(2, 0, 1)),
    "narrow": ([((2, 4), REAL)], lambda x: x.narrow(1, 1, 2)),
    "slice": ([((2, 5), REAL)], lambda x: x[:, 0:4:2]),
    "slice/negative": ([((4, 2), REAL)], lambda x: x[-3:3]),
    "select": ([((2, 3), REAL)], lambda x: x.select(1, 2)),
    "index": ([((3, 2), REAL)], lambda x: x[1] * x[-1]),
    "expand": ([((3, 1), REAL)], lambda x: x.expand(2, 3, 4)),
    "expand_as": ([((1, 3), REAL)], lambda x: x.expand_as(torch.zeros(2, 3))),
    "squeeze": ([((2, 1, 3), REAL)], lambda x: torch.squeeze(x, 1)),
    "squeeze_all": ([((1, 2, 1, 3), REAL)], lambda x: x.squeeze()),
    "unsqueeze": ([((2, 3), REAL)], lambda x: torch.unsqueeze(x, 1)),
    "flatten": ([((2, 3, 2), REAL)], lambda x: torch.flatten(x, 1)),
    "contiguous": ([((2, 3), REAL)], lambda x: x.transpose(0, 1).contiguous()),
    "clone": ([((2, 3), REAL)], lambda x: x.clone()),
    "to": ([((2, 3), REAL)], lambda x: x.to(torch.float32) * 2.0),
}


def draw(shape, domain, gen):
    """Same distributions as draw() in tests/ops/gradcheck_test.cpp (different numbers)."""
    u = torch.rand(shape, generator=gen, dtype=torch.float64)
    if domain == POS:
        return u * 1.5 + 0.5
    sign = torch.where(torch.rand(shape, generator=gen, dtype=torch.float64) > 0.5, 1.0, -1.0)
    return (u * 1.8 + 0.2) * sign


def values(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def case(row_id, dtype):
    specs, fn = ROWS[row_id]
    gen = torch.Generator().manual_seed(zlib.crc32(row_id.encode()))
    inputs = [draw(shape, dom, gen).to(dtype).requires_grad_() for shape, dom in specs]
    out = fn(*inputs)
    grad_out = torch.randn(out.shape, generator=gen, dtype=torch.float64).to(out.dtype)
    grads = torch.autograd.grad(out, inputs, grad_out, allow_unused=True)
    return {
        "id": row_id,
        "dtype": {torch.float32: "float32", torch.float64: "float64"}[dtype],
        "inputs": [values(x) for x in inputs],
        "output": dict(values(out), dtype=str(out.dtype).replace("torch.", "")),
        "grad_output": values(grad_out),
        "grads": [values(g) if g is not None else None for g in grads],
    }


def main():
    torch.set_num_threads(1)
    cases = [case(r, dt) for r in ROWS for dt in (torch.float32, torch.float64)]
    doc = {
        "generator": "tests/golden/gen_ops.py",
        "torch_version": torch.__version__,
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
