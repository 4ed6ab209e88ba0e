#!/usr/bin/env bash
# Set everything up and run the demo pipeline on the bundled example data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
OUT=${1:-demo-out}
rm -rf "$OUT"
.venv/bin/qualcode demo --out "$OUT"
