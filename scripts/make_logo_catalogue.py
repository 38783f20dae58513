#!/usr/bin/env python3
"""Writes a cluetrace logo catalogue from the simple-icons npm package (CC0) and our country facts.

  make_logo_catalogue.py --package simple-icons-X.tgz --brands data/logos/brands.yaml --out models/logos
  make_logo_catalogue.py --package ... --out DIR --all [--limit N] [--include-brands data/logos/brands.yaml]

The default catalogue holds the brands listed in data/logos/brands.yaml (categories, countries and a
source note per brand are ours; names, colours and SVG marks come from simple-icons). --all makes a
catalogue of every simple-icons mark (or the first N after the listed ones), for the benchmark of
matching time against catalogue size. Brand ids are simple-icons slugs.
"""
import argparse
import json
import os
import tarfile
import tempfile

import yaml


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--package", required=True)
    ap.add_argument("--brands", help="our country facts (data/logos/brands.yaml)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--all", action="store_true", help="every simple-icons mark (brands.yaml facts where known)")
    ap.add_argument("--limit", type=int, default=0, help="with --all: at most this many brands")
    ap.add_argument("--name", default="default")
    args = ap.parse_args()

    with tarfile.open(args.package, "r:gz") as tar:
        icons = json.load(tar.extractfile("package/data/simple-icons.json"))
        by_slug = {i["slug"]: i for i in icons}
        facts = []
        if args.brands:
            with open(args.brands, encoding="utf-8") as f:
                facts = yaml.safe_load(f)["brands"]
        known = {b["slug"]: b for b in facts}
        for b in facts:
            if b["slug"] not in by_slug:
                raise SystemExit(f"{args.brands}: slug {b['slug']!r} is not in {args.package}")
        slugs = [b["slug"] for b in facts]
        if args.all:
            slugs += sorted(s for s in by_slug if s not in known)
            if args.limit:
                slugs = slugs[: args.limit]
        os.makedirs(os.path.join(args.out, "refs"), exist_ok=True)
        brands = []
        for slug in slugs:
            icon = by_slug[slug]
            svg = tar.extractfile(f"package/icons/{slug}.svg").read()
            ref = f"refs/{slug}.svg"
            path = os.path.join(args.out, ref)
            if not os.path.exists(path) or open(path, "rb").read() != svg:
                with open(path, "wb") as f:
                    f.write(svg)
            fact = known.get(slug, {})
            entry = {"id": slug, "name": icon["title"], "category": fact.get("category", "other"),
                     "colours": ["#" + icon["hex"].upper()]}
            if fact.get("global") or not fact.get("countries"):
                entry["global"] = True
            else:
                entry["countries"] = {k: float(v) for k, v in fact["countries"].items()}
            if fact.get("wordmark") is False:
                entry["wordmark"] = False
            aka = (icon.get("aliases") or {}).get("aka") or []
            if aka:
                entry["aliases"] = aka
            src = fact.get("source") or "no country facts: listed only as a mark (simple-icons)"
            entry["source"] = f"{src}; mark and colour: simple-icons ({icon.get('source', '')})"
            entry["references"] = [ref]
            brands.append(entry)

    header = ("# Logo catalogue built by scripts/make_logo_catalogue.py from the npm package simple-icons (CC0:\n"
              "# names, colours, SVG marks) and data/logos/brands.yaml (categories, countries, sources).\n"
              "# Generated at set-up: edit data/logos/brands.yaml, or add brands with `cluetrace catalogue add`.\n")
    fd, tmp = tempfile.mkstemp(dir=args.out, prefix=".catalogue.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(header)
        yaml.safe_dump({"version": 1, "name": args.name, "brands": brands}, f, allow_unicode=True, sort_keys=False,
                       width=120)
    os.replace(tmp, os.path.join(args.out, "catalogue.yaml"))
    print(f"{args.out}/catalogue.yaml: {len(brands)} brands")


if __name__ == "__main__":
    main()
