#!/usr/bin/python3
"""Runs the sinapsis benchmarks and the PyTorch reference on the same shapes, in one run, and
prints our time, PyTorch's time and the ratio at each thread count: a Markdown table, a second
table of peak memory (and test accuracy for the Fashion-MNIST epochs), then one JSON line per
row. It only drives programs and compares numbers; the workloads live in bench/*.cpp,
bench/torch_ops.py and ../shared/reference/*.py.

    /usr/bin/python3 bench/run.py                      # everything, 1 and 2 threads, 1 round
    /usr/bin/python3 bench/run.py --rounds 3 --suites gemm ops --min-time 1
    /usr/bin/python3 bench/run.py --suites mlp_infer mlp_epoch loader --threads 1

Suites: gemm (matmul / linear vs torch, and vs cblas_sgemm called directly), ops (elementwise
GB/s, per-op overhead), conv (the LeNet convs fwd / fwd+bwd, GFLOP/s beside a cblas_sgemm
peak), mlp_train / cnn_train / gpt_train / rnn_train (one training step; effective GFLOP/s from the model
FLOP counts below), text_gen (char_lm.py's generation tokens/s, GPT and LSTM, batch 1),
mlp_infer (batch 1 and 256 latency), ae_train (the autoencoder step of generative.py --model ae;
opt-in: ae_quality, its 5 epochs on Fashion-MNIST with the test BCE), dcgan_train (one D + G
step of generative.py's DCGAN; its PyTorch side needs --data), mlp_epoch / cnn_epoch (one
Fashion-MNIST epoch with --data: wall time and test accuracy), loader (DataLoader samples/s,
ours only, set against the MLP training step's consumption).

ratio = PyTorch time / our time (above 1.0 means sinapsis is faster). With several rounds
each side's time is the median of the per-round medians; rounds alternate ours and PyTorch, so
machine noise hits both. PyTorch runs on Debian's OpenMP build of OpenBLAS (the best setup in
../shared/reference/BASELINES.md); with more than one thread it also runs with
OMP_WAIT_POLICY=PASSIVE, and the faster of the two setups is compared, case by case.

Effective GFLOP/s follow BASELINES.md: model FLOPs at 2 per multiply-add, the backward pass
counted as weight gradients plus the input gradients something needs (not the first layer's),
so one training step is about 3x the forward pass (MLP b128 0.308, CNN b64 0.145, GPT 16x64
5.31 GFLOP). Both sides are divided into the same count.

Peak memory is each process's peak resident set (ru_maxrss from wait4), one number per program
run: PyTorch's includes the Python interpreter and the torch import (the floor is measured and
printed once), ours is the whole C++ program. A program that runs several cases (mlp_infer
batch 1 and 256) reports one peak for all of them.

Adding a workload: build bench/<name>.cpp into bench_<name> (bench/CMakeLists.txt does that for
every .cpp), have it print JSON lines with "bench", "impl": "sinapsis" and "median_ms", and add
a Suite to SUITES below with the PyTorch command and a parser for its output.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
REFERENCE = (ROOT / ".." / "shared" / "reference").resolve()
TORCH_PY = "/usr/bin/python3"  # Debian's torch is installed for the system Python only
OPENBLAS_OMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
TINY_SHAKESPEARE = (ROOT / ".." / "shared" / "data" / "tinyshakespeare.txt").resolve()
DATA = "{data}"  # placeholder in suite commands, replaced by --data


# ------------------------------------------------------------------------------ FLOP counts
# 2 FLOP per multiply-add. A training step is the forward pass, the weight gradients (as many
# multiply-adds as the forward pass) and the input gradients that something needs: every layer
# but the first, whose input is the data (BASELINES.md's convention).
def mlp_macs(batch: int, dims=(784, 512, 256, 10)) -> List[int]:
    return [batch * a * b for a, b in zip(dims, dims[1:])]


def train_flop(layer_macs: List[int]) -> float:
    """Forward + weight grads + input grads of every layer after the first."""
    return 2.0 * (2 * sum(layer_macs) + sum(layer_macs[1:]))


def cnn_macs(batch: int = 64) -> List[int]:
    def conv(c, o, k, oh, ow):
        return batch * o * c * k * k * oh * ow
    # conv1 1->6 5x5 pad 2 (28x28 out), conv2 6->16 5x5 (10x10 out), then 400-120-84-10
    return [conv(1, 6, 5, 28, 28), conv(6, 16, 5, 10, 10)] + mlp_macs(batch, (400, 120, 84, 10))


def gpt_train_flop(batch=16, ctx=64, layers=4, d=128, vocab=96, ff=4) -> float:
    """Per layer: qkv, proj, two MLP linears, and the two attention products (q·kᵀ, att·v);
    then the head. Every input here needs its gradient (token embeddings are trained), so the
    backward pass is twice the forward (embedding lookups and elementwise ops not counted)."""
    tokens = batch * ctx
    linear = tokens * (d * 3 * d + d * d + 2 * d * ff * d)
    attention = 2 * batch * ctx * ctx * d  # q·kᵀ and att·v over all heads
    fwd = layers * (linear + attention) + tokens * d * vocab
    return 2.0 * 3 * fwd


def rnn_train_flop(gates: int, batch=32, steps=64, embed=128, hidden=256, layers=2,
                   vocab=65) -> float:
    """bench/rnn_train.cpp: per layer the input and the hidden GEMMs (gates·hidden outputs),
    then the head; every input but the token ids needs its gradient, so backward = 2x forward
    (gate arithmetic and the embedding lookup not counted)."""
    tokens = batch * steps
    rec = sum(tokens * gates * hidden * ((embed if k == 0 else hidden) + hidden)
              for k in range(layers))
    return 2.0 * 3 * (rec + tokens * hidden * vocab)


@dataclass
class Spec:
    """What the table needs to know about a case beyond its time: the work per call (FLOP for
    "GFLOP/s", bytes for "GB/s", samples for "samples/s") and the required PyTorch/ours ratio."""
    work: float = 0.0
    unit: str = ""
    target: float = 1.0


CASE_SPECS: Dict[str, Spec] = {
    "mlp train step b128": Spec(train_flop(mlp_macs(128)), "GFLOP/s", 1.2),
    "cnn train step b64": Spec(train_flop(cnn_macs(64)), "GFLOP/s", 2.0),
    "gpt train step 16x64": Spec(gpt_train_flop(), "GFLOP/s", 1.0),  # informational
    "lstm train step 32x64": Spec(rnn_train_flop(4), "GFLOP/s", 1.5),
    "gru train step 32x64": Spec(rnn_train_flop(3), "GFLOP/s", 1.5),
    "lstm generate token b1": Spec(target=2.0),
    "gpt generate b1": Spec(target=2.0),
    "lstm generate b1": Spec(target=2.0),
    "mlp infer b1": Spec(2.0 * sum(mlp_macs(1)), "GFLOP/s", 3.0),
    "mlp infer b256": Spec(2.0 * sum(mlp_macs(256)), "GFLOP/s", 1.1),
    "ae train step b128": Spec(train_flop(mlp_macs(128, (784, 256, 32, 256, 784))), "GFLOP/s", 1.3),
    "ae fashion-mnist epochs": Spec(target=1.0),  # informational: the quality run's wall time
    "mlp fashion-mnist epoch": Spec(60000, "samples/s", 1.2),
    "cnn fashion-mnist epoch": Spec(60000, "samples/s", 1.0),
    "dcgan train step b64": Spec(64, "samples/s", 1.5),  # one D step + one G step
}
UNIT_SCALE = {"GFLOP/s": 1e9, "GB/s": 1e9, "samples/s": 1.0}


# ------------------------------------------------------------------------------ records
@dataclass
class Row:
    """One measured case on one side: median ms per call plus how to turn it into a rate."""
    case: str
    ms: float
    work: float = 0.0  # per call, in the unit's numerator (FLOP, bytes, samples); 0: none
    unit: str = ""
    target: float = 1.0  # required PyTorch/ours ratio
    extra: Dict[str, float] = field(default_factory=dict)


def with_spec(r: Row) -> Row:
    spec = CASE_SPECS.get(r.case)
    if spec:
        if not r.work:
            r.work, r.unit = spec.work, spec.unit
        r.target = spec.target
    return r


def size_label(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20}M"
    return str(n)


CONV_PASS_FACTOR = {"fwd": 1, "fwd+bwd": 3, "fwd+bwd no-dx": 2}  # forwards' worth of MACs


def conv_row(line: dict) -> Row:
    n, c, o, k = (int(line[f]) for f in ("batch", "in_channels", "out_channels", "kernel"))
    h, w, pad = int(line["height"]), int(line["width"]), int(line["padding"])
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    flop = 2.0 * n * o * c * k * k * oh * ow * CONV_PASS_FACTOR[line["pass"]]
    tag = f"{c}->{o} {k}x{k}{' p' + str(pad) if pad else ''} {h}x{w} b{n}"
    return Row(f"{line['layer']} {tag} {line['pass']}", line["median_ms"], flop, "GFLOP/s")


def rows_from_ours(line: dict) -> List[Row]:
    """Our bench programs' JSON lines -> rows (cblas_sgemm lines become a 'sgemm' case)."""
    b = line.get("bench")
    if "median_ms" not in line:  # progress lines (per-epoch losses) carry no timing
        return []
    ms = line["median_ms"]
    if b == "matmul":
        n = int(line["n"])
        name = "matmul" if line["impl"] == "sinapsis" else "sgemm"
        return [Row(f"{name} n={n}", ms, 2.0 * n ** 3, "GFLOP/s")]
    if b == "linear_forward":
        return [Row("linear 1024x1024 b256 fwd", ms, 2.0 * 256 * 1024 * 1024, "GFLOP/s")]
    if b == "linear_forward_backward":
        return [Row("linear 1024x1024 b256 fwd+bwd", ms, 6.0 * 256 * 1024 * 1024, "GFLOP/s")]
    if b == "elementwise":
        n = int(line["n"])
        operands = 1 if line["op"] == "relu" else 2
        return [Row(f"{line['op']} {size_label(n)}", ms, (operands + 1) * 4.0 * n, "GB/s")]
    if b == "overhead":
        return [Row(f"overhead {line['op']}", ms, target=5.0)]
    if b == "conv":
        return [conv_row(line)]
    if b == "peak":  # conv.cpp's cblas_sgemm: the GEMM peak conv rows are read against
        n = int(line["n"])
        return [Row(f"peak: cblas_sgemm n={n}", ms, 2.0 * n ** 3, "GFLOP/s")]
    if b == "loader":
        return [Row(line["case"], ms, line["samples_per_epoch"], "samples/s")]
    if "case" in line:  # generic: training / inference / epoch benches
        extra = {k: line[k] for k in ("test_acc", "test_bce", "test_mse") if k in line}
        return [with_spec(Row(line["case"], ms, line.get("work", 0.0), line.get("unit", ""),
                              extra=extra))]
    return []


