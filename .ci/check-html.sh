#!/usr/bin/env bash
# Load a compare index.html in Debian's headless Chromium and check that every plot rendered and
# no script error happened (the page's inline script records both on <body>). Usage: PAGE
set -euo pipefail
PAGE=$(realpath "$1")
bash "$(cd "$(dirname "$0")" && pwd)/install-tools.sh" chromium
PROFILE=$(mktemp -d)
DOM=$(timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$PROFILE" \
  --virtual-time-budget=5000 --enable-logging=stderr --v=0 --dump-dom "file://$PAGE" 2>"$PROFILE/console.log")
BODY=$(grep -o '<body[^>]*>' <<<"$DOM" | head -1)
echo "chromium: $BODY"
FIGURES=$(grep -o '<figure class="plot"' <<<"$DOM" | wc -l)
[ "$FIGURES" -gt 0 ] || { echo "no plots in the page"; exit 1; }
grep -q "data-plots=\"$FIGURES/$FIGURES\"" <<<"$BODY" || { echo "not every plot rendered ($FIGURES expected)"; exit 1; }
grep -q 'data-errors="0"' <<<"$BODY" || { echo "script errors in the page"; exit 1; }
if grep -i 'CONSOLE.*error\|Uncaught' "$PROFILE/console.log"; then echo "console errors"; exit 1; fi
echo "html check: $FIGURES plots rendered, no console error"
