#!/usr/bin/python3
"""Golden values for the DCGAN pair and one adversarial step (tests/gan/), from PyTorch 1.13.1,
with the modules of shared/reference/generative.py --model dcgan.

Run with Debian's python3-torch:  /usr/bin/python3 tests/golden/gen_gan.py
Writes tests/golden/gan.json:
  "shapes_28": the parameter and buffer shapes of G and D for [1, 28, 28] images, in order
  "step": one D step + one G step (Adam 2e-4, betas (0.5, 0.999), BCE with logits, the reference
          loop) on [1, 8, 8] images, batch 4. The parameters start from a formula both sides
          compute (param(k, i) below), so only probes of the results are stored: per tensor its
          sum, its sum of |x| and 64 elements spread over it, for D's gradients of loss_d, G's
          gradients of loss_g, and every parameter and buffer after the step.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


class Generator(nn.Module):
    def __init__(self, z=64, c=1, h4=7, w4=7):
        super().__init__()
        self.h4, self.w4 = h4, w4
        self.fc = nn.Sequential(nn.Linear(z, 128 * h4 * w4, bias=False), nn.BatchNorm1d(128 * h4 * w4),
                                nn.ReLU())
        self.net = nn.Sequential(nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                 nn.ConvTranspose2d(64, c, 4, 2, 1), nn.Tanh())

    def forward(self, z):
        return self.net(self.fc(z).view(-1, 128, self.h4, self.w4))


class Discriminator(nn.Module):
    def __init__(self, c=1, h4=7, w4=7):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(c, 64, 4, 2, 1), nn.LeakyReLU(0.2),
                                 nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
                                 nn.Flatten(), nn.Linear(128 * h4 * w4, 1))

    def forward(self, x):
        return self.net(x)


def formula(n, k, scale, offset):
    i = torch.arange(n, dtype=torch.float64)
    return (offset + scale * torch.sin(0.7 * i + 0.3 * k)).float()


def set_params(m, base):
    # weights 0.05·sin, BatchNorm weights 1 + 0.02·sin, biases 0.01·sin (k: the tensor's index)
    for k, (name, p) in enumerate(m.named_parameters()):
        is_bn = p.dim() == 1 and name.endswith("weight")
        if is_bn:
            v = formula(p.numel(), base + k, 0.02, 1.0)
        elif name.endswith("bias"):
            v = formula(p.numel(), base + k, 0.01, 0.0)
        else:
            v = formula(p.numel(), base + k, 0.05, 0.0)
        with torch.no_grad():
            p.copy_(v.view_as(p))


def probe(t):
    f = t.detach().double().reshape(-1)
    n = f.numel()
    idx = [(j * n) // 64 for j in range(min(64, n))]
    return {"shape": list(t.shape), "sum": f.sum().item(), "abs_sum": f.abs().sum().item(),
            "index": idx, "values": [f[i].item() for i in idx]}


def main():
    torch.set_num_threads(1)
    out = {}
    g28, d28 = Generator(), Discriminator()
    out["shapes_28"] = {
        "generator": [list(p.shape) for p in g28.parameters()],
        "discriminator": [list(p.shape) for p in d28.parameters()],
        "generator_params": sum(p.numel() for p in g28.parameters()),
        "discriminator_params": sum(p.numel() for p in d28.parameters()),
    }

    n, zd = 4, 64
    g, d = Generator(zd, 1, 2, 2), Discriminator(1, 2, 2)
    set_params(g, 0)
    set_params(d, 100)
    z = formula(n * zd, 7, 1.0, 0.0).view(n, zd)
    real = torch.tanh(formula(n * 64, 9, 1.5, 0.1)).view(n, 1, 8, 8)
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
    fake = g(z)
    ld = F.binary_cross_entropy_with_logits(d(real), ones) + \
        F.binary_cross_entropy_with_logits(d(fake.detach()), zeros)
    od.zero_grad(set_to_none=True)
    ld.backward()
    d_grads = [p.grad.clone() for p in d.parameters()]
    od.step()
    lg = F.binary_cross_entropy_with_logits(d(fake), ones)
    og.zero_grad(set_to_none=True)
    lg.backward()
    g_grads = [p.grad.clone() for p in g.parameters()]
    og.step()
    out["step"] = {
        "n": n, "latent": zd, "image": [1, 8, 8],
        "loss_d": ld.item(), "loss_g": lg.item(),
        "d_grads": [probe(t) for t in d_grads],
        "g_grads": [probe(t) for t in g_grads],
        "d_after": [probe(t) for t in d.parameters()],
        "g_after": [probe(t) for t in g.parameters()],
        "d_buffers": [probe(t.float()) for t in d.buffers()],
        "g_buffers": [probe(t.float()) for t in g.buffers()],
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gan.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("wrote", path, "loss_d", ld.item(), "loss_g", lg.item())


if __name__ == "__main__":
    main()
