#!/usr/bin/env bash
# Builds release binaries and benchmarks Tessera with wrk; writes bench/results.md.
#   bench/run.sh                 SQLite (a temporary database)
#   bench/run.sh --postgres      a throw-away PostgreSQL on loopback (scripts/postgres.sh)
#   bench/run.sh --postgres --scale-out   the hot scenarios on one node, then two, sharing that PostgreSQL
#                                         (writes bench/scale-out.md: req/s per node and per server core)
# Any other arguments go to bench/bench.py (--duration, --runs, --warmup, --bcrypt-cost, --output, --bin DIR, --commit).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
for product in tessera tessera-example-api tessera-bench-baseline; do
  swift build -c release --product "$product"
done
args=()
pg_dir=""
for arg in "$@"; do
  if [ "$arg" = "--postgres" ]; then
    pg_dir=$(mktemp -d /tmp/tessera-bench-pg.XXXXXX)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    url=$(scripts/postgres.sh start "$pg_dir" "$port")
    args+=(--postgres "$url")
  else
    args+=("$arg")
  fi
done
trap '[ -n "$pg_dir" ] && scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1; [ -n "$pg_dir" ] && rm -rf "$pg_dir"' EXIT
python3 bench/bench.py "${args[@]}"
