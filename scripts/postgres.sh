#!/usr/bin/env bash
# Starts or stops a throw-away PostgreSQL server on loopback for the tests.
#   scripts/postgres.sh start DIR PORT   → prints the connection URL
#   scripts/postgres.sh stop DIR         → a later start with the same DIR and PORT restarts it
# Installs Debian's postgresql package when no server binaries are present.
set -euo pipefail
action=${1:?start|stop}
dir=${2:?data directory}
port=${3:-54329}

pgbin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
start)
  if [ -z "$(pgbin)" ]; then
    echo "installing PostgreSQL from Debian packages" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
  bin=$(pgbin)
  if [ ! -d "$dir/data" ]; then   # a second start after stop reuses the data directory
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    echo tessera > "$dir/pw"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir/pw"; fi
    as_owner "$bin/initdb" -D "$dir/data" -U tessera --auth=scram-sha-256 --pwfile="$dir/pw" >"$dir/initdb.log" 2>&1
  fi
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=200 -c fsync=off" start >&2 </dev/null
  echo "postgres://tessera:tessera@127.0.0.1:$port/postgres"
  ;;
stop)
  bin=$(pgbin)
  [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  ;;
*)
  echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac
