#!/usr/bin/python3
"""Golden values for the generative-model ops (tests/conv/conv_transpose_test.cpp and friends),
from PyTorch 1.13.1: conv_transpose2d, upsample (nearest, bilinear), the VAE's reparameterisation
and KL term.

Run with Debian's python3-torch:  /usr/bin/python3 tests/golden/gen_generative.py
Writes tests/golden/generative.json. Inputs are float32-representable; outputs and the gradients
of sum(y * gy) are computed in float64 by PyTorch (the C++ tests check f64 tightly, f32 loosely).
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(2023)


def rnd(*shape):
    return torch.randn(shape).float().double()


def enc(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def pair(v):
    return list(v) if isinstance(v, tuple) else [v]


def conv_transpose_cases():
    specs = [
        # name, N, C_in, (H, W), C_out, (KH, KW), stride, padding, output_padding, dilation,
        # groups, bias
        ("basic", 2, 3, (4, 5), 2, (3, 3), 1, 0, 0, 1, 1, True),
        ("stride2_pad1_outpad1", 2, 4, (4, 4), 3, (3, 3), 2, 1, 1, 1, 1, True),
        ("dcgan_k4_s2_p1", 2, 6, (3, 3), 4, (4, 4), 2, 1, 0, 1, 1, False),
        ("rect_stride_pad", 1, 2, (3, 5), 3, (3, 2), (2, 3), (1, 0), (1, 2), 1, 1, True),
        ("dilation_outpad_lt_dilation", 2, 2, (4, 3), 2, (2, 3), 1, 1, (1, 0), (2, 1), 1, True),
        ("groups2", 2, 4, (3, 4), 6, (3, 3), 2, 1, 0, 1, 2, True),
        ("depthwise_groups3", 1, 3, (4, 4), 3, (2, 2), 2, 0, 0, 1, 3, False),
        ("pointwise", 2, 5, (3, 4), 2, (1, 1), 1, 0, 0, 1, 1, True),
        ("latent_1x1_to_7x7", 3, 8, (1, 1), 4, (7, 7), 1, 0, 0, 1, 1, True),
        ("many_channels", 2, 16, (5, 5), 3, (3, 3), 1, 1, 0, 1, 1, True),
    ]
    out = []
    for name, N, C, sp, O, k, s, p, op, d, g, bias in specs:
        x = rnd(N, C, *sp).requires_grad_()
        w = (rnd(C, O // g, *k) * 0.5).requires_grad_()
        b = rnd(O).requires_grad_() if bias else None
        y = F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=op, groups=g,
                               dilation=d)
        gy = rnd(*y.shape)
        need = [t for t in (x, w, b) if t is not None]
        gs = torch.autograd.grad(y, need, gy)
        c = {"name": name, "stride": pair(s), "padding": pair(p), "output_padding": pair(op),
             "dilation": pair(d), "groups": g, "x": enc(x), "w": enc(w), "y": enc(y),
             "gy": enc(gy), "dx": enc(gs[0]), "dw": enc(gs[1])}
        if bias:
            c["b"] = enc(b)
            c["db"] = enc(gs[2])
        out.append(c)
    return out


def conv_transpose_module():
    """nn.ConvTranspose2d's parameter names/shapes and the bound of its default init."""
    m = torch.nn.ConvTranspose2d(6, 4, (3, 2), stride=2, padding=1, output_padding=1, groups=2)
    return {"repr": repr(m),
            "params": {n: list(p.shape) for n, p in m.named_parameters()}}


def upsample_cases():
    specs = [
        # name, shape, size, scale_factor, mode, align_corners
        ("nearest_x2", (2, 3, 4, 5), None, 2, "nearest", None),
        ("nearest_size_mixed", (1, 2, 5, 7), (8, 3), None, "nearest", None),
        ("nearest_scale_1_5", (1, 2, 5, 4), None, 1.5, "nearest", None),
        ("nearest_rect_scale", (2, 1, 3, 4), None, (2, 3), "nearest", None),
        ("bilinear_x2", (2, 2, 4, 5), None, 2, "bilinear", False),
        ("bilinear_x2_align_corners", (2, 2, 4, 5), None, 2, "bilinear", True),
        ("bilinear_size_mixed", (1, 2, 7, 6), (4, 9), None, "bilinear", False),
        ("bilinear_size_mixed_align_corners", (1, 2, 7, 6), (4, 9), None, "bilinear", True),
        ("bilinear_scale_1_7", (1, 1, 5, 5), None, 1.7, "bilinear", False),
        ("bilinear_to_one_row_align_corners", (1, 2, 3, 4), (1, 5), None, "bilinear", True),
    ]
    out = []
    for name, shape, size, sf, mode, ac in specs:
        x = rnd(*shape).requires_grad_()
        y = F.interpolate(x, size=size, scale_factor=sf, mode=mode, align_corners=ac)
        gy = rnd(*y.shape)
        (dx,) = torch.autograd.grad(y, [x], gy)
        c = {"name": name, "mode": mode, "align_corners": bool(ac), "x": enc(x), "y": enc(y),
             "gy": enc(gy), "dx": enc(dx)}
        if size is not None:
            c["size"] = pair(size)
        else:
            c["scale_factor"] = [float(v) for v in pair(sf)]
        out.append(c)
    return out


def upsample_module():
    return {"scale": repr(torch.nn.Upsample(scale_factor=2)),
            "size_bilinear": repr(torch.nn.Upsample(size=(4, 5), mode="bilinear",
                                                    align_corners=True))}


def vae_cases():
    """y = mu + exp(0.5 logvar) * eps and KL = -0.5 * (1 + logvar - mu^2 - exp(logvar)) reduced,
    as PyTorch's VAE example writes them, with their gradients."""
    mu = rnd(4, 3).requires_grad_()
    logvar = (rnd(4, 3) * 0.7).requires_grad_()
    eps = rnd(4, 3)
    z = mu + torch.exp(0.5 * logvar) * eps
    gz = rnd(4, 3)
    dmu, dlv = torch.autograd.grad(z, [mu, logvar], gz)
    out = {"mu": enc(mu), "logvar": enc(logvar), "eps": enc(eps), "z": enc(z), "gz": enc(gz),
           "z_dmu": enc(dmu), "z_dlogvar": enc(dlv), "kl": {}}
    for red in ("none", "sum", "mean", "batchmean"):
        k = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())
        if red == "sum":
            k = k.sum()
        elif red == "mean":
            k = k.mean()
        elif red == "batchmean":
            k = k.sum() / mu.shape[0]
        gk = rnd(*k.shape)
        dmu, dlv = torch.autograd.grad(k, [mu, logvar], gk)
        out["kl"][red] = {"y": enc(k), "gy": enc(gk), "dmu": enc(dmu), "dlogvar": enc(dlv)}
    return out


def main():
    data = {
        "generator": "tests/golden/gen_generative.py",
        "torch": torch.__version__,
        "conv_transpose2d": conv_transpose_cases(),
        "conv_transpose2d_module": conv_transpose_module(),
        "upsample": upsample_cases(),
        "upsample_module": upsample_module(),
        "vae": vae_cases(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "generative.json")
    with open(path, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
