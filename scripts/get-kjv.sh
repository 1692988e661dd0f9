#!/usr/bin/env bash
# Writes the King James Bible as plain UTF-8 text to third_party_data/kjv.txt (4.3 MB, 73
# distinct characters; gitignored), from Debian's bible-kjv package (scripts/install-deps.sh
# installs it): the book and chapter headings, numbered verses, lines broken at 79 columns.
#   scripts/get-kjv.sh && sinapsis train --data kjv --preset gpt
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/third_party_data/kjv.txt"
if ! command -v bible >/dev/null 2>&1; then
  echo "get-kjv: the 'bible' program is missing; install it with: apt-get install bible-kjv" >&2
  exit 1
fi
mkdir -p "$root/third_party_data"
bible -l79 Gen1:1-Rev22:21 > "$out.tmp"
mv "$out.tmp" "$out"
echo "get-kjv: wrote $out ($(wc -c < "$out") bytes)"
