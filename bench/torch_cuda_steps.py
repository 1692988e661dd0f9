#!/usr/bin/env python3
"""PyTorch's side of scripts/gpu_check.sh: the MLP, LeNet and tiny-GPT training steps of
../shared/reference/{mlp,cnn,gpt}_train.py (same models, losses, optimizers and batch sizes,
8 fixed random batches cycled), timed on the GPU. TF32 is off for matmuls and convolutions
(full float32, as sinapsis's CUDA backend by default). One JSON line per workload, in the
format of the bench_* programs (median step time). Kept in the repository because
../shared does not travel to the GPU machine."""
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


class Attention(nn.Module):
    def __init__(self, d, heads, context):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.register_buffer("mask", torch.triu(torch.ones(context, context, dtype=torch.bool), 1))

    def forward(self, x):
        b, t, c = x.shape
        hd = c // self.heads
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, hd).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = F.softmax(att.masked_fill(self.mask[:t, :t], float("-inf")), dim=-1)
        return self.proj((att @ v).transpose(1, 2).contiguous().view(b, t, c))


class Block(nn.Module):
    def __init__(self, d, heads, context):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = Attention(d, heads, context)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class TinyGPT(nn.Module):
    def __init__(self, vocab=96, context=64, layers=4, heads=4, d=128):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(context, d)
        self.blocks = nn.ModuleList(Block(d, heads, context) for _ in range(layers))
        self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        for b in self.blocks:
            x = b(x)
        return self.head(self.ln_f(x))


def time_steps(step, warmup=20, steps=300):
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    if not torch.cuda.is_available():
        print("torch_cuda_steps: PyTorch sees no GPU", file=sys.stderr)
        return 2
    dev = torch.device("cuda")
    torch.manual_seed(0)
    cases = []
    mlp = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                        nn.Linear(256, 10)).to(dev)
    cases.append(("mlp_train", "mlp train step b128", mlp,
                  torch.optim.SGD(mlp.parameters(), lr=0.01, momentum=0.9),
                  [(torch.randn(128, 784, device=dev), torch.randint(0, 10, (128,), device=dev))
                   for _ in range(8)], lambda o, y: F.cross_entropy(o, y)))
    lenet = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                          nn.Linear(84, 10)).to(dev)
    cases.append(("cnn_train", "lenet train step b64", lenet,
                  torch.optim.Adam(lenet.parameters(), lr=1e-3),
                  [(torch.randn(64, 1, 28, 28, device=dev), torch.randint(0, 10, (64,), device=dev))
                   for _ in range(8)], lambda o, y: F.cross_entropy(o, y)))
    gpt = TinyGPT().to(dev)
    cases.append(("gpt_train", "gpt train step b16 t64", gpt,
                  torch.optim.AdamW(gpt.parameters(), lr=3e-4, weight_decay=0.01),
                  [(torch.randint(0, 96, (16, 64), device=dev),
                    torch.randint(0, 96, (16, 64), device=dev)) for _ in range(8)],
                  lambda o, y: F.cross_entropy(o.reshape(-1, o.shape[-1]), y.reshape(-1))))
    for bench, case, model, opt, pool, loss_fn in cases:
        i = [0]

        def step():
            x, y = pool[i[0] % len(pool)]
            i[0] += 1
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            opt.step()

        median = time_steps(step)
        print(json.dumps({"bench": bench, "case": case, "impl": "pytorch-cuda",
                          "device": torch.cuda.get_device_name(0), "tf32": False,
                          "median_ms": round(median * 1e3, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