def rows_from_matmul_py(line: dict) -> List[Row]:
    """../shared/reference/matmul.py prints one JSON object with every case."""
    out = [Row(f"matmul n={g['n']}", g["median_ms"], 2.0 * g["n"] ** 3, "GFLOP/s")
           for g in line["gemm"]]
    lin = line["linear"]
    mm = 2.0 * lin["batch"] * lin["in"] * lin["out"]
    tag = f"{lin['in']}x{lin['out']} b{lin['batch']}"
    out.append(Row(f"linear {tag} fwd", lin["forward"]["median_ms"], mm, "GFLOP/s"))
    out.append(Row(f"linear {tag} fwd+bwd", lin["forward_backward"]["median_ms"], 3 * mm, "GFLOP/s"))
    return out


def rows_from_train_py(case: str) -> Callable[[dict], List[Row]]:
    """Training reference scripts print one line with a median per step (synthetic mode) or,
    with --data, per-epoch results with the last epoch's wall time and accuracy on top."""
    def parse(line: dict) -> List[Row]:
        if line.get("mode") == "data" and "epoch_wall_s" in line:
            return [with_spec(Row(case, line["epoch_wall_s"] * 1e3,
                                  extra={"test_acc": line["test_acc"]}))]
        if "ms_per_step_median" in line:
            return [with_spec(Row(case, line["ms_per_step_median"]))]
        return []
    return parse


