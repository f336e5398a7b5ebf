#!/usr/bin/env bash
# `make fuzz`: fuzzes the control plane's REST API from its own OpenAPI
# document with schemathesis (PyPI). Starts a fresh `ttp-control` on a free
# loopback port with a temporary data directory and no data plane (its URL
# points at a closed loopback port), seeds one project so requests get past
# the 404s, and runs two schemathesis passes (all phases; the first without
# DELETE so the seeded records survive it).
#
# Fails on any 5xx answer, a panic or exit of the server, a request that
# errors or times out, a job POST that does not answer promptly while the
# data plane is down, or fewer than FUZZ_MIN_REQUESTS requests. Other
# schemathesis checks (how precisely the document states the input rules)
# are reported, and fail the run only with FUZZ_STRICT=1.
#
# Knobs: FUZZ_MAX_EXAMPLES (per operation and pass, default 30), FUZZ_SEED
# (default 1), FUZZ_MIN_REQUESTS (default 1000), FUZZ_KEEP=1 keeps the work
# directory (server log, HAR and JSON reports), FUZZ_DATABASE_URL (an empty
# database for the server, e.g. PostgreSQL; default: SQLite in the work dir).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-30}"
SEED="${FUZZ_SEED:-1}"
MIN_REQUESTS="${FUZZ_MIN_REQUESTS:-1000}"
CACHE_ROOT="${TTP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ttp}"
VENV="$CACHE_ROOT/venv-fuzz"

# 1. schemathesis, once, into a venv in the cache outside the checkout.
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q " $SCHEMATHESIS_VERSION\$"; then
    echo "installing schemathesis==$SCHEMATHESIS_VERSION into $VENV" >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION"
fi
PY="$VENV/bin/python"

# 2. The server (no libtorch needed).
cargo build --quiet -p ttp-control --bin ttp-control
BIN="${CARGO_TARGET_DIR:-target}/debug/ttp-control"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ttp-fuzz.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ "${FUZZ_KEEP:-0}" = 1 ]; then
        echo "kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# A loopback port with nothing listening: the data plane is "down".
DEAD_PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

DATABASE_ARGS=()
if [ -n "${FUZZ_DATABASE_URL:-}" ]; then
    DATABASE_ARGS=(--database-url "$FUZZ_DATABASE_URL")
fi
# Port 0: the server picks a free port and prints it on stdout.
env -u TTP_DATABASE_URL RUST_LOG="${RUST_LOG:-warn}" "$BIN" "${DATABASE_ARGS[@]}" \
    --rest-addr 127.0.0.1:0 --grpc-addr 127.0.0.1:0 \
    --data-plane "http://127.0.0.1:$DEAD_PORT" \
    --data-dir "$WORK/data" --outputs-dir "$WORK/outputs" --mlflow-dir "$WORK/mlflow" \
    >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 300); do
    PORT="$(sed -n 's/.* rest=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$WORK/server.out")"
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$PORT" ]; then
    echo "fuzz: ttp-control did not start:" >&2
    cat "$WORK/server.log" >&2
    exit 1
fi
BASE="http://127.0.0.1:$PORT"
echo "fuzz: ttp-control on $BASE (data plane: closed port $DEAD_PORT), work dir $WORK"

# 3. Seed the records the document's path examples name (c1, p1, e1, r1,
# alice), then time the job POSTs: with the data plane down they must answer
# 4xx/503 promptly, never hang.
"$PY" - "$BASE" >"$WORK/seed.txt" <<'EOF'
import json, sys, time, urllib.error, urllib.request

base = sys.argv[1]

