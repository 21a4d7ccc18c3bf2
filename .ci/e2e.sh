#!/usr/bin/env bash
# Browser end-to-end test of the quickstart example (see e2e/README.md).
#
# Installs Debian's chromium if it is missing, then runs the e2e module's
# tests with E2E=1, so that a missing browser fails instead of skipping.
# Works from any directory; needs root (or sudo) only to install chromium.
set -euo pipefail

# A relative E2E_ARTIFACTS is relative to the caller's directory, not e2e/.
if [ -n "${E2E_ARTIFACTS:-}" ]; then
	mkdir -p "$E2E_ARTIFACTS"
	E2E_ARTIFACTS="$(cd "$E2E_ARTIFACTS" && pwd)"
	export E2E_ARTIFACTS
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="$PATH:/usr/local/go/bin"
fi

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
	if [ "$chromium" != /usr/bin/chromium ]; then
		echo "e2e: CHROMIUM_PATH=$chromium is not an executable" >&2
		exit 1
	fi
	echo "e2e: $chromium missing; installing Debian's chromium package"
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		sudo="sudo"
	fi
	$sudo apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
"$chromium" --version 2>/dev/null || true

cd e2e
E2E=1 go test -count=1 -timeout 10m -v ./...
