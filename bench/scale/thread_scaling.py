#!/usr/bin/env python3
"""Thread scaling of a whole `cluetrace run`: wall time, speed-up, peak memory and CPU at several thread counts,
with plain Tesseract at as many processes as the reference, in one run.

  python3 bench/scale/thread_scaling.py --cli build/cluetrace --config config/default.yaml \\
      --threads 1,2,4 --rounds 2 [--baseline-procs 1,2,4] [--markdown] FOLDER_OR_FILES...

Each round runs cluetrace once at every thread count (`--threads N`, start-up and case outputs included, as
pipeline_bench.py runs it), ascending in odd rounds and descending in even ones, so that a machine that speeds
up or slows down over the run does not favour the small or the large counts; then `tesseract IMAGE stdout`
(OMP_THREAD_LIMIT=1) over the same images at each --baseline-procs count. Prints medians per count: wall
seconds, speed-up over the smallest count, parallel efficiency, peak RSS of the whole process tree's largest
process (GNU time; cluetrace's worker process is the one that holds the pipeline), the RSS added per thread,
CPU seconds, and the ratio to Tesseract at the same count where one was run. Each run's figures, and after each
round but the last the table so far, go to standard error as they come: a run stopped by a time limit keeps its
whole rounds.

Runs anywhere pipeline_bench.py runs (Python 3 standard library, GNU time, tesseract); on a machine without
Debian's packages, inside the folder bench/scale/make_portable.sh packs. Exit status: 0 done, 1 a run
failed, 2 bad usage.
"""
import argparse
import builtins
import collections
import functools
import os
import shutil
import sys
import tempfile
import types

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pipeline_bench as pb  # noqa: E402  (bench/pipeline_bench.py: the runs and their measurement)


def counts(text, what):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}: a comma-separated list of whole numbers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{what}: each count at least 1, got {text!r}")
    return sorted(set(values))


def measure(args, images, work, after_round=None):
    """{threads: [run, ...]} for cluetrace and {procs: [run, ...]} for the baseline; after_round(r, ours, theirs)
    is called when round r is complete."""
    ours, theirs = {n: [] for n in args.threads}, {n: [] for n in args.baseline_procs}
    for r in range(1, args.rounds + 1):
        order = args.threads if r % 2 == 1 else list(reversed(args.threads))
        for n in order:
            run_args = types.SimpleNamespace(threads=n, input_list=True, keep=False, cli=args.cli, config=args.config)
            run = pb.run_cluetrace(run_args, images, work, f"{r}-{n}")
            ours[n].append(run)
            print(f"round {r}: cluetrace --threads {n}: {run['wall']:.2f} s, {run['cpu']:.1f} s of CPU, {run['rss'] / 1024:.0f} MiB",
                  file=sys.stderr, flush=True)
        for n in args.baseline_procs if r % 2 == 1 else list(reversed(args.baseline_procs)):
            base_args = types.SimpleNamespace(baseline_procs=n, tesseract=args.tesseract, baseline_lang=args.baseline_lang)
            run = pb.run_baseline(base_args, images, work, f"{r}-{n}")
            theirs[n].append(run)
            print(f"round {r}: tesseract x {n}: {run['wall']:.2f} s", file=sys.stderr, flush=True)
        if after_round:
            after_round(r, ours, theirs)
    return ours, theirs


def summarise(args, images, ours, theirs):
    rows = []
    first = args.threads[0]
    base_wall = pb.median([r["wall"] for r in ours[first]])
    base_rss = max(r["rss"] for r in ours[first]) / 1024
    for n in args.threads:
        runs = ours[n]
        wall = pb.median([r["wall"] for r in runs])
        rss = max(r["rss"] for r in runs) / 1024
        cpu = pb.median([r["cpu"] for r in runs])
        speedup = base_wall / wall
        tess = pb.median([r["wall"] for r in theirs[n]]) if n in theirs else None
        statuses = collections.Counter(rep.get("status", "missing") for rep in runs[-1]["reports"])
        rows.append({
            "threads": n, "wall": wall, "walls": [r["wall"] for r in runs], "speedup": speedup,
            "efficiency": speedup * first / n, "rss": rss,
            "rss_per_thread": (rss - base_rss) / (n - first) if n != first else None,
            "cpu": cpu, "images_per_s": len(images) / wall, "tesseract": tess,
            "ratio": wall / tess if tess else None, "statuses": statuses,
        })
    extra = sorted(set(args.baseline_procs) - set(args.threads))
    return rows, {n: pb.median([r["wall"] for r in theirs[n]]) for n in extra}


