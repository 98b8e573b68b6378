# shellcheck shell=bash
# Sourced by pgcluster.sh, pgreplica.sh and pgbouncer.sh (set PROG first, the
# name their messages start with): die, and who runs PostgreSQL's programs.

die() {
    printf '%s: %s\n' "$PROG" "$*" >&2
    exit 1
}

# pg_owner [PATH]: sets owner and as_owner, the user PostgreSQL's programs
# run as and the command prefix that runs as it. initdb, postgres and
# pgbouncer refuse root: as root that is whoever owns PATH (never root), or
# Debian's `postgres` user when PATH is empty or does not exist yet;
# otherwise the invoking user, with no prefix.
pg_owner() {
    as_owner=()
    owner=$(id -un)
    [ "$(id -u)" -eq 0 ] || return 0
    owner=postgres
    if [ -n "${1:-}" ] && [ -e "$1" ]; then
        owner=$(stat -c %U -- "$1")
        [ "$owner" != root ] ||
            die "$1 belongs to root, and PostgreSQL will not run as root"
    fi
    id "$owner" >/dev/null 2>&1 ||
        die "no '$owner' user: install postgresql (make deps)"
    as_owner=(runuser -u "$owner" --)
}

# run CMD...: CMD as the owner pg_owner chose.
run() { "${as_owner[@]}" "$@"; }
