#!/usr/bin/env python3
# Golden values for the losses (tests/loss/): value and gradients from PyTorch 1.13 for every
# loss, reduction, weight, label smoothing and target kind the C++ side supports.
# Run with Debian's torch:  /usr/bin/python3 tests/golden/gen_loss.py  (writes tests/golden/loss.json)
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(1234)
f64 = torch.float64


def enc(t):
    if t is None:
        return None
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
            "data": t.detach().flatten().tolist()}


cases = []


def add(name, loss, fn, x, y, opts, grad_target=False):
    """fn(x, y) computes the loss; opts are the options the C++ side passes."""
    xi = x.clone().requires_grad_(True)
    yi = y.clone().requires_grad_(grad_target)
    out = fn(xi, yi)
    grad_out = None
    if out.dim() == 0:
        out.backward()
    else:
        grad_out = torch.randn(out.shape, dtype=out.dtype)
        out.backward(grad_out)
    cases.append({
        "name": name, "loss": loss, "options": opts,
        "input": enc(x), "target": enc(y), "grad_output": enc(grad_out),
        "output": enc(out), "grad_input": enc(xi.grad),
        "grad_target": enc(yi.grad) if grad_target else None,
    })


REDS = ["none", "mean", "sum"]

# ---- regression
for red in REDS:
    x, y = torch.randn(4, 5, dtype=f64), torch.randn(4, 5, dtype=f64)
    add(f"mse_{red}", "mse", lambda a, b: F.mse_loss(a, b, reduction=red), x, y,
        {"reduction": red}, grad_target=True)
    add(f"l1_{red}", "l1", lambda a, b: F.l1_loss(a, b, reduction=red), x, y,
        {"reduction": red}, grad_target=True)
    for delta in [1.0, 0.5]:
        x2, y2 = torch.randn(3, 6, dtype=f64) * 1.5, torch.randn(3, 6, dtype=f64)
        add(f"huber_d{delta}_{red}", "huber",
            lambda a, b: F.huber_loss(a, b, reduction=red, delta=delta), x2, y2,
            {"reduction": red, "delta": delta}, grad_target=True)
    for beta in [1.0, 0.5, 0.0]:
        x2, y2 = torch.randn(3, 6, dtype=f64) * 1.5, torch.randn(3, 6, dtype=f64)
        add(f"smooth_l1_b{beta}_{red}", "smooth_l1",
            lambda a, b: F.smooth_l1_loss(a, b, reduction=red, beta=beta), x2, y2,
            {"reduction": red, "beta": beta}, grad_target=True)
# float32 and a 3-d shape
x, y = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
add("mse_f32_3d", "mse", lambda a, b: F.mse_loss(a, b), x, y, {"reduction": "mean"})

# ---- binary cross-entropy
for red in REDS:
    p = torch.rand(4, 5, dtype=f64) * 0.9 + 0.05
    y = torch.rand(4, 5, dtype=f64)  # soft labels
    add(f"bce_{red}", "bce", lambda a, b: F.binary_cross_entropy(a, b, reduction=red), p, y,
        {"reduction": red}, grad_target=True)
    w = torch.rand(5, dtype=f64) + 0.5
    add(f"bce_weight_{red}", "bce",
        lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction=red), p, y,
        {"reduction": red, "weight": enc(w)})
# probabilities exactly 0 and 1: the log clamp at -100 keeps the loss finite
p = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.3], dtype=f64)
y = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0], dtype=f64)
add("bce_edges", "bce", lambda a, b: F.binary_cross_entropy(a, b, reduction="none"), p, y,
    {"reduction": "none"})
add("bce_edges_sum", "bce", lambda a, b: F.binary_cross_entropy(a, b, reduction="sum"), p, y,
    {"reduction": "sum"})

for red in REDS:
    x = torch.randn(4, 3, dtype=f64) * 3
    y = (torch.rand(4, 3, dtype=f64) > 0.5).to(f64)
    add(f"bce_logits_{red}", "bce_logits",
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=red), x, y,
        {"reduction": red}, grad_target=True)
    w = torch.rand(4, 1, dtype=f64) + 0.5
    pw = torch.tensor([1.0, 2.0, 0.5], dtype=f64)
    add(f"bce_logits_w_pw_{red}", "bce_logits",
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=w, pos_weight=pw,
                                                        reduction=red), x, y,
        {"reduction": red, "weight": enc(w), "pos_weight": enc(pw)}, grad_target=True)
# huge logits: the stable form must not overflow
x = torch.tensor([[100.0, -100.0, 30.0], [-50.0, 0.0, 800.0]])
y = torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.5, 0.0]])
add("bce_logits_extreme_f32", "bce_logits",
    lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"), x, y,
    {"reduction": "none"})

