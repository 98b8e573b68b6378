#!/usr/bin/env bash
# pgcluster.sh start|stop|status|psql DATADIR PORT [PSQL-ARGS...]
#
# A private PostgreSQL cluster for Redlight, separate from any system cluster.
#   start   initdb DATADIR once, (re)write its settings, start it if it is not
#           running, then make sure role `redlight` (password `redlight`) and
#           database `redlight` owned by it exist.  Idempotent.
#   stop    fast shutdown if it is running.
#   status  exit 0 if it is running, 1 if not.
#   psql    run psql as the superuser `postgres` over the cluster's unix socket
#           on database `redlight` (the remaining arguments go to psql).
#
# Layout, next to DATADIR:  ../pgrun (unix socket, mode 700),  ../pg.log.
# The server listens on 127.0.0.1:PORT only; TCP logins use scram-sha-256,
# unix-socket logins are trusted (only the cluster owner can reach the socket).
# The app connects with
#   postgres://redlight:redlight@127.0.0.1:PORT/redlight?sslmode=disable
#
# Who runs it: initdb refuses root, so as root the cluster belongs to, and runs
# as, the `postgres` user of Debian's postgresql package (or whoever already
# owns DATADIR); otherwise it belongs to the invoking user.  As root, ancestors
# of DATADIR that the owner cannot traverse get the search bit (o+x) only.
#
# Set PGCLUSTER_THROWAWAY=1 for a test cluster: fsync and friends are turned
# off (faster; the data does not survive a crash of the machine).
set -euo pipefail

usage() {
    echo "usage: pgcluster.sh start|stop|status|psql DATADIR PORT [PSQL-ARGS...]" >&2
    exit 2
}
say() { printf 'pgcluster: %s\n' "$*"; }
PROG=pgcluster
# shellcheck source=tests/tools/pglib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/pglib.sh"

[ "$#" -ge 3 ] || usage
cmd=$1
datadir=$(realpath -m -- "$2")
port=$3
shift 3
case "$cmd" in start | stop | status | psql) ;; *) usage ;; esac
if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    die "bad port: $port"
fi
[ "$cmd" = psql ] || [ "$#" -eq 0 ] || usage

base=$(dirname -- "$datadir")
rundir=$base/pgrun
logfile=$base/pg.log

command -v pg_config >/dev/null 2>&1 ||
    die "pg_config not found: install libpq-dev and postgresql (make deps)"
bindir=$(pg_config --bindir)
for prog in initdb pg_ctl psql; do
    [ -x "$bindir/$prog" ] ||
        die "$bindir/$prog not found: install postgresql (make deps)"
done

# Every path is absolute from here on; the owner may not be able to read the
# caller's working directory (e.g. a clone under /root).
cd /

# The OS user that owns and runs the cluster, and how to run a command as it.
pg_owner "$datadir"
running() { run "$bindir/pg_ctl" status -D "$datadir" >/dev/null 2>&1; }
initialized() { [ -f "$datadir/PG_VERSION" ]; }
superuser_psql() {
    run "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$rundir" -p "$port" \
        -U postgres "$@"
}

# As root: give the owner the search bit on every ancestor of DATADIR that it
# cannot traverse (e.g. /root, mode 700), nothing more.
make_traversable() {
    local dir="" part opened=()
    local -a parts
    IFS=/ read -r -a parts <<<"${base#/}"
    for part in "${parts[@]}"; do
        dir=$dir/$part
        if ! run test -x "$dir"; then
            chmod o+x -- "$dir"
            opened+=("$dir")
        fi
    done
    if [ "${#opened[@]}" -gt 0 ]; then
        say "note: added o+x (search only) to ${opened[*]} so that '$owner' can reach $datadir"
    fi
}

# A file or folder that the owner must be able to write, created by us.
owned_path() { # kind path mode
    if [ "$1" = dir ]; then
        mkdir -p -- "$2"
    else
        touch -- "$2"
    fi
    if [ "$(id -u)" -eq 0 ]; then
        chown "$owner": -- "$2"
    fi
    chmod "$3" -- "$2"
}

pick_locale() {
    if [ "$(LC_ALL=C.UTF-8 locale charmap 2>/dev/null)" = UTF-8 ]; then
        echo C.UTF-8
    else
        echo C
    fi
}

# Settings that depend on the arguments live in their own file, rewritten on
# every start, so a changed port or a moved checkout takes effect.
write_settings() {
    {
        echo "# written by tests/tools/pgcluster.sh on every start"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = '$rundir'"
        echo "unix_socket_permissions = 0700"
        if [ "${PGCLUSTER_THROWAWAY:-0}" = 1 ]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } | run tee -- "$datadir/redlight.conf" >/dev/null
    local include="include_if_exists = 'redlight.conf'"
    if ! grep -qxF -- "$include" "$datadir/postgresql.conf"; then
        printf '%s\n' "$include" |
            run tee -a -- "$datadir/postgresql.conf" >/dev/null
    fi
}

create_app_role_and_db() {
    superuser_psql -d postgres <<'SQL'
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'redlight') THEN
        CREATE ROLE redlight LOGIN PASSWORD 'redlight';
    END IF;
END
$$;
SELECT 'CREATE DATABASE redlight OWNER redlight ENCODING ''UTF8'' TEMPLATE template0'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'redlight') \gexec
SQL
}

start() {
    mkdir -p -- "$base"
    if [ "$(id -u)" -eq 0 ]; then
        make_traversable
    fi
    if ! initialized; then
        owned_path dir "$datadir" 700
        local locale
        locale=$(pick_locale)
        say "initdb $datadir (locale $locale, owner $owner)"
        run "$bindir/initdb" -D "$datadir" --auth-local=trust \
            --auth-host=scram-sha-256 -U postgres --encoding=UTF8 \
            --locale="$locale" >"$base/initdb.log" 2>&1 || {
            cat "$base/initdb.log" >&2
            die "initdb failed"
        }
    fi
    owned_path dir "$rundir" 700
    owned_path file "$logfile" 600

    if running; then
        say "already running ($datadir, port $port)"
    else
        write_settings
        if ! run "$bindir/pg_ctl" start -D "$datadir" -l "$logfile" -w -t 60 \
            >/dev/null; then
            tail -n 20 -- "$logfile" >&2
            die "could not start the cluster in $datadir (log: $logfile)"
        fi
        say "started on 127.0.0.1:$port ($datadir, log $logfile)"
    fi
    create_app_role_and_db
}

stop() {
    if initialized && running; then
        run "$bindir/pg_ctl" stop -D "$datadir" -m fast -w -t 60 >/dev/null
        say "stopped ($datadir)"
    else
        say "not running ($datadir)"
    fi
}

status() {
    if initialized && running; then
        say "running ($datadir)"
    else
        say "not running ($datadir)"
        return 1
    fi
}

case "$cmd" in
start) start ;;
stop) stop ;;
status) status ;;
psql)
    running || die "not running ($datadir)"
    superuser_psql -d redlight "$@"
    ;;
esac
