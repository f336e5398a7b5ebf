#!/usr/bin/env bash
# `make demo`: a real federated run on one machine. Starts the control plane
# (SQLite), the data plane and two workers on the heart-disease partitions,
# drives the whole Synergos flow through the `ttp` CLI, prints the metrics per
# participant, stops everything it started and exits 0. The last line of
# output is one JSON object with the final metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

DATASETS="${TTP_DATASETS:-$ROOT/../shared/datasets}"
REST_PORT="${TTP_DEMO_REST_PORT:-5000}"
CONTROL_GRPC_PORT="${TTP_DEMO_CONTROL_GRPC_PORT:-50052}"
DATA_GRPC_PORT="${TTP_DEMO_DATA_GRPC_PORT:-50051}"
WS_PORT="${TTP_DEMO_WS_PORT:-8020}"
WORK="$ROOT/.demo"

if [ ! -d "$DATASETS/heart_disease" ]; then
    echo "error: datasets not found at $DATASETS (set TTP_DATASETS)" >&2
    exit 1
fi

echo "==> libtorch"
LIBTORCH="$(scripts/setup-libtorch.sh)"
export LIBTORCH
echo "==> building (first build takes a few minutes)"
cargo build --bins --quiet
BIN="$ROOT/target/debug"

rm -rf "$WORK"
mkdir -p "$WORK/logs"
PIDS=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

wait_for_line() { # file pattern seconds
    local deadline=$((SECONDS + $3))
    until grep -q "$2" "$1" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
            echo "error: timed out waiting for '$2' in $1" >&2
            tail -n 20 "$1" >&2 || true
            exit 1
        fi
        sleep 0.2
    done
}

echo "==> starting two workers (before the data plane: they keep dialing)"
for p in 1 2; do
    "$BIN/ttp-worker" --server "ws://127.0.0.1:$WS_PORT" --participant "participant_$p" \
        --data-dir "$DATASETS" >"$WORK/logs/worker_$p.log" 2>&1 &
    PIDS+=($!)
done

echo "==> starting the data plane and the control plane"
"$BIN/ttp-data" --ws-addr "127.0.0.1:$WS_PORT" --grpc-addr "127.0.0.1:$DATA_GRPC_PORT" \
    --outputs-dir "$WORK/outputs" >"$WORK/logs/data.log" 2>&1 &
PIDS+=($!)
"$BIN/ttp-control" --rest-addr "127.0.0.1:$REST_PORT" --grpc-addr "127.0.0.1:$CONTROL_GRPC_PORT" \
    --data-plane "http://127.0.0.1:$DATA_GRPC_PORT" --data-dir "$WORK/data" \
    --outputs-dir "$WORK/outputs" --mlflow-dir "$WORK/mlflow" >"$WORK/logs/control.log" 2>&1 &
PIDS+=($!)
wait_for_line "$WORK/logs/data.log" "ttp-data listening" 30
wait_for_line "$WORK/logs/control.log" "ttp-control listening" 30
wait_for_line "$WORK/logs/worker_1.log" "connected to the data plane" 30
wait_for_line "$WORK/logs/worker_2.log" "connected to the data plane" 30

export TTP_URL="http://127.0.0.1:$REST_PORT"
ttp() { "$BIN/ttp" "$@"; }
C=heart_collab P=heart_project E=logistic R=fedavg_run

echo "==> connect: collaboration, project, experiment, run, participants, registrations"
ttp collaboration create "$C" >/dev/null
ttp project create "$C" "$P" --action classify >/dev/null
ttp experiment create "$C" "$P" "$E" --model deploy/demo/model.json >/dev/null
ttp run create "$C" "$P" "$E" "$R" --set algorithm=FedAvg --set rounds=10 --set epochs=5 \
    --set batch_size=32 --set lr=0.01 --set optimizer=Adam --set criterion=CrossEntropyLoss >/dev/null
for p in 1 2; do
    ttp participant create "participant_$p" >/dev/null
    ttp register "$C" "$P" "participant_$p" --train "heart_disease/data$p/iid_$p" \
        --evaluate heart_disease/validation >/dev/null
done

echo "==> align features across participants"
ttp align "$C" "$P"
echo "==> train (10 rounds)"
START=$SECONDS
ttp train "$C" "$P" >/dev/null
echo "    training took $((SECONDS - START)) s"
echo "==> validate on the held-out rows (computed at each participant)"
ttp validate "$C" "$P" --summary