# ---- cross-entropy: class indices
for red in REDS:
    x = torch.randn(6, 5, dtype=f64)
    t = torch.randint(0, 5, (6,))
    w = torch.rand(5, dtype=f64) + 0.2
    add(f"ce_{red}", "cross_entropy", lambda a, b: F.cross_entropy(a, b, reduction=red), x, t,
        {"reduction": red})
    add(f"ce_weight_{red}", "cross_entropy",
        lambda a, b: F.cross_entropy(a, b, weight=w, reduction=red), x, t,
        {"reduction": red, "weight": enc(w)})
    add(f"ce_smooth_{red}", "cross_entropy",
        lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1, reduction=red), x, t,
        {"reduction": red, "label_smoothing": 0.1})
    add(f"ce_smooth_weight_{red}", "cross_entropy",
        lambda a, b: F.cross_entropy(a, b, weight=w, label_smoothing=0.25, reduction=red), x, t,
        {"reduction": red, "weight": enc(w), "label_smoothing": 0.25})
    ti = t.clone()
    ti[1] = -100
    ti[4] = -100
    add(f"ce_ignore_{red}", "cross_entropy",
        lambda a, b: F.cross_entropy(a, b, reduction=red), x, ti, {"reduction": red})
    add(f"ce_ignore_smooth_weight_{red}", "cross_entropy",
        lambda a, b: F.cross_entropy(a, b, weight=w, label_smoothing=0.2, reduction=red), x, ti,
        {"reduction": red, "weight": enc(w), "label_smoothing": 0.2})
    tc = t.clone()
    tc[0] = 2
    tc[3] = 2
    add(f"ce_ignore2_{red}", "cross_entropy",
        lambda a, b: F.cross_entropy(a, b, ignore_index=2, reduction=red), x, tc,
        {"reduction": red, "ignore_index": 2})
    # spatial: [N, C, d1, d2]
    xs = torch.randn(2, 4, 3, 2, dtype=f64)
    tsp = torch.randint(0, 4, (2, 3, 2))
    ws = torch.rand(4, dtype=f64) + 0.2
    add(f"ce_spatial_{red}", "cross_entropy",
        lambda a, b: F.cross_entropy(a, b, weight=ws, label_smoothing=0.1, reduction=red), xs,
        tsp, {"reduction": red, "weight": enc(ws), "label_smoothing": 0.1})
    # unbatched [C]
    xu = torch.randn(7, dtype=f64)
    add(f"ce_unbatched_{red}", "cross_entropy",
        lambda a, b: F.cross_entropy(a, b, reduction=red), xu, torch.tensor(3),
        {"reduction": red})

# ---- cross-entropy: probability targets
for red in REDS:
    x = torch.randn(5, 4, dtype=f64)
    pt = torch.rand(5, 4, dtype=f64).softmax(1)
    w = torch.rand(4, dtype=f64) + 0.2
    add(f"ce_prob_{red}", "cross_entropy", lambda a, b: F.cross_entropy(a, b, reduction=red), x,
        pt, {"reduction": red}, grad_target=True)
    add(f"ce_prob_weight_smooth_{red}", "cross_entropy",
        lambda a, b: F.cross_entropy(a, b, weight=w, label_smoothing=0.15, reduction=red), x, pt,
        {"reduction": red, "weight": enc(w), "label_smoothing": 0.15}, grad_target=True)
    onehot = F.one_hot(torch.randint(0, 4, (5,)), 4).to(f64)
    add(f"ce_onehot_{red}", "cross_entropy", lambda a, b: F.cross_entropy(a, b, reduction=red),
        x, onehot, {"reduction": red})
    xs = torch.randn(2, 3, 4, dtype=f64)
    ps = torch.rand(2, 3, 4, dtype=f64).softmax(1)
    add(f"ce_prob_spatial_{red}", "cross_entropy",
        lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1, reduction=red), xs, ps,
        {"reduction": red, "label_smoothing": 0.1}, grad_target=True)
# float32 with huge logits: a naive softmax would overflow
x = torch.tensor([[1000.0, 0.0, -1000.0], [50.0, 51.0, 49.0], [-3e4, -3e4, -3e4]])
add("ce_extreme_f32", "cross_entropy", lambda a, b: F.cross_entropy(a, b, reduction="none"), x,
    torch.tensor([2, 1, 0]), {"reduction": "none"})
x = torch.randn(8, 10)
add("ce_f32", "cross_entropy", lambda a, b: F.cross_entropy(a, b, label_smoothing=0.05), x,
    torch.randint(0, 10, (8,)), {"reduction": "mean", "label_smoothing": 0.05})

# ---- nll_loss
for red in REDS:
    lp = torch.randn(6, 5, dtype=f64).log_softmax(1)
    t = torch.randint(0, 5, (6,))
    t[2] = -100
    w = torch.rand(5, dtype=f64) + 0.2
    add(f"nll_{red}", "nll_loss", lambda a, b: F.nll_loss(a, b, reduction=red), lp, t,
        {"reduction": red})
    add(f"nll_weight_{red}", "nll_loss", lambda a, b: F.nll_loss(a, b, weight=w, reduction=red),
        lp, t, {"reduction": red, "weight": enc(w)})
    lps = torch.randn(2, 3, 4, dtype=f64).log_softmax(1)
    add(f"nll_spatial_{red}", "nll_loss", lambda a, b: F.nll_loss(a, b, reduction=red), lps,
        torch.randint(0, 3, (2, 4)), {"reduction": red})

# ---- kl_div
for red in REDS + ["batchmean"]:
    lq = torch.randn(3, 5, dtype=f64).log_softmax(1)
    p = torch.rand(3, 5, dtype=f64).softmax(1)
    add(f"kl_{red}", "kl_div", lambda a, b: F.kl_div(a, b, reduction=red), lq, p,
        {"reduction": red}, grad_target=True)
    add(f"kl_logt_{red}", "kl_div", lambda a, b: F.kl_div(a, b, reduction=red, log_target=True),
        lq, p.log(), {"reduction": red, "log_target": True}, grad_target=True)
# a zero target contributes 0 (xlogy), not NaN
lq = torch.randn(2, 3, dtype=f64).log_softmax(1)
p = torch.tensor([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]], dtype=f64)
add("kl_zero_target", "kl_div", lambda a, b: F.kl_div(a, b, reduction="sum"), lq, p,
    {"reduction": "sum"})

out = {"generator": "tests/golden/gen_loss.py", "torch": torch.__version__, "cases": cases}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loss.json")
with open(path, "w") as f:
    json.dump(out, f, indent=None, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(cases)} cases to {path}")