def rows_from_generative_ae(line: dict) -> List[Row]:
    """../shared/reference/generative.py --model ae: its final line. Without --epochs beyond 1
    (the ae_train suite) the median step; with several epochs (ae_quality) the training wall
    time and the test BCE / MSE."""
    if line.get("model") != "ae" or "ms_per_step_median" not in line:
        return []
    if line.get("epochs", 1) > 1:
        return [with_spec(Row("ae fashion-mnist epochs", line["train_s"] * 1e3,
                              extra={"test_bce": line["test_bce"], "test_mse": line["test_mse"]}))]
    return [with_spec(Row("ae train step b128", line["ms_per_step_median"]))]


def rows_from_char_lm(line: dict) -> List[Row]:
    """../shared/reference/char_lm.py: its gen_tokens_per_s as ms per generated token."""
    if "gen_tokens_per_s" not in line:
        return []
    return [with_spec(Row(f"{line['model']} generate b1", 1e3 / line["gen_tokens_per_s"]))]


def rows_from_infer_py(line: dict) -> List[Row]:
    """../shared/reference/mlp_infer.py: one line, a result (us_median) per batch size."""
    return [with_spec(Row(f"mlp infer b{r['batch']}", r["us_median"] / 1e3))
            for r in line.get("results", [])]


