#!/usr/bin/env python3
"""Ranking and review outputs on the clue scenes (make_text_scenes --clues 1), from one run of the pipeline.

Ranking: each scene's leads are its truth phone numbers, EAN-13 codes, web addresses and regional brands.
For every image: is the top clue a lead (lead@1), and the reciprocal rank of the first lead (MRR). Baselines
re-order the same clues of the same reports: by confidence alone (how sure the reading is, not how much it
narrows), and in the order the stages produced them (what a report without the rank stage lists).

Cost: the review node's time per image (crops and background signature, from timings_ms.review) against the
whole pipeline's per-image time; `cluetrace report OUT` (every case output made again from the reports);
`cluetrace search` latency; the size of each output.

  build/bench/make_text_scenes --clues 1 --out DIR --count 140 --seed 2026
  python3 bench/review/review_bench.py --cli build/cluetrace DIR
"""
import argparse
import pathlib
import statistics
import subprocess
import tempfile
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "clues"))
from scene_run import run_scenes  # noqa: E402


def lead_values(t):
    leads = set(t.get("phones", [])) | set(t.get("barcodes", [])) | {u.lower() for u in t.get("urls", [])}
    leads |= set(t.get("brands", []))
    return leads


def is_lead(clue, leads):
    value = clue["value"].lower() if clue["kind"] == "url" else clue["value"]
    return clue["kind"] in ("phone", "barcode", "url", "logo") and value in leads


def score_order(ordered, leads):
    first = next((i for i, c in enumerate(ordered) if is_lead(c, leads)), None)
    return (1.0 if first == 0 else 0.0), (1.0 / (first + 1) if first is not None else 0.0)


def timed(cmd, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="build/cluetrace")
    ap.add_argument("--config", default="config/default.yaml")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("scenes")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "out"
        truth, reports, run_seconds = run_scenes(args.cli, args.config, args.scenes, out)

        methods = {"cluetrace rank": [], "baseline: confidence": [], "baseline: stage order": []}
        merged = []
        for t in truth:
            r = reports[t["image"]]
            leads = lead_values(t)
            if not leads:
                continue
            clues = r["clues"]
            methods["cluetrace rank"].append(score_order(clues, leads))
            methods["baseline: confidence"].append(score_order(sorted(clues, key=lambda c: -c["confidence"]), leads))
            by_stage = sorted(clues, key=lambda c: r["stages"].index(c["stage"]) if c.get("stage") in r["stages"] else 99)
            methods["baseline: stage order"].append(score_order(by_stage, leads))
            merged.append(sum(len(c.get("details", {}).get("merged", [])) for c in clues))

        print(f"images: {len(reports)}, with leads: {len(methods['cluetrace rank'])}; pipeline {run_seconds:.1f} s")
        print(f"{'ordering':<24} {'lead@1':>7} {'MRR':>6}")
        for name, rows in methods.items():
            print(f"{name:<24} {statistics.mean(a for a, _ in rows):7.3f} {statistics.mean(b for _, b in rows):6.3f}")
        print(f"readings merged per image: mean {statistics.mean(merged):.2f}, max {max(merged)}")

        review = [r["timings_ms"].get("review", 0) for r in reports.values()]
        total = [r["timings_ms"].get("total", 0) for r in reports.values()]
        print(f"review node: median {statistics.median(review):.1f} ms per image; whole image (total): median "
              f"{statistics.median(total):.0f} ms; ratio {statistics.median(review) / statistics.median(total):.3f}")
        report_s = timed([args.cli, "report", str(out)], args.repeat)
        print(f"cluetrace report (all case outputs again, {len(reports)} reports): median {report_s:.2f} s of {args.repeat}")
        for query in (["wiedemann"], ["", "--kind", "phone", "--country", "DE"], ["030 1234"]):
            s = timed([args.cli, "search", str(out)] + query, args.repeat)
            print(f"cluetrace search {' '.join(repr(q) for q in query)}: median {s * 1000:.0f} ms")
        for name in ("reports.jsonl", "clues.sqlite", "summary.csv", "vics.json", "links.json", "index.html"):
            print(f"  {name:<14} {(out / name).stat().st_size / 1024:8.0f} KiB")
        crops = sum(f.stat().st_size for f in (out / "crops").rglob("*.jpg"))
        scenes_bytes = sum(f.stat().st_size for f in (out / "scenes").rglob("*.scene"))
        pages = sum(f.stat().st_size for f in (out / "pages").glob("*.html"))
        print(f"  crops {crops / 1024:.0f} KiB, scene signatures {scenes_bytes / 1024:.0f} KiB, pages {pages / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