def cell(value, digits=2, suffix=""):
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def print_table(args, images, rows, other_baselines, rounds, file=sys.stdout):
    md = args.markdown
    print = functools.partial(builtins.print, file=file)  # noqa: A001  (every line of the table to `file`)
    print(f"{'- ' if md else ''}{len(images)} images; cluetrace `{args.cli}` ({pb.first_line([args.cli, 'version'])}), "
          f"config `{args.config}`; {rounds} round(s), medians; CPU: {pb.cpu_model()}, {pb.nproc()} cores")
    print(f"{'- ' if md else ''}baseline: `{args.tesseract} IMAGE stdout`"
          f"{' -l ' + args.baseline_lang if args.baseline_lang else ''}, OMP_THREAD_LIMIT=1, "
          f"as many processes at once as cluetrace has threads")
    head = ["threads", "wall s", "runs", "speed-up", "efficiency", "images/s", "peak RSS MiB", "MiB per added thread",
            "CPU s", "tesseract s", "ratio", "reports"]
    if md:
        print()
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
    else:
        print("  ".join(head))
    for r in rows:
        values = [str(r["threads"]), cell(r["wall"]), "/".join(f"{w:.1f}" for w in r["walls"]), cell(r["speedup"], 2, " ×"),
                  cell(r["efficiency"] * 100, 0, " %"), cell(r["images_per_s"]), cell(r["rss"], 0),
                  cell(r["rss_per_thread"], 0), cell(r["cpu"], 1), cell(r["tesseract"]), cell(r["ratio"], 2, " ×"),
                  ", ".join(f"{k} {v}" for k, v in sorted(r["statuses"].items()))]
        print(("| " + " | ".join(values) + " |") if md else "  ".join(values))
    for n, wall in other_baselines.items():
        print(f"{'- ' if md else ''}tesseract at {n} processes: {wall:.2f} s")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Wall time, speed-up and memory of cluetrace at several thread counts.")
    ap.add_argument("--cli", required=True, help="the cluetrace executable")
    ap.add_argument("--config", default="config/default.yaml", help="config for `cluetrace run` (default: %(default)s)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=2, help="runs at each count (default: %(default)s)")
    ap.add_argument("--baseline-procs", default=None,
                    help="comma-separated tesseract process counts (default: the thread counts; 0 for none)")
    ap.add_argument("--baseline-lang", help="passed to tesseract as -l (default: Tesseract's own, eng)")
    ap.add_argument("--tesseract", default="tesseract", help="the tesseract executable (default: %(default)s)")
    ap.add_argument("--gnu-time", default=pb.GNU_TIME, help="GNU time (default: %(default)s)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table for bench/RESULTS.md")
    ap.add_argument("inputs", nargs="+", metavar="FOLDER_OR_FILE")
    args = ap.parse_args(argv)
    try:
        args.threads = counts(args.threads, "--threads")
        args.baseline_procs = [] if args.baseline_procs == "0" else counts(args.baseline_procs or ",".join(map(str, args.threads)), "--baseline-procs")
    except argparse.ArgumentTypeError as e:
        ap.error(str(e))
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    if not os.access(args.gnu_time, os.X_OK):
        ap.error(f"{args.gnu_time}: GNU time is needed for peak RSS (Debian package `time`)")
    pb.GNU_TIME = args.gnu_time
    if not (os.path.isfile(args.cli) and os.access(args.cli, os.X_OK)):
        ap.error(f"--cli {args.cli}: not an executable")
    if not os.path.isfile(args.config):
        ap.error(f"--config {args.config}: no such file")
    if args.baseline_procs and not shutil.which(args.tesseract):
        ap.error(f"{args.tesseract}: not found (Debian package tesseract-ocr)")
    images = pb.collect_images(args.inputs)
    if not images:
        ap.error("no images under " + " ".join(args.inputs))
    pb.warm_page_cache(images)
    work = tempfile.mkdtemp(prefix="thread-scaling-")
    def after_round(r, ours, theirs):
        # What is measured so far, on standard error, so that a run stopped in a later round (a time limit on
        # a borrowed machine) still leaves whole rounds' figures behind.
        if r < args.rounds:
            print(f"after round {r}:", file=sys.stderr)
            print_table(args, images, *summarise(args, images, ours, theirs), r, file=sys.stderr)
            sys.stderr.flush()

    try:
        ours, theirs = measure(args, images, work, after_round)
    except pb.BenchError as e:
        print(f"thread_scaling: {e}\nthread_scaling: outputs kept in {work}", file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    rows, other = summarise(args, images, ours, theirs)
    print_table(args, images, rows, other, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
