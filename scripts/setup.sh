#!/usr/bin/env bash
# Set up a virtual environment with the CPU build of PyTorch and qualcode (+ test tools).
# Idempotent: a second run only checks what is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
# The pinned CPU build first: a plain `torch` requirement would pull a multi-GB CUDA build.
if ! python -c "import torch" >/dev/null 2>&1; then
  pip install -q "torch==2.13.0"
fi
stamp=.venv/.qualcode-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  pip install -q -e ".[test]"
  touch "$stamp"
fi
