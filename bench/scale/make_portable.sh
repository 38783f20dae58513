#!/usr/bin/env bash
# Packs a built cluetrace into one folder that runs on another x86-64 Linux machine which has none of its
# Debian packages, only a glibc of 2.36 or later: for measuring thread scaling on a machine with more cores
# than this one (bench/scale/thread_scaling.py, bench/README.md). Not an installation method: the folder runs
# the default config and the Tesseract baseline, nothing else is promised.
#
#   bench/scale/make_portable.sh BUILD_DIR OUT_DIR
#
# OUT_DIR (made afresh; about 370 MB, 206 MB of it shared libraries, most of those what OpenCV's codecs load) holds
#   bin/       cluetrace, tesseract (the baseline), GNU time (peak RSS), aspell and prezip-bin (to compile word lists)
#   lib/       every shared library those four load, and OpenCV's codecs library that cluetrace opens itself,
#              but glibc's own (the target's are used)
#   models/    this installation's models, less those the default config does not load
#   tessdata/  the traineddata files the default config reads, and eng for the baseline
#   aspell/    aspell's language data and compressed word lists (.cwl.gz, 4.4 MB); portable.sh compiles them where
#              it runs: compiled (.rws) they are 117 MB, 39 MB even compressed
#   haar/      the cascades the case outputs' person guard loads
#   data/, config/, bench/, portable.sh
# and is started with `portable.sh` (bench/scale/portable.sh), which sets the paths and environment. Pack it
# as the way it travels needs (tar, compressed, in parts).
set -euo pipefail

usage() { echo "usage: bench/scale/make_portable.sh BUILD_DIR OUT_DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "$1")
out=$(realpath -m "$2")
[[ -x $build/cluetrace ]] || { echo "make_portable: no cluetrace in $build (build it first)" >&2; exit 1; }

p=$out
# Made afresh, but never over a folder that is not one of these (a mistyped OUT_DIR must not cost anything).
if [[ -e $p && ! -f $p/portable.sh && -n $(ls -A "$p" 2>/dev/null) ]]; then
  echo "make_portable: $p exists and is not a folder this script made; give a new or empty one" >&2
  exit 1
fi
rm -rf "$p"
mkdir -p "$p"/{bin,lib,tessdata,aspell,haar}

programs=("$build/cluetrace" /usr/bin/tesseract /usr/bin/time /usr/bin/aspell /usr/bin/prezip-bin)
cp "${programs[@]}" "$p/bin/"

# Shared libraries: what the dynamic linker resolves for each program, plus OpenCV's codecs (dlopen'ed by
# pipeline/image_codecs.cpp) and what it needs. glibc's own libraries stay behind: they must match the
# target's dynamic linker.
glibc='^(linux-vdso|ld-linux-x86-64|libc|libm|libpthread|libdl|librt|libresolv|libutil|libanl|libnsl|libmvec)\.so'
known=$(ldconfig -p)
codecs=$(awk '/libopencv_imgcodecs\.so\.[0-9]/ {print $NF; exit}' <<<"$known")
[[ -n $codecs ]] || { echo "make_portable: libopencv_imgcodecs not found by ldconfig" >&2; exit 1; }
aspell_lib=$(awk '/libaspell\.so\.15 / {print $NF; exit}' <<<"$known")
for object in "${programs[@]}" "$codecs" "$aspell_lib"; do
  ldd "$object" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'
  echo "$object"
done | sort -u | while read -r lib; do
  name=$(basename "$lib")
  [[ $name =~ $glibc ]] && continue
  [[ $lib == "${programs[0]}" || $lib == /usr/bin/* ]] && continue
  cp -L "$lib" "$p/lib/$name"
done
# Opened at run time rather than linked: oneTBB's scalable allocator. (OpenCV's dnn also probes for
# libOpenCL.so.1; it stays behind, so the target runs without OpenCL as this machine does, having no OpenCL device.)
tbbmalloc=$(awk '/libtbbmalloc\.so\.2 / {print $NF; exit}' <<<"$known")
[[ -n $tbbmalloc ]] && cp -L "$tbbmalloc" "$p/lib/libtbbmalloc.so.2"

# Models: everything but the recogniser widths the default config does not load and the npm downloads.
widths=$(sed -n 's/^ *ppocr_widths: *\[\([0-9, ]*\)\].*/\1/p' "$root/config/default.yaml" | tr -d ' ')
mkdir -p "$p/models"
for entry in "$root"/models/*; do
  case $(basename "$entry") in
    downloads|tessdata) ;;
    ppocr-rec)
      mkdir -p "$p/models/ppocr-rec"
      cp "$entry/keys.txt" "$p/models/ppocr-rec/"
      [[ -f $entry/.stamp ]] && cp "$entry/.stamp" "$p/models/ppocr-rec/"
      for w in ${widths//,/ }; do cp "$entry/rec-$w.onnx" "$p/models/ppocr-rec/"; done ;;
    *) cp -r "$entry" "$p/models/" ;;
  esac
done

# Tesseract: the default config's languages and re-read set, eng for the baseline. The Latin model is
# prepared again where the folder runs (its archive records the source's path and time).
tessdata=${TESSDATA_PREFIX:-/usr/share/tesseract-ocr/5/tessdata}
for lang in eng deu fra; do cp "$tessdata/$lang.traineddata" "$p/tessdata/"; done
cp -p "$tessdata/Latin.traineddata" "$p/tessdata/"

# aspell: the language data (.dat, .multi, .alias, .cmap, .cset ...), the compressed word lists and which
# dictionary each belongs to (/var/lib/aspell/LANG.compat, /usr/share/aspell/LANG.contents), as Debian's
# aspell-autobuildhash reads them.
for f in /usr/lib/aspell/*; do
  if [[ -f $f && $f != *.rws ]]; then cp -L "$f" "$p/aspell/"; fi
done
mkdir -p "$p/aspell/cwl"
cp /usr/share/aspell/*.cwl.gz "$p/aspell/cwl/"
for compat in /var/lib/aspell/*.compat; do
  lang=$(basename "$compat" .compat)
  if [[ -f /usr/share/aspell/$lang.contents ]]; then
    grep -v '^[[:space:]]*\(#\|$\)' "/usr/share/aspell/$lang.contents" | sed "s/^/$lang /"
  else
    echo "$lang $lang"
  fi
done > "$p/aspell/cwl/lists.txt"
cp /usr/share/opencv4/haarcascades/haarcascade_{frontalface_default,frontalface_alt2,profileface}.xml "$p/haar/"

cp -r "$root/data" "$root/config" "$p/"
mkdir -p "$p/bench/scale"
cp "$root/bench/pipeline_bench.py" "$p/bench/"
cp "$root/bench/scale/thread_scaling.py" "$p/bench/scale/"
cp "$root/bench/scale/portable.sh" "$p/"

echo "make_portable: $p ($(du -sh "$p" | cut -f1))"
