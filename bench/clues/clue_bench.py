#!/usr/bin/env python3
"""Structured clues on synthetic scenes from fourteen countries (make_text_scenes --clues 1): per-kind recall
(phone numbers as exact E.164, EAN-13 digits, web addresses, price amounts, regional brands as logo clues), language top-1 and country
top-1/top-3, per country and overall. The baseline, from the same reports, names the home country of the
image's top language (de -> DE, pt -> PT, en -> GB ...): what the language alone would say.

  build/bench/make_text_scenes --clues 1 --out DIR --count 140 --seed 2026
  python3 bench/clues/clue_bench.py --cli build/cluetrace --config config/default.yaml DIR
"""
import argparse
import pathlib
import tempfile

from scene_run import run_scenes

HOME = {"de": "DE", "fr": "FR", "nl": "NL", "es": "ES", "it": "IT", "pt": "PT", "pl": "PL", "cs": "CZ", "sv": "SE",
        "da": "DK", "en": "GB"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="build/cluetrace")
    ap.add_argument("--config", default="config/default.yaml")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("scenes")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        truth, reports, seconds = run_scenes(args.cli, args.config, args.scenes, pathlib.Path(tmp) / "out", args.threads)

    kinds = ["phone", "barcode", "url", "price", "logo"]
    totals = {}  # country -> counters

    def bump(country, key, hit):
        c = totals.setdefault(country, {})
        c.setdefault(key, [0, 0])
        c[key][0] += bool(hit)
        c[key][1] += 1

    for t in truth:
        r = reports[t["image"]]
        values = {k: {c["value"] for c in r["clues"] if c["kind"] == k} for k in kinds}
        for phone in t["phones"]:
            bump(t["country"], "phone", phone in values["phone"])
        for code in t["barcodes"]:
            bump(t["country"], "barcode", code in values["barcode"])
        for url in t["urls"]:
            bump(t["country"], "url", url.lower() in values["url"])
        for amount in t["prices"]:
            bump(t["country"], "price", any(v.split(" ")[0] == amount for v in values["price"]))
        for brand in t.get("brands", []):
            bump(t["country"], "logo", brand in values["logo"])
        langs = [l["code"] for l in r["languages"]]
        regions = [g["code"] for g in r["regions"]]
        bump(t["country"], "language", langs[:1] == [t["language"]])
        bump(t["country"], "country1", regions[:1] == [t["country"]])
        bump(t["country"], "country3", t["country"] in regions[:3])
        bump(t["country"], "baseline1", bool(langs) and HOME.get(langs[0]) == t["country"])

    cols = ["phone", "barcode", "url", "price", "logo", "language", "country1", "country3", "baseline1"]
    names = {"country1": "country top-1", "country3": "country top-3", "baseline1": "baseline: language's home country"}
    print(f"- command: `python3 bench/clues/clue_bench.py --cli {args.cli} --config {args.config} {args.scenes}`")
    print(f"- {len(truth)} scenes, {seconds / len(truth):.2f} s per image (wall, all cores)")
    print()
    print("| country | " + " | ".join(names.get(c, c) for c in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    overall = {c: [0, 0] for c in cols}
    for country in sorted(totals):
        cells = []
        for c in cols:
            hit, n = totals[country].get(c, [0, 0])
            overall[c][0] += hit
            overall[c][1] += n
            cells.append(f"{hit}/{n}" if n else "–")
        print(f"| {country} | " + " | ".join(cells) + " |")
    print("| **all** | " + " | ".join(f"**{h / n:.3f}**" if n else "–" for h, n in overall.values()) + " |")
    print()
    # Logo precision: every brand reported on a scene that the truth does not name there is false (the scenes
    # print regional brands' names among ordinary words, product text and web addresses).
    reported = right = 0
    false_marks = []
    for t in truth:
        named = set(t.get("brands", []))
        for c in reports[t["image"]]["clues"]:
            if c["kind"] != "logo":
                continue
            reported += 1
            if c["value"] in named:
                right += 1
            else:
                false_marks.append(f"{c['value']} ({c.get('details', {}).get('method', '?')}) on {t['image']}")
    print(f"Logo clues: {reported} reported, {right} right, precision {right / reported if reported else 1:.3f}"
          + (": false " + "; ".join(false_marks) if false_marks else "") + ".")
    print()
    stages = ["barcode", "metadata", "language", "clues", "region", "total"]
    medians = []
    for stage in stages:
        ms = sorted(r.get("timings_ms", {}).get(stage, 0.0) for r in reports.values())
        medians.append(f"{stage} {ms[len(ms) // 2]:.1f}")
    print("Median ms per image: " + ", ".join(medians) + ".")


if __name__ == "__main__":
    main()
