#!/usr/bin/env bash
# Regenerates the sample images in data/samples/ and their ground truth, data/samples/truth.jsonl.
#
#   scripts/make-samples.sh [OUT_DIR]        (default: data/samples, relative to the repository root)
#
# Needs ImageMagick (Debian: imagemagick; `magick` or `convert`) and the fonts of fonts-dejavu-core,
# fonts-liberation2 and fonts-freefont-ttf. Deterministic: every random texture has a fixed -seed,
# ImageMagick runs single-threaded (MAGICK_THREAD_LIMIT=1, so noise does not depend on thread scheduling)
# and all metadata (timestamps included) is stripped, so the same ImageMagick version and fonts give
# byte-identical files. Every name, phone number, web address and barcode on them is fictitious:
# phone numbers come from blocks set aside for films and books (Germany, Bundesnetzagentur "drama
# numbers": 030 23125 000-999 and 0152 28817386; France: 01 99 00 xx xx, the ARCEP fiction block), web
# addresses are example.* names (example.de/.fr/.nl carry the country signal a region stage needs; only
# example.com/.net/.org are reserved by RFC 2606, the country-code ones merely look like placeholders),
# all names are made up, and the EAN-13 barcodes use the 200-299 prefix (restricted circulation, never a
# real product).
#
# truth.jsonl: one line per image, {"image", "texts": words drawn (split on spaces), "lines": the lines
# as drawn, "languages", "barcodes"}. It is written from the same strings that are drawn, so the two
# cannot drift apart.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/data/samples}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

die() { echo "make-samples: $*" >&2; exit 1; }

# ImageMagick 7 is `magick`, 6 is `convert` (the same arguments work for both here).
if command -v magick >/dev/null 2>&1; then IM=(magick)
elif command -v convert >/dev/null 2>&1 && convert -version 2>/dev/null | grep -q ImageMagick; then IM=(convert)
else die "ImageMagick not found (Debian: apt-get install imagemagick)"; fi
export MAGICK_THREAD_LIMIT=1

DEJAVU=/usr/share/fonts/truetype/dejavu
LIBER=/usr/share/fonts/truetype/liberation2
FREE=/usr/share/fonts/truetype/freefont
for f in "$DEJAVU/DejaVuSans-Bold.ttf:fonts-dejavu-core" "$LIBER/LiberationSerif-Bold.ttf:fonts-liberation2" \
         "$FREE/FreeSans.ttf:fonts-freefont-ttf"; do
  [[ -f ${f%%:*} ]] || die "font ${f%%:*} missing (Debian: apt-get install ${f##*:})"
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
TRUTH=$TMP/truth.jsonl
: >"$TRUTH"

