#!/usr/bin/python3
"""The data-parallel scaling model of docs/distributed.md: predicted speed-up of a training step
on N nodes for the presets, from a measured compute time per step and an all-reduce cost model.
It only does arithmetic; the inputs are measurements (bench_ddp_epoch / bench_mlp_train /
bench_cnn_train for the compute, bench_allreduce for the loopback bandwidth) and a stated network.

    /usr/bin/python3 bench/scaling_model.py                       # the defaults below
    /usr/bin/python3 bench/scaling_model.py --allreduce results/allreduce.jsonl
    /usr/bin/python3 bench/scaling_model.py --step mlp=2.015 --step lenet=3.67 --latency-us 25

Model, for a step with global batch B, gradient bytes S, N nodes, the all-reduce done as a
reduce-scatter plus an all-gather by recursive halving and doubling (Rabenseifner's algorithm,
which OpenMPI's tuned collectives pick for these sizes; bandwidth term as a ring's):
  t_comm(N)  = 2 (N-1)/N * S / bw  +  2 log2(N) * latency
  strong scaling (--batch-size fixed, the CLI's meaning): t(N) = t_step(B)/N + t_comm(N)
  weak scaling   (--batch-size grown to N*B):             t(N) = t_step(B)   + t_comm(N)
  speed-up = examples per second on N nodes / on 1 node.
No overlap of communication with backward is assumed (an upper bound on t_comm's share; DDP's
buckets overlap part of it), and t_step(B)/N assumes a smaller per-node batch is as efficient
per example (it is not for tiny batches: an optimistic compute term).
"""
import argparse
import json
import math

# Gradient bytes per step: float32 parameters of each preset on Fashion-MNIST (10 classes).
PRESETS = {"mlp": 535_818 * 4, "lenet": 61_706 * 4}
# Compute per step on one node (this Xeon, 2 cores = 2 threads), ms, from bench/RESULTS.md:
# mlp b128 SGD step 2.015 ms ("mlp train step b128 | 2"), lenet b64 Adam step 3.67 ms
# ("LeNet training step (b64, Adam)", 2 threads).
STEP_MS = {"mlp": 2.015, "lenet": 3.67}
BATCH = {"mlp": 128, "lenet": 64}


def comm_s(nbytes, n, bw_bytes_per_s, latency_s):
    if n == 1:
        return 0.0
    return 2 * (n - 1) / n * nbytes / bw_bytes_per_s + 2 * math.log2(n) * latency_s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--step", action="append", default=[], help="PRESET=MS compute per step on one node")
    ap.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 4, 8, 64])
    ap.add_argument("--gbits", type=float, nargs="+", default=[10, 100], help="network links, Gbit/s")
    ap.add_argument("--latency-us", type=float, default=25.0, help="per-message latency (TCP/Ethernet)")
    ap.add_argument("--allreduce", help="bench_allreduce JSON lines: prints the loopback bus bandwidth too")
    a = ap.parse_args()
    steps = dict(STEP_MS)
    for s in a.step:
        k, v = s.split("=")
        steps[k] = float(v)
    links = [(f"{g:g} Gbit/s", g * 1e9 / 8) for g in a.gbits]
    if a.allreduce:
        rows = [json.loads(l) for l in open(a.allreduce) if l.strip().startswith("{")]
        big = [r for r in rows if r.get("bytes", 0) >= 1 << 20 and r.get("busbw_GBps", 0) > 0]
        if big:
            bw = max(r["busbw_GBps"] for r in big)
            links.append((f"loopback {bw:.1f} GB/s (measured)", bw * 1e9))
    print(f"latency {a.latency_us:g} us per message; no overlap; t_step(B)/N for strong scaling\n")
    for preset, nbytes in PRESETS.items():
        t1 = steps[preset] / 1e3
        print(f"## {preset}: {nbytes / 1e6:.3f} MB of gradients, step {t1 * 1e3:.3f} ms at batch {BATCH[preset]}")
        print("| link | scaling | " + " | ".join(f"N={n}" for n in a.nodes) + " |")
        print("|---|---|" + "---|" * len(a.nodes))
        for name, bw in links:
            for mode in ("strong", "weak"):
                cells = []
                for n in a.nodes:
                    c = comm_s(nbytes, n, bw, a.latency_us * 1e-6)
                    if mode == "strong":
                        speed = t1 / (t1 / n + c)
                    else:
                        speed = n * t1 / (t1 + c)
                    cells.append(f"{speed:.2f}x")
                print(f"| {name} | {mode} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
