#!/usr/bin/env bash
# run-tests.sh — every Redlight test, on throw-away services. Called by
# `make test` once bin/api, bin/api-sanitize and bin/tests/test_* are built.
#
#   1. a temp dir under /tmp (mode 755, so the postgres user can use it when
#      root); free ports on 127.0.0.1; a throw-away PostgreSQL cluster in it
#      (pgcluster.sh), role/db redlight; `bin/api migrate up`
#   2. the C unit tests bin/tests/test_* (cmocka, ASan + UBSan)
#   3. an SMTP sink (aiosmtpd) that stores mails in a Maildir
#   4. the server under test, bin/api-sanitize, until /v1/healthcheck answers
#   5. the black-box HTTP tests: pytest tests/
#   5a. the same movies, auth and users tests (REDLIGHT_PGBOUNCER_TESTS) again
#      through a PgBouncer in transaction mode (tests/tools/pgbouncer.sh) on a
#      second server instance with -db-prepared=false; skipped when
#      REDLIGHT_PYTEST_ARGS narrows the run and REDLIGHT_PGBOUNCER_TESTS is
#      not set
#   5b. the HTTP fuzzer (tests/fuzz/http_fuzz.py, on an instance of its own):
#      the saved cases of tests/fuzz/regressions (those listed in its KNOWN
#      file may fail), then REDLIGHT_FUZZ_SECONDS (60) of fixed-seed fuzzing
#   6. SIGTERM to the server: it must exit 0 with no sanitizer report
#   7. a last line "N passed, M failed"; the exit status is 0 only if M is 0
#
# A trap stops every process this script started (by PID) and removes the temp
# dir, whatever happens (failure, Ctrl-C).  REDLIGHT_KEEP_TMP=1 keeps the dir.
# REDLIGHT_FUZZ_ONLY=1 (make fuzz/http) skips 2 and 5 and stops after 5b;
# REDLIGHT_FUZZ_SEED (1), _CASES (2000) and _FINDINGS (the temp dir) too.
# LeakSanitizer is probed first: if it cannot run here (ptrace blocked), leak
# checking is turned off with a loud warning, or the run fails when
# REDLIGHT_REQUIRE_LSAN=1.
#
# What the HTTP tests get (environment):
#   REDLIGHT_API_URL         http://127.0.0.1:PORT of the server under test
#   REDLIGHT_DB_DSN          the app's DSN (role redlight)
#   REDLIGHT_TEST_ADMIN_DSN  superuser `postgres` over TCP (a random password
#                            set for this run), database redlight
#   REDLIGHT_BIN             absolute path of bin/api-sanitize
#   REDLIGHT_SERVER_PID      PID of the server under test: do not signal it,
#                            step 6 requires that it exits 0 on our SIGTERM
#   REDLIGHT_SERVER_LOG      its stdout + stderr
#   REDLIGHT_SERVER_CMD      shell-quoted command line (sanitizer env, binary,
#                            the same flags but no -port) that starts another
#                            instance: append `-port N` and your own flags,
#                            e.g. shlex.split(cmd) + ["-port", str(n), ...]
#   REDLIGHT_MAILDIR         the SMTP sink's Maildir (new mails in new/)
#   REDLIGHT_SMTP_PORT       the SMTP sink's port on 127.0.0.1
#   REDLIGHT_TEST_TMP        the temp dir, for files a test wants to keep
#   REDLIGHT_TEST_PGDATA     the test cluster's data directory (its socket is
#                            in ../pgrun), for tests/tools/pgreplica.sh
#   REDLIGHT_PGBOUNCER_DSN   (the PgBouncer pass only, 5a) the PgBouncer the
#                            server under test connects through
set -uo pipefail

cd "$(dirname -- "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$(pwd -P)
TOOLS=$ROOT/tests/tools
PY=/usr/bin/python3
SERVER_BIN=$ROOT/bin/api-sanitize
UNIT_TIMEOUT=${REDLIGHT_UNIT_TIMEOUT:-300}
PYTEST_TIMEOUT=${REDLIGHT_PYTEST_TIMEOUT:-1200}