# ---------------------------------------------------------------------------------------------------
# Ground truth bookkeeping: before drawing an image, LINES holds its lines in reading order; `t N` prints
# line N escaped for -annotate (ImageMagick expands % escapes and a leading @ in annotate text); `finish`
# writes the truth line from LINES, so what is drawn and what is recorded come from the same strings.
LINES=()
BARCODES=()
t() {
  local s=${LINES[$1]}
  s=${s//%/%%}
  [[ $s == @* ]] && s="\\$s"
  printf '%s' "$s"
}
json_list() {  # json_list ITEM... -> ["a", "b"]
  local out="" sep="" s
  for s in "$@"; do out+="$sep\"$s\""; sep=", "; done
  printf '[%s]' "$out"
}
finish() {  # finish IMAGE_NAME LANGUAGE...: append the truth line for the image just drawn, reset
  local name=$1; shift
  local words=() l w
  for l in "${LINES[@]}"; do [[ $l != *'"'* && $l != *'\\'* ]] || die "quote or backslash in drawn text: $l"; done
  local ws
  for l in "${LINES[@]}"; do read -ra ws <<<"$l"; words+=("${ws[@]}"); done
  printf '{"image": "%s", "texts": %s, "lines": %s, "languages": %s, "barcodes": %s}\n' \
    "$name" "$(json_list "${words[@]}")" "$(json_list "${LINES[@]}")" "$(json_list "$@")" \
    "$(json_list "${BARCODES[@]+"${BARCODES[@]}"}")" >>"$TRUTH"
  LINES=(); BARCODES=()
  local bytes; bytes=$(stat -c %s "$OUT/$name")
  printf 'make-samples: %-28s %7d bytes\n' "$name" "$bytes"
}

# EAN-13: `ean13 DIGITS12` prints the 13 digits with the check digit; `ean13_mvg CODE X Y MODULE HEIGHT`
# prints ImageMagick draw primitives (black rectangles) for the 95 modules of the symbol.
ean13() {
  local d=$1 sum=0 i
  for ((i = 0; i < 12; i++)); do sum=$((sum + ${d:i:1} * (i % 2 ? 3 : 1))); done
  printf '%s%d' "$d" $(((10 - sum % 10) % 10))
}
ean13_mvg() {
  local code=$1 x0=$2 y0=$3 m=$4 h=$5
  local L=(0001101 0011001 0010011 0111101 0100011 0110001 0101111 0111011 0110111 0001011)
  local G=(0100111 0110011 0011011 0100001 0011101 0111001 0000101 0010001 0001001 0010111)
  local R=(1110010 1100110 1101100 1000010 1011100 1001110 1010000 1000100 1001000 1110100)
  local P=(LLLLLL LLGLGG LLGGLG LLGGGL LGLLGG LGGLLG LGGGLL LGLGLG LGLGGL LGGLGL)
  local bits=101 par=${P[${code:0:1}]} i dig
  for ((i = 1; i <= 6; i++)); do
    dig=${code:i:1}
    if [[ ${par:i-1:1} == L ]]; then bits+=${L[dig]}; else bits+=${G[dig]}; fi
  done
  bits+=01010
  for ((i = 7; i <= 12; i++)); do bits+=${R[${code:i:1}]}; done
  bits+=101
  local out="fill black " x
  for ((i = 0; i < ${#bits}; i++)); do
    [[ ${bits:i:1} == 1 ]] || continue
    x=$((x0 + i * m))
    # guard bars (start, centre, end) run a little longer, as printed
    local hh=$h
    if ((i < 3 || (i >= 45 && i < 50) || i >= 92)); then hh=$((h + 5 * m)); fi
    out+="rectangle $x,$y0 $((x + m - 1)),$((y0 + hh - 1)) "
  done
  printf '%s' "$out"
}

# ---------------------------------------------------------------------------------------------------
# 1. Bakery sign on a rough plaster wall, phone number and opening hours on a plaque below (German).
name=shop-sign-baeckerei.jpg
LINES=(
  'BÄCKEREI MÜLLER'
  'Meisterbetrieb seit 1987'
  'Tel. 030 23125 678'
  'Mo-Sa 6:30-18:00 Uhr'
)
"${IM[@]}" -size 1024x704 xc:gray50 -seed 11 +noise Random -channel G -separate +channel -blur 0x2.5 \
  -shade 120x40 -auto-level +level 38%,72% -fill '#c8b48e' -tint 100 \
  \( -size 900x170 xc:'#1f4a38' -fill none -stroke '#d9c27a' -strokewidth 5 -draw 'rectangle 10,10 889,159' \
     -stroke none -fill '#efe2b8' -font "$LIBER/LiberationSerif-Bold.ttf" -pointsize 76 -gravity center \
     -annotate +0+4 "$(t 0)" \
     \( +clone -background '#00000090' -shadow 60x6+8+10 \) +swap -background none -layers merge +repage \) \
  -gravity north -geometry +0+60 -composite \
  \( -size 520x230 xc:'#f4f1ea' -fill none -stroke '#8a8478' -strokewidth 3 -draw 'roundrectangle 6,6 513,223 14,14' \
     -stroke none -fill '#2b2b2b' -gravity north -font "$DEJAVU/DejaVuSans.ttf" \
     -pointsize 30 -annotate +0+26 "$(t 1)" \
     -font "$DEJAVU/DejaVuSans-Bold.ttf" -pointsize 40 -annotate +0+82 "$(t 2)" \
     -font "$DEJAVU/DejaVuSans.ttf" -pointsize 30 -annotate +0+152 "$(t 3)" \
     \( +clone -background '#00000080' -shadow 50x4+5+6 \) +swap -background none -layers merge +repage \) \
  -gravity north -geometry +0+330 -composite \
  -fill '#3a3530' -stroke none -gravity northwest -draw 'rectangle 0,640 1023,703' \
  -strip -quality 85 "$OUT/$name"
finish "$name" de

# 2. Supermarket flyer with a price and a web address, pinned on a grey board and seen at an angle (German).
name=flyer-angebot.jpg
LINES=(
  'ANGEBOT'
  'Frische Erdbeeren'
  'aus der Region, 500 g Schale'
  '2,49 €'
  'statt 3,29 €'
  'Gültig vom 02.06. bis 07.06.'
  'www.example-markt.de'
)
"${IM[@]}" -size 760x1000 xc:white \
  -fill '#c8102e' -draw 'rectangle 0,0 759,190' \
  -fill white -font "$LIBER/LiberationSans-Bold.ttf" -pointsize 112 -gravity north \
  -annotate +0+34 "$(t 0)" \
  -fill '#1a1a1a' -font "$LIBER/LiberationSans-Bold.ttf" -pointsize 58 -annotate +0+230 "$(t 1)" \
  -font "$LIBER/LiberationSans-Regular.ttf" -pointsize 40 -annotate +0+310 "$(t 2)" \
  -fill '#ffd200' -stroke '#c8102e' -strokewidth 6 -draw 'circle 380,560 380,380' -stroke none \
  -fill '#c8102e' -font "$LIBER/LiberationSans-Bold.ttf" -pointsize 100 -gravity center \
  -annotate +0+44 "$(t 3)" \
  -font "$LIBER/LiberationSans-Regular.ttf" -pointsize 34 -annotate +0+135 "$(t 4)" \
  -fill '#1a1a1a' -gravity south -pointsize 34 -annotate +0+120 "$(t 5)" \
  -fill '#c8102e' -draw 'rectangle 0,920 759,999' \
  -fill white -font "$LIBER/LiberationSans-Bold.ttf" -pointsize 44 -annotate +0+16 "$(t 6)" \
  -bordercolor '#dddddd' -border 2 \
  -virtual-pixel transparent -background none -alpha set \
  -distort Perspective '0,0 70,40  763,0 700,90  0,1003 110,940  763,1003 690,860' \
  "$TMP/flyer.png"
"${IM[@]}" -size 1024x1024 xc:'#8d8f8c' -seed 22 +noise Gaussian -blur 0x1.2 -modulate 100,40 \
  \( "$TMP/flyer.png" \( +clone -background '#000000a0' -shadow 50x8+10+12 \) +swap -background none -layers merge +repage \) \
  -gravity northwest -geometry +120+30 -composite \
  -fill '#b0202a' -draw 'circle 200,88 200,78' -draw 'circle 830,140 830,130' \
  -crop 1024x1000+0+0 +repage -strip -quality 85 "$OUT/$name"
finish "$name" de

# 3. Jam-jar label in French with accents, a phone number, a web address and an EAN-13 (PNG, flat colours).
name=label-confiture-fr.png
LINES=(
  'Confiture de Mûres'
  'Recette à l’ancienne'
  'Ingrédients : mûres, sucre de canne, jus de citron.'
  'Préparée avec 55 g de fruits pour 100 g.'
  'À consommer de préférence avant fin : 12/2026'
  'Poids net : 370 g'
  'Fabriqué en France par Les Vergers du Vallon'
  'Tél. 01 99 00 42 17'
  'www.example.fr'
)
code=$(ean13 200424200137)
BARCODES+=("$code")
"${IM[@]}" -size 900x620 xc:'#5a1f2e' \
  -fill '#f6efdc' -stroke '#b08d3c' -strokewidth 6 -draw 'roundrectangle 30,30 869,589 40,40' \
  -stroke '#b08d3c' -strokewidth 2 -draw 'roundrectangle 46,46 853,573 30,30' -stroke none \
  -fill '#5a1f2e' -font "$FREE/FreeSerifBoldItalic.ttf" -pointsize 64 -gravity north \
  -annotate +0+70 "$(t 0)" \
  -fill '#4a3b2a' -font "$FREE/FreeSerifItalic.ttf" -pointsize 36 -annotate +0+150 "$(t 1)" \
  -gravity northwest -font "$FREE/FreeSans.ttf" -pointsize 24 -fill '#2b2b2b' \
  -annotate +80+232 "$(t 2)" \
  -annotate +80+268 "$(t 3)" \
  -annotate +80+304 "$(t 4)" \
  -font "$FREE/FreeSansBold.ttf" -pointsize 30 -annotate +80+352 "$(t 5)" \
  -font "$FREE/FreeSans.ttf" -pointsize 24 \
  -annotate +80+420 "$(t 6)" \
  -annotate +80+456 "$(t 7)" \
  -annotate +80+492 "$(t 8)" \
  -fill white -draw 'rectangle 600,400 822,548' \
  -draw "$(ean13_mvg "$code" 616 410 2 100)" \
  -font "$DEJAVU/DejaVuSansMono.ttf" -pointsize 18 -fill black -annotate +641+518 "$code" \
  +dither -colors 64 -strip -define png:compression-level=9 "$OUT/$name"
finish "$name" fr

# 4. Magazine cover: blurred "photo" background, masthead, cover lines, price and an EAN-13 (German).
name=magazine-cover.jpg
LINES=(
  'HORIZONTWEG'
  'Das Reisemagazin für Neugierige'
  'Nr. 42'
  'Juni 2025'
  '5,90 €'
  'Österreich 6,50 €'
  'Die schönsten'
  'Küstenwege'
  'von Föhr bis zur Algarve'
  'GROSSE REPORTAGE'
  'Leben im Fischerdorf'
)
code=$(ean13 200777042061)
BARCODES+=("$code")
"${IM[@]}" -size 840x1120 gradient:'#4f8cc4-#cfe3f1' \
  -fill '#fff6d8' -draw 'circle 640,430 640,395' \
  -fill '#3d5a3a' -draw 'polygon 0,560 0,500 90,470 210,488 330,530 380,560' \
  \( -size 840x300 gradient:'#2a6f99-#5aa5c6' \) -gravity northwest -geometry +0+560 -composite \
  \( -size 840x260 gradient:'#e8d2a4-#c4a16c' \) -geometry +0+860 -composite \
  \( -size 105x140 -seed 33 plasma:gray50-gray50 -colorspace gray -resize 840x1120! \) -compose overlay -composite \
  -compose over -blur 0x5 \
  \( -size 840x1120 gradient:'#00000070-#00000000' \) -composite \
  -fill white -font "$DEJAVU/DejaVuSerif-Bold.ttf" -pointsize 82 -gravity north \
  -annotate +0+30 "$(t 0)" \
  -font "$DEJAVU/DejaVuSans.ttf" -pointsize 30 -annotate +0+160 "$(t 1)" \
  -gravity northwest -font "$DEJAVU/DejaVuSans-Bold.ttf" -pointsize 28 -fill '#ffe14d' \
  -annotate +40+250 "$(t 2)" -fill white -annotate +40+290 "$(t 3)" \
  -gravity northeast -fill '#ffe14d' -pointsize 44 -annotate +40+250 "$(t 4)" \
  -fill white -font "$DEJAVU/DejaVuSans.ttf" -pointsize 20 -annotate +40+306 "$(t 5)" \
  -gravity west -font "$DEJAVU/DejaVuSansCondensed-Bold.ttf" -pointsize 56 -fill white \
  -annotate +40-60 "$(t 6)" -annotate +40+6 "$(t 7)" \
  -font "$DEJAVU/DejaVuSansCondensed.ttf" -pointsize 34 -annotate +40+70 "$(t 8)" \
  -fill '#d7263d' -draw 'rectangle 0,840 480,900' -fill white -gravity northwest \
  -font "$DEJAVU/DejaVuSans-Bold.ttf" -pointsize 34 -annotate +40+848 "$(t 9)" \
  -fill '#1a1a1a' -font "$DEJAVU/DejaVuSans.ttf" -pointsize 30 -annotate +40+920 "$(t 10)" \
  -fill white -draw 'rectangle 600,940 812,1094' \
  -draw "$(ean13_mvg "$code" 611 948 2 110)" \
  -font "$DEJAVU/DejaVuSansMono.ttf" -pointsize 18 -fill black -annotate +636+1064 "$code" \
  -strip -quality 85 "$OUT/$name"
finish "$name" de

# 5. Street scene: sky, facade, pavement, noise and blur; small, slightly rotated signs (German).
name=street-scene.jpg
LINES=(
  'Apotheke am Markt'
  'Lindenstraße'
  'Zimmer frei'
  'ab sofort'
  '0152 28817386'
  'ab 18 Uhr'
)
"${IM[@]}" -size 1152x864 gradient:'#8fbbe3-#dde9f3' \
  \( -size 144x78 -seed 44 plasma:gray40-gray60 -colorspace gray -resize 1152x620! -blur 0x2 \
     +level-colors '#8c775c,#d8c4a4' \) -gravity northwest -geometry +0+120 -composite \
  \( -size 1152x124 gradient:'#85817c-#57544f' \) -geometry +0+740 -composite \
  -fill '#2e3640' -draw 'rectangle 100,300 340,640' -draw 'rectangle 440,300 680,640' \
  -fill '#56636f' -draw 'rectangle 110,310 330,630' -draw 'rectangle 450,310 670,630' \
  -fill '#6d7a86' -draw 'polygon 110,310 200,310 110,420' -draw 'polygon 450,310 540,310 450,420' \
  -fill '#1e5e3a' -draw 'rectangle 240,205 580,255' \
  -fill white -font "$DEJAVU/DejaVuSans-Bold.ttf" -pointsize 26 -gravity northwest -annotate +280+215 "$(t 0)" \
  -fill '#6b6b6b' -draw 'rectangle 900,250 911,800' \
  \( -size 230x60 xc:'#1d4f91' -fill none -stroke white -strokewidth 3 -draw 'rectangle 4,4 225,55' -stroke none \
     -fill white -font "$DEJAVU/DejaVuSansCondensed-Bold.ttf" -pointsize 30 -gravity center \
     -annotate +0+0 "$(t 1)" -background none -rotate -3 \) \
  -gravity northwest -geometry +792+190 -composite \
  \( -size 190x150 xc:'#fbfaf3' -fill '#222222' -font "$DEJAVU/DejaVuSans-Bold.ttf" -pointsize 24 -gravity north \
     -annotate +0+14 "$(t 2)" -font "$DEJAVU/DejaVuSans.ttf" -pointsize 17 \
     -annotate +0+56 "$(t 3)" -annotate +0+84 "$(t 4)" -annotate +0+112 "$(t 5)" \
     -background none -rotate 5 \) \
  -gravity northwest -geometry +812+420 -composite \
  -seed 45 -attenuate 0.4 +noise Gaussian -blur 0x0.7 \
  -strip -quality 82 "$OUT/$name"
finish "$name" de

# 6. Light text on a dark background: a café board with a soft glow (Dutch, with diacritics).
name=cafe-board-dark-nl.png
LINES=(
  'Café de Sterre'
  'Dagmenu € 12,50'
  'Crème brûlée € 6,75'
  'Koffie en thee vanaf € 2,80'
  'Geïnspireerd door België'
  'Geopend di-zo 10:00-22:00'
  'Reserveren: www.example.nl'
)
"${IM[@]}" -size 960x640 gradient:'#1b2233-#0b0d12' \
  \( -size 960x640 xc:none -fill '#ffd58a' -font "$LIBER/LiberationSerif-Bold.ttf" -pointsize 80 -gravity north \
     -annotate +0+40 "$(t 0)" -blur 0x8 \) -compose screen -composite -compose over \
  -fill '#fff3d6' -font "$LIBER/LiberationSerif-Bold.ttf" -pointsize 80 -gravity north -annotate +0+40 'Café de Sterre' \
  -fill '#e8e8e8' -font "$LIBER/LiberationSans-Regular.ttf" -pointsize 34 -gravity northwest \
  -annotate +90+200 "$(t 1)" \
  -annotate +90+256 "$(t 2)" \
  -annotate +90+312 "$(t 3)" \
  -fill '#9fd3c7' -annotate +90+390 "$(t 4)" \
  -fill '#e8e8e8' -pointsize 28 -annotate +90+470 "$(t 5)" \
  -annotate +90+516 "$(t 6)" \
  +dither -colors 64 -strip -define png:compression-level=9 "$OUT/$name"
finish "$name" nl

# ---------------------------------------------------------------------------------------------------
mv "$TRUTH" "$OUT/truth.jsonl"
total=$(cat "$OUT"/*.jpg "$OUT"/*.png | wc -c)
echo "make-samples: wrote $(wc -l <"$OUT/truth.jsonl") images to $OUT ($total bytes of images)"
