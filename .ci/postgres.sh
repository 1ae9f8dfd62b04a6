#!/usr/bin/env bash
# A throwaway PostgreSQL server for the segment store tests.
#
#   eval "$(.ci/postgres.sh)"    # then: pytest tests/test_store*.py ...
#
# Installs Debian's postgresql package when no PostgreSQL binaries are found (needs root),
# initialises a cluster under $CENTROIDS_PG_DIR (default: /tmp/centroids-postgres) owned
# by the postgres user when run as root (initdb refuses root), starts it on a free
# localhost port, creates the database centroids_test, and prints on stdout the one line
#   export CENTROIDS_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:PORT/centroids_test
# Everything else goes to stderr. Idempotent: run again, it reuses the running server.
# Stop it with: pg_ctl -D "$CENTROIDS_PG_DIR/data" stop
set -euo pipefail

root_dir="${CENTROIDS_PG_DIR:-/tmp/centroids-postgres}"
data_dir="$root_dir/data"
database=centroids_test

say() { echo "postgres.sh: $*" >&2; }

find_bin_dir() {
    local candidate
    for candidate in "$(command -v pg_ctl 2>/dev/null || true)" /usr/lib/postgresql/*/bin/pg_ctl; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            # resolve symlinks so that initdb, postgres and psql come from the same version
            dirname "$(readlink -f "$candidate")"
            return 0
        fi
    done
    return 1
}

if ! bin_dir="$(find_bin_dir)"; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        say "PostgreSQL is not installed and cannot be installed here (needs root and apt-get);"
        say "install it (e.g. 'apt-get install postgresql') and run this script again"
        exit 1
    fi
    say "installing PostgreSQL (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bin_dir="$(find_bin_dir)" || { say "postgresql installed but pg_ctl not found"; exit 1; }
fi

# initdb and the server refuse to run as root: run them as the postgres user then.
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$root_dir" postgres
    as_owner() { runuser -u postgres -- "$@"; }
else
    as_owner() { "$@"; }
fi

mkdir -p "$root_dir"
if [ "$(id -u)" -eq 0 ]; then chown postgres "$root_dir"; fi
chmod 700 "$root_dir"

if [ ! -s "$data_dir/PG_VERSION" ]; then
    say "initialising a cluster in $data_dir"
    rm -rf "$data_dir"
    as_owner "$bin_dir/initdb" -D "$data_dir" -U postgres -A trust -E UTF8 --locale=C \
        --no-sync >&2
fi

if as_owner "$bin_dir/pg_ctl" -D "$data_dir" status >/dev/null 2>&1 && [ -s "$root_dir/port" ]; then
    port="$(cat "$root_dir/port")"
    say "reusing the server already running on port $port"
else
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    say "starting the server on 127.0.0.1:$port"
    as_owner "$bin_dir/pg_ctl" -D "$data_dir" -l "$root_dir/server.log" -w -t 60 \
        -o "-p $port -k $root_dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >&2 || { say "the server did not start; its log:"; cat "$root_dir/server.log" >&2; exit 1; }
    echo "$port" >"$root_dir/port"
fi

psql=("$bin_dir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
    "${psql[@]}" -c "CREATE DATABASE $database" >&2
fi

echo "export CENTROIDS_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$port/$database"
