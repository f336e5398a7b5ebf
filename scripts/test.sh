#!/usr/bin/env bash
# `make test`: installs libtorch if needed, then runs every test of the
# workspace (unit, router, wire, and the end-to-end federated runs).
set -euo pipefail
cd "$(dirname "$0")/.."
LIBTORCH="$(scripts/setup-libtorch.sh)"
export LIBTORCH
cargo test --workspace --all-targets "$@"
