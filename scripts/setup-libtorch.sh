#!/usr/bin/env bash
# Installs the CPU libtorch that `tch` 0.26 links against (PyPI torch==2.13.0, slim:
# no CUDA stack) into a cache outside the checkout, once, and points this
# checkout's cargo at it (.cargo/config.toml, not tracked), so a plain
# `cargo build` / `cargo test` works afterwards. Idempotent: a second run only
# prints the path. Prints the LIBTORCH directory on its last line.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"

TORCH_VERSION=2.13.0
CACHE_ROOT="${TTP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ttp}"
PREFIX="$CACHE_ROOT/libtorch-$TORCH_VERSION"
LIBTORCH="$PREFIX/torch"

point_cargo_at_libtorch() {
    local config="$REPO/.cargo/config.toml"
    local wanted="[env]
LIBTORCH = \"$LIBTORCH\""
    if [ "$(cat "$config" 2>/dev/null)" != "$wanted" ]; then
        mkdir -p "$REPO/.cargo"
        printf '%s\n' "$wanted" >"$config"
    fi
}

if [ -f "$PREFIX/.complete" ] && [ -f "$LIBTORCH/lib/libtorch_cpu.so" ]; then
    point_cargo_at_libtorch
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
point_cargo_at_libtorch
echo "$LIBTORCH"
