#!/usr/bin/env bash
# Runs the interoperability suite (interop/*_test.go) against the Logto
# stand-in (interop/provider, oidc-provider 9). From any directory:
#
#   bash .ci/interop.sh                                # the whole suite
#   bash .ci/interop.sh -run TestBackchannelLogout     # extra `go test` flags
#
# interop/run.sh installs the provider's Node dependencies with `npm ci` when
# they are missing, starts the provider on a free loopback port, waits until
# its discovery document answers, runs the Go tests with
# LOGTO_INTEROP_ENDPOINT set, and stops the provider whatever the outcome.
#
# Back-channel logout: this script picks a free loopback port for the
# suite's logout-token receiver and exports INTEROP_BACKCHANNEL_ADDR
# (127.0.0.1:<port>, where TestBackchannelLogout and the key tests listen,
# one after the other) and
# BACKCHANNEL_LOGOUT_URI (http://127.0.0.1:<port>/backchannel-logout, which
# run.sh passes to the provider as web-app's back-channel logout URI).
# Values already set in the environment are kept.
#
# Needs Go 1.24+, Node.js 20.19+ and npm. A run takes about 15 s once the
# dependencies are installed (real-time token and key tests, interop/README.md).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "interop: downloading Go modules" >&2
(cd interop && go mod download)

if [[ -z "${INTEROP_BACKCHANNEL_ADDR:-}" ]]; then
  # A port below the usual ephemeral ranges (Linux 32768-60999, macOS and
  # Windows 49152-65535), so that no outgoing connection of the run can be
  # given it as its local port before the test listens on it.
  port="$(node -e '
    const net = require("node:net");
    const attempt = (left) => {
      if (left === 0) {
        console.error("interop: no free port found for the back-channel logout receiver");
        process.exit(1);
      }
      const port = 20000 + Math.floor(Math.random() * 12000);
      const server = net.createServer();
      server.once("error", () => attempt(left - 1));
      server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
        server.close(() => process.stdout.write(String(port)));
      });
    };
    attempt(50);
  ')"
  export INTEROP_BACKCHANNEL_ADDR="127.0.0.1:$port"
fi
export BACKCHANNEL_LOGOUT_URI="${BACKCHANNEL_LOGOUT_URI:-http://$INTEROP_BACKCHANNEL_ADDR/backchannel-logout}"
echo "interop: back-channel logout URI $BACKCHANNEL_LOGOUT_URI" >&2

# CI=true makes the suite fail, instead of skip, if the endpoint were missing.
export CI="${CI:-true}"
interop/run.sh bash -c 'cd interop && go test -count=1 -timeout 5m -v ./... "$@"' interop-go-test "$@"
