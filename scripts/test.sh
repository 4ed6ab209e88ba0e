#!/usr/bin/env bash
# Set everything up and run the test suite (no network needed; the local model is real).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --torch
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
