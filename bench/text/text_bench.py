#!/usr/bin/env python3
"""Scene-text benchmark: cluetrace's text detection + OCR against whole-image Tesseract, in the same run.

  python3 bench/text/text_bench.py --cli build/cluetrace --config CONFIG --set NAME=KIND:PATH ...

Sets (KIND):
  boxes:DIR      DIR/truth.jsonl ({"image", "texts": [{"text", "box"}]}) with images in DIR or DIR/images
                 (synthetic scenes from make_text_scenes, ../shared/data/icdar2003-scene)
  icdar15:DIR    ICDAR 2015 quadrilateral ground truth (../shared/data/icdar2015-toy); '###' = ignored
  pages:DIR      *.tif with a .txt transcription beside each (../shared/data/tesseract-testing/testing)
  words:DIR      DIR/labels.tsv of cropped words (../shared/data/iiit5k-words): word accuracy of the
                 recogniser alone (run with --words-config, whole image as one line)

Prints, per set, for cluetrace and the baseline: word recall and precision (case-folded tokens of 3+
characters, as multisets per image), character error rate on matched lines, detection recall, seconds
per image (wall, all cores) and the time ratio.
"""
import argparse
import collections
import concurrent.futures
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata

IMAGE_EXT = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")


def tokens(text):
    text = unicodedata.normalize("NFC", text).casefold()
    return [t for t in re.split(r"[^\w]+|_", text) if len(t) >= 3]


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def box_of_quad(quad):
    xs = [p[0] for p in quad]
    ys = [p[1] for p in quad]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def coverage(truth_box, pred_box):
    """Share of the truth box covered by the predicted box."""
    tx, ty, tw, th = truth_box
    px, py, pw, ph = pred_box
    ix = max(0, min(tx + tw, px + pw) - max(tx, px))
    iy = max(0, min(ty + th, py + ph) - max(ty, py))
    return ix * iy / max(1e-9, tw * th)


# ---------------------------------------------------------------------------------------------- sets
def load_boxes(path):
    images_dir = os.path.join(path, "images") if os.path.isdir(os.path.join(path, "images")) else path
    items = []
    with open(os.path.join(path, "truth.jsonl"), encoding="utf-8") as f:
        for line in f:
            j = json.loads(line)
            texts = [{"text": t["text"], "box": t.get("box") or box_of_quad(t["quad"])} for t in j["texts"]]
            items.append({"image": os.path.join(images_dir, j["image"]), "texts": texts})
    return items


def load_icdar15(path):
    items = []
    imgs, gt_dir = path, path
    for sub in ("imgs/test", "imgs"):  # mmocr's toy layout: imgs/test and annotations/test
        if os.path.isdir(os.path.join(path, sub)):
            imgs = os.path.join(path, sub)
            break
    for sub in ("annotations/test", "annotations"):
        if os.path.isdir(os.path.join(path, sub)):
            gt_dir = os.path.join(path, sub)
            break
    for name in sorted(os.listdir(imgs)):
        if not name.lower().endswith(IMAGE_EXT):
            continue
        stem = os.path.splitext(name)[0]
        gt = os.path.join(gt_dir, "gt_" + stem + ".txt")
        texts, ignore = [], []
        if os.path.exists(gt):
            with open(gt, encoding="utf-8-sig") as f:
                for row in f:
                    parts = row.strip().split(",", 8)
                    if len(parts) < 9:
                        continue
                    pts = list(map(float, parts[:8]))
                    quad = [pts[0:2], pts[2:4], pts[4:6], pts[6:8]]
                    entry = {"text": parts[8], "box": box_of_quad(quad)}
                    (ignore if parts[8] == "###" else texts).append(entry)
        items.append({"image": os.path.join(imgs, name), "texts": texts, "ignore": ignore})
    return items


def load_pages(path):
    items = []
    for name in sorted(os.listdir(path)):
        if name.lower().endswith((".tif", ".tiff", ".png")):
            stem = os.path.splitext(name)[0]
            for cand in (stem + ".txt", stem + ".gold.txt"):
                if os.path.exists(os.path.join(path, cand)):
                    with open(os.path.join(path, cand), encoding="utf-8", errors="replace") as f:
                        items.append({"image": os.path.join(path, name), "texts": [{"text": f.read(), "box": None}]})
                    break
    return items


