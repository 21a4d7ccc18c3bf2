#!/usr/bin/env bash
# Runs the real-Logto suite (reallogto/*_test.go) against the real Logto
# server (@logto/core 1.42.0 built from source by ../shared/real-logto).
# From any directory:
#
#   bash .ci/reallogto.sh                          # the whole suite
#   bash .ci/reallogto.sh -run TestNativeApp       # extra `go test` flags
#
# It builds the server when needed (setup.sh: Node 22, pnpm, PostgreSQL;
# idempotent, fast once built), starts it on 127.0.0.1:3301 (admin tenant
# 3302, PostgreSQL 5433) with oidc-provider's SSRF protection off so that
# back-channel logout reaches the suite's loopback receivers, runs the
# suite with the fixtures start.sh wrote, and stops the server whatever
# the outcome. A skipped test fails the run: every case must run.
#
# Env: REAL_LOGTO_DIR (default <repo>/../shared/real-logto), LOGTO_ROOT
# (default /tmp/reallogto), LOGTO_PORT / LOGTO_ADMIN_PORT / LOGTO_PG_PORT.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
real="${REAL_LOGTO_DIR:-$repo/../shared/real-logto}"
[[ -f "$real/start.sh" ]] || { echo "reallogto: $real/start.sh not found (set REAL_LOGTO_DIR)" >&2; exit 1; }
real="$(cd "$real" && pwd)"

export LOGTO_ROOT="${LOGTO_ROOT:-/tmp/reallogto}"
export LOGTO_PORT="${LOGTO_PORT:-3301}"
export LOGTO_ADMIN_PORT="${LOGTO_ADMIN_PORT:-3302}"
export LOGTO_JSON="${LOGTO_JSON:-$LOGTO_ROOT/logto-test.json}"
export OIDC_PROVIDER_SSRF_PROTECTION_DISABLED=1
# CI=true makes the suite fail, instead of skip, if the server is unusable.
export CI="${CI:-true}"

out="$(mktemp "${TMPDIR:-/tmp}/reallogto-go-test.XXXXXX")"
stop() {
  local status=$?
  bash "$real/stop.sh" >&2 || true
  if [[ $status -ne 0 && -f "$LOGTO_ROOT/run/core.log" ]]; then
    echo "reallogto: last lines of $LOGTO_ROOT/run/core.log:" >&2
    tail -n 40 "$LOGTO_ROOT/run/core.log" | sed 's/^/  | /' >&2
  fi
  rm -f "$out"
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "reallogto: go vet" >&2
(cd "$repo/reallogto" && go vet ./...)

echo "reallogto: setup ($real/setup.sh, LOGTO_ROOT=$LOGTO_ROOT)" >&2
bash "$real/setup.sh" >&2
echo "reallogto: start (127.0.0.1:$LOGTO_PORT)" >&2
bash "$real/start.sh" >&2

echo "reallogto: go test" >&2
set +e
(cd "$repo/reallogto" && go mod download && go test -count=1 -v -timeout 10m ./... "$@") 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
if [[ $status -eq 0 ]] && grep -q -- '--- SKIP' "$out"; then
  echo "reallogto: tests were skipped; every case must run against the real server" >&2
  grep -- '--- SKIP' "$out" >&2
  exit 1
fi
exit "$status"
