"""Runs the pipeline over a scene folder made by make_text_scenes (images + truth.jsonl): shared by the clue and
review benchmarks."""
import json
import pathlib
import subprocess
import time


def run_scenes(cli, config, scenes, out, threads=0):
    """Every scene of `scenes`/truth.jsonl through `cluetrace run` into `out`.

    Returns (truth lines, reports by image file name, wall seconds of the run)."""
    scenes = pathlib.Path(scenes)
    truth = [json.loads(line) for line in (scenes / "truth.jsonl").read_text(encoding="utf-8").splitlines()]
    start = time.perf_counter()
    subprocess.run([cli, "run", "--config", config, "--out", str(out), "--progress", "never", "--threads", str(threads)]
                   + [str(scenes / t["image"]) for t in truth], check=True, capture_output=True)
    seconds = time.perf_counter() - start
    reports = {pathlib.Path(r["image"]["path"]).name: r
               for r in map(json.loads, (pathlib.Path(out) / "reports.jsonl").read_text(encoding="utf-8").splitlines())}
    return truth, reports, seconds
