#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (never for production data):
#
#   scripts/postgres.sh [start]   start it (or reuse the running one) and print
#                                 its URL: postgres://ttp:PW@127.0.0.1:PORT/ttp_test
#   scripts/postgres.sh url       print the URL of the running cluster
#   scripts/postgres.sh stop      stop it (the data stays for the next start)
#   scripts/postgres.sh destroy   stop it and delete its data
#
# The cluster lives in $TTP_PG_DIR (default /tmp/ttp-postgres-UID, a folder the
# `postgres` user can reach when we run as root), listens on 127.0.0.1 only,
# on the first free port from $TTP_PG_PORT (54329), with its unix socket in its
# data folder. Role `ttp` (password generated once,
# may create databases) owns database `ttp_test`; the tests create one database
# per test beside it. Durability is off (fsync) because nothing here is kept.
# Server binaries come from /usr/lib/postgresql/*/bin or $PATH; when missing,
# they are installed with apt-get (root only, as on CI). Only the URL goes to
# stdout, so `export TTP_TEST_POSTGRES_URL="$(scripts/postgres.sh)"` works.
set -euo pipefail

mode="${1:-start}"
base="${TTP_PG_DIR:-/tmp/ttp-postgres-$(id -u)}"
data="$base/data"
first_port="${TTP_PG_PORT:-54329}"
database=ttp_test
role=ttp

log() { echo "postgres.sh: $*" >&2; }
die() {
    log "$*"
    exit 1
}

find_bin() {
    local dir
    # Newest installed major version first.
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -rn); do
        [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
    done
    command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
    return 1
}

install_server() {
    [ "$(id -u)" -eq 0 ] || die "PostgreSQL server binaries (initdb, pg_ctl) not found; install the \`postgresql\` package"
    log "installing PostgreSQL (apt-get install postgresql)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
}

# Runs a server command as the cluster's owner: `postgres` when we are root
# (initdb and the server refuse root), ourselves otherwise.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

running() {
    [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

port() { cat "$base/port"; }

url() {
    echo "postgres://$role:$(cat "$base/password")@127.0.0.1:$(port)/$database"
}

# psql as the superuser over the unix socket (trusted: only the owner can
# reach the socket folder).
admin_sql() {
    as_owner "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$data" -p "$(port)" -U postgres -d postgres -tA "$@"
}

init_cluster() {
    log "creating a cluster in $data"
    mkdir -p "$base"
    local port="$first_port"
    while port_in_use "$port"; do port=$((port + 1)); done
    echo "$port" >"$base/port"
    if [ ! -s "$base/password" ]; then
        (umask 077 && head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$base/password")
    fi
    chmod 0700 "$base"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /bin/sh postgres
        # The server runs as `postgres`: it must own the folder of its data.
        chown postgres "$base"
    fi
    as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1 ||
        as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            --encoding=UTF8 --locale=C >"$base/initdb.log" 2>&1 ||
        die "initdb failed: see $base/initdb.log"
    as_owner tee -a "$data/postgresql.conf" >/dev/null <<EOF
# scripts/postgres.sh: a throwaway test cluster.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

start() {
    if [ ! -f "$data/PG_VERSION" ]; then
        init_cluster
    fi
    if ! running; then
        port_in_use "$(port)" && die "port $(port) is taken by another program: set TTP_PG_PORT, or run '$0 destroy' and start again"
        log "starting PostgreSQL on 127.0.0.1:$(port) (log: $data/server.log)"
        # 9>&-: the server must not inherit (and so hold) our lock.
        as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null 9>&- ||
            die "the server did not start: see $data/server.log"
    fi
    # Idempotent: the role's password follows the file, the database exists.
    local password
    password="$(cat "$base/password")"
    if [ -z "$(admin_sql -c "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" ]; then
        admin_sql -c "CREATE ROLE $role LOGIN CREATEDB PASSWORD '$password'"
    else
        admin_sql -c "ALTER ROLE $role LOGIN CREATEDB PASSWORD '$password'"
    fi
    if [ -z "$(admin_sql -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" ]; then
        admin_sql -c "CREATE DATABASE $database OWNER $role"
    fi
    url
}

stop() {
    if running; then
        log "stopping PostgreSQL in $data"
        as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
}

case "$mode" in
start | url | stop | destroy) ;;
*) die "usage: $0 [start|url|stop|destroy]" ;;
esac

bin="$(find_bin)" || {
    [ "$mode" = start ] || die "PostgreSQL is not installed"
    install_server
    bin="$(find_bin)" || die "PostgreSQL installed, but initdb is still missing"
}

mkdir -p "$(dirname "$base")"
# One caller at a time: two `make test` runs must not both initialise.
exec 9>"$base.lock"
flock 9

case "$mode" in
start) start ;;
url)
    running || die "no cluster is running in $data: run '$0 start'"
    url
    ;;
stop) stop ;;
destroy)
    stop
    rm -rf "$base" "$base.lock"
    log "removed $base"
    ;;
esac
