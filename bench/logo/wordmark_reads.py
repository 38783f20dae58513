#!/usr/bin/env python3
"""Lists the wordmark clues of a run with the OCR confidence they were read at, and whether the brand's
name is in the image's ground truth: the evidence for `wordmark_min_confidence`.

Run cluetrace with `wordmark_min_confidence: 0.0` first, then:
  wordmark_reads.py OUT_DIR [--truth TRUTH.jsonl]
TRUTH.jsonl: ICDAR-style lines {"image": NAME, "texts": [{"text": ...}]}; without it, the image's path
(e.g. a grocery package folder named after the product) is the truth.
"""
import argparse
import json
import os
import re


def squash(text):
    return re.sub(r"[^a-z0-9]", "", text.lower())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--truth")
    args = ap.parse_args()
    truth = {}
    if args.truth:
        for line in open(args.truth, encoding="utf-8"):
            t = json.loads(line)
            truth[t["image"]] = " ".join(w["text"] for w in t.get("texts", []))
    rows = []
    for line in open(os.path.join(args.out, "reports.jsonl"), encoding="utf-8"):
        r = json.loads(line)
        path = r["image"]["path"]
        said = truth.get(os.path.basename(path), "") if args.truth else path
        for c in r["clues"]:
            if c["kind"] != "logo" or c["details"].get("method") != "wordmark":
                continue
            ocr = c["confidence"] / 0.8  # a wordmark-only clue carries 0.8 x the OCR confidence
            rows.append((ocr, c["value"], c["details"].get("text", ""), squash(c["details"]["name"]) in squash(said),
                         os.path.basename(path)))
    rows.sort()
    print("ocr_confidence\tbrand\tread\tname_in_truth\timage")
    for ocr, brand, text, ok, image in rows:
        print(f"{ocr:.3f}\t{brand}\t{text}\t{ok}\t{image}")
    for lo, hi in ((0.0, 0.4), (0.4, 0.6), (0.6, 1.01)):
        band = [r for r in rows if lo <= r[0] < hi]
        print(f"# OCR confidence {lo:.1f}-{min(hi, 1.0):.1f}: {len(band)} wordmark clues, name in truth for "
              f"{sum(r[3] for r in band)}")


if __name__ == "__main__":
    main()
