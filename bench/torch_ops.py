#!/usr/bin/python3
"""PyTorch side of bench/elementwise.cpp and bench/overhead.cpp (CPU, float32).

elementwise: torch.add / torch.mul (two inputs) and torch.relu (one input) on contiguous
             tensors of 1M and 16M elements, a new output each call; GB/s counts every byte
             read and written once.
overhead:    torch.add of two one-element tensors, with no input requiring grad and with one
             input requiring grad (records and frees a graph node each call), called from Python.
conv:        the two LeNet convolutions of cnn_train.py at batch 64 (conv1 1->6 5x5 pad 2 on
             28x28, conv2 6->16 5x5 on 14x14), F.conv2d forward under no_grad, and forward +
             backward (input, weight and bias gradients, reset to None before each call;
             conv1 also without the input gradient, as the CNN trains it), the PyTorch side
             of bench/conv.cpp.

Timing is the method of ../shared/reference/matmul.py: warm-up, samples of k back-to-back
calls (a sample lasts about 20 ms) until --repeats samples and --min-time seconds; the median
time per call is reported. Prints one JSON line per case, in the same format as the C++ benches.
"""
import argparse
import json
import os
import statistics
import time

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--min-time", type=float, default=2.0)
p.add_argument("--sizes", type=int, nargs="+", default=[1 << 20, 1 << 24])
p.add_argument("--only", default="", help="run only cases whose name contains this")
p.add_argument("--groups", nargs="+", choices=["elementwise", "overhead", "conv"],
               default=["elementwise", "overhead", "conv"], help="which groups of cases to run")
p.add_argument("--omp-wait-policy", choices=["passive", "active"], default=None)
args = p.parse_args()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(args.threads)
if args.omp_wait_policy:
    os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(0)
SAMPLE_S = 0.02


def measure(fn):
    for _ in range(3):
        fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-8)
    inner = max(1, int(SAMPLE_S / one))
    for _ in range(inner):
        fn()
    samples = []
    start = time.perf_counter()
    while len(samples) < args.repeats or time.perf_counter() - start < args.min_time:
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    med = statistics.median(samples)
    return med, {"median_ms": med * 1e3, "min_ms": min(samples) * 1e3, "samples": len(samples),
                 "calls_per_sample": inner}


def emit(d):
    print(json.dumps(d), flush=True)


def selected(name):
    return not args.only or args.only in name


common = {"impl": "torch", "threads": args.threads, "torch": torch.__version__,
          "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default")}

with torch.no_grad():
    for n in (args.sizes if "elementwise" in args.groups else []):
        a, b = torch.randn(n), torch.randn(n)
        for op, operands, fn in (("add", 2, lambda: torch.add(a, b)),
                                 ("mul", 2, lambda: torch.mul(a, b)),
                                 ("relu", 1, lambda: torch.relu(a))):
            if not selected(op):
                continue
            med, t = measure(fn)
            emit({"bench": "elementwise", "op": op, **common, "n": n, **t,
                  "gbps": (operands + 1) * n * 4 / med / 1e9})

a, b = torch.ones(1), torch.ones(1)
ag = torch.ones(1, requires_grad=True)
for name, fn in (("add_no_grad", lambda: torch.add(a, b)), ("add_grad", lambda: torch.add(ag, b))):
    if "overhead" not in args.groups or not selected(name):
        continue
    med, t = measure(fn)
    emit({"bench": "overhead", "op": name, **common, **t, "us": med * 1e6})


def conv_case(layer, n, c, o, k, h, w, pad):
    x = torch.randn(n, c, h, w, requires_grad=True)
    wt = (torch.randn(o, c, k, k) * 0.1).requires_grad_(True)
    bias = (torch.randn(o) * 0.1).requires_grad_(True)
    with torch.no_grad():
        grad_out = torch.randn(F.conv2d(x, wt, bias, padding=pad).shape)
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    flop = 2.0 * n * o * c * k * k * oh * ow  # 2 per multiply-add, bias left out

    def fwd():
        with torch.no_grad():
            F.conv2d(x, wt, bias, padding=pad)

    def fwd_bwd():
        x.grad = wt.grad = bias.grad = None
        F.conv2d(x, wt, bias, padding=pad).backward(grad_out)

    x_data = x.detach()

    def fwd_bwd_no_dx():  # conv1 as the CNN trains it: the input is data, no dx
        wt.grad = bias.grad = None
        F.conv2d(x_data, wt, bias, padding=pad).backward(grad_out)

    passes = [("fwd", flop, fwd), ("fwd+bwd", 3 * flop, fwd_bwd)]
    if c == 1:
        passes.append(("fwd+bwd no-dx", 2 * flop, fwd_bwd_no_dx))
    shape = {"batch": n, "in_channels": c, "out_channels": o, "kernel": k, "height": h,
             "width": w, "padding": pad}
    for pass_, work, fn in passes:
        if not selected(f"{layer} {pass_}"):
            continue
        med, t = measure(fn)
        emit({"bench": "conv", "layer": layer, "pass": pass_, **common, **shape, **t,
              "gflops": work / med / 1e9})


if "conv" in args.groups:
    conv_case("conv1", 64, 1, 6, 5, 28, 28, 2)
    conv_case("conv2", 64, 6, 16, 5, 14, 14, 0)
