#!/usr/bin/env bash
# Starts the Logto stand-in (interop/provider/server.js) on a free port, waits until its
# discovery document answers, runs the given command with LOGTO_INTEROP_ENDPOINT set, and stops
# the provider again whatever happens. Exits with the command's status.
#
#   interop/run.sh bash -c 'cd interop && go test ./...'   (or: bash .ci/interop.sh)
#
# Extra environment passed through to the provider: ACCESS_TOKEN_TTL, ID_TOKEN_TTL,
# BACKCHANNEL_LOGOUT_URI. The provider's log goes to $INTEROP_PROVIDER_LOG if set, else to a
# temporary file that is printed when the command fails.
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
provider_dir="$script_dir/provider"

if ! command -v node >/dev/null 2>&1; then
  echo "interop: node is required (Node.js 20.19+ or 22+)" >&2
  exit 1
fi

if [[ ! -d "$provider_dir/node_modules/oidc-provider" ]]; then
  echo "interop: installing provider dependencies (npm ci)" >&2
  npm ci --prefix "$provider_dir" --no-audit --no-fund --loglevel=error >&2
fi

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/logto-interop.XXXXXX")"
port_file="$work_dir/endpoint"
log_file="${INTEROP_PROVIDER_LOG:-$work_dir/provider.log}"
provider_pid=""

cleanup() {
  local status=$?
  if [[ -n "$provider_pid" ]] && kill -0 "$provider_pid" 2>/dev/null; then
    kill -TERM "$provider_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$provider_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$provider_pid" 2>/dev/null; then
      kill -KILL "$provider_pid" 2>/dev/null || true
    fi
    wait "$provider_pid" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -z "${INTEROP_PROVIDER_LOG:-}" && -s "$log_file" ]]; then
    echo "interop: provider log:" >&2
    sed 's/^/  | /' "$log_file" >&2
  fi
  rm -rf "$work_dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=0 PORT_FILE="$port_file" node "$provider_dir/server.js" >"$log_file" 2>&1 &
provider_pid=$!

endpoint=""
deadline=$((SECONDS + 30))
while :; do
  if ! kill -0 "$provider_pid" 2>/dev/null; then
    echo "interop: the provider exited before it was ready" >&2
    exit 1
  fi
  if [[ -z "$endpoint" && -s "$port_file" ]]; then
    endpoint="$(head -n 1 "$port_file")"
  fi
  if [[ -n "$endpoint" ]]; then
    if node -e '
      fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
        .then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1));
    ' "$endpoint/oidc/.well-known/openid-configuration"; then
      break
    fi
  fi
  if (( SECONDS >= deadline )); then
    echo "interop: the provider did not become ready within 30 s" >&2
    exit 1
  fi
  sleep 0.2
done

export LOGTO_INTEROP_ENDPOINT="$endpoint"
echo "interop: provider ready at $LOGTO_INTEROP_ENDPOINT" >&2

set +e
"$@"
command_status=$?
set -e
exit "$command_status"