@dataclass
class Suite:
    ours: List[List[str]]           # our programs (name under <build>/bench, then extra args)
    torch: List[List[str]]          # PyTorch scripts (path, then extra args)
    parse_torch: Callable[[dict], List[Row]]
    takes_sizes: bool = False       # whether --sizes is passed through (matmul sizes)
    workload: bool = False          # listed in the memory / accuracy table
    torch_min_time: bool = True     # whether the PyTorch scripts take --min-time


SUITES: Dict[str, Suite] = {
    "gemm": Suite(ours=[["bench_gemm"]], torch=[[str(REFERENCE / "matmul.py")]],
                  parse_torch=rows_from_matmul_py, takes_sizes=True),
    "ops": Suite(ours=[["bench_elementwise"], ["bench_overhead"]],
                 torch=[[str(BENCH_DIR / "torch_ops.py"), "--groups", "elementwise", "overhead"]],
                 parse_torch=lambda line: rows_from_ours({**line, "impl": "torch"})),
    "conv": Suite(ours=[["bench_conv"]],
                  torch=[[str(BENCH_DIR / "torch_ops.py"), "--groups", "conv"]],
                  parse_torch=lambda line: rows_from_ours({**line, "impl": "torch"})),
    # Training / inference benches: each runs when its bench_<name> program has been built.
    "mlp_train": Suite(ours=[["bench_mlp_train"]], torch=[[str(REFERENCE / "mlp_train.py")]],
                       parse_torch=rows_from_train_py("mlp train step b128"), workload=True),
    "cnn_train": Suite(ours=[["bench_cnn_train"]], torch=[[str(REFERENCE / "cnn_train.py")]],
                       parse_torch=rows_from_train_py("cnn train step b64"), workload=True),
    "gpt_train": Suite(ours=[["bench_gpt_train"]], torch=[[str(REFERENCE / "gpt_train.py")]],
                       parse_torch=rows_from_train_py("gpt train step 16x64"), workload=True),
    "rnn_train": Suite(ours=[["bench_rnn_train"]], torch=[[str(BENCH_DIR / "torch_rnn.py")]],
                       parse_torch=lambda line: rows_from_ours({**line, "impl": "torch"}),
                       workload=True),
    # generation speed as char_lm.py measures it (1 training step first: the weights do not
    # change the work; its validation pass is outside the timed generation)
    "text_gen": Suite(ours=[["bench_text_gen", "--data", str(TINY_SHAKESPEARE)]],
                      torch=[[str(REFERENCE / "char_lm.py"), "--model", m, "--data",
                              str(TINY_SHAKESPEARE), "--iters", "1", "--eval-interval", "0",
                              "--generate", "2000"] for m in ("gpt", "lstm")],
                      parse_torch=rows_from_char_lm, torch_min_time=False),
    "mlp_infer": Suite(ours=[["bench_mlp_infer"]], torch=[[str(REFERENCE / "mlp_infer.py")]],
                       parse_torch=rows_from_infer_py, workload=True),
    "mlp_epoch": Suite(ours=[["bench_mlp_train", "--data", DATA]],
                       torch=[[str(REFERENCE / "mlp_train.py"), "--data", DATA]],
                       parse_torch=rows_from_train_py("mlp fashion-mnist epoch"), workload=True),
    "cnn_epoch": Suite(ours=[["bench_cnn_train", "--data", DATA]],
                       torch=[[str(REFERENCE / "cnn_train.py"), "--data", DATA]],
                       parse_torch=rows_from_train_py("cnn fashion-mnist epoch"), workload=True),
    # the autoencoder of generative.py --model ae: the step on synthetic batches (PyTorch's
    # median over 200 real steps), and, opt-in, the whole 5-epoch recipe with the test BCE
    "ae_train": Suite(ours=[["bench_ae_train"]],
                      torch=[[str(REFERENCE / "generative.py"), "--model", "ae", "--data", DATA,
                              "--epochs", "1", "--limit", "25600"]],
                      parse_torch=rows_from_generative_ae, workload=True, torch_min_time=False),
    "ae_quality": Suite(ours=[["bench_ae_train", "--data", DATA, "--epochs", "5"]],
                        torch=[[str(REFERENCE / "generative.py"), "--model", "ae", "--data", DATA,
                                "--epochs", "5"]],
                        parse_torch=rows_from_generative_ae, workload=True, torch_min_time=False),
    # one D + G step of the DCGAN (generative.py --model dcgan times its steps over the first
    # 3200 images: 50 steps; "active" so that the omp variant is not its passive default)
    "dcgan_train": Suite(ours=[["bench_dcgan_train"]],
                         torch=[[str(REFERENCE / "generative.py"), "--model", "dcgan", "--data",
                                 DATA, "--epochs", "1", "--limit", "3200", "--samples", "64",
                                 "--omp-wait-policy", "active"]],
                         parse_torch=rows_from_train_py("dcgan train step b64"),
                         torch_min_time=False, workload=True),
    "loader": Suite(ours=[["bench_loader", "--data", DATA]], torch=[],
                    parse_torch=lambda line: [], workload=True),
}
DEFAULT_SUITES = ["gemm", "ops", "conv", "mlp_train", "cnn_train", "gpt_train", "rnn_train",
                  "text_gen", "mlp_infer", "ae_train",
                  "mlp_epoch", "cnn_epoch", "loader"]


