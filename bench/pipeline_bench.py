#!/usr/bin/env python3
"""Whole-pipeline benchmark: cluetrace against plain Tesseract over the same images, in the same run.

  python3 bench/pipeline_bench.py --cli build/cluetrace --config config/default.yaml --repeat 3 \\
      [--threads N] [--baseline-procs N] [--markdown] FOLDER_OR_FILES...

Collects the images under the inputs (recursively, recognised by their first bytes: JPEG, PNG, TIFF, BMP,
GIF, WebP, PNM), then alternates --repeat times
  A. one `cluetrace run` over all of them into a fresh output folder, and
  B. the baseline: `tesseract IMAGE stdout` per image, OMP_THREAD_LIMIT=1, as many processes at once as
     there are cores (os.cpu_count(), or --baseline-procs),
each under GNU time (/usr/bin/time) for peak RSS and CPU time, and wall-clocked as a whole. A and B are
interleaved (A B A B ...) so that a slow patch of a noisy machine hits both. A --compare-cli/--compare-config
run C goes after A in odd repeats and before it in even ones (A C B, C A B, ...): use an even --repeat. Prints medians per system,
the cluetrace/baseline time ratio of those medians, per-stage medians from the reports' timings_ms, and
the report statuses. --markdown prints the same as Markdown for bench/RESULTS.md.

Python 3 standard library only. Exit status: 0 done, 1 a run failed (cluetrace exited non-zero, wrote
no reports.jsonl or an unreadable one, or every baseline process failed), 2 bad usage.
"""
import argparse
import concurrent.futures
import datetime
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

GNU_TIME = "/usr/bin/time"
TIME_FORMAT = "%M %U %S"  # peak RSS in KiB, user and system CPU seconds
STATUSES = ("ok", "partial", "failed")


class BenchError(Exception):
    """A run failed: printed as the reason, exit status 1."""


# ------------------------------------------------------------------------------------------ inputs
def image_kind(path):
    """The image format named by the file's first bytes, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):  # classic and BigTIFF
        return "tiff"
    if head.startswith(b"BM") and len(head) >= 14:
        return "bmp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if len(head) >= 3 and head[0:1] == b"P" and head[1:2] in b"1234567" and head[2:3] in b" \t\r\n#":
        return "pnm"
    return None


def collect_images(inputs):
    """Image files under the inputs: files as given, folders walked recursively (no symlinked folders),
    in sorted order, each real file once."""
    found, seen = [], set()

    def add(path):
        real = os.path.realpath(path)
        if real in seen or not os.path.isfile(path) or image_kind(path) is None:
            return
        seen.add(real)
        found.append(path)

    for inp in inputs:
        if os.path.isdir(inp):
            for root, dirs, files in os.walk(inp):
                dirs.sort()
                for name in sorted(files):
                    add(os.path.join(root, name))
        elif os.path.exists(inp):
            add(inp)
        else:
            raise SystemExit(f"pipeline_bench: no such file or folder: {inp}")
    return found


# ------------------------------------------------------------------------------------------ helpers
def parse_gnu_time(path):
    """(peak RSS KiB, CPU seconds) from a `/usr/bin/time -f TIME_FORMAT -o path` file. GNU time puts a
    'Command exited with non-zero status N' or 'Command terminated by signal N' line before the format's."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
        rss, user, system = lines[-1].split()
        return int(rss), float(user) + float(system)
    except (OSError, IndexError, ValueError):
        return None, None


def warm_page_cache(images):
    """Reads every image once, so that no system pays for a cold page cache in its first run; returns the bytes read."""
    size = 0
    for p in images:
        with open(p, "rb") as f:
            while chunk := f.read(1 << 20):
                size += len(chunk)
    return size


def median(values):
    return statistics.median(values) if values else float("nan")


