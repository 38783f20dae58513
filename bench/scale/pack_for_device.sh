#!/usr/bin/env bash
# Packs a folder made by bench/scale/make_portable.sh, and the images to measure on, into parts small enough
# for a lent machine's calls (64 MiB may travel per call, the working tree included), and writes the script
# the last call runs there. How a session used it: bench/README.md, "a machine with more cores".
#
#   bench/scale/pack_for_device.sh PORTABLE_DIR PARTS_DIR IMAGE_FOLDER [THREADS] [SECONDS]
#
# PARTS_DIR (inside the repository, in a folder .git/info/exclude ignores, e.g. .dev) receives
#   p1.tar.xz  lib/                                   (the shared libraries; ~58 MB)
#   p2.tar.xz  tessdata/, aspell/, bin/ and the rest  (~41 MB)
#   p3.tar.xz  models/                                (~41 MB)
#   p4.tar     the images, as they are (JPEG and PNG do not compress further)
#   run.sh     run from the repository's root there: unpacks p4, `portable.sh prepare`, then
#              thread_scaling.py at THREADS (default 1,2,4,8,16), two rounds, stopped after SECONDS (default 430)
#              with whole rounds kept; its table and log go to $OUT
# Each of p1–p3 is unpacked by a call of its own, carrying it:
#   mkdir -p /tmp/ct && tar -C /tmp/ct -xJf PARTS_DIR/pN.tar.xz
# the last call carries p4.tar and run.sh and runs `bash PARTS_DIR/run.sh`. Files outside the repository stay on
# the machine only while it is warm (30 s after a call): make the calls one after the other.
set -euo pipefail

usage() { echo "usage: bench/scale/pack_for_device.sh PORTABLE_DIR PARTS_DIR IMAGE_FOLDER [THREADS] [SECONDS]" >&2; exit 2; }
[[ $# -ge 3 && $# -le 5 ]] || usage
portable=$(realpath "$1")
parts=$(realpath -m "$2")
images=$(realpath "$3")
threads=${4:-1,2,4,8,16}
seconds=${5:-430}
[[ -x $portable/portable.sh && -d $portable/lib ]] || { echo "pack_for_device: $portable is not a folder make_portable.sh made" >&2; exit 1; }
[[ -d $images ]] || { echo "pack_for_device: $images: no such folder" >&2; exit 1; }
[[ $threads =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "pack_for_device: THREADS: comma-separated counts, got '$threads'" >&2; exit 2; }
[[ $seconds =~ ^[0-9]+$ ]] || { echo "pack_for_device: SECONDS: a whole number, got '$seconds'" >&2; exit 2; }
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
case $parts/ in
  "$repo"/*) ;;
  *) echo "pack_for_device: $parts must be inside the repository ($repo): only the repository travels" >&2; exit 1 ;;
esac
made=$([[ -d $parts ]] || echo yes)
mkdir -p "$parts"  # a pattern for folders ("/.dev/") matches only a folder that is there
if ! git -C "$repo" check-ignore -q "$parts"; then
  [[ -n $made ]] && rmdir "$parts"
  echo "pack_for_device: git does not ignore $parts: every call would carry it (add it to .git/info/exclude)" >&2
  exit 1
fi
relative=${parts#"$repo"/}

# The limit per call is 64 MiB with the working tree; what the tree takes is left for it.
tree_bytes=$(git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1))
limit=$((64 * 1024 * 1024 - tree_bytes - 512 * 1024))

rm -f "$parts"/p[1-4].tar* "$parts/run.sh"
base=$(dirname "$portable")
name=$(basename "$portable")
pack() {  # pack PART PATHS...: an xz part of the portable folder's PATHS, refused when it would not travel
  local part=$1
  shift
  tar -C "$base" -cf - "${@/#/$name/}" | xz -T0 -6 >"$parts/$part.tar.xz"
  local size
  size=$(stat -c %s "$parts/$part.tar.xz")
  ((size <= limit)) || { echo "pack_for_device: $part is $size bytes, over the $limit a call can carry beside the tree" >&2; exit 1; }
  echo "$parts/$part.tar.xz: $size bytes"
}
pack p1 lib
rest=()
for entry in "$portable"/*; do
  case $(basename "$entry") in lib|models) ;; *) rest+=("$(basename "$entry")") ;; esac
done
pack p2 "${rest[@]}"
pack p3 models
tar -C "$(dirname "$images")" -cf "$parts/p4.tar" "$(basename "$images")"
size=$(stat -c %s "$parts/p4.tar")
((size <= limit)) || { echo "pack_for_device: the images are $size bytes, over the $limit a call can carry; give fewer" >&2; exit 1; }
echo "$parts/p4.tar: $size bytes"

cat >"$parts/run.sh" <<EOF
#!/usr/bin/env bash
# Written by bench/scale/pack_for_device.sh: run from the repository's root on the lent machine, after
# p1–p3 were unpacked into /tmp/ct by calls of their own.
set -uo pipefail
repo=\$(pwd)
out=\${OUT:-/tmp/ct/out}
mkdir -p "\$out"
tar -C /tmp/ct -xf "\$repo/$relative/p4.tar" || exit 1
cd /tmp/ct/$name || { echo "run.sh: /tmp/ct/$name is missing: unpack p1-p3 first" >&2; exit 1; }
{ nproc; lscpu; free -g; uname -a; } >"\$out/machine.txt" 2>&1
SECONDS=0
./portable.sh prepare >"\$out/prepare.log" 2>&1 || { tail -20 "\$out/prepare.log"; exit 1; }
echo "prepare: \$SECONDS s"
PYTHONUNBUFFERED=1 timeout $seconds ./portable.sh exec python3 "\$repo/bench/scale/thread_scaling.py" \\
  --cli bin/cluetrace --config config/portable.yaml --gnu-time bin/time --tesseract bin/tesseract \\
  --threads $threads --rounds 2 --markdown /tmp/ct/$(basename "$images") >"\$out/scaling.md" 2>"\$out/scaling.err"
echo "thread_scaling.py: exit \$? after \$SECONDS s"
cat "\$out/scaling.err" "\$out/scaling.md"
EOF
chmod +x "$parts/run.sh"
echo "$parts/run.sh: the last call runs \`bash $relative/run.sh\`, carrying $relative/p4.tar and $relative/run.sh"
