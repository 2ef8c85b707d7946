#!/usr/bin/env bash
# After `make profile`: name the .cpuprofile file(s) in $1 and say how to open them.
set -euo pipefail
dir=$1
shopt -s nullglob
files=("$dir"/*.cpuprofile)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "profile: no .cpuprofile in $dir" >&2
  exit 1
fi
cat <<TEXT

The CPU profile (V8 .cpuprofile, JSON):
$(printf '  %s\n' "${files[@]}")

To open it:
  - Chrome or Chromium, any page: DevTools (F12) > Performance > "Load profile..." (the up-arrow button), pick
    the file; the Bottom-Up tab lists self time, Call Tree the inclusive time.
  - VS Code opens .cpuprofile files directly (File > Open; a flame-chart extension is optional).
  - Or again the text summary above: node dist/bench/profile/summary.js FILE [TOP]
The file is in /tmp and not kept by the repo; copy it away to keep it.
TEXT
