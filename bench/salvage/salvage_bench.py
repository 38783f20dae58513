#!/usr/bin/env python3
"""Salvage benchmark: what cluetrace still reads in truncated photos, against the intact ones.

  python3 bench/salvage/salvage_bench.py --cli build/cluetrace [--cuts 0.25,0.5,0.75] DIR

DIR holds truth.jsonl ({"image", "texts": [{"text", "box"}]}) and the images (../shared/data/icdar2003-scene).
Each JPEG or PNG is cut to each fraction of its bytes (what carving from unallocated space leaves), and one
`cluetrace run` covers the intact files and every cut. Prints, per cut: how many files were analysed
(partial) or failed, the share of rows salvaged, and the word recall on the truth words that lie wholly in
the salvaged rows, beside the intact files' recall on the same words (case-folded tokens of 3+ characters).
Python standard library only.
"""
import argparse
import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import unicodedata


def tokens(text):
    text = unicodedata.normalize("NFC", text).casefold()
    return [t for t in re.split(r"[^\w]+|_", text) if len(t) >= 3]


def read_truth(folder):
    truth = {}
    with open(os.path.join(folder, "truth.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            truth[r["image"]] = r["texts"]
    return truth


def found_tokens(report):
    out = collections.Counter()
    for c in report.get("clues", []):
        if c.get("kind") == "text":
            out.update(tokens(c.get("value", "")))
    return out


def recall(truth_tokens, found):
    want = collections.Counter(truth_tokens)
    hit = sum(min(n, found.get(t, 0)) for t, n in want.items())
    return hit, sum(want.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--config", default="config/default.yaml")
    ap.add_argument("--cuts", default="0.25,0.5,0.75")
    ap.add_argument("folder")
    args = ap.parse_args()
    cuts = [float(c) for c in args.cuts.split(",")]
    images_dir = os.path.join(args.folder, "images") if os.path.isdir(os.path.join(args.folder, "images")) else args.folder
    truth = read_truth(args.folder)
    work = tempfile.mkdtemp(prefix="salvage-bench-")
    try:
        inputs = os.path.join(work, "in")
        os.makedirs(inputs)
        names = [n for n in sorted(truth) if os.path.isfile(os.path.join(images_dir, n))]
        for name in names:
            data = open(os.path.join(images_dir, name), "rb").read()
            shutil.copyfile(os.path.join(images_dir, name), os.path.join(inputs, f"intact__{name}"))
            for cut in cuts:
                with open(os.path.join(inputs, f"cut{int(cut * 100):02d}__{name}"), "wb") as f:
                    f.write(data[: int(len(data) * cut)])
        out = os.path.join(work, "out")
        cmd = [args.cli, "run", "--config", args.config, "--progress", "never", "--out", out, inputs]
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if rc.returncode != 0:
            print(rc.stderr[-3000:], file=sys.stderr)
            return 1
        reports = {}
        with open(os.path.join(out, "reports.jsonl"), encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                reports[os.path.basename(r["image"]["path"])] = r
        print(f"salvage bench: {len(names)} photos from {args.folder}, cut to {', '.join(f'{c:.0%}' for c in cuts)} of their bytes")
        print(f"command: {' '.join(cmd[:-3])} --out OUT DIR")
        print()
        print("| cut | files | partial (salvaged) | failed | rows kept (median share) | word recall in kept rows | intact files, same words |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for cut in cuts:
            partial = failed = 0
            shares = []
            hit_cut = hit_intact = total = 0
            for name in names:
                r = reports.get(f"cut{int(cut * 100):02d}__{name}")
                intact = reports.get(f"intact__{name}")
                if r is None or intact is None:
                    continue
                if r["status"] == "failed":
                    failed += 1
                    kept_rows = 0
                else:
                    partial += 1
                    salvaged = r["image"].get("salvaged")
                    declared = salvaged["declared_height"] if salvaged else r["image"].get("height", 0)
                    kept_rows = salvaged["valid_rows"] if salvaged else declared
                    shares.append(kept_rows / declared if declared else 0)
                words = [t for w in truth[name] if w["box"][1] + w["box"][3] <= kept_rows for t in tokens(w["text"])]
                h, n = recall(words, found_tokens(r))
                hi, _ = recall(words, found_tokens(intact))
                hit_cut += h
                hit_intact += hi
                total += n
            share = statistics.median(shares) if shares else 0
            print(f"| {cut:.0%} | {len(names)} | {partial} | {failed} | {share:.2f} | "
                  f"{hit_cut / total if total else 0:.3f} ({hit_cut}/{total}) | {hit_intact / total if total else 0:.3f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
