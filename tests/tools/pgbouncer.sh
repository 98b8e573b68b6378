#!/usr/bin/env bash
# pgbouncer.sh start DIR PORT PGPORT | stop DIR
#
# A private PgBouncer in transaction mode for the tests and benchmarks, in
# front of a pgcluster.sh cluster on 127.0.0.1:PGPORT, database redlight.
#   start  writes DIR/pgbouncer.ini and DIR/users.txt (role redlight,
#          password redlight, SCRAM to both sides), starts pgbouncer as a
#          daemon listening on 127.0.0.1:PORT and prints its PID once it
#          accepts connections (10 s at most).
#   stop   SIGTERM to the PID in DIR/pgbouncer.pid (SIGKILL after 5 s).
# The app then connects with
#   postgres://redlight:redlight@127.0.0.1:PORT/redlight?sslmode=disable
# and must run with -db-prepared=false (transaction mode).
#
# pgbouncer refuses to run as root: as root DIR belongs to, and pgbouncer
# runs as, the `postgres` user (as for pgcluster.sh). Servers are used
# round robin (server_round_robin = 1), so that anything a client leaves on
# one server connection (a session SET) is soon missed on another.
set -euo pipefail

PROG=pgbouncer.sh
# shellcheck source=tests/tools/pglib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/pglib.sh"
usage() { die "usage: pgbouncer.sh start DIR PORT PGPORT | stop DIR"; }

[ "$#" -ge 2 ] || usage
cmd=$1
dir=$(realpath -m -- "$2")
pg_owner ""

case "$cmd" in
start)
    [ "$#" -eq 4 ] || usage
    port=$3 pgport=$4
    bin=$(command -v pgbouncer || true)
    [ -n "$bin" ] || bin=/usr/sbin/pgbouncer
    [ -x "$bin" ] || die "pgbouncer not found: install pgbouncer (make deps)"
    mkdir -p -- "$dir"
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
redlight = host=127.0.0.1 port=$pgport dbname=redlight

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/users.txt
pool_mode = transaction
server_round_robin = 1
default_pool_size = 20
max_client_conn = 500
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    printf '"redlight" "redlight"\n' >"$dir/users.txt"
    chmod 600 "$dir/users.txt"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R "$owner": -- "$dir"
    fi
    run "$bin" -q -d "$dir/pgbouncer.ini" ||
        die "pgbouncer did not start (see $dir/pgbouncer.log)"
    for _ in $(seq 100); do
        if [ -s "$dir/pgbouncer.pid" ] &&
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            cat "$dir/pgbouncer.pid"
            exit 0
        fi
        sleep 0.1
    done
    die "pgbouncer does not accept connections on 127.0.0.1:$port"
    ;;
stop)
    [ "$#" -eq 2 ] || usage
    [ -s "$dir/pgbouncer.pid" ] || exit 0
    pid=$(cat "$dir/pgbouncer.pid")
    [[ "$pid" =~ ^[0-9]+$ ]] || die "bad PID file $dir/pgbouncer.pid"
    kill -TERM "$pid" 2>/dev/null || exit 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || exit 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    ;;
*) usage ;;
esac
