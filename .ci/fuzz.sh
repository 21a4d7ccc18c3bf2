#!/usr/bin/env bash
# Fuzzes every target of the root module for a short, bounded time, on top
# of the seed run that `go test ./...` already made (each Fuzz function runs
# its f.Add seeds and testdata/fuzz/<Name>/ corpus as a plain test). From
# any directory:
#
#   bash .ci/fuzz.sh                  # every target, 10 s each
#   FUZZTIME=1m bash .ci/fuzz.sh      # longer
#   bash .ci/fuzz.sh FuzzHandleCallback FuzzParse   # only these
#
# Targets are found by name: every `func FuzzXxx(f *testing.F)` in a test
# file of a package `go list ./...` lists in the root module, so nested
# modules (interop/, e2e/, reallogto/) are left out, whatever their names.
# A failing input is written by Go to testdata/fuzz/<Name>/ next to the
# target; fix the bug and commit that file as a regression seed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="$PATH:/usr/local/go/bin"
fi

fuzztime="${FUZZTIME:-10s}"
# Minimising each new interesting input may take up to a minute by
# default; keep the bounded run fuzzing instead.
minimize="${FUZZMINIMIZETIME:-2s}"

# "package-dir target" pairs, sorted for a stable order.
module="$(go list -m)"
mapfile -t targets < <(
	go list -f '{{.ImportPath}} {{.Dir}}{{range .TestGoFiles}} {{.}}{{end}}{{range .XTestGoFiles}} {{.}}{{end}}' ./... |
		while read -r pkg dir files; do
			[ -n "$files" ] || continue
			# shellcheck disable=SC2086 # file names, split on purpose
			(cd "$dir" && grep -Eho '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' $files || true) |
				sed -E "s#^func (Fuzz[A-Za-z0-9_]*)\\(.*#.${pkg#"$module"} \\1#"
		done | sort -u
)
if [ "${#targets[@]}" -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

if [ "$#" -gt 0 ]; then
	wanted=" $* "
	selected=()
	for t in "${targets[@]}"; do
		[[ "$wanted" == *" ${t#* } "* ]] && selected+=("$t")
	done
	targets=("${selected[@]}")
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
corpus() { ls "$1/testdata/fuzz/$2" 2>/dev/null | sort || true; }

start=$SECONDS
flakes=0
for t in "${targets[@]}"; do
	dir="${t% *}"
	name="${t#* }"
	echo "fuzz: $name in $dir for $fuzztime"
	before="$(corpus "$dir" "$name")"
	if go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimize" "$dir" >"$log" 2>&1; then
		grep -E '^fuzz: elapsed' "$log" | tail -1 || true
		continue
	fi
	after="$(corpus "$dir" "$name")"
	# Go 1.26's fuzz coordinator may report the end of -fuzztime itself as
	# a failure, a bare "context deadline exceeded" with no input written
	# (go.dev/issue/75804, fixed in Go 1.27). Anything else is a finding.
	if [ "$before" = "$after" ] && ! grep -q 'Failing input written to' "$log" &&
		[ "$(grep -c -- '--- FAIL' "$log")" -eq 1 ] && grep -qx '    context deadline exceeded' "$log"; then
		echo "fuzz: $name: deadline race of Go's fuzz coordinator (go.dev/issue/75804), no input found; replaying the corpus"
		if ! go test -count=1 -run="^${name}\$" "$dir" >"$log" 2>&1; then
			cat "$log"
			echo "fuzz: $name: its corpus fails when replayed" >&2
			exit 1
		fi
		flakes=$((flakes + 1))
		continue
	fi
	cat "$log"
	echo "fuzz: $name failed; the input is in $dir/testdata/fuzz/$name/: fix the bug and commit the file as a regression seed" >&2
	exit 1
done
echo "fuzz: ${#targets[@]} targets without findings in $((SECONDS - start)) s ($flakes coordinator deadline races ignored)"