unit_pass=0 unit_fail=0 py_pass=0 py_fail=0 py_skip=0 other_fail=0
fz_pass=0 fz_fail=0
FUZZ_ONLY=${REDLIGHT_FUZZ_ONLY:-0}
failures=()
TMP="" server_pid="" smtp_pid="" pgb_pid="" pgb_server_pid="" cluster=0 lsan=1

note() { printf '== %s\n' "$*"; }
fail() { # record a failure that is not a single test's
    failures+=("$*")
    other_fail=$((other_fail + 1))
    printf 'FAIL: %s\n' "$*" >&2
}
die() { # a set-up step failed: nothing after it can run
    fail "$*"
    exit 1
}

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# stop_pid PID SECONDS: SIGTERM, then SIGKILL after SECONDS; reaps it.
stop_pid() {
    local pid=$1 end=$((SECONDS + $2))
    kill -TERM "$pid" 2>/dev/null
    while alive "$pid" && [ "$SECONDS" -lt "$end" ]; do
        sleep 0.1
    done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

teardown() {
    local rc=$?
    trap '' INT TERM
    trap - EXIT
    [ -n "$server_pid" ] && stop_pid "$server_pid" 10
    [ -n "$pgb_server_pid" ] && stop_pid "$pgb_server_pid" 10
    [ -n "$pgb_pid" ] && stop_pid "$pgb_pid" 5
    [ -n "$smtp_pid" ] && stop_pid "$smtp_pid" 5
    if [ "$cluster" = 1 ]; then
        "$TOOLS/pgcluster.sh" stop "$TMP/pgdata" "$PG_PORT" >/dev/null ||
            echo "warning: could not stop the test cluster in $TMP" >&2
    fi
    if [ -n "$TMP" ]; then
        if [ "${REDLIGHT_KEEP_TMP:-0}" = 1 ]; then
            echo "kept $TMP"
        else
            rm -rf -- "$TMP"
        fi
    fi

    if [ "$rc" -ne 0 ] && [ $((unit_fail + py_fail + fz_fail + other_fail)) -eq 0 ]; then
        failures+=("interrupted or unexpected error (exit $rc)")
        other_fail=$((other_fail + 1))
    fi
    echo
    echo "unit tests: $unit_pass passed, $unit_fail failed"
    echo "HTTP tests: $py_pass passed, $py_fail failed, $py_skip skipped"
    echo "HTTP fuzzing: $fz_pass passed, $fz_fail failed"
    [ "$lsan" = 1 ] || echo "WARNING: leak checking was OFF (LeakSanitizer cannot run here)"
    local f
    for f in "${failures[@]}"; do
        echo "failed: $f"
    done
    echo "$((unit_pass + py_pass + fz_pass)) passed, $((unit_fail + py_fail + fz_fail + other_fail)) failed"
    if [ $((unit_fail + py_fail + fz_fail + other_fail)) -ne 0 ]; then
        exit 1
    fi
    exit 0
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 0. prerequisites, temp dir, ports ---------------------------------------
for f in "$ROOT/bin/api" "$SERVER_BIN"; do
    [ -x "$f" ] || die "$f is missing: run make test (it builds it)"
done
[ -x "$PY" ] || die "$PY is missing: run make deps"

TMP=$(mktemp -d /tmp/redlight-test.XXXXXX) || die "mktemp failed"
chmod 755 "$TMP"

read -r PG_PORT API_PORT SMTP_PORT < <("$PY" "$ROOT/tests/ports.py" 3)
[ -n "${SMTP_PORT:-}" ] || die "could not pick free ports"
DSN="postgres://redlight:redlight@127.0.0.1:$PG_PORT/redlight?sslmode=disable"

# LeakSanitizer stops the process's threads with ptrace; where ptrace is denied
# every sanitized binary would die at exit, so find out first and say so.
probe_lsan() {
    local out
    printf '%s\n' '#include <stdlib.h>' \
        'int main(void) { void *volatile p = malloc(7); p = 0; return p != 0; }' \
        >"$TMP/lsan-probe.c"
    cc -fsanitize=address -g -o "$TMP/lsan-probe" "$TMP/lsan-probe.c" ||
        die "cannot build a program with -fsanitize=address"
    out=$(ASAN_OPTIONS=detect_leaks=1 "$TMP/lsan-probe" 2>&1)
    if grep -q 'ERROR: LeakSanitizer: detected memory leaks' <<<"$out"; then
        note "LeakSanitizer works here: leak checking is on"
        return
    fi
    lsan=0
    {
        echo '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
        echo '!! LeakSanitizer CANNOT RUN in this environment (is ptrace blocked?).'
        echo '!! A deliberately leaking probe was not reported; it printed:'
        head -n 8 <<<"$out" | sed 's/^/!!   /'
        echo '!! Leak checking is OFF for this run (detect_leaks=0).'
        echo '!! Set REDLIGHT_REQUIRE_LSAN=1 to make this a failure.'
        echo '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
    } >&2
    if [ "${REDLIGHT_REQUIRE_LSAN:-0}" = 1 ]; then
        die "LeakSanitizer cannot run and REDLIGHT_REQUIRE_LSAN=1"
    fi
}
probe_lsan
ASAN_BASE="detect_leaks=$lsan:halt_on_error=1:abort_on_error=0"
UBSAN_BASE="print_stacktrace=1:halt_on_error=1"

# --- 1. the throw-away cluster and the schema ---------------------------------
note "PostgreSQL on 127.0.0.1:$PG_PORT ($TMP/pgdata)"
cluster=1
PGCLUSTER_THROWAWAY=1 "$TOOLS/pgcluster.sh" start "$TMP/pgdata" "$PG_PORT" ||
    die "could not start the test cluster"
ADMIN_PW=$("$PY" -c 'import secrets; print(secrets.token_hex(16))')
"$TOOLS/pgcluster.sh" psql "$TMP/pgdata" "$PG_PORT" \
    <<<"ALTER ROLE postgres PASSWORD '$ADMIN_PW';" ||
    die "could not set the superuser's password"
ADMIN_DSN="postgres://postgres:$ADMIN_PW@127.0.0.1:$PG_PORT/redlight?sslmode=disable"

note "bin/api migrate up"
if ! "$ROOT/bin/api" -db-dsn "$DSN" migrate up >"$TMP/migrate.log" 2>&1; then
    cat "$TMP/migrate.log" >&2
    die "bin/api migrate up failed"
fi
cat "$TMP/migrate.log"

# --- 2. C unit tests ------------------------------------------------------------
# sum_cmocka FILE WORD: the total of cmocka's "[  WORD  ] k test(s)" lines.
sum_cmocka() {
    sed -n "s/^\[  $2  \] \([0-9][0-9]*\) test(s).*/\1/p" "$1" |
        awk '{ n += $1 } END { print n + 0 }'
}

run_unit_tests() {
    local t name rc p f
    local -a bins
    bins=("$ROOT"/bin/tests/test_*)
    [ -e "${bins[0]}" ] || {
        note "no unit test binaries in bin/tests"
        return
    }
    for t in "${bins[@]}"; do
        if [ ! -f "$t" ] || [ ! -x "$t" ]; then
            continue
        fi
        name=${t#"$ROOT"/}
        note "$name"
        # REDLIGHT_TEST_DB_DSN: the test cluster, for tests that connect
        # (tests/unit/test_conn.c); without it they are skipped.
        ASAN_OPTIONS=$ASAN_BASE UBSAN_OPTIONS=$UBSAN_BASE \
            CMOCKA_MESSAGE_OUTPUT=STDOUT REDLIGHT_TEST_DB_DSN=$DSN \
            timeout --foreground -k 10 "$UNIT_TIMEOUT" "$t" 2>&1 |
            tee "$TMP/unit.out"
        rc=${PIPESTATUS[0]}
        p=$(sum_cmocka "$TMP/unit.out" PASSED)
        f=$(sum_cmocka "$TMP/unit.out" FAILED)
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            f=1 # crashed, sanitizer report, or timed out
        fi
        [ "$rc" -ne 0 ] && failures+=("$name (exit $rc)")
        unit_pass=$((unit_pass + p))
        unit_fail=$((unit_fail + f))
    done
}
[ "$FUZZ_ONLY" = 1 ] || run_unit_tests

# --- 3. SMTP sink -----------------------------------------------------------------
# wait_port PORT SECONDS [PID]: until 127.0.0.1:PORT accepts a connection.
wait_port() {
    local end=$((SECONDS + $2))
    while [ "$SECONDS" -lt "$end" ]; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        [ -n "${3:-}" ] && ! alive "$3" && return 1
        sleep 0.1
    done
    return 1
}

MAILDIR=$TMP/maildir
note "SMTP sink on 127.0.0.1:$SMTP_PORT (Maildir $MAILDIR)"
"$PY" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" \
    -c aiosmtpd.handlers.Mailbox "$MAILDIR" >"$TMP/smtp.log" 2>&1 &
smtp_pid=$!
if ! wait_port "$SMTP_PORT" 15 "$smtp_pid"; then
    cat "$TMP/smtp.log" >&2
    die "the SMTP sink did not start"
fi

# --- 4. the server under test ---------------------------------------------------
SAN_ENV=(
    "ASAN_OPTIONS=$ASAN_BASE:log_path=$TMP/asan"
    "UBSAN_OPTIONS=$UBSAN_BASE:log_path=$TMP/ubsan"
)
# Flags of every server instance (the main one adds -port).  The server exits 2
# on an unknown flag, so only flags it already has belong here.
EXTRA_FLAGS=(
    -db-dsn "$DSN"
    -env staging
    # Mails go to the SMTP sink (a later -smtp-host/-smtp-port wins, for
    # instances a test points elsewhere); -mail-dir serves -smtp-host "".
    -smtp-host 127.0.0.1 -smtp-port "$SMTP_PORT"
    -mail-dir "$TMP/mail"
    # Every test talks from 127.0.0.1, far above 2 requests a second: the
    # limiter is tested on instances of its own (tests/test_ratelimit.py,
    # which appends -limiter-enabled=true; the last value of a flag wins).
    -limiter-enabled=false
)
SERVER_CMD=$(printf '%q ' env "${SAN_ENV[@]}" "$SERVER_BIN" "${EXTRA_FLAGS[@]}")
SERVER_LOG=$TMP/server.log
API_URL=http://127.0.0.1:$API_PORT

note "bin/api-sanitize on $API_URL (log $SERVER_LOG)"
env "${SAN_ENV[@]}" "$SERVER_BIN" -port "$API_PORT" "${EXTRA_FLAGS[@]}" \
    >"$SERVER_LOG" 2>&1 &
server_pid=$!

# wait_healthy [PID URL]: until the server (the main one) answers.
wait_healthy() {
    local code end=$((SECONDS + 30)) pid=${1:-$server_pid} url=${2:-$API_URL}
    while [ "$SECONDS" -lt "$end" ]; do
        if ! alive "$pid"; then
            wait "$pid"
            echo "the server exited with status $? before answering" >&2
            [ "$pid" = "$server_pid" ] && server_pid=""
            return 1
        fi
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
            "$url/v1/healthcheck")
        [ "$code" = 200 ] && return 0
        sleep 0.1
    done
    return 1
}
if ! wait_healthy; then
    echo "--- $SERVER_LOG" >&2
    cat "$SERVER_LOG" >&2
    cat "$TMP"/asan.* "$TMP"/ubsan.* 2>/dev/null >&2
    die "the server did not answer GET /v1/healthcheck with 200 (see above)"
fi

# --- 5b. HTTP fuzzing (run after step 5, or alone) ----------------------------
# The fuzzer starts its own instance ($SERVER_CMD plus short deadlines) and
# prints "http_fuzz: RESULT phase=... passed=N failed=M ..." lines; the
# regression pass counts one test per saved case, the fuzz pass one test.
run_fuzz() {
    local out=${REDLIGHT_FUZZ_FINDINGS:-$TMP/fuzz} rc
    local -a args=(--replay "$ROOT/tests/fuzz/regressions")
    if [ "${REDLIGHT_FUZZ_SECONDS:-60}" != 0 ]; then
        args+=(--seed "${REDLIGHT_FUZZ_SEED:-1}"
            --seconds "${REDLIGHT_FUZZ_SECONDS:-60}"
            --cases "${REDLIGHT_FUZZ_CASES:-2000}")
    fi
    note "HTTP fuzzer: regressions, then ${REDLIGHT_FUZZ_SECONDS:-60} s (findings in $out)"
    timeout --foreground -k 30 $((${REDLIGHT_FUZZ_SECONDS:-60} + 900)) \
        "$PY" "$ROOT/tests/fuzz/http_fuzz.py" --server-cmd "$SERVER_CMD" \
        --admin-dsn "$ADMIN_DSN" --known "$ROOT/tests/fuzz/regressions/KNOWN" \
        --findings "$out" --log-dir "$TMP" "${args[@]}" 2>&1 |
        tee "$TMP/fuzz.log"
    rc=${PIPESTATUS[0]}
    local p f
    p=$(sed -n 's/^http_fuzz: RESULT .*passed=\([0-9]*\).*/\1/p' "$TMP/fuzz.log" |
        awk '{ n += $1 } END { print n + 0 }')
    f=$(sed -n 's/^http_fuzz: RESULT .*failed=\([0-9]*\).*/\1/p' "$TMP/fuzz.log" |
        awk '{ n += $1 } END { print n + 0 }')
    fz_pass=$((fz_pass + p)) fz_fail=$((fz_fail + f))
    if [ "$rc" -ne 0 ]; then
        failures+=("HTTP fuzzer (exit $rc; findings in $out)")
        [ "$f" -eq 0 ] && fz_fail=$((fz_fail + 1))
    fi
}
if [ "$FUZZ_ONLY" = 1 ]; then
    run_fuzz
    exit 0 # the EXIT trap stops everything and prints the summary
fi

# --- 5. black-box HTTP tests -----------------------------------------------------
export REDLIGHT_API_URL=$API_URL
export REDLIGHT_DB_DSN=$DSN
export REDLIGHT_TEST_ADMIN_DSN=$ADMIN_DSN
export REDLIGHT_BIN=$SERVER_BIN
export REDLIGHT_SERVER_PID=$server_pid
export REDLIGHT_SERVER_LOG=$SERVER_LOG
export REDLIGHT_SERVER_CMD=$SERVER_CMD
export REDLIGHT_MAILDIR=$MAILDIR
export REDLIGHT_SMTP_PORT=$SMTP_PORT
export REDLIGHT_TEST_TMP=$TMP
export REDLIGHT_TEST_PGDATA=$TMP/pgdata
export PYTHONDONTWRITEBYTECODE=1

# run_pytest LABEL LOG ARGS...: one pytest run, counted into py_*.
run_pytest() {
    local label=$1 log=$2 rc summary p f k
    shift 2
    note "pytest $*"
    timeout --foreground -k 30 "$PYTEST_TIMEOUT" \
        "$PY" -m pytest -q -p no:cacheprovider "$@" 2>&1 |
        tee "$TMP/pytest.log"
    rc=${PIPESTATUS[0]}
    # pytest -q ends with e.g. "3 failed, 40 passed, 2 skipped, 1 error in 9.81s".
    summary=$(grep -E '(passed|failed|skipped|error|errors|no tests ran).* in [0-9.]+s' \
        "$TMP/pytest.log" | tail -n 1)
    count() { grep -oE "[0-9]+ $1" <<<"$summary" | awk '{ n += $1 } END { print n + 0 }'; }
    p=$(count passed)
    f=$(($(count failed) + $(count 'errors?')))
    k=$(count skipped)
    if [ "$rc" -ne 0 ]; then
        case "$rc" in
        5) failures+=("$label collected no tests") ;;
        124 | 137) failures+=("$label timed out after $PYTEST_TIMEOUT s") ;;
        *) failures+=("$label (exit $rc)") ;;
        esac
        [ "$f" -eq 0 ] && f=1
        echo "--- last lines of $log"
        tail -n 25 "$log"
    fi
    py_pass=$((py_pass + p)) py_fail=$((py_fail + f)) py_skip=$((py_skip + k))
}

