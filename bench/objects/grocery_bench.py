#!/usr/bin/env python3
"""Query by example on real photos: GroceryStore packages (../shared/data/grocerystore-packages).

    build/cluetrace run --config CONFIG --out /tmp/grocery-out ../shared/data/grocerystore-packages/dataset/test/Packages
    python3 bench/objects/grocery_bench.py --cli build/cluetrace --case /tmp/grocery-out \
        --data ../shared/data/grocerystore-packages/dataset

Each product's clean "iconic" picture is uploaded as the crop (`find-object --crop`), as an analyst would
upload a picture of a product; the answer should be the photos of that product (in shelves, in hands, at
angles; the folder names the product) and nothing else. Reported: recall over all photos of the queried
products, precision of the answers (same product, or the same brand's other products, counted apart), queries
with another product in their top 10, and the time of the whole command.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def product_of(path):
    return Path(path).parent.name


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--case", required=True)
    ap.add_argument("--data", required=True, help="the dataset folder (test/ and iconic-images-and-descriptions/)")
    args = ap.parse_args()
    data = Path(args.data)
    photos = {}
    for p in (data / "test" / "Packages").rglob("*.jpg"):
        photos.setdefault(product_of(p), []).append(p)
    iconic = sorted((data / "iconic-images-and-descriptions" / "Packages").rglob("*_Iconic.jpg"))
    found = expected = answers = right = same_brand = wrong_top10 = 0
    times = []
    per_query = []
    for icon in iconic:
        product = product_of(icon)
        if product not in photos:
            continue
        start = time.monotonic()
        p = subprocess.run([args.cli, "find-object", args.case, "--crop", str(icon), "--json"], capture_output=True, text=True)
        times.append(time.monotonic() - start)
        if p.returncode != 0:
            sys.exit(f"find-object failed on {icon}: {p.stderr}")
        got = [product_of(r["path"]) for r in json.loads(p.stdout)["results"]]
        hits = sum(1 for g in got if g == product)
        brand = product.split("-")[0]
        found += hits
        expected += len(photos[product])
        answers += len(got)
        right += hits
        same_brand += sum(1 for g in got if g != product and g.split("-")[0] == brand)
        wrong_top10 += 1 if any(g != product for g in got[:10]) else 0
        per_query.append((product, hits, len(photos[product]), len(got)))
    print(f"queries {len(per_query)} (iconic pictures), photos {sum(len(v) for v in photos.values())}")
    print(f"recall {found}/{expected} = {found / max(1, expected):.3f}")
    print(f"answers {answers}: same product {right} ({right / max(1, answers):.3f}), same brand other product {same_brand}, "
          f"other {answers - right - same_brand}")
    print(f"queries with another product in their top 10: {wrong_top10}")
    print(f"query time (whole command) median {statistics.median(times) * 1000:.0f} ms")
    for product, hits, n, got in per_query:
        print(f"  {product}: {hits}/{n} found, {got} answers")


if __name__ == "__main__":
    main()
