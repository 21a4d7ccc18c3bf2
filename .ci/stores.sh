#!/usr/bin/env bash
# The session stores (stores/redisstore, stores/pgstore) and the soak tool
# (stores/soak): installs Debian's redis-server and postgresql when missing,
# starts a private Redis and PostgreSQL cluster on free loopback ports under
# a temporary directory, runs go vet, staticcheck and go test -race in each
# module, a short soak run, and stops both servers whatever the outcome.
#
# `bash .ci/stores.sh full` (not run by CI: about 5 minutes on a quiet
# 2-core machine) runs instead the protected-request benchmarks of every
# store (logtohttp's memory store and cookie sessions beside Redis and
# PostgreSQL) and the full soak with its defaults: the figures README's
# "Running several instances" records.
set -euo pipefail
mode="${1:-ci}"
case "$mode" in ci | full) ;; *) echo "usage: $0 [full]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
export CI="${CI:-true}"

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if ! command -v redis-server >/dev/null || [ -z "$(pgbin)" ]; then
  echo "== installing redis-server and postgresql (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server postgresql >/dev/null
fi
PGBIN="$(pgbin)"

# free_port prints the first port of the arguments nothing listens on.
free_port() {
  for p in "$@"; do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port among $*" >&2; return 1
}

tmp="$(mktemp -d /tmp/logto-stores.XXXXXX)"
redis_pid=""
pg_started=""
as_pg=()
cleanup() {
  set +e
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  [ -n "$pg_started" ] && "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$tmp/pg" -m immediate stop >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

redis_port="$(free_port 6390 6391 6392 6393 6394)"
echo "== redis-server on 127.0.0.1:$redis_port"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp" --save "" --appendonly no \
  --daemonize no --logfile "$tmp/redis.log" &
redis_pid=$!

pg_port="$(free_port 5440 5441 5442 5443 5444)"
echo "== PostgreSQL ($PGBIN) on 127.0.0.1:$pg_port"
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root: the cluster belongs to postgres.
  chown postgres "$tmp"
  as_pg=(runuser -u postgres --)
fi
"${as_pg[@]}" "$PGBIN/initdb" -D "$tmp/pg" -A trust -U postgres --no-sync >"$tmp/initdb.log" 2>&1 ||
  { cat "$tmp/initdb.log"; exit 1; }
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$tmp/pg" -l "$tmp/pg.log" -w \
  -o "-p $pg_port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
pg_started=1

for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
export REDISSTORE_TEST_ADDR="127.0.0.1:$redis_port"
export PGSTORE_TEST_DSN="postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable"

staticcheck_version=0.8.2
staticcheck_bin="$(go env GOBIN)"
staticcheck_bin="${staticcheck_bin:-$(go env GOPATH)/bin}/staticcheck"
if ! "$staticcheck_bin" -version 2>/dev/null | grep -qF "($staticcheck_version)"; then
  GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@v$staticcheck_version"
fi

if [ "$mode" = full ]; then
  echo "== protected request with each store (go test -bench)"
  (go test -run '^$' -bench SharedStoreProtectedRequest -benchmem -count 5 ./logtohttp/)
  for m in stores/redisstore stores/pgstore; do
    (cd "$m" && go test -run '^$' -bench ProtectedRequest -benchmem -count 5 .)
  done
  echo "== soak (full): the tool's defaults"
  (cd stores/soak && go build -o "$tmp/soak" . && "$tmp/soak" -pg-dsn "$PGSTORE_TEST_DSN")
  exit 0
fi

for m in stores/redisstore stores/pgstore stores/soak; do
  echo "== $m: go vet, staticcheck, go test -race"
  (cd "$m" && go vet ./... && "$staticcheck_bin" ./... && go test -race -count=1 ./...)
done

echo "== soak (short): 300 sessions, tokens expiring every 8 s, 20 s per store"
(cd stores/soak && go build -o "$tmp/soak" . &&
  "$tmp/soak" -sessions 300 -ttl 8s -duration 20s -pg-dsn "$PGSTORE_TEST_DSN")
