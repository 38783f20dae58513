#!/usr/bin/env bash
# ./run.sh            set up (packages, build) and run the pipeline on the bundled samples in data/samples
# ./run.sh ARGS...    the same set-up, then: build/cluetrace run ARGS...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/setup.sh cluetrace
if [[ $# -gt 0 ]]; then
  exec build/cluetrace run "$@"
fi
out=out/samples
build/cluetrace run --config config/default.yaml --out "$out" --overwrite data/samples
echo "Reports: $out/reports.jsonl  (run record: $out/run.json)"
echo "Review:  $out/index.html  (open in a browser; one page per image in $out/pages/)"
echo "Case:    $out/clues.sqlite (build/cluetrace search $out WORD), $out/summary.csv, $out/vics.json, $out/links.json"
