#!/usr/bin/python3
"""Runs the sinapsis benchmarks and the PyTorch reference on the same shapes, in one run, and
prints our time, PyTorch's time and the ratio at each thread count: a Markdown table, then
one JSON line per row. It only drives programs and compares numbers; the workloads live in
bench/*.cpp, bench/torch_ops.py and ../shared/reference/*.py.

    /usr/bin/python3 bench/run.py                      # everything, 1 and 2 threads, 1 round
    /usr/bin/python3 bench/run.py --rounds 3 --suites gemm ops --min-time 1

ratio = PyTorch time / our time (above 1.0 means sinapsis is faster). With several rounds
each side's time is the median of the per-round medians; rounds alternate ours and PyTorch, so
machine noise hits both. PyTorch runs on Debian's OpenMP build of OpenBLAS (the best setup in
../shared/reference/BASELINES.md); with more than one thread it also runs with
OMP_WAIT_POLICY=PASSIVE, and the faster of the two setups is compared, case by case.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
REFERENCE = (ROOT / ".." / "shared" / "reference").resolve()
TORCH_PY = "/usr/bin/python3"  # Debian's torch is installed for the system Python only
OPENBLAS_OMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"


# ------------------------------------------------------------------------------ records
@dataclass
class Row:
    """One measured case on one side: median ms per call plus how to turn it into a rate."""
    case: str
    ms: float
    work: float = 0.0  # FLOP (unit "GFLOP/s") or bytes (unit "GB/s") per call; 0: none
    unit: str = ""
    target: float = 1.0  # required PyTorch/ours ratio
    extra: Dict[str, float] = field(default_factory=dict)


def size_label(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20}M"
    return str(n)


def rows_from_ours(line: dict) -> List[Row]:
    """Our bench programs' JSON lines -> rows (cblas_sgemm lines become a 'sgemm' case)."""
    b = line.get("bench")
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
    if "case" in line:  # generic: training benches etc.
        return [Row(line["case"], ms, line.get("work", 0.0), line.get("unit", ""))]
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
    """Training/inference reference scripts print one line with a median per step."""
    def parse(line: dict) -> List[Row]:
        if "ms_per_step_median" in line:
            return [Row(case, line["ms_per_step_median"])]
        if "us_median" in line:
            return [Row(case, line["us_median"] / 1e3)]
        return []
    return parse


@dataclass
class Suite:
    ours: List[List[str]]           # our programs (name under <build>/bench, then extra args)
    torch: List[List[str]]          # PyTorch scripts (path, then extra args)
    parse_torch: Callable[[dict], List[Row]]
    takes_sizes: bool = False       # whether --sizes is passed through (matmul sizes)


SUITES: Dict[str, Suite] = {
    "gemm": Suite(ours=[["bench_gemm"]], torch=[[str(REFERENCE / "matmul.py")]],
                  parse_torch=rows_from_matmul_py, takes_sizes=True),
    "ops": Suite(ours=[["bench_elementwise"], ["bench_overhead"]],
                 torch=[[str(BENCH_DIR / "torch_ops.py")]],
                 parse_torch=lambda line: rows_from_ours({**line, "impl": "torch"})),
    # Training benches: each runs when its bench_<name> program has been built.
    "mlp_train": Suite(ours=[["bench_mlp_train"]], torch=[[str(REFERENCE / "mlp_train.py")]],
                       parse_torch=rows_from_train_py("mlp train step b128")),
    "cnn_train": Suite(ours=[["bench_cnn_train"]], torch=[[str(REFERENCE / "cnn_train.py")]],
                       parse_torch=rows_from_train_py("cnn train step b64")),
    "gpt_train": Suite(ours=[["bench_gpt_train"]], torch=[[str(REFERENCE / "gpt_train.py")]],
                       parse_torch=rows_from_train_py("gpt train step 16x64")),
}
DEFAULT_SUITES = ["gemm", "ops", "mlp_train", "cnn_train", "gpt_train"]