# REDLIGHT_PYTEST_ARGS narrows a local run (e.g. "tests/test_pool.py -x");
# CI leaves it empty and runs everything.
read -r -a PYTEST_ARGS <<<"${REDLIGHT_PYTEST_ARGS:-tests/}"
run_pytest pytest "$SERVER_LOG" "${PYTEST_ARGS[@]}"

# --- 5a. the same tests through PgBouncer (transaction mode) -------------------
# A second instance, on -db-dsn through PgBouncer with -db-prepared=false
# (no -db-listen-dsn: no auth cache, the mail worker polls); the tests get it
# as the server under test.
run_pgbouncer_pass() {
    local tests=${REDLIGHT_PGBOUNCER_TESTS:-}
    if [ -z "$tests" ]; then
        [ -n "${REDLIGHT_PYTEST_ARGS:-}" ] && return
        tests="tests/test_movies.py tests/test_auth.py tests/test_users.py"
    fi
    local pgb_port api_port dsn url log rc
    read -r pgb_port api_port < <("$PY" "$ROOT/tests/ports.py" 2)
    note "PgBouncer (transaction mode) on 127.0.0.1:$pgb_port"
    if ! pgb_pid=$("$TOOLS/pgbouncer.sh" start "$TMP/pgbouncer" "$pgb_port" "$PG_PORT"); then
        pgb_pid=""
        fail "PgBouncer did not start"
        return
    fi
    dsn="postgres://redlight:redlight@127.0.0.1:$pgb_port/redlight?sslmode=disable"
    url=http://127.0.0.1:$api_port log=$TMP/server-pgbouncer.log
    local -a flags=("${EXTRA_FLAGS[@]}" -db-dsn "$dsn" -db-prepared=false)
    note "bin/api-sanitize through PgBouncer on $url (log $log)"
    env "${SAN_ENV[@]}" "$SERVER_BIN" -port "$api_port" "${flags[@]}" >"$log" 2>&1 &
    pgb_server_pid=$!
    if ! wait_healthy "$pgb_server_pid" "$url"; then
        cat "$log" >&2
        fail "the server behind PgBouncer did not answer GET /v1/healthcheck"
        return
    fi
    local -a args
    read -r -a args <<<"$tests"
    REDLIGHT_API_URL=$url REDLIGHT_SERVER_PID=$pgb_server_pid \
        REDLIGHT_SERVER_LOG=$log REDLIGHT_PGBOUNCER_DSN=$dsn \
        REDLIGHT_SERVER_CMD=$(printf '%q ' env "${SAN_ENV[@]}" "$SERVER_BIN" "${flags[@]}") \
        run_pytest "pytest through PgBouncer" "$log" "${args[@]}"
    note "SIGTERM to the server behind PgBouncer (PID $pgb_server_pid)"
    local end=$((SECONDS + 30))
    kill -TERM "$pgb_server_pid" 2>/dev/null
    while alive "$pgb_server_pid" && [ "$SECONDS" -lt "$end" ]; do
        sleep 0.1
    done
    alive "$pgb_server_pid" && kill -KILL "$pgb_server_pid"
    wait "$pgb_server_pid"
    rc=$?
    pgb_server_pid=""
    [ "$rc" -eq 0 ] ||
        fail "the server behind PgBouncer exited $rc after SIGTERM (want 0; $log)"
    stop_pid "$pgb_pid" 5
    pgb_pid=""
}
run_pgbouncer_pass

