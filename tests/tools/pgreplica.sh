#!/usr/bin/env bash
# pgreplica.sh start PRIMARY_DATADIR PRIMARY_PORT DIR PORT | stop DIR
#
# A streaming replica of a pgcluster.sh cluster, for the tests.
#   start  the first time, pg_basebackup -R (streamed WAL, a fast checkpoint)
#          of the primary into DIR/data over its unix socket as the superuser
#          (pgcluster.sh's pg_hba trusts local replication); then starts it
#          on 127.0.0.1:PORT (socket in DIR/run) unless it runs. Idempotent:
#          start after stop starts the same replica again, which catches up.
#   stop   fast shutdown if it is running.
# It runs as the primary's owner (as root: the owner of PRIMARY_DATADIR,
# e.g. `postgres`), as PostgreSQL refuses root. Its settings are the
# primary's (copied by pg_basebackup: wal_level replica and hot_standby are
# PostgreSQL's defaults) with the port, socket and listen address given on
# the command line.
set -euo pipefail

PROG=pgreplica.sh
# shellcheck source=tests/tools/pglib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/pglib.sh"
usage() { die "usage: pgreplica.sh start PRIMARY_DATADIR PRIMARY_PORT DIR PORT | stop DIR"; }

[ "$#" -ge 2 ] || usage
cmd=$1
bindir=$(pg_config --bindir)

case "$cmd" in
start)
    [ "$#" -eq 5 ] || usage
    primary=$(realpath -m -- "$2") pport=$3 dir=$(realpath -m -- "$4") port=$5
    ;;
stop)
    [ "$#" -eq 2 ] || usage
    dir=$(realpath -m -- "$2") primary=$dir
    ;;
*) usage ;;
esac
data=$dir/data run=$dir/run
# Every path is absolute from here on; the owner may not be able to read the
# caller's working directory.
cd /
pg_owner "$primary"
running() { [ -f "$data/PG_VERSION" ] && run "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1; }

if [ "$cmd" = stop ]; then
    if running; then
        run "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 30 >/dev/null
    fi
    exit 0
fi

mkdir -p -- "$dir"
if [ "$(id -u)" -eq 0 ]; then
    chown "$owner": -- "$dir"
fi
chmod 700 -- "$dir"
if [ ! -f "$data/PG_VERSION" ]; then
    run "$bindir/pg_basebackup" -D "$data" -R -X stream -c fast \
        -h "$(dirname -- "$primary")/pgrun" -p "$pport" -U postgres ||
        die "pg_basebackup from 127.0.0.1:$pport failed"
fi
run mkdir -p -- "$run"
if ! running; then
    run "$bindir/pg_ctl" start -D "$data" -l "$dir/replica.log" -w -t 30 \
        -o "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$run" \
        >/dev/null || die "the replica did not start (see $dir/replica.log)"
fi