def call(method, path, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code

c = "/ttp/connect/collaborations/c1"
p = c + "/projects/p1"
seeds = [
    ("/ttp/connect/collaborations", {"collab_id": "c1"}),
    (c + "/projects", {"project_id": "p1", "action": "classify", "incentives": {}}),
    (p + "/experiments", {"expt_id": "e1", "model": [{"is_input": True, "l_type": "Linear",
        "structure": {"in_features": 4, "out_features": 1}, "activation": "sigmoid"}]}),
    (p + "/experiments/e1/runs", {"run_id": "r1", "rounds": 2, "epochs": 1, "lr": 0.01}),
]
for pid in ["alice", "bob"]:
    seeds += [
        ("/ttp/connect/participants", {"id": pid}),
        (p + f"/participants/{pid}/registration",
         {"role": "guest", "n_count": 1, "node_0": {"host": "w", "port": 8020, "f_port": 5000}}),
        (p + f"/participants/{pid}/registration/tags",
         {"train": [["data", "train"]], "evaluate": [["data", "evaluate"]]}),
    ]
for path, body in seeds:
    status = call("POST", path, body)
    if status != 201:
        sys.exit(f"seeding POST {path} answered {status}")

slowest = 0.0
for path in ["/ttp/train/collaborations/c1/projects/p1/alignments",
             "/ttp/train/collaborations/c1/projects/p1/models",
             "/ttp/evaluate/collaborations/c1/projects/p1/validations"]:
    start = time.monotonic()
    try:
        status = call("POST", path, {}, timeout=30)
    except Exception as error:  # a timeout or a dropped connection
        sys.exit(f"POST {path} with the data plane down: {error!r}")
    took = time.monotonic() - start
    slowest = max(slowest, took)
    print(f"  POST {path} -> {status} in {took:.2f}s")
    if status >= 500 and status != 503:
        sys.exit(f"POST {path} with the data plane down answered {status}")
if slowest > 10:
    sys.exit(f"a job POST took {slowest:.1f}s with the data plane down")
EOF
echo "fuzz: seeded c1/p1/e1/r1 with participants alice and bob; job POSTs with the data plane down:"
cat "$WORK/seed.txt"

# 4. schemathesis. 417 is how this API (like Synergos) refuses invalid
# input; 503 is the documented answer of a job POST while the data plane is
# down (the verdict below still checks that every 5xx is documented).
cat >"$WORK/schemathesis.toml" <<'EOF'
[checks]
negative_data_rejection.expected-statuses = [
    "400", "401", "403", "404", "405", "406", "409", "413", "415", "417", "422", "428", "429",
]

[[operations]]
include-name-regex = "^POST .*/(alignments|models|validations)"
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "503"]
EOF
run_pass() {
    local name="$1"
    shift
    echo "fuzz: pass '$name'"
    # From the work dir: hypothesis keeps its example database in the cwd.
    (cd "$WORK" && "$VENV/bin/st" --config-file "$WORK/schemathesis.toml" run "$BASE/openapi.json" \
        --checks all --max-examples "$MAX_EXAMPLES" --request-timeout 30 \
        --report har,json --report-dir "$WORK/report-$name" "$@") \
        >"$WORK/st-$name.txt" 2>&1 || true
    sed -n '/= SUMMARY =/,$p' "$WORK/st-$name.txt"
}
run_pass seeded --seed "$SEED" --exclude-method DELETE
run_pass all --seed "$((SEED + 1))"

# 4b. Inputs schemathesis does not generate: NUL and invalid UTF-8 in path
# variables, very long ones, bodies that are not JSON objects, an oversized
# body. Each answer is recorded for the verdict.
"$PY" - "$BASE" "$WORK/edge.json" <<'EOF'
import json, sys, urllib.error, urllib.request

base, out = sys.argv[1:]
with urllib.request.urlopen(base + "/openapi.json", timeout=10) as response:
    document = json.load(response)

examples = {"collab_id": "c1", "project_id": "p1", "expt_id": "e1", "run_id": "r1",
            "participant_id": "alice", "job_id": "00000000-0000-4000-8000-000000000000"}

def fill(path, value=None):
    return "/".join(
        (value if value is not None else examples.get(seg[1:-1], "x")) if seg.startswith("{") else seg
        for seg in path.split("/"))

def send(method, path, body=None, content_type="application/json"):
    headers = {} if body is None else {"Content-Type": content_type}
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
            response.read()
    except urllib.error.HTTPError as error:
        status = error.code
    except Exception as error:  # dropped connection, timeout
        status = 0
    results.append({"method": method, "url": base + path, "status": status})

results = []
for path, item in document["paths"].items():
    for method in ("get", "put", "post", "delete"):
        if method not in item:
            continue
        body = b"{}" if method in ("put", "post") else None
        if "{" in path:
            for value in ("a%00b", "%00", "%FF%FE", "%C3%A9" * 3000, "." , "..%2F.."):
                send(method.upper(), fill(path, value), body)
        if method in ("put", "post"):
            target = fill(path)
            send(method.upper(), target, b"not json")
            send(method.upper(), target, b"[1, 2]")
            send(method.upper(), target, b"null")
            send(method.upper(), target, b'{"a": 1}', "text/plain")
            send(method.upper(), target, b"\xff\xfe")
send("POST", "/ttp/connect/collaborations", b'{"collab_id": "big", "pad": "' + b"x" * (11 << 20) + b'"}')
json.dump(results, open(out, "w"))
print(f"fuzz: {len(results)} hand-written edge-case requests")
EOF

