#!/usr/bin/env python3
"""Language identification on real short text: `cluetrace langid` against CLD2 and exttextcat restricted to the
same languages, on the same lines of ../shared/data/lingua-testdata (single words, word pairs, sentences), with
the published accuracy of CLD2, CLD3 and Lingua (high accuracy) beside it. Also each half of the data
(even / odd lines) on its own, to show the figures do not hang on one half.

  python3 bench/language/langid_bench.py --cli build/cluetrace --baselines build/bench/langid_baselines [--markdown]
"""
import argparse
import csv
import pathlib
import subprocess
import time

LANGS = "de fr nl es it pt pl cs sv da en".split()
NAMES = {"de": "German", "fr": "French", "nl": "Dutch", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
         "pl": "Polish", "cs": "Czech", "sv": "Swedish", "da": "Danish", "en": "English"}


def run(cmd, lines):
    start = time.perf_counter()
    out = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True, check=True).stdout
    return out.splitlines(), time.perf_counter() - start


def published(data, kind):
    table = {}
    with open(data / "published-accuracy-reports" / f"{kind}-accuracy-values.csv", newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            table[row.get("Language", row.get("language"))] = row
    means = {}
    for system in ("cld2", "cld3", "lingua-high-accuracy"):
        values = [float(table[NAMES[l]][system]) for l in LANGS]
        means[system] = sum(values) / len(values) / 100
    return means


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="build/cluetrace")
    ap.add_argument("--baselines", default="build/bench/langid_baselines")
    ap.add_argument("--data", default=str(pathlib.Path(__file__).resolve().parents[3] / "shared/data/lingua-testdata"))
    ap.add_argument("--kinds", default="single-words,word-pairs,sentences")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    data = pathlib.Path(args.data)
    print(f"- command: `python3 bench/language/langid_bench.py --cli {args.cli} --baselines {args.baselines}`")
    print(f"- data: {data} ({', '.join(LANGS)}; 500 lines per language and kind)")
    print()
    print("| kind | lines | cluetrace langid | CLD2 (same run) | exttextcat (same run) | even half / odd half (cluetrace) | "
          "published CLD2 | published CLD3 | published Lingua high | cluetrace lines/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    per_language = {}
    for kind in args.kinds.split(","):
        lines, gold, index = [], [], []
        for lang in LANGS:
            ls = (data / kind / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
            lines += ls
            gold += [lang] * len(ls)
            index += list(range(len(ls)))
        ours, seconds = run([args.cli, "langid", "--languages", ",".join(LANGS)], lines)
        base, _ = run([args.baselines, "--languages", ",".join(LANGS)], lines)
        ours = [o.split("\t")[0] for o in ours]
        cld2 = [b.split("\t")[0] for b in base]
        ttc = [b.split("\t")[1] for b in base]

        def acc(pred, keep=lambda i: True):
            sel = [i for i in range(len(gold)) if keep(i)]
            return sum(pred[i] == gold[i] for i in sel) / len(sel)

        even = acc(ours, lambda i: index[i] % 2 == 0)
        odd = acc(ours, lambda i: index[i] % 2 == 1)
        pub = published(data, kind)
        print(f"| {kind} | {len(lines)} | **{acc(ours):.3f}** | {acc(cld2):.3f} | {acc(ttc):.3f} | {even:.3f} / {odd:.3f} | "
              f"{pub['cld2']:.3f} | {pub['cld3']:.3f} | {pub['lingua-high-accuracy']:.3f} | {len(lines) / seconds:.0f} |")
        per_language[kind] = {l: (acc(ours, lambda i, l=l: gold[i] == l), acc(cld2, lambda i, l=l: gold[i] == l),
                                  acc(ttc, lambda i, l=l: gold[i] == l)) for l in LANGS}
    print()
    print("Per language (cluetrace / CLD2 / exttextcat):")
    print()
    print("| kind | " + " | ".join(LANGS) + " |")
    print("|---|" + "---:|" * len(LANGS))
    for kind, table in per_language.items():
        print(f"| {kind} | " + " | ".join(f"{a:.2f}/{b:.2f}/{c:.2f}" for a, b, c in (table[l] for l in LANGS)) + " |")


if __name__ == "__main__":
    main()
