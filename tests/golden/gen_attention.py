#!/usr/bin/python3
"""Golden values for scaled_dot_product_attention (tests/attention/), from PyTorch 1.13.1.

Run with Debian's python3-torch:  /usr/bin/python3 tests/golden/gen_attention.py
Writes tests/golden/attention.json. torch 1.13 has no F.scaled_dot_product_attention, so the op
is composed here with PyTorch 2's semantics: bool mask true = takes part, float mask added,
is_causal aligned to the bottom-right (query i sees keys up to S - L + i), a row with no visible
key gives 0. Results (output and the gradients of sum(y * gy)) are float64.
"""
import json
import math
import os

import torch

torch.manual_seed(1818)


def rnd(*shape):
    return torch.randn(*shape).float().double()


def enc(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def sdpa(q, k, v, mask=None, causal=False, scale=None):
    L, S, E = q.size(-2), k.size(-2), q.size(-1)
    scale = 1.0 / math.sqrt(E) if scale is None else scale
    s = (q @ k.transpose(-2, -1)) * scale
    visible = torch.ones(L, S, dtype=torch.bool)
    if causal:
        visible = visible.tril(diagonal=S - L)
    if mask is not None and mask.dtype == torch.bool:
        visible = visible & mask
    elif mask is not None:
        s = s + mask
    s = s.masked_fill(~visible, float("-inf"))
    row_ok = (s > float("-inf")).any(-1, keepdim=True)
    s = torch.where(row_ok, s, torch.zeros_like(s))  # no NaN (and no gradient) in empty rows
    p = torch.softmax(s, -1) * row_ok
    return p @ v


def case(name, q, k, v, mask=None, causal=False, scale=None):
    q, k, v = (t.clone().requires_grad_(True) for t in (q, k, v))
    y = sdpa(q, k, v, mask, causal, scale)
    gy = rnd(*y.shape)
    dq, dk, dv = torch.autograd.grad(y, (q, k, v), gy)
    c = {"name": name, "causal": causal, "q": enc(q), "k": enc(k), "v": enc(v), "y": enc(y),
         "gy": enc(gy), "dq": enc(dq), "dk": enc(dk), "dv": enc(dv)}
    if scale is not None:
        c["scale"] = scale
    if mask is not None:
        m = mask.double()
        # JSON has no infinities: -inf entries are listed by flat index and stored as 0
        c["mask_neginf"] = [i for i, x in enumerate(m.reshape(-1).tolist()) if x == float("-inf")]
        c["mask"] = enc(torch.where(torch.isinf(m), torch.zeros_like(m), m))
        c["mask_bool"] = mask.dtype == torch.bool
    return c


def main():
    cases = []
    cases.append(case("plain_4d", rnd(2, 3, 5, 4), rnd(2, 3, 5, 4), rnd(2, 3, 5, 6)))
    cases.append(case("causal_4d", rnd(2, 2, 6, 4), rnd(2, 2, 6, 4), rnd(2, 2, 6, 3), causal=True))
    # L != S: the queries are the last 3 of 7 positions (a key/value cache)
    cases.append(case("causal_cache", rnd(1, 2, 3, 4), rnd(1, 2, 7, 4), rnd(1, 2, 7, 4), causal=True))
    # more queries than keys: the first 2 query rows see no key at all
    cases.append(case("causal_more_queries", rnd(2, 5, 4), rnd(2, 3, 4), rnd(2, 3, 2), causal=True))
    bm = torch.rand(4, 6) > 0.4
    bm[1] = False  # a fully masked row
    bm[2, 0] = True
    cases.append(case("bool_mask_3d", rnd(2, 4, 3), rnd(2, 6, 3), rnd(2, 6, 5), mask=bm))
    fm = rnd(2, 1, 3, 5)
    fm[0, 0, 1, 2] = float("-inf")
    fm[1, 0, 2, :] = float("-inf")  # a fully masked row
    cases.append(case("float_mask_4d", rnd(2, 2, 3, 4), rnd(2, 2, 5, 4), rnd(2, 2, 5, 4), mask=fm))
    # key/value batch broadcast against the query's, a custom scale
    cases.append(case("broadcast_scale", rnd(2, 3, 4, 5), rnd(1, 3, 6, 5), rnd(1, 3, 6, 2), scale=0.3))
    # causal and a padding mask together (key padding: the last 2 keys of batch 1 masked out)
    pm = torch.ones(2, 1, 1, 5, dtype=torch.bool)
    pm[1, 0, 0, 3:] = False
    cases.append(case("causal_padding", rnd(2, 2, 5, 4), rnd(2, 2, 5, 4), rnd(2, 2, 5, 4), mask=pm,
                      causal=True))
    # more than one 64 x 64 tile each way, causal
    cases.append(case("tiles_causal", rnd(1, 1, 130, 8), rnd(1, 1, 130, 8), rnd(1, 1, 130, 8),
                      causal=True))
    cases.append(case("tiles_cache", rnd(1, 70, 8), rnd(1, 150, 8), rnd(1, 150, 3), causal=True))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attention.json")
    with open(out, "w") as f:
        json.dump({"torch": torch.__version__, "sdpa": cases}, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", out, len(cases), "cases")


if __name__ == "__main__":
    main()
