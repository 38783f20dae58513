#!/usr/bin/env python3
"""N shards plus `cluetrace merge` against one run of the same folder: same images, clues and links?

    python3 bench/scale/shard_check.py --cli build/cluetrace --shards 3 --work /tmp/shard-check FOLDER

Runs `cluetrace run` once over FOLDER, then `cluetrace run --shard K/N` for each K into its own folder, then
`cluetrace merge`, and compares: the image paths, every image's status and clues (kind, value, box), the
links (recurring clues, identical files, same-scene groups) and the order of reports.jsonl. Prints the
wall time of each step and every difference; exits 1 on any.
"""
import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path


def run(cmd):
    start = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed with {p.returncode}:\n{p.stderr.decode('utf-8', 'replace')[-3000:]}")
    return time.monotonic() - start


def reports(case):
    with open(case / "reports.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def clues(case):
    out = {}
    for r in reports(case):
        out[r["image"]["path"]] = (r["status"], [(c["kind"], c["value"], json.dumps(c.get("box"))) for c in r["clues"]])
    return out


def links(case):
    data = json.loads((case / "links.json").read_text(encoding="utf-8"))
    out = set()
    for r in data.get("recurring", []):
        out.add(("clue", r["kind"], r["key"], tuple(sorted(i["path"] for i in r["images"]))))
    for g in data.get("identical", []):
        out.add(("identical", tuple(sorted(g["paths"]))))
    for g in data.get("scenes", []):
        out.add(("scene", tuple(sorted(i["path"] for i in g["images"]))))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--config", default="config/default.yaml")
    ap.add_argument("--shards", type=int, default=3)
    ap.add_argument("--work", default="/tmp/cluetrace-shard-check")
    ap.add_argument("folder")
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    base = [args.cli, "run", "--config", args.config, "--progress", "never"]
    single_s = run(base + ["--out", str(work / "single"), args.folder])
    shard_s = []
    for k in range(args.shards):
        shard_s.append(run(base + ["--shard", f"{k}/{args.shards}", "--out", str(work / f"shard-{k}"), args.folder]))
    merge_s = run([args.cli, "merge", "--out", str(work / "merged")] + [str(work / f"shard-{k}") for k in range(args.shards)])

    single, merged = work / "single", work / "merged"
    problems = []
    a, b = clues(single), clues(merged)
    if set(a) != set(b):
        problems.append(f"images only in the single run: {sorted(set(a) - set(b))[:5]}; only merged: {sorted(set(b) - set(a))[:5]}")
    differing = [p for p in a if p in b and a[p] != b[p]]
    for p in differing[:10]:
        problems.append(f"{p}: single {a[p]} != merged {b[p]}")
    la, lb = links(single), links(merged)
    if la != lb:
        problems.append(f"links only in the single run: {sorted(la - lb)[:5]}; only merged: {sorted(lb - la)[:5]}")
    order_a = [r["image"]["path"] for r in reports(single)]
    order_b = [r["image"]["path"] for r in reports(merged)]
    if order_a != order_b:
        problems.append("reports.jsonl is in another order")
    per_shard = [len(reports(work / f"shard-{k}")) for k in range(args.shards)]
    print(f"{len(a)} images; single run {single_s:.1f} s; shards {', '.join(f'{s:.1f}' for s in shard_s)} s "
          f"({', '.join(map(str, per_shard))} images); merge {merge_s:.1f} s")
    print(f"clues compared: {len(a)} images, {sum(len(v[1]) for v in a.values())} clues, {len(differing)} differ; "
          f"links: {len(la)} in the single run, {len(lb)} merged, {len(la ^ lb)} differ")
    for p in problems:
        print("DIFFERENCE:", p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