# ------------------------------------------------------------------------------ running
def run_json(cmd: List[str], env: Dict[str, str], timeout: float
             ) -> Tuple[List[dict], Optional[float]]:
    """Runs cmd; returns its JSON lines and its peak resident set in MiB (ru_maxrss of this
    one child, from wait4). The child is reaped only by wait4, so a kill on timeout cannot hit
    a recycled pid."""
    try:
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    except OSError as e:
        print(f"  ! cannot start {' '.join(cmd)}: {e}", file=sys.stderr)
        return [], None
    streams: Dict[str, str] = {}
    readers = [threading.Thread(target=lambda k=k, f=f: streams.__setitem__(k, f.read()))
               for k, f in (("out", p.stdout), ("err", p.stderr))]
    for t in readers:
        t.start()
    deadline = time.monotonic() + timeout
    for t in readers:
        t.join(max(0.0, deadline - time.monotonic()))
    timed_out = any(t.is_alive() for t in readers)
    if timed_out:
        p.kill()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join()
    if timed_out:
        print(f"  ! timed out after {timeout:.0f} s: {' '.join(cmd)}", file=sys.stderr)
        return [], None
    if p.returncode != 0:
        print(f"  ! exit {p.returncode}: {' '.join(cmd)}\n{streams.get('err', '').strip()[-2000:]}",
              file=sys.stderr)
        return [], None
    out = []
    for line in streams.get("out", "").splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out, usage.ru_maxrss / 1024.0  # Linux reports KiB


def torch_env(threads: int, variant: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if variant in ("omp", "omp-passive") and Path(OPENBLAS_OMP).is_dir():
        env["LD_LIBRARY_PATH"] = OPENBLAS_OMP + (":" + env["LD_LIBRARY_PATH"]
                                                 if env.get("LD_LIBRARY_PATH") else "")
    return env


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=None,
                    help="CMake build folder holding bench/bench_* (default: build-bench, "
                         "else build)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds timed per case")
    ap.add_argument("--suites", nargs="+", default=DEFAULT_SUITES, choices=list(SUITES))
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help="matmul sizes")
    ap.add_argument("--data", default=FASHION_MNIST,
                    help=f"Fashion-MNIST folder for mlp_epoch, cnn_epoch, loader "
                         f"(default {FASHION_MNIST})")
    ap.add_argument("--torch-variants", nargs="+", default=None,
                    choices=["stock", "omp", "omp-passive"],
                    help="PyTorch setups to try (default: omp at 1 thread, omp and "
                         "omp-passive above)")
    ap.add_argument("--ours-wait-policy", choices=["passive", "active"], default=None,
                    help="OMP_WAIT_POLICY for our programs (default: leave as is)")
    ap.add_argument("--json", default=None, help="also append the JSON lines to this file")
    ap.add_argument("--raw", default=None, help="append every raw result line to this file")
    args = ap.parse_args()
    if any(t < 1 for t in args.threads) or args.rounds < 1 or args.min_time < 0:
        ap.error("--threads and --rounds need values >= 1, --min-time >= 0")

    build = Path(args.build_dir) if args.build_dir else next(
        (ROOT / d for d in ("build-bench", "build") if (ROOT / d / "bench").is_dir()),
        ROOT / "build")
    bin_dir = build / "bench"
    raw_file = open(args.raw, "a") if args.raw else None

    def fill(argv: List[str]) -> List[str]:
        return [args.data if a == DATA else a for a in argv]

    # samples[(suite, threads, side, case)] -> list of (ms, Row, variant, peak RSS MiB)
    samples: Dict[tuple, list] = {}
    skipped = []
    for rnd in range(args.rounds):
        for threads in args.threads:
            for sname in args.suites:
                suite = SUITES[sname]
                progs = [(bin_dir / p[0], fill(p[1:])) for p in suite.ours]
                if not all(exe.exists() for exe, _ in progs):
                    if rnd == 0 and threads == args.threads[0]:
                        skipped.append(f"{sname} (not built: "
                                       f"{', '.join(str(e.name) for e, _ in progs)})")
                    continue
                common = ["--threads", str(threads), "--min-time", str(args.min_time)]
                sizes = (["--sizes", *map(str, args.sizes)]
                         if args.sizes and suite.takes_sizes else [])
                print(f"[round {rnd + 1}/{args.rounds}, {threads} thread(s)] {sname}",
                      file=sys.stderr, flush=True)
                env = dict(os.environ)
                if args.ours_wait_policy:
                    env["OMP_WAIT_POLICY"] = args.ours_wait_policy.upper()
                for exe, extra in progs:
                    lines, rss = run_json([str(exe), *common, *sizes, *extra], env, 1800)
                    for line in lines:
                        if raw_file:
                            raw_file.write(json.dumps({**line, "round": rnd,
                                                       "peak_rss_mib": rss}) + "\n")
                        for r in rows_from_ours(line):
                            side = "sgemm" if r.case.startswith("sgemm") else "ours"
                            case = (r.case.replace("sgemm", "matmul", 1) if side == "sgemm"
                                    else r.case)
                            samples.setdefault((sname, threads, side, case), []).append(
                                (r.ms, r, "-", rss))
                variants = args.torch_variants or (["omp"] if threads == 1
                                                   else ["omp", "omp-passive"])
                for variant in variants:
                    for script, *extra in suite.torch:
                        if not Path(script).exists():
                            continue
                        cmd = [TORCH_PY, script, *(common if suite.torch_min_time
                                                    else common[:2]), *sizes, *fill(extra)]
                        if variant == "omp-passive":
                            cmd += ["--omp-wait-policy", "passive"]
                        lines, rss = run_json(cmd, torch_env(threads, variant), 1800)
                        for line in lines:
                            if raw_file:
                                raw_file.write(json.dumps({**line, "round": rnd,
                                                           "variant": variant,
                                                           "peak_rss_mib": rss}) + "\n")
                            for r in suite.parse_torch(line):
                                samples.setdefault((sname, threads, "torch:" + variant, r.case),
                                                   []).append((r.ms, r, variant, rss))

    # PyTorch's memory floor: the interpreter plus `import torch` (and numpy, which the
    # data scripts load), nothing run.
    torch_floor = None
    if any(SUITES[s].workload and SUITES[s].torch for s in args.suites):
        _, torch_floor = run_json([TORCH_PY, "-c", "import numpy, torch"],
                                  torch_env(1, "omp"), 300)

    # ---- combine: per side the median over rounds; PyTorch: the best variant per case
    def med(key):
        v = samples.get(key)
        if not v:
            return None, None, None, None
        rss = [x[3] for x in v if x[3] is not None]
        extra = {k: statistics.median(x[1].extra[k] for x in v if k in x[1].extra)
                 for k in v[0][1].extra}
        return (statistics.median(x[0] for x in v), v[0][1],
                statistics.median(rss) if rss else None, extra)

    results = []
    for sname in args.suites:
        for threads in args.threads:
            cases = [k[3] for k in samples if k[0] == sname and k[1] == threads and k[2] == "ours"]
            peak_ms, peak_row, _, _ = next(
                (med(k) for k in samples if k[0] == sname and k[1] == threads
                 and k[2] == "ours" and k[3].startswith("peak:")), (None, None, None, None))
            for case in dict.fromkeys(cases):
                ours_ms, row, ours_rss, ours_extra = med((sname, threads, "ours", case))
                best = (None, None, None, None)
                for k in samples:
                    if (k[0] == sname and k[1] == threads and k[2].startswith("torch:")
                            and k[3] == case):
                        ms, _, rss, extra = med(k)
                        if best[0] is None or ms < best[0]:
                            best = (ms, k[2][6:], rss, extra)
                torch_ms, variant, torch_rss, torch_extra = best
                sgemm_ms, _, _, _ = med((sname, threads, "sgemm", case))
                rec = {"suite": sname, "case": case, "threads": threads, "ours_ms": ours_ms,
                       "torch_ms": torch_ms, "torch_setup": variant,
                       "ratio": torch_ms / ours_ms if torch_ms else None,
                       "target": row.target, "rounds": args.rounds}
                if row.work and row.unit:
                    scale = UNIT_SCALE.get(row.unit, 1.0)
                    rec["unit"] = row.unit
                    rec["ours_rate"] = row.work / (ours_ms * 1e-3) / scale
                    if torch_ms:
                        rec["torch_rate"] = row.work / (torch_ms * 1e-3) / scale
                if sgemm_ms:
                    rec["sgemm_ms"] = sgemm_ms
                    rec["of_sgemm"] = sgemm_ms / ours_ms
                if peak_row and not case.startswith("peak:") and rec.get("unit") == "GFLOP/s":
                    rec["of_peak"] = row.work / ours_ms / (peak_row.work / peak_ms)
                if SUITES[sname].workload:
                    rec["ours_rss_mib"] = ours_rss
                    rec["torch_rss_mib"] = torch_rss
                for k, v in ours_extra.items():
                    rec["ours_" + k] = v
                for k, v in (torch_extra or {}).items():
                    rec["torch_" + k] = v
                ok = rec["ratio"] is not None and rec["ratio"] >= row.target
                if sgemm_ms:
                    ok = ok and rec["of_sgemm"] >= 0.95
                rec["verdict"] = "ok" if ok else ("MISS" if rec["ratio"] is not None else "n/a")
                results.append(rec)

    # ---- loader throughput against what the MLP training step consumes
    loader_lines = []
    for threads in args.threads:
        lrec = next((r for r in results if r["suite"] == "loader" and r["threads"] == threads
                     and r["case"].endswith("prefetch 2")), None)
        if not lrec:
            continue
        cons = next(((r["ours_rate"] if r["suite"] == "mlp_epoch" else 128 / (r["ours_ms"] * 1e-3),
                      r["case"]) for s in ("mlp_train", "mlp_epoch") for r in results
                     if r["suite"] == s and r["threads"] == threads), None)
        line = {"bench": "loader_vs_consumption", "threads": threads,
                "loader_samples_per_s": round(lrec["ours_rate"], 1)}
        if cons:
            line.update({"consumption_samples_per_s": round(cons[0], 1), "from": cons[1],
                         "times": round(lrec["ours_rate"] / cons[0], 2), "target": 10.0,
                         "verdict": "ok" if lrec["ours_rate"] >= 10 * cons[0] else "MISS"})
        loader_lines.append(line)

    # ---- print
    def fmt_ms(ms):
        if ms is None:
            return "-"
        if ms >= 1000:
            return f"{ms / 1e3:.3f} s"
        return f"{ms * 1e3:.3f} us" if ms < 0.1 else f"{ms:.3f} ms"

    def fmt_rate(r, key):
        if key not in r:
            return ""
        v = r[key]
        return (f"{v:,.0f}" if v >= 1000 else f"{v:.1f}") + f" {r['unit']}"

    def fmt_vs_sgemm(r):
        if "of_sgemm" in r:
            return f"{round(100 * r['of_sgemm'])}%"
        if "of_peak" in r:
            return f"{round(100 * r['of_peak'])}% of peak"
        return ""

    print("| case | threads | sinapsis | PyTorch | ratio (PyTorch/ours) | target | "
          "ours rate | PyTorch rate | ours vs sgemm | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if r["ratio"] is not None:
            print(f"| {r['case']} | {r['threads']} | {fmt_ms(r['ours_ms'])} | "
                  f"{fmt_ms(r['torch_ms'])} ({r['torch_setup']}) | {r['ratio']:.2f}x | "
                  f">= {r['target']:.1f}x | {fmt_rate(r, 'ours_rate')} | "
                  f"{fmt_rate(r, 'torch_rate')} | {fmt_vs_sgemm(r)} | {r['verdict']} |")
        else:
            print(f"| {r['case']} | {r['threads']} | {fmt_ms(r['ours_ms'])} | - | - | | "
                  f"{fmt_rate(r, 'ours_rate')} | | {fmt_vs_sgemm(r)} | n/a |")

    mem = [r for r in results if "ours_rss_mib" in r]
    if mem:
        def fmt_mib(v):
            return f"{v:.0f}" if v is not None else "-"

        def fmt_acc(r, key):
            return f"{r[key]:.4f}" if key in r else ""
        print("\nPeak resident memory per program run (MiB; PyTorch's includes Python and the "
              "torch import)" + (f"; PyTorch floor, python3 + import numpy, torch: "
                                  f"{torch_floor:.0f} MiB" if torch_floor else "") + "\n")
        print("| case | threads | sinapsis peak RSS | PyTorch peak RSS | sinapsis test acc | "
              "PyTorch test acc |")
        print("|---|---|---|---|---|---|")
        for r in mem:
            print(f"| {r['case']} | {r['threads']} | {fmt_mib(r['ours_rss_mib'])} | "
                  f"{fmt_mib(r['torch_rss_mib'])} | {fmt_acc(r, 'ours_test_acc')} | "
                  f"{fmt_acc(r, 'torch_test_acc')} |")
    for r in results:  # the autoencoder's quality run (suite ae_quality)
        if "ours_test_bce" in r and "torch_test_bce" in r:
            ok = r["ours_test_bce"] <= r["torch_test_bce"] + 0.002
            print(f"\n{r['case']} ({r['threads']} thread(s)): test BCE {r['ours_test_bce']:.5f} "
                  f"vs PyTorch {r['torch_test_bce']:.5f} (target <= PyTorch + 0.002: "
                  f"{'ok' if ok else 'MISS'}), MSE {r['ours_test_mse']:.5f} vs "
                  f"{r['torch_test_mse']:.5f}")
    for line in loader_lines:
        if "times" in line:
            print(f"\nloader (prefetch 2, {line['threads']} thread(s)): "
                  f"{line['loader_samples_per_s']:,.0f} samples/s = {line['times']:.1f} x MLP "
                  f"training consumption ({line['consumption_samples_per_s']:,.0f} samples/s, "
                  f"{line['from']}); target >= 10x: {line['verdict']}")
        else:
            print(f"\nloader (prefetch 2, {line['threads']} thread(s)): "
                  f"{line['loader_samples_per_s']:,.0f} samples/s (run the mlp_train suite too "
                  f"to compare with the training step's consumption)")
    for s in skipped:
        print(f"\nskipped: {s}")
    print()
    json_file = open(args.json, "a") if args.json else None
    records = [{"bench": "compare", **r} for r in results] + loader_lines
    if torch_floor:
        records.append({"bench": "torch_floor", "peak_rss_mib": torch_floor})
    for r in records:
        line = json.dumps({k: (round(v, 6) if isinstance(v, float) else v) for k, v in r.items()})
        print(line)
        if json_file:
            json_file.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
