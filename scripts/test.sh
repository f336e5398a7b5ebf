#!/usr/bin/env bash
# `make test`: installs libtorch if needed, starts (or reuses) the throwaway
# PostgreSQL cluster that the control plane's storage tests run against beside
# SQLite, then runs every test of the workspace (unit, router, wire, and the
# end-to-end federated runs). Extra arguments go to `cargo test`
# (`scripts/test.sh -p ttp-control`).
set -euo pipefail
cd "$(dirname "$0")/.."
LIBTORCH="$(scripts/setup-libtorch.sh)"
export LIBTORCH
# A URL already set (a cluster of your own) is used as it is.
if [ -z "${TTP_TEST_POSTGRES_URL:-}" ]; then
    TTP_TEST_POSTGRES_URL="$(scripts/postgres.sh start)"
fi
export TTP_TEST_POSTGRES_URL
# The root manifest is a virtual workspace: every member by default, or the
# packages named with -p.
cargo test --all-targets "$@"
