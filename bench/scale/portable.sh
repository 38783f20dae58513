#!/usr/bin/env bash
# The entry point of a folder bench/scale/make_portable.sh packed: sets the paths a machine without Debian's
# packages needs and runs a command with them.
#
#   ./portable.sh prepare            compile aspell's word lists, prepare Tesseract's Latin model, write
#                                    config/portable.yaml (the default config reading aspell's lists from here)
#   ./portable.sh exec CMD ARGS...   run CMD with bin/ first on PATH and this folder's libraries and models
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PATH="$here/bin:$PATH"
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export TESSDATA_PREFIX="$here/tessdata"
export CLUETRACE_MODELS_DIR="$here/models"
export CLUETRACE_DATA_DIR="$here/data"
export CLUETRACE_HAAR_DIR="$here/haar"

case ${1:-} in
  prepare)
    # As Debian's aspell-autobuildhash does (its options too): each list decompressed and compiled for its
    # dictionary's language; the result is the same bytes as the .rws files Debian's packages build.
    while read -r lang list; do
      [[ -f $here/aspell/$list.rws ]] && continue
      gzip -dc "$here/aspell/cwl/$list.cwl.gz" | prezip-bin -d "portable.sh: $list: " |
        aspell --per-conf=/dev/null --dont-validate-affixes --data-dir="$here/aspell" --local-data-dir="$here/aspell" --lang="$lang" create master "$here/aspell/$list.rws"
    done < "$here/aspell/cwl/lists.txt"
    cluetrace tessdata prepare Latin
    sed "s|^\( *aspell_dir:\) *\"\"|\1 \"$here/aspell\"|" "$here/config/default.yaml" > "$here/config/portable.yaml"
    grep -q "aspell_dir: \"$here/aspell\"" "$here/config/portable.yaml" ||
      { echo "portable.sh: config/default.yaml has no 'aspell_dir: \"\"' line to point at $here/aspell" >&2; exit 1; }
    cluetrace config check "$here/config/portable.yaml"
    ;;
  exec)
    shift
    exec "$@"
    ;;
  *)
    echo "usage: portable.sh prepare | portable.sh exec CMD ARGS..." >&2
    exit 2
    ;;
esac
