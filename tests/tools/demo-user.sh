#!/usr/bin/env bash
# demo-user.sh [API-BINARY] — makes sure the quick start's demo user exists:
# demo@redlight.local / pa55word, activated, with movies:read and
# movies:write, through the operator CLI (`api users create`, then `grant`).
# Idempotent: a second run changes nothing and succeeds. Prints the e-mail,
# the password and a curl line that logs in (on $PORT, default 4000).
#
# Needs REDLIGHT_DB_DSN (make db/demo-user sets it). API-BINARY defaults to
# bin/api. Exit status: 0 done, 1 the CLI failed or the user exists but is
# not activated (registered through the API and never activated).
set -euo pipefail

api=${1:-bin/api}
email=demo@redlight.local
password=pa55word
port=${PORT:-4000}

if [ -z "${REDLIGHT_DB_DSN:-}" ]; then
    # shellcheck disable=SC2016 # the command to type, not to expand
    echo 'demo-user.sh: REDLIGHT_DB_DSN is not set (export REDLIGHT_DB_DSN=$(make -s db/dsn))' >&2
    exit 1
fi

status=0
printf '%s\n' "$password" | "$api" users create -email "$email" \
    -name 'Demo User' -password-stdin -activated \
    -grant movies:read,movies:write >/dev/null || status=$?
case $status in
0) ;;
3)  # it exists: keep its password, make sure of its permissions
    "$api" users grant "$email" movies:read >/dev/null
    "$api" users grant "$email" movies:write >/dev/null
    if ! "$api" users list | grep -Eq "^$email +yes "; then
        echo "demo-user.sh: $email exists but is not activated" \
            "(registered through the API?); activate it or delete it" >&2
        exit 1
    fi
    ;;
*) exit "$status" ;;
esac

cat <<MSG
demo user: $email  password: $password  (activated; movies:read, movies:write)
log in:    curl -s -X POST localhost:$port/v1/tokens/authentication -H 'Content-Type: application/json' -d '{"email":"$email","password":"$password"}'
MSG
