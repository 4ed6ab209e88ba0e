#!/usr/bin/env bash
# Set everything up, lint, and run the test suite (no network needed; the local model is real).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --torch
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# The lint rules (pycodestyle, pyflakes, bugbear, complexity) are in pyproject.toml [tool.ruff].
.venv/bin/ruff check src tests benchmarks
exec .venv/bin/python -m pytest "$@"