# 5. The verdict: from the HAR files (every request and answer), the JSON
# reports, and the server itself. A 5xx passes only where the document
# promises it (503 from a job POST: the data plane is unreachable).
ALIVE=1
kill -0 "$SERVER_PID" 2>/dev/null || ALIVE=0
"$PY" - "$WORK" "$BASE" "$ALIVE" "$MIN_REQUESTS" "${FUZZ_STRICT:-0}" <<'EOF'
import collections, glob, json, re, sys, urllib.parse, urllib.request

work, base, alive, min_requests, strict = sys.argv[1:]
problems = []

try:
    with urllib.request.urlopen(base + "/openapi.json", timeout=10) as response:
        document = json.load(response)
except Exception as error:
    problems.append(f"cannot read the document after the run: {error!r}")
    document = {"paths": {}}

def template_regex(path):
    segments = ("[^/]+" if s.startswith("{") else re.escape(s) for s in path.split("/"))
    return re.compile("^" + "/".join(segments) + "/?$")

templates = [(template_regex(path), item) for path, item in document["paths"].items()]

def documented(method, url, status):
    path = urllib.parse.urlsplit(url).path
    for pattern, item in templates:
        if pattern.match(path):
            operation = item.get(method.lower()) or {}
            return str(status) in operation.get("responses", {})
    return False

requests = 0
statuses = collections.Counter()
server_errors = collections.Counter()
expected_5xx = collections.Counter()
other_failures = collections.Counter()
for har_path in sorted(glob.glob(f"{work}/report-*/har-*.json")):
    for entry in json.load(open(har_path))["log"]["entries"]:
        requests += 1
        status = entry["response"]["status"]
        statuses[status] += 1
        if status >= 500 or status == 0:
            request = entry["request"]
            key = (status, request["method"], request["url"].split("?")[0])
            if status >= 500 and documented(request["method"], request["url"], status):
                expected_5xx[key] += 1
            else:
                server_errors[key] += 1
for entry in json.load(open(f"{work}/edge.json")):
    requests += 1
    status = entry["status"]
    statuses[status] += 1
    if status >= 500 or status == 0:
        key = (status, entry["method"], entry["url"][:160])
        if status >= 500 and documented(entry["method"], entry["url"], status):
            expected_5xx[key] += 1
        else:
            server_errors[key] += 1
for report_path in sorted(glob.glob(f"{work}/report-*/json-*.json")):
    report = json.load(open(report_path))
    for failure in report["failures"]:
        other_failures[f"{failure['code']} {failure['title']}"] += failure["count"]
    for error in report["errors"]:
        problems.append(f"schemathesis error: {json.dumps(error)[:300]}")
    if not report["complete"]:
        problems.append(f"a pass stopped early: {report['stop_reason']}")

log = open(f"{work}/server.log", errors="replace").read()
panics = [line for line in log.splitlines() if "panicked" in line]
healthy = False
if alive == "1":
    try:
        with urllib.request.urlopen(base + "/health", timeout=5) as response:
            healthy = response.status == 200
    except Exception:
        pass

print("\n=== fuzz summary ===")
print(f"requests sent: {requests} (minimum {min_requests})")
print("answers by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
print(f"documented 5xx answers (job POSTs, data plane down): {sum(expected_5xx.values())}")
for (status, method, url), count in sorted(expected_5xx.items()):
    print(f"  {status} {method} {url} x{count}")
print(f"undocumented 5xx answers (server faults): {sum(server_errors.values())}")
for (status, method, url), count in sorted(server_errors.items()):
    print(f"  {status} {method} {url} x{count}")
print(f"server alive and healthy after the run: {'yes' if healthy else 'NO'}")
print(f"panics in the server log: {len(panics)}")
for line in panics[:10]:
    print(f"  {line}")
if other_failures:
    print("other schemathesis findings (how precisely the document states input rules; "
          "not server faults):")
    for name, count in sorted(other_failures.items()):
        print(f"  {name}: {count}")

if requests < int(min_requests):
    problems.append(f"only {requests} requests were sent")
if server_errors:
    problems.append("the server answered 5xx")
if not healthy:
    problems.append("the server died or stopped answering")
if panics:
    problems.append("the server panicked")
if strict == "1" and other_failures:
    problems.append("FUZZ_STRICT=1 and schemathesis reported findings")
if problems:
    print("FAILED: " + "; ".join(problems))
    sys.exit(1)
print("OK: no 5xx, no crash")
EOF
