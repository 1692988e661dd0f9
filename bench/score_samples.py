#!/usr/bin/python3
"""Scores generated images with a classifier run, the quality measure of issue 23's DCGAN row
(../shared/reference/BASELINES.md): each IDX image file (unsigned bytes, as `sinapsis sample`
and generative.py --save-samples write them) goes through `sinapsis predict CLASSIFIER`, and
per file it prints the mean top-class probability (how sure the classifier is: sharper,
class-like images score higher) and the number of classes that get at least 3% of the images
(how many kinds of clothing the generator covers), plus the share of every class. One JSON line
per file, then a Markdown table.

    sinapsis train --data fashion-mnist --preset lenet --epochs 2 --out runs/lenet-score
    sinapsis sample runs/fashion-mnist-dcgan --n 1000 --seed 0 --out /tmp/ours-idx3-ubyte
    /usr/bin/python3 ../shared/reference/generative.py --model dcgan --epochs 3 \\
        --data /usr/share/datasets/fashion-mnist --save-samples /tmp/ref-idx3-ubyte
    python3 bench/score_samples.py --classifier runs/lenet-score /tmp/ours-idx3-ubyte \\
        /tmp/ref-idx3-ubyte /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

The real test images (the last file) give the ceiling: BASELINES.md measured 0.885 for them and
0.666 for the reference's 3-epoch samples with a 2-epoch lenet run.
"""
import argparse
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def find_cli(given):
    if given:
        return given
    for d in ("build", "build-bench"):
        p = ROOT / d / "tools" / "cli" / "sinapsis"
        if p.exists():
            return str(p)
    return "sinapsis"


def score(cli, classifier, path, min_share):
    out = subprocess.run([cli, "predict", classifier, "--input", path], check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    if not rows:
        raise SystemExit(f"{path}: the classifier returned no predictions")
    n = len(rows)
    counts = {}
    for r in rows:
        counts[r["label"]] = counts.get(r["label"], 0) + 1
    shares = {k: v / n for k, v in sorted(counts.items(), key=lambda kv: -kv[1])}
    return {"file": path, "images": n,
            "mean_top_probability": round(sum(float(r["probability"]) for r in rows) / n, 4),
            "classes_at_least_3pct": sum(1 for s in shares.values() if s >= min_share),
            "class_shares": {k: round(v, 4) for k, v in shares.items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="IDX image files (unsigned bytes)")
    ap.add_argument("--classifier", required=True, help="a classifier run folder (e.g. lenet)")
    ap.add_argument("--cli", default=None, help="the sinapsis executable (default: build/)")
    ap.add_argument("--min-share", type=float, default=0.03)
    args = ap.parse_args()
    cli = find_cli(args.cli)
    results = []
    for f in args.files:
        r = score(cli, args.classifier, f, args.min_share)
        print(json.dumps(r), flush=True)
        results.append(r)
    print("\n| images | n | mean top-class probability | classes with >= "
          f"{args.min_share:.0%} |\n|---|---|---|---|")
    for r in results:
        print(f"| {r['file']} | {r['images']} | {r['mean_top_probability']:.3f} | "
              f"{r['classes_at_least_3pct']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
