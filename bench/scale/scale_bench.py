#!/usr/bin/env python3
"""Time `cluetrace report` and `cluetrace merge` on generated cases of N reports, with peak memory.

    python3 bench/scale/scale_bench.py --cli build/cluetrace --maker build/bench/make_scale_case \
        --reports 10000 100000 --signatures 100000 --merge-shards 4 --work /tmp/scale

For each N: make_scale_case writes N schema-valid reports (and up to --signatures scene signatures) into one
folder, `cluetrace report` makes every case output again from them (database, paginated HTML, CSV, VICS,
links with scene matching), and the largest HTML file is measured. With --merge-shards S the same N reports are
also written as S shard folders and `cluetrace merge` joins them (reports, run.json, every case output).
Wall time and peak resident memory come from GNU time (the largest of the process and its children).
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def timed(cmd):
    """Runs cmd under GNU time; returns (wall seconds, peak RSS MiB)."""
    start = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - start
    err = p.stderr.decode("utf-8", "replace").strip().splitlines()
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed with {p.returncode}:\n" + "\n".join(err[-20:]))
    return wall, int(err[-1]) / 1024


def html_sizes(folder):
    sizes = [f.stat().st_size for f in Path(folder).rglob("*.html")]
    return (max(sizes) if sizes else 0), sum(sizes), len(sizes)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--maker", required=True, help="build/bench/make_scale_case")
    ap.add_argument("--reports", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--signatures", type=int, default=100000, help="scene signatures at most per case")
    ap.add_argument("--merge-shards", type=int, default=0, help="also time merge of this many shards")
    ap.add_argument("--work", default="/tmp/cluetrace-scale")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    rows = []
    for n in args.reports:
        sigs = min(n, args.signatures)
        case = Path(args.work) / f"case-{n}"
        shutil.rmtree(case, ignore_errors=True)
        gen_wall, _ = timed([args.maker, "--out", str(case), "--reports", str(n), "--signatures", str(sigs)])
        report_mib = (case / "reports.jsonl").stat().st_size / 2**20
        wall, rss = timed([args.cli, "report", str(case)])
        largest, total, count = html_sizes(case)
        db_mib = (case / "clues.sqlite").stat().st_size / 2**20 if (case / "clues.sqlite").exists() else float("nan")
        row = {"n": n, "sigs": sigs, "report_s": wall, "report_mib": rss, "largest_html_kib": largest / 1024,
               "html_files": count, "html_mib": total / 2**20, "jsonl_mib": report_mib, "db_mib": db_mib}
        print(f"{n} reports ({sigs} signatures, made in {gen_wall:.0f} s): report {wall:.1f} s, peak {rss:.0f} MiB, "
              f"largest HTML {largest / 1024:.0f} KiB of {count} files", flush=True)
        if not args.keep:
            shutil.rmtree(case, ignore_errors=True)
        if args.merge_shards:
            shards = Path(args.work) / f"shards-{n}"
            merged = Path(args.work) / f"merged-{n}"
            shutil.rmtree(shards, ignore_errors=True)
            shutil.rmtree(merged, ignore_errors=True)
            timed([args.maker, "--out", str(shards), "--reports", str(n), "--signatures", str(sigs),
                   "--shards", str(args.merge_shards)])
            parts = sorted(str(p) for p in shards.iterdir() if p.is_dir())
            mwall, mrss = timed([args.cli, "merge", "--out", str(merged)] + parts)
            largest, _, _ = html_sizes(merged)
            row.update({"merge_s": mwall, "merge_mib": mrss, "merge_largest_html_kib": largest / 1024})
            print(f"  merge of {len(parts)} shards: {mwall:.1f} s, peak {mrss:.0f} MiB, largest HTML "
                  f"{largest / 1024:.0f} KiB", flush=True)
            if not args.keep:
                shutil.rmtree(shards, ignore_errors=True)
                shutil.rmtree(merged, ignore_errors=True)
        rows.append(row)

    print("\n| reports | signatures | `report` wall | peak RSS | largest HTML | HTML files | reports.jsonl | clues.sqlite |"
          + (" `merge` wall | merge peak RSS |" if args.merge_shards else ""))
    print("|---|---|---|---|---|---|---|---|" + ("---|---|" if args.merge_shards else ""))
    for r in rows:
        line = (f"| {r['n']:,} | {r['sigs']:,} | {r['report_s']:.1f} s | {r['report_mib']:.0f} MiB | "
                f"{r['largest_html_kib']:.0f} KiB | {r['html_files']} | {r['jsonl_mib']:.0f} MiB | {r['db_mib']:.0f} MiB |")
        if args.merge_shards:
            line += f" {r['merge_s']:.1f} s | {r['merge_mib']:.0f} MiB |"
        print(line)


if __name__ == "__main__":
    main()