def load_words(path):
    items = []
    with open(os.path.join(path, "labels.tsv"), encoding="utf-8") as f:
        for row in f:
            rel, word = row.rstrip("\n").split("\t")
            items.append({"image": os.path.join(path, rel), "texts": [{"text": word, "box": None}]})
    return items


LOADERS = {"boxes": load_boxes, "icdar15": load_icdar15, "pages": load_pages, "words": load_words}


# ---------------------------------------------------------------------------------------------- runs
def run_cluetrace(cli, config, items, threads, text_clues_only=False):
    with tempfile.TemporaryDirectory() as tmp:
        listing = os.path.join(tmp, "inputs.txt")
        with open(listing, "w", encoding="utf-8") as f:
            f.write("\n".join(i["image"] for i in items) + "\n")
        out = os.path.join(tmp, "out")
        start = time.monotonic()
        proc = subprocess.run([cli, "run", "--config", config, "--out", out, "--threads", str(threads),
                               "--progress", "never", "@" + listing], capture_output=True, text=True)
        wall = time.monotonic() - start
        if proc.returncode != 0:
            sys.exit(f"cluetrace failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        reports = {}
        with open(os.path.join(out, "reports.jsonl"), encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                reports[r["image"]["path"]] = r
    preds = []
    for item in items:
        r = reports.get(item["image"], {})
        lines = readings_of(r, text_clues_only)
        regions = [box_of_quad(t["quad"]) for t in r.get("text_regions", [])] or [l["box"] for l in lines if l["box"]]
        preds.append({"lines": lines, "regions": regions, "status": r.get("status", "missing")})
    return preds, wall


def readings_of(report, text_clues_only=False):
    """What OCR read in one report: its text clues, and the readings merged into clues of other kinds (a
    word read as a brand's name, a price, a web address or a phone number becomes that clue, and its
    reading is kept in the clue's details.merged). With text_clues_only, the text clues alone (the measure
    of RESULTS before 2026-12-02's second session)."""
    lines = []
    for c in report.get("clues", []):
        if c["kind"] == "text":
            lines.append({"text": c["value"], "box": c.get("box")})
        elif not text_clues_only:
            for m in (c.get("details") or {}).get("merged", []):
                if m.get("kind") == "text" and str(m.get("stage", "")).startswith("ocr."):
                    lines.append({"text": m["value"], "box": m.get("box")})
    return lines


def tesseract_one(path):
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    proc = subprocess.run(["tesseract", path, "stdout"], capture_output=True, text=True, env=env)
    return proc.stdout


def run_baseline(items, procs):
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=procs) as pool:
        texts = list(pool.map(tesseract_one, [i["image"] for i in items]))
    wall = time.monotonic() - start
    return [{"lines": [{"text": t, "box": None}], "regions": [], "status": "ok"} for t in texts], wall


# ---------------------------------------------------------------------------------------------- scoring
def alnum(text):
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFC", text))


def score(items, preds, words_mode=False):
    matched = truth_n = pred_n = 0
    cer_num = cer_den = 0
    det_hit = det_n = 0
    exact = exact_alnum = 0
    for item, pred in zip(items, preds):
        ignore = item.get("ignore", [])
        truth_tokens = collections.Counter(t for x in item["texts"] for t in tokens(x["text"]))
        pred_tokens = collections.Counter()
        for line in pred["lines"]:
            if line["box"] and any(coverage(line["box"], ig["box"]) > 0.5 for ig in ignore):
                continue  # read from a region the truth marks illegible: neither right nor wrong
            pred_tokens.update(tokens(line["text"]))
        matched += sum((truth_tokens & pred_tokens).values())
        truth_n += sum(truth_tokens.values())
        pred_n += sum(pred_tokens.values())
        if words_mode:
            got = " ".join(l["text"] for l in pred["lines"]).strip().casefold()
            exact += got == item["texts"][0]["text"].strip().casefold()
            # The published protocol (CRNN, PARSeq): letters and digits only, any case.
            exact_alnum += alnum(got) == alnum(item["texts"][0]["text"].casefold())
        for t in item["texts"]:
            if not t["box"]:
                continue
            det_n += 1
            det_hit += any(coverage(t["box"], r) >= 0.5 for r in pred["regions"] if r)
            # CER against the best piece of the lines overlapping this truth item.
            overlapping = [l for l in pred["lines"] if l["box"] and coverage(t["box"], l["box"]) >= 0.3]
            if overlapping:
                truth_text = t["text"].casefold()
                pieces = []
                for l in overlapping:
                    value = l["text"].casefold()
                    pieces.append(value)
                    if " " not in truth_text:
                        pieces.extend(value.split())
                cer_num += min(edit_distance(truth_text, p) for p in pieces)
                cer_den += len(truth_text)
    return {
        "recall": matched / truth_n if truth_n else float("nan"),
        "precision": matched / pred_n if pred_n else float("nan"),
        "cer": cer_num / cer_den if cer_den else float("nan"),
        "det_recall": det_hit / det_n if det_n else float("nan"),
        "word_accuracy": exact / len(items) if words_mode and items else float("nan"),
        "word_accuracy_alnum": exact_alnum / len(items) if words_mode and items else float("nan"),
    }


def fmt(x):
    return "—" if x != x else f"{x:.3f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default="build/cluetrace")
    ap.add_argument("--config", required=True, help="config for scene sets")
    ap.add_argument("--words-config", help="config for word crops (whole image as one line)")
    ap.add_argument("--set", action="append", required=True, metavar="NAME=KIND:PATH")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--limit", type=int, default=0, help="use only the first N items of each set")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--text-clues-only", action="store_true",
                    help="score the text clues alone, leaving out readings merged into logo, price, web-address ... clues")
    args = ap.parse_args()

    print(f"# text benchmark {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {args.threads} threads, "
          f"config {args.config}")
    print("| set | system | images | word recall | token precision | CER (matched) | detection recall "
          "| word accuracy | s/image | time ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    notes = []
    for spec in args.set:
        name, rest = spec.split("=", 1)
        kind, path = rest.split(":", 1)
        if not os.path.exists(path):
            print(f"| {name} | skipped: {path} not found | | | | | | | | |")
            continue
        items = LOADERS[kind](path)
        if not items:
            print(f"| {name} | skipped: no items found under {path} | | | | | | | | |")
            continue
        if args.limit:
            items = items[: args.limit]
        words_mode = kind == "words"
        config = args.words_config if words_mode and args.words_config else args.config
        preds, wall = run_cluetrace(args.cli, config, items, args.threads, args.text_clues_only)
        s = score(items, preds, words_mode)
        base_s = base_wall = None
        if not args.no_baseline:
            base_preds, base_wall = run_baseline(items, args.threads)
            base_s = score(items, base_preds, words_mode)
        n = len(items)
        ratio = f"{wall / base_wall:.2f}" if base_wall else "—"
        print(f"| {name} | cluetrace | {n} | {fmt(s['recall'])} | {fmt(s['precision'])} | {fmt(s['cer'])} | "
              f"{fmt(s['det_recall'])} | {fmt(s['word_accuracy'])} | {wall / n:.3f} | {ratio} |")
        if base_s:
            print(f"| {name} | tesseract whole image | {n} | {fmt(base_s['recall'])} | {fmt(base_s['precision'])} | "
                  f"— | — | {fmt(base_s['word_accuracy'])} | {base_wall / n:.3f} | 1.00 |")
        if words_mode:
            base_note = f", tesseract whole image {fmt(base_s['word_accuracy_alnum'])}" if base_s else ""
            notes.append(f"- {name}: word accuracy on letters and digits, any case (the published protocol): "
                         f"cluetrace {fmt(s['word_accuracy_alnum'])}{base_note}")
        sys.stdout.flush()
    if notes:
        print()
        print("\n".join(notes))


if __name__ == "__main__":
    main()
