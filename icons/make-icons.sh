#!/usr/bin/env bash
# Draws Foghorn's icons with ImageMagick (apt: imagemagick). The PNGs are committed; run this
# only to change them. Tray states must read at 16 px on dark and light panels: a coloured
# disc with a contrasting rim, and one bold glyph each.
set -euo pipefail
cd "$(dirname "$0")"
S=256

disc() { # colour rim glyph-args... -> stdout PNG
  local fill=$1 rim=$2; shift 2
  convert -size ${S}x${S} xc:none \
    -fill "$fill" -stroke "$rim" -strokewidth 14 -draw "circle 128,128 128,14" \
    "$@" png32:-
}

disc '#2f9e5b' '#1b5e36' \
  -fill none -stroke white -strokewidth 30 -draw "polyline 72,134 112,174 186,92" > tray-ok-256.png
disc '#f0b429' '#8a6100' \
  -fill '#3b2a00' -stroke none -draw "roundrectangle 114,58 142,150 12,12" -draw "circle 128,190 128,172" > tray-degraded-256.png
disc '#d8362b' '#7d1710' \
  -fill white -stroke none -draw "roundrectangle 112,52 144,152 14,14" -draw "circle 128,194 128,174" > tray-alarm-256.png
disc '#7c828d' '#3d4149' \
  -fill none -stroke white -strokewidth 26 -draw "line 70,70 186,186" \
  -fill white -stroke none -draw "polygon 70,104 104,104 146,66 146,190 104,152 70,152" > tray-muted-256.png

for state in ok degraded alarm muted; do
  convert "tray-$state-256.png" -filter Lanczos -resize 64x64 "png32:tray-$state.png"
  rm "tray-$state-256.png"
done

# The app icon: a horn sounding, white on deep blue.
convert -size 1024x1024 xc:none \
  -fill '#16324f' -draw "roundrectangle 64,64 960,960 200,200" \
  -fill white -draw "polygon 250,430 420,430 650,260 650,764 420,594 250,594" \
  -draw "fill none stroke white stroke-width 48 stroke-linecap round path 'M 720,400 A 150,150 0 0,1 720,624'" \
  -draw "fill none stroke white stroke-width 48 stroke-linecap round path 'M 790,320 A 250,250 0 0,1 790,704'" png32:icon-1024.png
convert icon-1024.png -resize 512x512 png32:icon.png
convert icon-1024.png -resize 32x32 png32:32x32.png
convert icon-1024.png -resize 128x128 png32:128x128.png
convert icon-1024.png -resize 256x256 png32:128x128@2x.png
rm icon-1024.png
