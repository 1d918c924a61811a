#!/usr/bin/env bash
# Regenerate the README's images: the first two pages of the Gaussian derivation as a PNG
# (derive latex --pdf, then pdftoppm) and the robust-loss figure (derive plot).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

derive latex gaussian --pdf -o "$tmp/gaussian.tex"
pdftoppm -r 80 -png -f 1 -l 2 "$tmp/gaussian.pdf" "$tmp/page"
python - "$tmp" docs/gaussian.png <<'PY'
import sys
from pathlib import Path

from PIL import Image

pages = [Image.open(p).convert("RGB") for p in sorted(Path(sys.argv[1]).glob("page-*.png"))]
sheet = Image.new("RGB", (sum(p.width for p in pages) + 8 * (len(pages) - 1), pages[0].height), "#999")
x = 0
for page in pages:
    sheet.paste(page, (x, 0))
    x += page.width + 8
sheet.save(sys.argv[2], optimize=True)
PY

# Student-t at ν = 4: at the reference ν = 1 it is the Cauchy, and its curve would hide that one
derive plot gaussian laplace cauchy huber student-t logistic --set nu=4 -o docs/robust-losses.png
