#!/usr/bin/env bash
# Instructions per request by component under callgrind (issue 19); writes bench/callgrind-<shortcommit>.md.
#   bench/callgrind.sh                            client_credentials, introspect, refresh; N=1000 each
#   bench/callgrind.sh --requests 2000 --keep     more requests; keep the dumps (callgrind_annotate them later)
# Other arguments go to bench/callgrind.py (--requests, --warmup, --depth, --scenarios, --output, --keep); see its
# docstring for the method (fixed N, callgrind_control -z/-d around the measured phase) and the component rules.
# Uses the existing release binary; builds it only when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind; }
[ -x .build/release/tessera ] || swift build -c release --product tessera
exec python3 bench/callgrind.py "$@"
