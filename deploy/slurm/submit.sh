#!/usr/bin/env bash
# deploy/slurm/submit.sh N CASE_DIR [--config FILE] INPUT...
# Submits the N-task array over the INPUTs and the merge that runs when every task has succeeded; prints both
# job ids. Extra sbatch options go in SBATCH_OPTIONS (for example "--partition=cpu --account=vid").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
n="$1"
case_dir="$2"
shift 2
config=()
if [[ "${1:-}" == "--config" ]]; then config=(--config "$2"); shift 2; fi
mkdir -p "$case_dir/logs"
# shellcheck disable=SC2086
array=$(sbatch --parsable ${SBATCH_OPTIONS:-} --array=0-$((n - 1)) --output="$case_dir/logs/shard-%a.log" \
  "$here/cluetrace-array.sbatch" "$case_dir" "${config[@]}" "$@")
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${SBATCH_OPTIONS:-} --dependency=afterok:"${array%%;*}" --output="$case_dir/logs/merge.log" \
  "$here/cluetrace-merge.sbatch" "$case_dir" "${config[@]}")
echo "array job $array, merge job $merge; the case will be in $case_dir/case"
