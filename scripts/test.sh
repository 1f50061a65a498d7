#!/usr/bin/env bash
# Runs every Tessera test:
#   1. the Swift suites (core, store conformance on memory + SQLite + PostgreSQL, HTTP routes, resource-server toolkit);
#   2. the interop suite: Authlib (a third-party OAuth client) against a running build of `tessera`.
# PostgreSQL: uses $TESSERA_TEST_POSTGRES_URL when set; otherwise starts a throw-away server on loopback
# (installing Debian's postgresql when missing and running as root). TESSERA_SKIP_POSTGRES=1 skips it.
# One build configuration serves both steps: release by default (TESSERA_TEST_CONFIGURATION=debug for a quicker local loop).
set -euo pipefail
cd "$(dirname "$0")/.."
configuration=${TESSERA_TEST_CONFIGURATION:-release}
work=$(mktemp -d /tmp/tessera-test.XXXXXX)
pg_dir=""

cleanup() {
  if [ -n "$pg_dir" ]; then scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
  if [ -n "$pg_dir" ]; then rm -rf "$pg_dir"; fi
}
trap cleanup EXIT

if [ -z "${TESSERA_TEST_POSTGRES_URL:-}" ] && [ "${TESSERA_SKIP_POSTGRES:-0}" != 1 ]; then
  pg_dir=$(mktemp -d /tmp/tessera-pg.XXXXXX)   # outside $work: the server runs as the postgres user
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  export TESSERA_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$pg_dir" "$port")
  echo "==> PostgreSQL for the tests at 127.0.0.1:$port"
fi

echo "==> swift build -c $configuration --build-tests"
swift build -c "$configuration" --build-tests

echo "==> swift test (Swift Testing)"
swift_status=0
swift test -c "$configuration" --skip-build --parallel || swift_status=$?

echo "==> interop suite (Authlib against .build/$configuration/tessera)"
venv=.build/interop-venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r interop/requirements.txt
interop_status=0
TESSERA_BIN="$PWD/.build/$configuration/tessera" EXAMPLE_API_BIN="$PWD/.build/$configuration/tessera-example-api" \
  TESSERA_INTEROP_SUMMARY="$work/interop-summary.txt" \
  "$venv/bin/python" -m pytest -q interop || interop_status=$?
if [ -f "$work/interop-summary.txt" ]; then cat "$work/interop-summary.txt"; fi

if [ "$swift_status" != 0 ] || [ "$interop_status" != 0 ]; then
  echo "FAILED: swift test exit $swift_status, interop exit $interop_status" >&2
  exit 1
fi
echo "All test suites passed."