# ------------------------------------------------------------------------------ running
def run_json(cmd: List[str], env: Dict[str, str], timeout: float) -> List[dict]:
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"  ! timed out after {timeout:.0f} s: {' '.join(cmd)}", file=sys.stderr)
        return []
    if p.returncode != 0:
        print(f"  ! exit {p.returncode}: {' '.join(cmd)}\n{p.stderr.strip()[-2000:]}",
              file=sys.stderr)
        return []
    out = []
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


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
    ap.add_argument("--torch-variants", nargs="+", default=None,
                    choices=["stock", "omp", "omp-passive"],
                    help="PyTorch setups to try (default: omp at 1 thread, omp and "
                         "omp-passive above)")
    ap.add_argument("--ours-wait-policy", choices=["passive", "active"], default=None,
                    help="OMP_WAIT_POLICY for our programs (default: leave as is)")
    ap.add_argument("--json", default=None, help="also append the JSON lines to this file")
    ap.add_argument("--raw", default=None, help="append every raw result line to this file")
    args = ap.parse_args()

    build = Path(args.build_dir) if args.build_dir else next(
        (ROOT / d for d in ("build-bench", "build") if (ROOT / d / "bench").is_dir()),
        ROOT / "build")
    bin_dir = build / "bench"
    raw_file = open(args.raw, "a") if args.raw else None

    # samples[(suite, threads, side, case)] -> list of (ms, Row, variant)
    samples: Dict[tuple, list] = {}
    skipped = []
    for rnd in range(args.rounds):
        for threads in args.threads:
            for sname in args.suites:
                suite = SUITES[sname]
                progs = [(bin_dir / p[0], p[1:]) for p in suite.ours]
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
                    for line in run_json([str(exe), *common, *sizes, *extra], env, 1800):
                        if raw_file:
                            raw_file.write(json.dumps({**line, "round": rnd}) + "\n")
                        for r in rows_from_ours(line):
                            side = "sgemm" if r.case.startswith("sgemm") else "ours"
                            case = r.case.replace("sgemm", "matmul", 1)
                            samples.setdefault((sname, threads, side, case), []).append(
                                (r.ms, r, "-"))
                variants = args.torch_variants or (["omp"] if threads == 1
                                                   else ["omp", "omp-passive"])
                for variant in variants:
                    for script, *extra in suite.torch:
                        if not Path(script).exists():
                            continue
                        cmd = [TORCH_PY, script, *common, *sizes, *extra]
                        if variant == "omp-passive":
                            cmd += ["--omp-wait-policy", "passive"]
                        for line in run_json(cmd, torch_env(threads, variant), 1800):
                            if raw_file:
                                raw_file.write(json.dumps({**line, "round": rnd,
                                                           "variant": variant}) + "\n")
                            for r in suite.parse_torch(line):
                                samples.setdefault((sname, threads, "torch:" + variant, r.case),
                                                   []).append((r.ms, r, variant))

    # ---- combine: per side the median over rounds; PyTorch: the best variant per case
    def med(key):
        v = samples.get(key)
        return (statistics.median(x[0] for x in v), v[0][1]) if v else (None, None)

    results = []
    for sname in args.suites:
        for threads in args.threads:
            cases = [k[3] for k in samples if k[0] == sname and k[1] == threads and k[2] == "ours"]
            for case in dict.fromkeys(cases):
                ours_ms, row = med((sname, threads, "ours", case))
                best = (None, None)
                for k in samples:
                    if k[0] == sname and k[1] == threads and k[2].startswith("torch:") and k[3] == case:
                        ms, _ = med(k)
                        if best[0] is None or ms < best[0]:
                            best = (ms, k[2][6:])
                torch_ms, variant = best
                sgemm_ms, _ = med((sname, threads, "sgemm", case))
                rec = {"case": case, "threads": threads, "ours_ms": ours_ms,
                       "torch_ms": torch_ms, "torch_setup": variant,
                       "ratio": torch_ms / ours_ms if torch_ms else None,
                       "target": row.target, "rounds": args.rounds}
                if row.work and row.unit:
                    scale = 1e9
                    rec["unit"] = row.unit
                    rec["ours_rate"] = row.work / (ours_ms * 1e-3) / scale
                    if torch_ms:
                        rec["torch_rate"] = row.work / (torch_ms * 1e-3) / scale
                if sgemm_ms:
                    rec["sgemm_ms"] = sgemm_ms
                    rec["of_sgemm"] = sgemm_ms / ours_ms
                ok = rec["ratio"] is not None and rec["ratio"] >= row.target
                if sgemm_ms:
                    ok = ok and rec["of_sgemm"] >= 0.95
                rec["verdict"] = "ok" if ok else ("MISS" if rec["ratio"] is not None else "n/a")
                results.append(rec)

    # ---- print
    def fmt_ms(ms):
        if ms is None:
            return "-"
        return f"{ms * 1e3:.3f} us" if ms < 0.1 else f"{ms:.3f} ms"

    def fmt_rate(r, key):
        return f"{r[key]:.1f}" if key in r else ""

    print("| case | threads | sinapsis | PyTorch | ratio (PyTorch/ours) | target | "
          "ours rate | PyTorch rate | ours / direct sgemm | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        unit = f" {r['unit']}" if "unit" in r else ""
        print(f"| {r['case']} | {r['threads']} | {fmt_ms(r['ours_ms'])} | "
              f"{fmt_ms(r['torch_ms'])}{' (' + r['torch_setup'] + ')' if r['torch_setup'] else ''} | "
              f"{r['ratio']:.2f}x | >= {r['target']:.1f}x | "
              f"{fmt_rate(r, 'ours_rate')}{unit if 'ours_rate' in r else ''} | "
              f"{fmt_rate(r, 'torch_rate')}{unit if 'torch_rate' in r else ''} | "
              f"{str(round(100 * r['of_sgemm'])) + '%' if 'of_sgemm' in r else ''} | "
              f"{r['verdict']} |" if r["ratio"] is not None else
              f"| {r['case']} | {r['threads']} | {fmt_ms(r['ours_ms'])} | - | - | | | | | n/a |")
    for s in skipped:
        print(f"\nskipped: {s}")
    print()
    json_file = open(args.json, "a") if args.json else None
    for r in results:
        line = json.dumps({"bench": "compare", **{k: (round(v, 6) if isinstance(v, float) else v)
                                                  for k, v in r.items()}})
        print(line)
        if json_file:
            json_file.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
