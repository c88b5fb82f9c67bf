#!/usr/bin/env bash
# The standard load run behind `make bench`: build dalil, generate a registry,
# start a server on loopback with the embedded store (and a second one on
# PostgreSQL when DALIL_TEST_POSTGRES is set), drive each with `dalil bench`,
# stop it. Bounded: every step has a timeout and the load itself runs for
# BENCH_DURATION. Reports go to BENCH_OUT as Markdown.
#
# Knobs (environment): BENCH_DEVICES (20000), BENCH_INTERVAL (10s),
# BENCH_DURATION (30s), BENCH_WATCHERS (200), BENCH_PROTOCOL (native),
# BENCH_BATCH (1), BENCH_CONNS (256), BENCH_ADDR (127.0.0.1:18931),
# BENCH_OUT (bin/bench), GO (go).
set -euo pipefail

GO=${GO:-go}
DEVICES=${BENCH_DEVICES:-20000}
INTERVAL=${BENCH_INTERVAL:-10s}
DURATION=${BENCH_DURATION:-30s}
WATCHERS=${BENCH_WATCHERS:-200}
PROTOCOL=${BENCH_PROTOCOL:-native}
BATCH=${BENCH_BATCH:-1}
CONNS=${BENCH_CONNS:-256}
ADDR=${BENCH_ADDR:-127.0.0.1:18931}
OUT=${BENCH_OUT:-bin/bench}
SEED=1

case "$ADDR" in
127.*:* | localhost:* | \[::1\]:*) ;;
*)
	echo "BENCH_ADDR=$ADDR is not a loopback address" >&2
	exit 2
	;;
esac

work=$(mktemp -d)
server_pid=""
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$OUT"
echo "== building dalil"
$GO build -o "$work/dalil" ./cmd/dalil
echo "== generating a registry of $DEVICES pilgrims"
timeout 300 "$work/dalil" registry generate --pilgrims "$DEVICES" --seed "$SEED" --out "$work/registry.csv"
DALIL_ADMIN_TOKEN="bench-admin-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export DALIL_ADMIN_TOKEN

# run_one LABEL NAME SERVER-FLAGS…: start a server, bench it, stop it.
run_one() {
	local label=$1 name=$2
	shift 2
	echo "== $label: starting the server"
	"$work/dalil" serve --addr "$ADDR" --registry "$work/registry.csv" --log-level warn "$@" \
		>"$work/server-$name.log" 2>&1 &
	server_pid=$!
	local ok=""
	for _ in $(seq 1 240); do
		if curl -fsS -o /dev/null "http://$ADDR/readyz" 2>/dev/null; then
			ok=1
			break
		fi
		if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
		sleep 0.5
	done
	if [ -z "$ok" ]; then
		echo "the server did not become ready; its log:" >&2
		tail -n 30 "$work/server-$name.log" >&2
		return 1
	fi
	echo "== $label: $DEVICES devices every $INTERVAL for $DURATION, $WATCHERS watchers"
	timeout 900 "$work/dalil" bench --target "http://$ADDR" --token "$DALIL_ADMIN_TOKEN" \
		--registry "$work/registry.csv" --devices "$DEVICES" --interval "$INTERVAL" \
		--duration "$DURATION" --watchers "$WATCHERS" --protocol "$PROTOCOL" --batch "$BATCH" \
		--conns "$CONNS" --server-pid "$server_pid" --label "$label" --out "$OUT/$name.md"
	kill -TERM "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
}

run_one "embedded store" embedded --data "$work/data"
if [ -n "${DALIL_TEST_POSTGRES:-}" ]; then
	# A schema of its own keeps the run apart from other tables in the database.
	pg_url=$DALIL_TEST_POSTGRES
	if command -v psql >/dev/null; then
		schema="dalil_bench_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
		psql -q "$DALIL_TEST_POSTGRES" -c "CREATE SCHEMA $schema"
		case "$pg_url" in *\?*) pg_url="$pg_url&search_path=$schema" ;; *) pg_url="$pg_url?search_path=$schema" ;; esac
		trap 'cleanup; psql -q "$DALIL_TEST_POSTGRES" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true' EXIT
	fi
	run_one "PostgreSQL" postgres --store "$pg_url"
else
	echo "== PostgreSQL: skipped (set DALIL_TEST_POSTGRES=postgres://… to run it too)"
fi
echo "== reports in $OUT"
