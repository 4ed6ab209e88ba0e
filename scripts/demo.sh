#!/usr/bin/env bash
# Set everything up and run the demo pipeline on the bundled example data.
# Usage: ./scripts/demo.sh [OUT_DIR]   (default: demo-out)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
OUT=${1:-demo-out}
# Start fresh only from an earlier demo project; any other non-empty folder is refused by qualcode.
if [ -f "$OUT/qualcode.db" ] && [ -f "$OUT/summary.md" ]; then
  rm -rf "$OUT"
fi
.venv/bin/qualcode demo --out "$OUT"