def p90(values):
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def tail(path, lines=25):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def first_line(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        text = (p.stdout or p.stderr).strip()
        return text.splitlines()[0] if p.returncode == 0 and text else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware", "cpu model"):
                    return value.strip()
    except OSError:
        pass
    return "unknown"


def nproc():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# ------------------------------------------------------------------------------------------ runs
def run_cluetrace(args, images, work, index, cli=None, config=None, tag="cluetrace"):
    """One timed cluetrace run over all images; returns wall s, peak RSS KiB, CPU s, the reports."""
    cli = cli or args.cli
    config = config or args.config
    run_dir = os.path.join(work, f"{tag}-{index}")
    os.makedirs(run_dir)
    out = os.path.join(run_dir, "out")  # does not exist yet: a fresh output folder
    listing = os.path.join(run_dir, "inputs.txt")
    with open(listing, "w", encoding="utf-8") as f:
        f.write("".join(p + "\n" for p in images))
    timing = os.path.join(run_dir, "time.txt")
    stdout_path, stderr_path = os.path.join(run_dir, "stdout.txt"), os.path.join(run_dir, "stderr.txt")
    cmd = [GNU_TIME, "-f", TIME_FORMAT, "-o", timing, cli, "run", "--config", config, "--out", out]
    if args.threads is not None:
        cmd += ["--threads", str(args.threads)]
    cmd += ["--progress", "never"]
    cmd += ["@" + listing] if args.input_list else images
    with open(stdout_path, "wb") as so, open(stderr_path, "wb") as se:
        start = time.perf_counter()
        rc = subprocess.run(cmd, stdout=so, stderr=se, stdin=subprocess.DEVNULL).returncode
        wall = time.perf_counter() - start
    if rc != 0:
        raise BenchError(f"cluetrace exited with status {rc} (run {index}); command:\n  {shlex.join(cmd[5:])}\n"
                         f"last lines of its stderr ({stderr_path}):\n{tail(stderr_path)}")
    reports_path = os.path.join(out, "reports.jsonl")
    if not os.path.isfile(reports_path):
        raise BenchError(f"cluetrace exited 0 but wrote no {reports_path} (run {index})")
    reports = []
    with open(reports_path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                reports.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise BenchError(f"{reports_path}:{n}: not JSON: {e}") from None
    rss, cpu = parse_gnu_time(timing)
    if not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    return {"wall": wall, "rss": rss, "cpu": cpu, "reports": reports}


def run_baseline(args, images, work, index):
    """`tesseract IMAGE stdout` over all images, args.baseline_procs at a time; wall s for the whole,
    peak RSS = the largest of its processes, CPU s = their sum."""
    run_dir = os.path.join(work, f"baseline-{index}")
    os.makedirs(run_dir)
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def one(i):
        timing = os.path.join(run_dir, f"time-{i}.txt")
        cmd = [GNU_TIME, "-f", TIME_FORMAT, "-o", timing, args.tesseract, images[i], "stdout"]
        if args.baseline_lang:
            cmd += ["-l", args.baseline_lang]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
        rss, cpu = parse_gnu_time(timing)
        return p.returncode, rss, cpu, len(p.stdout), p.stderr.decode("utf-8", "replace")

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.baseline_procs) as pool:
        results = list(pool.map(one, range(len(images))))
    wall = time.perf_counter() - start
    failed = [(images[i], r[0], r[4]) for i, r in enumerate(results) if r[0] != 0]
    if len(failed) == len(images):
        path, rc, err = failed[0]
        raise BenchError(f"every baseline tesseract process failed, e.g. status {rc} on {path}:\n{err[-2000:]}")
    rss = [r[1] for r in results if r[1] is not None]
    cpu = [r[2] for r in results if r[2] is not None]
    shutil.rmtree(run_dir, ignore_errors=True)
    return {"wall": wall, "rss": max(rss) if rss else None, "cpu": sum(cpu) if cpu else None,
            "failed": len(failed), "chars": sum(r[3] for r in results)}


# ------------------------------------------------------------------------------------------ summary
def summarise(args, images, runs_a, runs_b, runs_c=None):
    n = len(images)

    def system(name, runs):
        walls = [r["wall"] for r in runs]
        rss = [r["rss"] for r in runs if r["rss"] is not None]
        cpu = [r["cpu"] for r in runs if r["cpu"] is not None]
        med = median(walls)
        return {"name": name, "walls": walls, "median": med, "min": min(walls), "max": max(walls),
                "rate": n / med if med > 0 else float("inf"),
                "rss_mib": max(rss) / 1024 if rss else float("nan"),
                "cpu": median(cpu) if cpu else float("nan")}

    a, b = system("cluetrace", runs_a), system("baseline", runs_b)
    ratio = a["median"] / b["median"] if b["median"] > 0 else float("inf")
    c = system("compare", runs_c) if runs_c else None

    stages, totals = {}, []
    status_runs = []
    for run in runs_a:
        counts = dict.fromkeys(STATUSES, 0)
        for r in run["reports"]:
            status = r.get("status", "missing")
            counts[status] = counts.get(status, 0) + 1
            timings = r.get("timings_ms") or {}
            for stage, ms in timings.items():
                if isinstance(ms, (int, float)) and not isinstance(ms, bool):
                    stages.setdefault(stage, []).append(float(ms))
        counts["reports"] = len(run["reports"])
        status_runs.append(counts)
    total_sum = sum(stages.get("total", []))
    order = [s for s in stages if s != "total"]
    order.sort(key=lambda s: -sum(stages[s]))
    rows = []
    for stage in order + (["total"] if "total" in stages else []):
        values = stages[stage]
        share = sum(values) / total_sum if total_sum > 0 else float("nan")
        rows.append({"stage": stage, "n": len(values), "median": median(values), "p90": p90(values),
                     "share": share})
    failed_b = [r["failed"] for r in runs_b]
    return {"a": a, "b": b, "c": c, "ratio": ratio, "stages": rows, "status_runs": status_runs,
            "baseline_failed": max(failed_b) if failed_b else 0, "n": n}


def plural(n, one, many):
    return f"{n} {one if n == 1 else many}"


def fmt(x, digits=2):
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "-"
    return f"{x:.{digits}f}"


def status_line(s):
    runs = s["status_runs"]
    keys = list(STATUSES) + sorted(k for r in runs for k in r if k not in STATUSES and k != "reports")
    keys = list(dict.fromkeys(keys))

    def one(c):
        return ", ".join(f"{k} {c.get(k, 0)}" for k in keys)

    if not runs:
        return "no runs"
    if all(r == runs[0] for r in runs):
        line = f"{one(runs[0])} ({runs[0]['reports']} reports for {s['n']} images, same in every repeat)"
    else:
        line = "differ between repeats: " + " | ".join(f"run {i + 1}: {one(c)}" for i, c in enumerate(runs))
    if runs[0]["reports"] != s["n"]:
        line += f"  WARNING: {runs[0]['reports']} reports for {s['n']} images"
    return line


def notes(args, s):
    out = []
    if s["baseline_failed"]:
        out.append(f"baseline: tesseract failed on {s['baseline_failed']} image(s) in at least one repeat")
    if not s["stages"]:
        out.append("the reports carry no timings_ms: no per-stage figures")
    return out


def print_text(args, images, s, meta):
    a, b = s["a"], s["b"]
    print(f"pipeline bench: {s['n']} images ({meta['mib']:.1f} MiB), {args.repeat} repeats interleaved "
          f"(cluetrace, baseline, ...), {meta['date']}")
    print(f"machine: nproc {meta['nproc']}, {meta['cpu']}")
    print(f"cluetrace: {meta['cli_cmd']}")
    print(f"baseline:  {meta['base_cmd']}, {args.baseline_procs} at a time, OMP_THREAD_LIMIT=1")
    print()
    print(f"{'system':<10} {'median s':>9} {'min s':>8} {'max s':>8} {'images/s':>9} {'CPU s':>8} {'peak RSS MiB':>13}")
    for x in (a, b) + ((s["c"],) if s["c"] else ()):
        print(f"{x['name']:<10} {fmt(x['median'], 3):>9} {fmt(x['min'], 3):>8} {fmt(x['max'], 3):>8} "
              f"{fmt(x['rate']):>9} {fmt(x['cpu']):>8} {fmt(x['rss_mib'], 1):>13}")
    print(f"ratio cluetrace/baseline (median wall time): {fmt(s['ratio'])}  (below 1: cluetrace is faster)")
    if s["c"]:
        print(f"compare: {meta['compare_cmd']}")
        print(f"ratio cluetrace/compare (median wall time): {fmt(a['median'] / s['c']['median'], 3)}; "
              f"peak RSS cluetrace - compare: {fmt(a['rss_mib'] - s['c']['rss_mib'], 1)} MiB")
    print("(baseline peak RSS is its largest single process; up to "
          f"{args.baseline_procs} run at once)")
    print()
    if s["stages"]:
        width = max(12, max(len(r["stage"]) for r in s["stages"]))
        print(f"{'stage':<{width}} {'n':>6} {'median ms':>10} {'p90 ms':>10} {'share of total':>15}")
        for r in s["stages"]:
            print(f"{r['stage']:<{width}} {r['n']:>6} {fmt(r['median'], 1):>10} {fmt(r['p90'], 1):>10} "
                  f"{fmt(100 * r['share'], 1) + ' %':>15}")
        print("(over all images and repeats; share = the stage's summed ms / the summed totals)")
        print()
    print(f"statuses: {status_line(s)}")
    for line in notes(args, s):
        print(f"note: {line}")


def print_markdown(args, images, s, meta):
    a, b = s["a"], s["b"]
    print(f"### Pipeline bench, {meta['date']}")
    print()
    print(f"- command: `{meta['argv']}`")
    print(f"- machine: `nproc` = {meta['nproc']}, {meta['cpu']}")
    print(f"- inputs: {s['n']} images ({meta['mib']:.1f} MiB); {args.repeat} repeats, interleaved "
          "(cluetrace, baseline, cluetrace, ...)")
    print(f"- cluetrace: `{meta['cli_cmd']}` ({meta['cli_version']})")
    print(f"- baseline: `{meta['base_cmd']}`, OMP_THREAD_LIMIT=1, {plural(args.baseline_procs, 'process', 'processes')} at a time "
          f"({meta['tess_version']})")
    print()
    print("| system | median wall s | min–max s | images/s | CPU s (median) | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for x in (a, b) + ((s["c"],) if s["c"] else ()):
        print(f"| {x['name']} | {fmt(x['median'], 3)} | {fmt(x['min'], 3)}–{fmt(x['max'], 3)} | "
              f"{fmt(x['rate'])} | {fmt(x['cpu'])} | {fmt(x['rss_mib'], 1)} |")
    print()
    print(f"**cluetrace / baseline, median wall time: {fmt(s['ratio'])}** (below 1: cluetrace is faster). "
          f"Baseline peak RSS is its largest single process; up to {args.baseline_procs} run at once.")
    if s["c"]:
        print()
        print(f"compare: `{meta['compare_cmd']}`. **cluetrace / compare, median wall time: "
              f"{fmt(a['median'] / s['c']['median'], 3)}**; peak RSS cluetrace − compare: "
              f"{fmt(a['rss_mib'] - s['c']['rss_mib'], 1)} MiB.")
    print()
    if s["stages"]:
        print("| stage | n | median ms | p90 ms | share of total |")
        print("|---|---:|---:|---:|---:|")
        for r in s["stages"]:
            print(f"| {r['stage']} | {r['n']} | {fmt(r['median'], 1)} | {fmt(r['p90'], 1)} | "
                  f"{fmt(100 * r['share'], 1)} % |")
        print()
        print("Per-stage figures are over all images and repeats, from `timings_ms` in `reports.jsonl`; "
              "share = the stage's summed ms / the summed totals.")
        print()
    print(f"Statuses: {status_line(s)}.")
    for line in notes(args, s):
        print()
        print(f"Note: {line}.")


# ------------------------------------------------------------------------------------------ main
def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Time cluetrace against plain Tesseract over the same images, interleaved, in one run.")
    ap.add_argument("--cli", required=True, help="the cluetrace executable, e.g. build/cluetrace")
    ap.add_argument("--config", default="config/default.yaml", help="config for `cluetrace run` (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=3, help="cluetrace/baseline pairs to run (default: %(default)s)")
    ap.add_argument("--threads", type=int, help="passed to cluetrace as --threads (default: its config's)")
    ap.add_argument("--baseline-procs", type=int, default=os.cpu_count() or 1,
                    help="tesseract processes at once (default: os.cpu_count() = %(default)s)")
    ap.add_argument("--baseline-lang", help="passed to tesseract as -l (default: Tesseract's own, eng); "
                    "match the config's ocr.languages for a like-for-like comparison")
    ap.add_argument("--tesseract", default="tesseract", help="the tesseract executable (default: %(default)s)")
    ap.add_argument("--no-input-list", dest="input_list", action="store_false",
                    help="give cluetrace the image paths as arguments instead of one @list file")
    ap.add_argument("--keep", action="store_true", help="keep cluetrace's output folders (their path is printed)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown block for bench/RESULTS.md")
    ap.add_argument("--compare-cli", help="a second cluetrace (another build) run in the same repeats, reported as 'compare'")
    ap.add_argument("--compare-config", help="its config (default: --config); alone, the same cluetrace with another config")
    ap.add_argument("inputs", nargs="+", metavar="FOLDER_OR_FILE")
    args = ap.parse_args(argv)

    if args.repeat < 1 or args.baseline_procs < 1 or (args.threads is not None and args.threads < 0):
        ap.error("--repeat and --baseline-procs must be at least 1, --threads at least 0")
    if not os.access(GNU_TIME, os.X_OK):
        ap.error(f"{GNU_TIME} (GNU time, Debian package `time`) is needed for peak RSS")
    cli = args.cli if os.sep in args.cli else shutil.which(args.cli)
    if not cli or not os.access(cli, os.X_OK):
        ap.error(f"--cli {args.cli}: not an executable")
    if not os.path.isfile(args.config):
        ap.error(f"--config {args.config}: no such file")
    if not shutil.which(args.tesseract):
        ap.error(f"{args.tesseract}: not found (Debian package tesseract-ocr)")

    images = collect_images(args.inputs)
    if not images:
        ap.error("no images (JPEG, PNG, TIFF, BMP, GIF, WebP, PNM) under " + " ".join(args.inputs))

    size = warm_page_cache(images)

    work = tempfile.mkdtemp(prefix="pipeline-bench-")
    runs_a, runs_b, runs_c = [], [], []
    comparing = bool(args.compare_cli or args.compare_config)
    try:
        for i in range(1, args.repeat + 1):
            # With a compare build, the two take turns at going first: the one run right after the other was up to
            # 10 % faster on the 12-MP scenes whichever build it was (the memory the other freed is still fast to
            # fault in; bench/RESULTS.md, issue 16, thirteenth session), so a fixed order favours one build.
            compare_first = comparing and i % 2 == 0
            if compare_first:
                runs_c.append(run_cluetrace(args, images, work, i, cli=args.compare_cli, config=args.compare_config, tag="compare"))
            a = run_cluetrace(args, images, work, i)
            runs_a.append(a)
            if comparing and not compare_first:
                runs_c.append(run_cluetrace(args, images, work, i, cli=args.compare_cli, config=args.compare_config, tag="compare"))
            b = run_baseline(args, images, work, i)
            runs_b.append(b)
            print(f"repeat {i}/{args.repeat}: cluetrace {a['wall']:.3f} s, baseline {b['wall']:.3f} s"
                  + (f", compare {runs_c[-1]['wall']:.3f} s" if comparing else ""), file=sys.stderr, flush=True)
    except BenchError as e:
        print(f"pipeline_bench: {e}", file=sys.stderr)
        print(f"pipeline_bench: outputs kept in {work}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"pipeline_bench: interrupted; outputs in {work}", file=sys.stderr)
        return 130
    if args.keep:
        print(f"pipeline_bench: cluetrace outputs kept in {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)

    cli_cmd = [args.cli, "run", "--config", args.config, "--out", "OUT"]
    if args.threads is not None:
        cli_cmd += ["--threads", str(args.threads)]
    cli_cmd += ["--progress", "never", "@LIST" if args.input_list else "IMAGE..."]
    base_cmd = [args.tesseract, "IMAGE", "stdout"] + (["-l", args.baseline_lang] if args.baseline_lang else [])
    meta = {
        "argv": shlex.join(["python3"] + (sys.argv if argv is None else ["pipeline_bench.py"] + argv)),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": nproc(), "cpu": cpu_model(), "mib": size / (1 << 20),
        "cli_cmd": shlex.join(cli_cmd), "base_cmd": shlex.join(base_cmd),
        "cli_version": first_line([cli, "version"]),
        "tess_version": first_line([args.tesseract, "--version"]),
        "compare_cmd": shlex.join([args.compare_cli or args.cli, "run", "--config", args.compare_config or args.config, "..."]),
    }
    s = summarise(args, images, runs_a, runs_b, runs_c)
    (print_markdown if args.markdown else print_text)(args, images, s, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
