#!/usr/bin/env python3
"""Logo benchmark: brand-level recall and precision of cluetrace's logo stage, false marks per mark-free
image, seconds per image, and matching time against catalogue size.

  python3 bench/logo/logo_bench.py --catalogue models/logos/catalogue.yaml --set synthetic=DIR ...
  python3 bench/logo/logo_bench.py --catalogue models/logos/catalogue.yaml --flickr ../shared/data/flickrlogos27
  python3 bench/logo/logo_bench.py --scaling 100,1000,all --package models/downloads/simple-icons-16.37.0.tgz \
      --brands data/logos/brands.yaml --set synthetic=DIR

Sets are DIR/truth.jsonl ({"image", "logos": [{"brand", "box"}]}) with images in DIR/images or DIR
(make_logo_scenes output, ../shared/data/flickrlogos27). Scoring is per image and brand: a brand
reported on an image counts once, right if the truth names it there.

--flickr: the FlickrLogos-27 photos two ways: (1) the catalogue alone, on all photos; (2) the catalogue
plus brands added with `cluetrace catalogue add` from the boxes in one half (alternate photos of each
brand), scored on the other half, and then the halves swapped.

--text / --no-text: with the text stages (brand names read by OCR count) or the logo stage alone.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def load_set(path):
    images_dir = os.path.join(path, "images") if os.path.isdir(os.path.join(path, "images")) else path
    items = []
    with open(os.path.join(path, "truth.jsonl"), encoding="utf-8") as f:
        for line in f:
            j = json.loads(line)
            items.append({"image": os.path.join(images_dir, j["image"]), "name": j["image"],
                          "logos": j.get("logos", [])})
    return items


OPTIONS = []  # extra logo options from --option KEY=VALUE
OCR_OPTIONS = []  # extra OCR options from --ocr-option KEY=VALUE (with --text)


def write_config(tmp, catalogue, text):
    cfg = os.path.join(tmp, "logo-bench.yaml")
    lines = ["stages:", "  logo:", "    impl: features", f"    catalogue: {json.dumps(os.path.abspath(catalogue))}",
             "    if_catalogue_missing: error"] + [f"    {k}: {v}" for k, v in (o.split("=", 1) for o in OPTIONS)]
    if not text:
        lines += ["  text_detect:", "    enabled: false", "  ocr:", "    enabled: false"]
    elif OCR_OPTIONS:
        lines += ["  ocr:"] + [f"    {k}: {v}" for k, v in (o.split("=", 1) for o in OCR_OPTIONS)]
    with open(cfg, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return cfg


def run(cli, catalogue, items, text, threads):
    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_config(tmp, catalogue, text)
        listing = os.path.join(tmp, "inputs.txt")
        with open(listing, "w", encoding="utf-8") as f:
            f.write("\n".join(i["image"] for i in items) + "\n")
        out = os.path.join(tmp, "out")
        start = time.monotonic()
        proc = subprocess.run([cli, "run", "--config", cfg, "--out", out, "--threads", str(threads), "--progress", "never",
                               "@" + listing], capture_output=True, text=True)
        wall = time.monotonic() - start
        if proc.returncode != 0:
            sys.exit(f"cluetrace failed ({proc.returncode}):\n{proc.stderr}")
        reports = {}
        with open(os.path.join(out, "reports.jsonl"), encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                reports[r["image"]["path"]] = r
    return reports, wall


def score(items, reports, wall, errors=None, list_missed=False):
    """Brand-level figures of one set. `errors`, when a list, receives ("false" | "missed", line) for each
    false mark (and each missed one with list_missed)."""
    tp = fp = fn = 0
    empty_images = empty_fp = 0
    logo_ms = []
    methods = {}
    for it in items:
        r = reports[it["image"]]
        pred = {}
        for c in r["clues"]:
            if c["kind"] == "logo":
                pred.setdefault(c["value"], c)
        truth = {l["brand"] for l in it["logos"]}
        for b, c in pred.items():
            m = (c.get("details") or {}).get("method", "?")
            ok = b in truth
            methods.setdefault(m, [0, 0])[0 if ok else 1] += 1
            if not ok and errors is not None:
                details = c.get("details") or {}
                said = details.get("wordmark") or details.get("reference") or ""
                errors.append(("false", f"{it['image']}: {b} by {m} (truth: {', '.join(sorted(truth)) or 'none'}) {said}"))
        if errors is not None and list_missed:
            for b in sorted(truth - set(pred)):
                errors.append(("missed", f"{it['image']}: {b} missed"))
        tp += len(truth & set(pred))
        fp += len(set(pred) - truth)
        fn += len(truth - set(pred))
        if not truth:
            empty_images += 1
            empty_fp += len(pred)
        logo_ms.append(r.get("timings_ms", {}).get("logo", 0.0))
    return {
        "images": len(items), "truth": tp + fn, "reported": tp + fp,
        "recall": tp / max(1, tp + fn), "precision": tp / max(1, tp + fp) if tp + fp else float("nan"),
        "empty_images": empty_images, "fp_per_empty": empty_fp / empty_images if empty_images else float("nan"),
        "s_per_image": wall / max(1, len(items)), "logo_ms_median": statistics.median(logo_ms) if logo_ms else 0,
        "methods": methods,
    }


def row(name, s):
    methods = ", ".join(f"{m} {v[0]}/{v[0] + v[1]}" for m, v in sorted(s["methods"].items()))
    fpe = "—" if s["empty_images"] == 0 else f"{s['fp_per_empty']:.3f} ({s['empty_images']})"
    return (f"| {name} | {s['images']} | {s['truth']} | {s['recall']:.3f} | {s['precision']:.3f} | {fpe} | "
            f"{s['s_per_image']:.3f} | {s['logo_ms_median']:.0f} | {methods} |")


def print_scored(name, items, reports, wall, args):
    errors = [] if args.list_false else None
    print(row(name, score(items, reports, wall, errors, args.list_missed)), flush=True)
    for kind, line in errors or []:
        print(f"  {kind}: {line}", flush=True)


HEADER = ("| set | images | brand sightings | recall | precision | false marks per mark-free image (images) | "
          "s/image | logo stage median ms | right/reported by method |\n|---|---|---|---|---|---|---|---|---|")


def flickr_halves(items):
    """Alternate photos of each brand (sorted by name) into halves A and B."""
    by_brand = {}
    for it in sorted(items, key=lambda i: i["name"]):
        brand = it["logos"][0]["brand"] if it["logos"] else ""
        by_brand.setdefault(brand, []).append(it)
    a, b = [], []
    for group in by_brand.values():
        for k, it in enumerate(group):
            (a if k % 2 == 0 else b).append(it)
    return a, b


def add_from(cli, base_catalogue, train, tmp, name):
    folder = os.path.join(tmp, name)
    shutil.copytree(os.path.dirname(os.path.abspath(base_catalogue)), folder)
    cat = os.path.join(folder, os.path.basename(base_catalogue))
    by_brand = {}
    for it in train:
        for l in it["logos"]:
            x, y, w, h = l["box"]
            if w < 8 or h < 8:  # a degenerate box in the truth file: nothing to learn from
                continue
            by_brand.setdefault(l["brand"], []).append(f"{it['image']}:{x},{y},{w},{h}")
    for brand, specs in sorted(by_brand.items()):
        args = [cli, "catalogue", "add", cat, "--id", brand]
        for s in specs:
            args += ["--image", s]
        proc = subprocess.run(args, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"catalogue add {brand} failed:\n{proc.stderr}")
    return cat, sum(len(v) for v in by_brand.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default="build/cluetrace")
    ap.add_argument("--catalogue", default="models/logos/catalogue.yaml")
    ap.add_argument("--set", action="append", default=[], help="NAME=DIR")
    ap.add_argument("--flickr", help="FlickrLogos-27 folder (../shared/data/flickrlogos27)")
    ap.add_argument("--text", dest="text", action="store_true", default=True)
    ap.add_argument("--no-text", dest="text", action="store_false")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--scaling", help="catalogue sizes, e.g. 100,1000,all (needs --package)")
    ap.add_argument("--package", default="models/downloads/simple-icons-16.37.0.tgz")
    ap.add_argument("--brands", default="data/logos/brands.yaml")
    ap.add_argument("--option", action="append", default=[], help="logo stage option KEY=VALUE (tuning)")
    ap.add_argument("--ocr-option", action="append", default=[], help="OCR stage option KEY=VALUE (with --text)")
    ap.add_argument("--list-false", action="store_true", help="after each row, the false marks: image, brand, method, evidence")
    ap.add_argument("--list-missed", action="store_true", help="with --list-false, the marks missed as well")
    args = ap.parse_args()
    OPTIONS.extend(args.option)
    OCR_OPTIONS.extend(args.ocr_option)

    print(f"cluetrace: {args.cli}, text stages {'on' if args.text else 'off'}, threads {args.threads}")
    print(HEADER)
    for spec in args.set:
        name, path = spec.split("=", 1)
        items = load_set(path)
        if args.scaling:
            continue
        reports, wall = run(args.cli, args.catalogue, items, args.text, args.threads)
        print_scored(name, items, reports, wall, args)

    if args.flickr:
        items = load_set(args.flickr)
        reports, wall = run(args.cli, args.catalogue, items, args.text, args.threads)
        print_scored("flickrlogos27: catalogue alone, all photos", items, reports, wall, args)
        a, b = flickr_halves(items)
        with tempfile.TemporaryDirectory() as tmp:
            for train, test, label in ((a, b, "A→B"), (b, a, "B→A")):
                cat, boxes = add_from(args.cli, args.catalogue, train, tmp, "cat-" + label[0])
                reports, wall = run(args.cli, cat, test, args.text, args.threads)
                print_scored(f"flickrlogos27: + {boxes} boxes added from half {label[0]}, scored on half {label[2]}",
                             test, reports, wall, args)

    if args.scaling:
        sets = [(s.split("=", 1)[0], load_set(s.split("=", 1)[1])) for s in args.set]
        with tempfile.TemporaryDirectory() as tmp:
            for size in args.scaling.split(","):
                folder = os.path.join(tmp, f"cat-{size}")
                cmd = [sys.executable, "scripts/make_logo_catalogue.py", "--package", args.package, "--brands", args.brands,
                       "--out", folder, "--all", "--name", f"scaling-{size}"]
                if size != "all":
                    cmd += ["--limit", size]
                subprocess.run(cmd, check=True, capture_output=True)
                cat = os.path.join(folder, "catalogue.yaml")
                t0 = time.monotonic()
                subprocess.run([args.cli, "catalogue", "build", cat], check=True, capture_output=True)
                build_s = time.monotonic() - t0
                with open(cat, encoding="utf-8") as f:
                    n = sum(1 for line in f if line.startswith("- id:"))
                for name, items in sets:
                    reports, wall = run(args.cli, cat, items, args.text, args.threads)
                    s = score(items, reports, wall)
                    print(row(f"{name}, catalogue of {n} brands (index built in {build_s:.0f} s)", s), flush=True)


if __name__ == "__main__":
    main()
