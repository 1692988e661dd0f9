#!/usr/bin/python3
"""PyTorch side of bench/rnn_train.cpp: one training step of a character-level LSTM and GRU on
the shapes of ../shared/reference/char_lm.py --model lstm (Embedding(65, 128) -> nn.LSTM /
nn.GRU(128, 256, num_layers=2, batch_first=True) -> Linear(256, 65), batch 32 x 64, cross-entropy,
Adam lr 2e-3, clip_grad_norm_ 1.0, zero initial state), cycling through 8 random batches.
Also one generation step of the LSTM model (batch 1, (h, c) carried, forward + softmax).
Prints one JSON line per case: {"bench": "rnn_train", "case", "median_ms", ...}.
"""
import argparse
import json
import os
import statistics
import time

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--min-time", type=float, default=2.0)
p.add_argument("--steps", type=int, default=30)
p.add_argument("--warmup", type=int, default=5)
p.add_argument("--only", default=None)
p.add_argument("--omp-wait-policy", choices=["passive", "active"], default=None)
args = p.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)
if args.omp_wait_policy:
    os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
VOCAB, EMBED, HIDDEN, LAYERS, BATCH, STEPS = 65, 128, 256, 2, 32, 64


class CharRNN(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, EMBED)
        self.rnn = cell(EMBED, HIDDEN, num_layers=LAYERS, batch_first=True)
        self.head = nn.Linear(HIDDEN, VOCAB)

    def forward(self, x):
        y, _ = self.rnn(self.emb(x))
        return self.head(y)


def run(name, cell):
    if args.only and args.only not in name:
        return
    torch.manual_seed(0)
    model = CharRNN(cell)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    pool = [torch.randint(0, VOCAB, (BATCH, STEPS + 1)) for _ in range(8)]
    state = {"i": 0, "loss": None}

    def step():
        seq = pool[state["i"] % len(pool)]
        state["i"] += 1
        x, y = seq[:, :-1], seq[:, 1:]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state["loss"] = loss

    for _ in range(args.warmup):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < args.steps or time.perf_counter() - start < args.min_time:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({"bench": "rnn_train", "case": name, "impl": "torch",
                      "torch": torch.__version__, "threads": args.threads,
                      "median_ms": round(med * 1e3, 4), "steps": len(times),
                      "tokens_per_s": round(BATCH * STEPS / med, 1),
                      "final_loss": round(state["loss"].item(), 4)}), flush=True)


def run_generate():
    name = "lstm generate token b1"
    if args.only and args.only not in name:
        return
    torch.manual_seed(0)
    model = CharRNN(nn.LSTM).eval()
    state = {"i": 0, "hc": None}
    tok = torch.zeros(1, 1, dtype=torch.long)

    def step():
        with torch.no_grad():
            y, state["hc"] = model.rnn(model.emb(tok), state["hc"])
            p = torch.softmax(model.head(y).reshape(VOCAB), 0)
        state["i"] += 1
        tok.fill_(state["i"] % VOCAB)  # stand-in for the sample, same cost on both sides
        return p

    for _ in range(50):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < 2000 or time.perf_counter() - start < args.min_time:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({"bench": "rnn_train", "case": name, "impl": "torch",
                      "torch": torch.__version__, "threads": args.threads,
                      "median_ms": round(med * 1e3, 5), "steps": len(times),
                      "tokens_per_s": round(1.0 / med, 1)}), flush=True)


run("lstm train step 32x64", nn.LSTM)
run("gru train step 32x64", nn.GRU)
run_generate()
