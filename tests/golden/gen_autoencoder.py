#!/usr/bin/python3
"""Golden values for the autoencoder presets and the VAE loss (tests/unsup/), from PyTorch 1.13.1.

Run with Debian's python3-torch:  /usr/bin/python3 tests/golden/gen_autoencoder.py
Writes tests/golden/autoencoder.json:
  presets: for each preset (autoencoder, conv-autoencoder, vae) on [1, 28, 28], the parameter
      count and the state dict (names and shapes) of the same model written in PyTorch; the
      dense one is shared/reference/generative.py's AutoEncoder, class for class.
  vae: a small VAE (6 -> 5 ReLU -> latent 2 (mu, logvar heads) -> 5 ReLU -> 6 sigmoid) with
      given weights and inputs in [0, 1], in eval mode (z = mu): the loss sinapsis trains a VAE
      with (BCE summed over each example's values + KL, mean over the batch), the test BCE / MSE
      (means over values) and the gradient of the loss for every parameter, in float64.
"""
import collections
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(23)


class AutoEncoder(nn.Module):  # shared/reference/generative.py
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 32))
        self.decoder = nn.Sequential(nn.Linear(32, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid())


class Latent(nn.Module):
    def __init__(self, d, k):
        super().__init__()
        self.mu = nn.Linear(d, k)
        self.logvar = nn.Linear(d, k)


def vae(d=784, h=256, k=2):
    m = nn.Module()
    m.encoder = nn.Sequential(nn.Linear(d, h), nn.ReLU(), Latent(h, k))
    m.decoder = nn.Sequential(nn.Linear(k, h), nn.ReLU(), nn.Linear(h, d), nn.Sigmoid())
    return m


def conv_autoencoder():
    enc = nn.Sequential(nn.Conv2d(1, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
                        nn.Flatten(), nn.Linear(32 * 7 * 7, 32))
    dec = nn.Sequential(nn.Linear(32, 32 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (32, 7, 7)),
                        nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.ReLU(),
                        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(16, 1, 3, padding=1),
                        nn.Sigmoid())
    m = nn.Sequential(collections.OrderedDict(encoder=enc, decoder=dec))
    x = torch.rand(2, 1, 28, 28)
    assert m(x).shape == x.shape
    return m


def describe(m):
    return {"params": sum(p.numel() for p in m.parameters()),
            "state": [[k, list(v.shape)] for k, v in m.state_dict().items()]}


def enc(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def vae_case():
    m = vae(6, 5, 2).double()
    x = torch.rand(4, 6, dtype=torch.float64)
    h = m.encoder[1](m.encoder[0](x))
    mu, logvar = m.encoder[2].mu(h), m.encoder[2].logvar(h)
    z = mu  # eval mode
    logits = m.decoder[2](m.decoder[1](m.decoder[0](z)))
    r = torch.sigmoid(logits)
    n = x.shape[0]
    kl = -0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp())
    loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n + kl / n
    loss.backward()
    params = {k: enc(v) for k, v in m.state_dict().items()}
    grads = {k: enc(p.grad) for k, p in m.named_parameters()}
    return {"x": enc(x), "params": params, "loss": loss.item(), "kl": kl.item() / n,
            "bce": F.binary_cross_entropy(r, x).item(), "mse": F.mse_loss(r, x).item(),
            "grads": grads}


out = {"presets": {"autoencoder": describe(AutoEncoder()), "conv-autoencoder": describe(conv_autoencoder()),
                   "vae": describe(vae())},
       "vae": vae_case()}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "autoencoder.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("wrote", path)
