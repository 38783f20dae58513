#!/usr/bin/env python3
"""Query by example on generated scenes: recall of the other views of each object, and what else is answered.

    build/bench/make_object_scenes --out /tmp/objs
    build/cluetrace run --out /tmp/objs-out /tmp/objs
    python3 bench/objects/object_bench.py --cli build/cluetrace --scenes /tmp/objs --case /tmp/objs-out

Every placement of every object in truth.json is a query (its bounding box on its scene, as an analyst would
draw it); the answer should be the object's other placements and nothing else. Reported: recall (other
placements found / all), answers that are not the object (false answers, and how many queries have one in their
top 10), the verified polygon's overlap with the true outline, and the query time (median, the whole command).
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def polygon_iou(a, b):
    """Overlap of two quadrilaterals' bounding boxes (enough to tell an outline in the right place)."""
    ax0, ay0 = min(p[0] for p in a), min(p[1] for p in a)
    ax1, ay1 = max(p[0] for p in a), max(p[1] for p in a)
    bx0, by0 = min(p[0] for p in b), min(p[1] for p in b)
    bx1, by1 = max(p[0] for p in b), max(p[1] for p in b)
    iw, ih = max(0, min(ax1, bx1) - max(ax0, bx0)), max(0, min(ay1, by1) - max(ay0, by0))
    inter = iw * ih
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union if union > 0 else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--scenes", required=True, help="folder made by make_object_scenes (with truth.json)")
    ap.add_argument("--case", required=True, help="output folder of `cluetrace run` on those scenes")
    ap.add_argument("--root", default=".", help="folder the reports' image paths start from")
    args = ap.parse_args()
    truth = json.loads((Path(args.scenes) / "truth.json").read_text())
    found = expected = false_answers = queries_with_false = 0
    ious, times = [], []
    for obj in truth["objects"]:
        for q in obj["placements"]:
            path = str(Path(args.scenes) / q["file"])
            box = ",".join(str(v) for v in q["box"])
            start = time.monotonic()
            p = subprocess.run([args.cli, "find-object", args.case, "--image", path, "--box", box, "--json", "--root", args.root],
                               capture_output=True, text=True)
            times.append(time.monotonic() - start)
            if p.returncode != 0:
                sys.exit(f"find-object failed on {path}: {p.stderr}")
            answer = json.loads(p.stdout)
            want = {Path(o["file"]).name: o for o in obj["placements"] if o["file"] != q["file"]}
            got = [Path(r["path"]).name for r in answer["results"]]
            expected += len(want)
            found += len(set(got) & set(want))
            wrong = [g for g in got if g not in want]
            false_answers += len(wrong)
            queries_with_false += 1 if [g for g in got[:10] if g not in want] else 0
            for r in answer["results"]:
                name = Path(r["path"]).name
                if name in want:
                    ious.append(polygon_iou(r["polygon"], want[name]["polygon"]))
    n = sum(len(o["placements"]) for o in truth["objects"])
    print(f"queries {n}, pictures {len(list(Path(args.scenes).glob('*.jpg')))}")
    print(f"recall {found}/{expected} = {found / max(1, expected):.3f}")
    print(f"false answers {false_answers}; queries with a false answer in their top 10: {queries_with_false}")
    if ious:
        print(f"outline overlap (box IoU) median {statistics.median(ious):.3f}, min {min(ious):.3f}")
    print(f"query time (whole command) median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
