#!/usr/bin/env bash
# fleet.sh PORT — the fleet of README "Fleet" on this machine, for a person
# to try (make fleet; the database is make run's, already started, migrated
# and seeded by the Makefile):
#
#   redis-server   var/fleet/redis.sock (no TCP port, no persistence)
#   3 nodes        bin/api on 127.0.0.1:PORT+1 .. PORT+3, one limit in Redis,
#                  -trusted-proxies 127.0.0.1/32, -drain-delay 2s,
#                  mails as .eml files in var/fleet/mail
#   Caddy          remote/fleet/Caddyfile unchanged, plain HTTP on :PORT,
#                  admin endpoint off
#
# Logs in var/fleet/*.log. Ctrl-C (or SIGTERM) stops Caddy, the nodes and
# Redis by PID, and the PostgreSQL cluster too when this run started it
# (FLEET_STARTED_DB=1 from the Makefile). Needs REDLIGHT_DB_DSN and
# DEV_PGPORT (the Makefile exports both); ARGS in the environment are
# appended to every node's flags.
set -euo pipefail

cd "$(dirname -- "${BASH_SOURCE[0]}")/../.." || exit 1
port=${1:-4000}
dir=var/fleet
mkdir -p "$dir/mail"
dir=$(realpath "$dir")
: "${REDLIGHT_DB_DSN:?REDLIGHT_DB_DSN is not set (run make fleet)}"
: "${DEV_PGPORT:?DEV_PGPORT is not set (run make fleet)}"

pids=()
stop_all() {
    local pid end
    trap '' INT TERM
    trap - EXIT
    # Caddy first (no new requests), then the nodes (each drains), Redis.
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        end=$((SECONDS + 40))
        while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "${FLEET_STARTED_DB:-0}" = 1 ]; then
        tests/tools/pgcluster.sh stop var/pgdata "$DEV_PGPORT" || true
    fi
    echo "fleet: stopped"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for WHAT SECONDS PID CMD...: until CMD succeeds; fails when PID exits.
wait_for() {
    local what=$1 end=$((SECONDS + $2)) pid=$3
    shift 3
    until "$@" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$end" ]; then
            echo "fleet: $what did not come up; last lines of its log:" >&2
            return 1
        fi
        sleep 0.1
    done
}

sock=$dir/redis.sock
rm -f "$sock"
redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 \
    --save '' --appendonly no --dir "$dir" --logfile "$dir/redis.log" &
pids=("$!" "${pids[@]}")
wait_for redis-server 15 "${pids[0]}" redis-cli -s "$sock" ping ||
    { tail -n 20 "$dir/redis.log" >&2; exit 1; }
echo "fleet: redis-server on $sock"

# shellcheck disable=SC2206 # ARGS are flags, split on spaces like make run's
extra=(${ARGS:-})
upstreams=()
for n in 1 2 3; do
    p=$((port + n))
    log=$dir/node-$p.log
    bin/api -port "$p" -db-dsn "$REDLIGHT_DB_DSN" \
        -trusted-proxies 127.0.0.1/32 -limiter-redis "unix://$sock" \
        -drain-delay 2s -limiter-rps 50 -limiter-burst 100 \
        -smtp-host '' -mail-dir "$dir/mail" "${extra[@]}" >"$log" 2>&1 &
    pids=("$!" "${pids[@]}")
    wait_for "node $p" 30 "${pids[0]}" curl -fs "http://127.0.0.1:$p/readyz" ||
        { tail -n 20 "$log" >&2; exit 1; }
    echo "fleet: node on 127.0.0.1:$p (log $log)"
    upstreams+=("127.0.0.1:$p")
done

# The metrics paths through Caddy: user ops, password fleet-metrics (a
# development password: `caddy hash-password` makes a real one); each node
# also serves them to loopback directly.
# shellcheck disable=SC2016 # a bcrypt hash, not an expansion
HOME=$dir XDG_DATA_HOME=$dir XDG_CONFIG_HOME=$dir \
    REDLIGHT_DOMAIN="http://:$port" REDLIGHT_ACME_EMAIL=ops@example.com \
    REDLIGHT_CADDY_ADMIN=off REDLIGHT_UPSTREAMS="${upstreams[*]}" \
    REDLIGHT_METRICS_USER=ops \
    REDLIGHT_METRICS_HASH='$2a$14$Mo0DPbjESysDN7WvO1UO1OqDa9DouiwmhTOMLU9y8B9UMlGq1eaG2' \
    caddy run --config remote/fleet/Caddyfile --adapter caddyfile \
    >"$dir/caddy.log" 2>&1 &
pids=("$!" "${pids[@]}")
wait_for caddy 30 "${pids[0]}" curl -fs "http://127.0.0.1:$port/v1/healthcheck" ||
    { tail -n 20 "$dir/caddy.log" >&2; exit 1; }

cat <<EOF
fleet: Caddy on :$port in front of ${upstreams[*]}
  curl localhost:$port/v1/healthcheck
  curl -u ops:fleet-metrics localhost:$port/metrics   # one node's metrics
  kill -TERM <a node's PID> and watch Caddy route around it (var/fleet/*.log)
  node PIDs: ${pids[*]:1:3}   Ctrl-C stops everything
EOF
# Until Ctrl-C, or until one of them exits.
wait -n "${pids[@]}" || true
echo "fleet: a process exited; stopping the rest" >&2
