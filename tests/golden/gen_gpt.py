#!/usr/bin/python3
"""Golden values for nn::GPT (tests/nn/gpt_test.cpp), from PyTorch 1.13.1.

Run with Debian's python3-torch:  /usr/bin/python3 tests/golden/gen_gpt.py
The model is shared/reference/char_lm.py's GPT (the classes are copied here unchanged, at a
small size), its weights perturbed away from the init so that every parameter matters, and the
state_dict written exactly as `char_lm.py --save` writes it (save_safetensors below is its
function): tests/golden/gpt.safetensors. tests/golden/gpt.json holds token ids, the float64
logits and mean cross-entropy of that model on them, and the gradients of the loss for a few
parameters.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(2024)
HERE = os.path.dirname(os.path.abspath(__file__))


# ---- from shared/reference/char_lm.py (unchanged) ----
class LayerNorm(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, None, 1e-5)


class Block(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.n_head = n_head
        self.ln_1 = LayerNorm(n_embd)
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=False)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=False)
        self.ln_2 = LayerNorm(n_embd)
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=False)
        self.mlp_proj = nn.Linear(4 * n_embd, n_embd, bias=False)

    def attend(self, x, cache=None):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        if cache is not None:  # generation: append to the cached keys/values
            if cache:
                k = torch.cat([cache[0], k], dim=2)
                v = torch.cat([cache[1], v], dim=2)
            cache[:] = [k, v]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        tk = k.size(2)
        # query i (absolute position tk - t + i) sees keys 0 .. tk - t + i
        mask = torch.ones(t, tk, dtype=torch.bool).tril(diagonal=tk - t)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.c_proj(y)

    def forward(self, x, cache=None):
        x = x + self.attend(self.ln_1(x), cache)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, vocab, block=64, n_layer=4, n_head=4, n_embd=128):
        super().__init__()
        self.block = block
        self.wte = nn.Embedding(vocab, n_embd)
        self.wpe = nn.Embedding(block, n_embd)
        self.h = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
        self.ln_f = LayerNorm(n_embd)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith(("c_proj.weight", "mlp_proj.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx, caches=None, start=0):
        t = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(start, start + t))
        for i, blk in enumerate(self.h):
            x = blk(x, None if caches is None else caches[i])
        return self.ln_f(x) @ self.wte.weight.t()


def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
# ---- end of the copy ----


def enc(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def main():
    vocab, block, n_layer, n_head, n_embd = 13, 10, 2, 2, 16
    model = GPT(vocab, block=block, n_layer=n_layer, n_head=n_head, n_embd=n_embd)
    with torch.no_grad():  # away from the init, so that every weight shows in the logits
        for name, p in model.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight":
                p.add_(0.2 * torch.randn_like(p))
            else:
                p.normal_(0.0, 0.3)
    chars = [chr(ord("a") + i) for i in range(vocab - 1)] + ["\n"]
    save_safetensors(os.path.join(HERE, "gpt.safetensors"), model.state_dict(),
                     {"vocab": json.dumps(chars), "model": "gpt", "iters": "0", "val_loss": "0",
                      "block": str(block)})
    # the file holds float32 weights: compute the reference in float64 from exactly those
    model = model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.float().double())
    idx = torch.randint(0, vocab, (3, block + 1))
    x, y = idx[:, :block], idx[:, 1:]
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
    names = ["wte.weight", "wpe.weight", "h.0.c_attn.weight", "h.1.mlp_proj.weight", "ln_f.weight"]
    params = dict(model.named_parameters())
    grads = torch.autograd.grad(loss, [params[n] for n in names])
    short = torch.randint(0, vocab, (2, 4))
    out = {"torch": torch.__version__, "vocab_size": vocab, "block_size": block, "n_layer": n_layer,
           "n_head": n_head, "n_embd": n_embd, "x": x.reshape(-1).tolist(), "x_shape": list(x.shape),
           "y": y.reshape(-1).tolist(), "logits": enc(logits), "loss": loss.item(),
           "grads": {n: enc(g) for n, g in zip(names, grads)},
           "short": short.reshape(-1).tolist(), "short_shape": list(short.shape),
           "short_logits": enc(model(short))}
    with open(os.path.join(HERE, "gpt.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("wrote gpt.safetensors and gpt.json, loss", loss.item())


if __name__ == "__main__":
    main()
