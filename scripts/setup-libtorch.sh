#!/usr/bin/env bash
# Installs the CPU libtorch that `tch` 0.26 links against (PyPI torch==2.13.0, slim:
# no CUDA stack) into a cache outside the checkout, once. Idempotent: a second run
# only prints the path. Prints the LIBTORCH directory on its last line.
set -euo pipefail

TORCH_VERSION=2.13.0
CACHE_ROOT="${TTP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ttp}"
PREFIX="$CACHE_ROOT/libtorch-$TORCH_VERSION"
LIBTORCH="$PREFIX/torch"

if [ -f "$PREFIX/.complete" ] && [ -f "$LIBTORCH/lib/libtorch_cpu.so" ]; then
    echo "$LIBTORCH"
    exit 0
fi

echo "installing torch==$TORCH_VERSION (CPU libtorch) into $PREFIX" >&2
rm -rf "$PREFIX.partial"
mkdir -p "$CACHE_ROOT"
python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$PREFIX.partial" \
    "torch==$TORCH_VERSION" nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85 >&2
rm -rf "$PREFIX"
mv "$PREFIX.partial" "$PREFIX"
touch "$PREFIX/.complete"
echo "$LIBTORCH"
