#!/usr/bin/python3
"""PyTorch side of bench/elementwise.cpp and bench/overhead.cpp (CPU, float32).

elementwise: torch.add / torch.mul (two inputs) and torch.relu (one input) on contiguous
             tensors of 1M and 16M elements, a new output each call; GB/s counts every byte
             read and written once.
overhead:    torch.add of two one-element tensors, with no input requiring grad and with one
             input requiring grad (records and frees a graph node each call), called from Python.

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
p.add_argument("--omp-wait-policy", choices=["passive", "active"], default=None)
args = p.parse_args()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(args.threads)
if args.omp_wait_policy:
    os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()

import torch  # noqa: E402

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
    for n in args.sizes:
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
    if not selected(name):
        continue
    med, t = measure(fn)
    emit({"bench": "overhead", "op": name, **common, **t, "us": med * 1e6})