run_fuzz

# --- 6. clean shutdown, no sanitizer report ------------------------------------
note "SIGTERM to the server (PID $server_pid)"
check_shutdown() {
    local rc end=$((SECONDS + 30))
    if ! alive "$server_pid"; then
        wait "$server_pid"
        fail "the server died during the tests (exit $?)"
        server_pid=""
        return
    fi
    kill -TERM "$server_pid"
    while alive "$server_pid" && [ "$SECONDS" -lt "$end" ]; do
        sleep 0.1
    done
    if alive "$server_pid"; then
        kill -KILL "$server_pid"
        wait "$server_pid" 2>/dev/null
        server_pid=""
        fail "the server did not exit within 30 s of SIGTERM"
        return
    fi
    wait "$server_pid"
    rc=$?
    server_pid=""
    [ "$rc" -eq 0 ] || fail "the server exited $rc after SIGTERM (want 0)"
}
check_shutdown

check_sanitizers() {
    local f found=0
    for f in "$TMP"/asan.* "$TMP"/ubsan.*; do
        [ -e "$f" ] || continue
        found=1
        echo "--- $f" >&2
        cat "$f" >&2
    done
    if grep -nE 'runtime error:|ERROR: AddressSanitizer|LeakSanitizer' \
        "$SERVER_LOG" >&2; then
        found=1
    fi
    [ "$found" = 0 ] || fail "sanitizer reports (above)"
}
check_sanitizers
# the EXIT trap (teardown) prints the summary and sets the exit status
