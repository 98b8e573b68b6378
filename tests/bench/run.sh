#!/usr/bin/env bash
# tests/bench/run.sh — `make bench`: how fast is bin/api next to its ceilings?
#
# Needs the release bin/api and bin/bench-bare (make build bin/bench-bare),
# wrk, nginx (Debian nginx-light), curl, psql, pgbench and PostgreSQL
# (make deps/bench; pgbench ships with Debian's postgresql-NN).
#
# Everything runs on 127.0.0.1 inside a throw-away directory:
#   1. a private PostgreSQL cluster (tests/tools/pgcluster.sh), migrated with
#      `bin/api migrate up`, loaded with tests/fixtures/demo_movies.sql and then
#      seeded with SEED_MOVIES (10,000) generated movies by one
#      INSERT ... SELECT generate_series (titles from word lists, 1 in 30 with
#      the word "River"; years 1900..2024; runtimes 60..200; 1-3 of 12 genres,
#      among them "drama"), then ANALYZE;
#   2. bin/api -env development -jwt-secret <32 random bytes, hex>, plus
#      -limiter-enabled=false when `bin/api -help` lists that flag (wrk sends
#      everything from 127.0.0.1: with the limiter on, nearly all would be
#      429s); then the bench user: registered with POST /v1/users (so the
#      server makes its Argon2id hash), activated in SQL, granted movies:write
#      with `bin/api users grant`, and logged in once for a stateful token
#      (POST /v1/tokens/authentication) and once for a JWT (POST
#      /v1/tokens/jwt); the movie routes require a token (CONTRACT §2);
#   3. bin/bench-bare, answering every request with the body that bin/api sent
#      for GET /v1/healthcheck (the libmicrohttpd ceiling); before the rounds
#      its configuration is swept (thread pool 1, 2, CPUs, 2 x CPUs, 4 x CPUs,
#      duplicates dropped; 16, 32 and 64 KiB per connection; epoll and poll),
#      one wrk run of BENCH_SWEEP_SECONDS each, and the fastest without errors
#      is restarted as the `bare` scenario: the ceiling of api/bare is then
#      the best libmicrohttpd can do here, not libmicrohttpd configured like
#      bin/api, and the ratio also counts what bin/api's configuration costs;
#   4. nginx answering GET /v1/healthcheck with that same body (the ceiling
#      of a mature C server on this machine).
# Scenarios, each measured BENCH_ROUNDS times, round-robin (round 1: nginx,
# bare, api, pgbench, get_by_id, ...; round 2: ...) so that noise on the
# machine hits all of them alike:
#   nginx, bare, bare_as_api, api
#                      GET /v1/healthcheck (anonymous); bare_as_api is
#                      bin/bench-bare configured as bin/api (its default
#                      -http-threads, POOL_SIZE of cmd/api/server.c, epoll):
#                      api/bare_as_api is what the server's code costs,
#                      bare_as_api/bare what its configuration costs
#   pgbench            pgbench -n -M prepared -c32 -j2 -T BENCH_SECONDS running
#                      the SELECT of GET /v1/movies/:id on random seeded ids,
#                      over TCP as the API's role: the database's ceiling
#   get_by_id          GET /v1/movies/:id, random seeded ids (Lua), with the
#                      stateful token
#   get_by_id_jwt      the same with the JWT
#   title_search       GET /v1/movies?title=river&page_size=20 (stateful token)
#   genres_sort        GET /v1/movies?genres=drama&sort=-year (stateful token)
#   q_search           GET /v1/movies?q=rivr&page_size=20 (stateful token): the
#                      search with a typo, ranked (pg_trgm and the prefixes)
#   post               POST /v1/movies, a valid body with a varied title (Lua,
#                      stateful token); the rows accumulate.  They never
#                      contain "river" nor "drama", so the two list scenarios
#                      keep their results.
# The HTTP scenarios run
#   wrk -t2 -c32 -dBENCH_SECONDS --latency
# Before the rounds every movie request is sent once with curl and must get
# its exact status (200, or 201 for POST; and 401 without a token); during the
# rounds wrk's socket errors and "Non-2xx or 3xx responses" (wrk counts any
# status >= 400) are counted and shown.  Once, before the rounds, the list SQL of title_search and
# genres_sort (as internal/data/movies.c builds it, checked against the text
# the server's own sessions show in pg_stat_activity) is PREPAREd, executed 6
# times and then run under EXPLAIN (ANALYZE, BUFFERS) EXECUTE, the plan that
# the server's plan cache would pick; the script says whether it uses
# movies_title_idx / movies_genres_idx and whether the plan was generic.
# With redis-server installed, four more scenarios compare the limiter with
# its buckets in Redis and local (tests/bench/limiter.sh).
# After the rounds, once: the mixed-load part (tests/bench/mixed.sh: the p99
# of healthcheck and get_by_id alone and beside 16 clients of searches and
# genre listings; BENCH_MIXED_SECONDS per phase, 0 skips it); then login, POST /v1/tokens/authentication with the
# bench user's password, wrk -t2 -c<2 x CPUs> -dBENCH_LOGIN_SECONDS, shown
# beside the cost of one Argon2id verification (the median of 3 single
# logins on the idle server, timed by curl) and the ceiling that cost allows
# (CPUs / cost).
#
# The output: the sweep (req/s, p99 and share of the fastest per
# configuration), the healthcheck table (medians over the rounds, ratios to the
# ceilings), the movies table (median req/s and p99, ratio to pgbench's median
# tps, the target ratio and PASS/below), the login line, bin/api's peak RSS
# through the HTTP scenarios (VmHWM reset right before the rounds and read
# right after them, so the logins are not in it) and over its whole life;
# all numbers also go to var/bench/bench-<UTC timestamp>.json (the sweep as
# "bare_sweep", the configuration the bare scenario ran with as "bare").
#
# Comparing two builds (make bench/compare BASE=<commit>): with BENCH_BASE_BIN
# set to another build's bin/api, that binary runs beside bin/api on the same
# database with the same flags and tokens, and every bin/api scenario gets a
# twin NAME@base measured right after it in each round, so both builds see the
# same noise; the report adds a table of this build over the base per
# scenario (median req/s and p99) and the JSON a "base" object.
#
# Environment: BENCH_SECONDS (default 8), BENCH_ROUNDS (default 3),
# BENCH_WARMUP seconds of unrecorded load per scenario first (default 1, 0 for
# none), BENCH_LOGIN_SECONDS (default 5), BENCH_SWEEP_SECONDS per sweep run
# (default 2; 0: no sweep, bare runs with bare_mhd.c's defaults, 4 threads per
# CPU, 64 KiB, epoll).  Run time is bounded: about
#   25 s set-up + 9 scenarios x (BENCH_WARMUP + BENCH_ROUNDS x BENCH_SECONDS)
#   + BENCH_LOGIN_SECONDS + K x 6 x (BENCH_SWEEP_SECONDS + 0.3 s)
# where K (3..5) is the number of distinct thread counts (4 on 2 CPUs: a
# 55 s sweep), i.e. about 5 minutes with the defaults, and each wrk or
# pgbench run is killed if it overruns by 30 s.
#
# Adding a scenario: start what it needs in start_services, then register it
# in main with `scenario NAME URL [extra wrk arguments...]` (e.g. `-s file.lua`
# or `-H 'Header: value'`), or with `pgbench_scenario NAME SCRIPT` for a
# pgbench script run as the API's role.  Anything measured by another tool
# stores its numbers per round with
# `record NAME ROUND REQ_PER_S P99_MS SOCKET_ERRORS NON_2XX` and then shows up
# in the tables and in the JSON like any wrk scenario.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd -- "$ROOT"

BENCH_SECONDS=${BENCH_SECONDS:-8}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_LOGIN_SECONDS=${BENCH_LOGIN_SECONDS:-5}
BENCH_SWEEP_SECONDS=${BENCH_SWEEP_SECONDS:-2}
WRK_THREADS=2
WRK_CONNECTIONS=32
SUITE=bench
SEED_MOVIES=10000
# The movies scenarios' target ratios to pgbench's tps (the issue's numbers).
# get_by_id: issue 13's target for an authenticated GET by id, either token
# (the authentication cache makes it one round trip, as pgbench's).
# q_search: a hold, not an issue target: a search scores and counts every
# match, about a tenth of title_search's rate measured side by side.
declare -A TARGET=([get_by_id]=0.30 [get_by_id_jwt]=0.30 [title_search]=0.05
    [genres_sort]=0.04 [q_search]=0.004 [post]=0.10)

API_BIN=$ROOT/bin/api
BASE_BIN=${BENCH_BASE_BIN:-}
BASE_LABEL=${BENCH_BASE_LABEL:-$BASE_BIN}
BARE_BIN=$ROOT/bin/bench-bare
PGCLUSTER=$ROOT/tests/tools/pgcluster.sh
FIXTURE=$ROOT/tests/fixtures/demo_movies.sql
OUT_DIR=$ROOT/var/bench

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
    printf 'bench: error: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------- checks ---

check_uint() { # NAME VALUE MIN MAX
    if ! [[ "$2" =~ ^[0-9]+$ ]] || ((10#$2 < $3 || 10#$2 > $4)); then
        die "$1 must be an integer in $3..$4, not '$2'"
    fi
}
check_uint BENCH_SECONDS "$BENCH_SECONDS" 1 600
check_uint BENCH_ROUNDS "$BENCH_ROUNDS" 1 50
check_uint BENCH_WARMUP "$BENCH_WARMUP" 0 60
check_uint BENCH_LOGIN_SECONDS "$BENCH_LOGIN_SECONDS" 1 600
check_uint BENCH_SWEEP_SECONDS "$BENCH_SWEEP_SECONDS" 0 60
BENCH_SECONDS=$((10#$BENCH_SECONDS))
BENCH_ROUNDS=$((10#$BENCH_ROUNDS))
BENCH_WARMUP=$((10#$BENCH_WARMUP))
BENCH_LOGIN_SECONDS=$((10#$BENCH_LOGIN_SECONDS))
BENCH_SWEEP_SECONDS=$((10#$BENCH_SWEEP_SECONDS))

NGINX=$(command -v nginx || true)
if [[ -z "$NGINX" && -x /usr/sbin/nginx ]]; then
    NGINX=/usr/sbin/nginx
fi
[[ -n "$NGINX" ]] || die "nginx not found: run make deps/bench"
for prog in wrk curl psql timeout pg_config; do
    command -v "$prog" >/dev/null 2>&1 || die "$prog not found: run make deps/bench"
done
PGBENCH=$(pg_config --bindir)/pgbench
[[ -x "$PGBENCH" ]] || die "$PGBENCH not found: run make deps/bench (package postgresql)"
[[ -x "$API_BIN" ]] || die "$API_BIN missing: run make build"
[[ -z "$BASE_BIN" || -x "$BASE_BIN" ]] || die "BENCH_BASE_BIN $BASE_BIN is not an executable"
[[ -x "$BARE_BIN" ]] || die "$BARE_BIN missing: run make bin/bench-bare"
[[ -x "$PGCLUSTER" ]] || die "$PGCLUSTER missing or not executable"

# ------------------------------------------------------- processes, teardown ---

WORK=$(mktemp -d "${TMPDIR:-/tmp}/redlight-bench.XXXXXX")
# As root, PostgreSQL runs as `postgres` and must reach its data directory.
chmod 711 "$WORK"

PIDS=()     # what we started, stopped in reverse order
PG_DATA=""  # set once the cluster has been asked to start
PG_PORT=""
LOAD_PID="" # the wrk or pgbench (under timeout) now running, if any

alive() { # PID: running and not a zombie
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ "$state" != Z ]]
}

stop_pid() { # PID: TERM, up to 10 s, then KILL
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        say "pid $pid ignored SIGTERM for 10 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

forget_pid() { # PID: stopped by the caller, no longer ours to stop
    local i
    for i in "${!PIDS[@]}"; do
        [[ "${PIDS[i]}" != "$1" ]] || unset 'PIDS[i]'
    done
    PIDS=("${PIDS[@]}")
}

cleanup() {
    local rc=$? i f
    trap - EXIT INT TERM
    if [[ -n "$LOAD_PID" ]]; then
        stop_pid "$LOAD_PID"
    fi
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${PIDS[i]}"
    done
    if [[ -n "$PG_DATA" ]]; then
        "$PGCLUSTER" stop "$PG_DATA" "$PG_PORT" >/dev/null 2>&1 || {
            # pgcluster.sh failed: stop the postmaster by its own PID.
            if [[ -r "$PG_DATA/postmaster.pid" ]]; then
                stop_pid "$(head -n 1 "$PG_DATA/postmaster.pid")"
            fi
        }
    fi
    if ((rc != 0 && rc != 130 && rc != 143)); then # not on ^C or SIGTERM
        for f in "$WORK"/*.log "$WORK"/nginx/error.log "$WORK"/pg/pg.log \
            "$WORK"/pgbench.*.txt; do
            [[ -s "$f" ]] || continue
            printf '\n==> %s (last 20 lines) <==\n' "${f#"$WORK"/}" >&2
            tail -n 20 -- "$f" >&2
        done
    fi
    rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port that nothing on 127.0.0.1 answers on, and not handed out before.
USED_PORTS=" "
free_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 30000))
        [[ "$USED_PORTS" != *" $p "* ]] || continue
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            USED_PORTS+="$p "
            printf '%s\n' "$p"
            return 0
        fi
    done
    die "no free TCP port found on 127.0.0.1"
}

wait_http() { # NAME PID URL: until URL answers 2xx, at most 30 s
    local name=$1 pid=$2 url=$3 i
    for ((i = 0; i < 300; i++)); do
        alive "$pid" || die "$name exited during start-up"
        if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "$name did not answer $url within 30 s"
}

# ------------------------------------------------------------------ nginx ---

# $1 as an nginx single-quoted string body.  nginx would expand "$name" in a
# `return` text and has no escape for '$', so such a body is refused.
nginx_quote() {
    local s=$1
    [[ "$s" != *'$'* ]] || die "the healthcheck body contains '\$'; nginx cannot return it verbatim"
    s=${s//\\/\\\\}
    s=${s//\'/\\\'}
    s=${s//$'\n'/\\n}
    s=${s//$'\r'/\\r}
    s=${s//$'\t'/\\t}
    printf '%s' "$s"
}

write_nginx_conf() { # PORT BODY_FILE
    local port=$1 body quoted dir=$WORK/nginx
    mkdir -p "$dir"
    body=$(
        cat -- "$2"
        printf x
    ) # keep trailing newlines
    body=${body%x}
    quoted=$(nginx_quote "$body")
    {
        echo "# generated by tests/bench/run.sh"
        # Workers as root: the bench must not depend on `nobody` existing; as
        # any other user the `user` directive is ignored, so leave it out.
        if ((EUID == 0)); then
            echo "user root;"
        fi
        cat <<EOF
worker_processes auto;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;

events {
    worker_connections 4096;
}

http {
    access_log off;
    # libmicrohttpd never closes a keep-alive connection after N requests;
    # nginx's default of 1000 would make wrk reconnect for nginx alone.
    keepalive_requests 1000000;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;

    server {
        listen 127.0.0.1:$port;

        location = /v1/healthcheck {
            default_type application/json;
            return 200 '$quoted';
        }
        location / {
            return 404;
        }
    }
}
EOF
    } >"$dir/nginx.conf"
}

# ------------------------------------------------------------ movie data ---

# SEED_MOVIES movies in one statement.  Every choice comes from the bytes of
# md5(row number), so the data are the same on every run: titles built from
# word lists ("The Hidden Garden", "Storm in Havana", ...), every 30th one with
# the word "River" (333 of 10,000; the word lists never contain it), years
# 1900..2024, runtimes 60..200, and 1-3 distinct genres of 12 (about one movie
# in six is a "drama").  Sets SEED_LO and SEED_HI.
seed_movies() {
    local out n
    out=$(
        psql -X -q -At -v ON_ERROR_STOP=1 -v n="$SEED_MOVIES" "$DSN" 2>"$WORK/seed.log" <<'SQL'
WITH w AS (
    SELECT ARRAY['Silent', 'Last', 'Broken', 'Golden', 'Hidden', 'Lonely',
                 'Crimson', 'Midnight', 'Distant', 'Wild', 'Quiet', 'Burning',
                 'Frozen', 'Lost', 'Secret', 'Iron', 'Velvet', 'Electric',
                 'Forgotten', 'Little', 'Dark', 'Bright', 'Savage', 'Eternal',
                 'Hollow', 'Restless', 'Scarlet', 'Endless', 'Shattered',
                 'Northern', 'Sweet', 'Bitter'] AS adj,
           ARRAY['Summer', 'Garden', 'Empire', 'Station', 'Kingdom', 'Harbor',
                 'Mountain', 'Letter', 'Stranger', 'Machine', 'Horizon',
                 'Island', 'Promise', 'Shadow', 'Window', 'Journey', 'Valley',
                 'Castle', 'Highway', 'Ocean', 'Forest', 'Desert', 'Storm',
                 'Bridge', 'Dream', 'Witness', 'Circus', 'Orchard', 'Lantern',
                 'Frontier', 'Daughter', 'Winter', 'Detective', 'Queen',
                 'Soldier', 'Heart'] AS noun,
           ARRAY['Paris', 'Tokyo', 'Berlin', 'Texas', 'the North', 'the Moon',
                 'Avalon', 'the City', 'Mars', 'Havana', 'Vienna', 'the West',
                 'Casablanca', 'Rome', 'Brooklyn', 'the Sea'] AS place,
           ARRAY['drama', 'comedy', 'action', 'thriller', 'romance', 'horror',
                 'sci-fi', 'documentary', 'animation', 'crime', 'adventure',
                 'fantasy'] AS genre
), r AS (
    SELECT i, decode(md5(i::text), 'hex') AS h FROM generate_series(1, :n) AS i
), p AS (
    SELECT r.i, r.h, w.genre,
           w.adj[1 + get_byte(r.h, 0) % cardinality(w.adj)] AS a,
           w.noun[1 + get_byte(r.h, 1) % cardinality(w.noun)] AS n1,
           w.noun[1 + get_byte(r.h, 2) % cardinality(w.noun)] AS n2,
           w.place[1 + get_byte(r.h, 3) % cardinality(w.place)] AS pl,
           get_byte(r.h, 4) AS form
    FROM r CROSS JOIN w
), ins AS (
    INSERT INTO movies (title, year, runtime, genres)
    SELECT CASE WHEN i % 30 = 0 THEN
               (ARRAY['The ' || a || ' River', 'River of ' || n1 || 's',
                      'Down the ' || a || ' River', 'A River in ' || pl,
                      n1 || ' River'])[1 + form % 5]
           ELSE
               (ARRAY['The ' || a || ' ' || n1, a || ' ' || n1,
                      'The ' || n1 || ' of ' || pl, n1 || ' in ' || pl,
                      'A ' || a || ' ' || n1, n1 || ' and ' || n2,
                      'Return to ' || pl, 'The ' || a || ' ' || n1 || ' '
                      || (2 + form % 4)])[1 + form % 8]
           END,
           1900 + (get_byte(h, 5) * 256 + get_byte(h, 6)) % 125,
           60 + (get_byte(h, 7) * 256 + get_byte(h, 8)) % 141,
           ARRAY(SELECT g FROM unnest(genre) AS g
                 ORDER BY md5(i::text || g) LIMIT 1 + get_byte(h, 9) % 3)
    FROM p ORDER BY i
    RETURNING id
)
SELECT min(id), max(id), count(*) FROM ins;
VACUUM ANALYZE movies;
SQL
    ) || die "seeding movies failed: $(tail -n 5 "$WORK/seed.log")"
    IFS='|' read -r SEED_LO SEED_HI n <<<"$out"
    [[ "$n" == "$SEED_MOVIES" && "$SEED_LO" =~ ^[0-9]+$ && "$SEED_HI" =~ ^[0-9]+$ ]] ||
        die "seeding movies: unexpected result '$out'"
    ((SEED_HI - SEED_LO + 1 == SEED_MOVIES)) ||
        die "seeding movies: the ids $SEED_LO..$SEED_HI are not contiguous"
    say "seeded $SEED_MOVIES movies (ids $SEED_LO..$SEED_HI) after the demo data"
}

# Back to the demo + seeded movies: run after each POST run, so that every
# round of every scenario sees the same table (POST adds thousands of rows a
# second).
POSTED=0 # movies created by the POST runs (warm-up included), all removed
reset_movies() {
    local n
    n=$(psql -X -q -At -v ON_ERROR_STOP=1 "$DSN" 2>"$WORK/reset.log" \
        -c "WITH d AS (DELETE FROM movies WHERE id > $SEED_HI RETURNING 1) SELECT count(*) FROM d" \
        -c 'VACUUM ANALYZE movies') ||
        die "removing the POSTed movies failed: $(tail -n 5 "$WORK/reset.log")"
    POSTED=$((POSTED + n))
}

# --------------------------------------------------------------- services ---

API_PID=""
BASE_PID=""
BARE_PID=""
DSN=""
API_BASE=""  # http://127.0.0.1:PORT
API_URL=""
BARE_URL=""
NGINX_URL=""
SEED_LO=""   # the ids of the seeded movies: SEED_LO..SEED_HI
SEED_HI=""

# The JWT signing key of the bench's bin/api: 32 random bytes as 64 hex digits.
JWT_SECRET=$(od -An -v -N32 -tx1 /dev/urandom | tr -d ' \n')
[[ ${#JWT_SECRET} -eq 64 ]] || die "could not read 32 random bytes from /dev/urandom"

# Starts BIN (bin/api, or the base build) on PORT against the bench database;
# STARTED_PID is its PID.  Its log: $WORK/NAME.log.
STARTED_PID=""
start_api() { # BIN PORT NAME [FLAGS...]: FLAGS after the bench's own (they win)
    local bin=$1 port=$2 name=$3 help flags
    flags=(-port "$port" -db-dsn "$DSN" -env development
        -jwt-secret "$JWT_SECRET" -mail-dir "$WORK/mail-$name")
    # wrk sends everything from 127.0.0.1: with the rate limiter on, all
    # but 2 requests a second would be 429s.  A bin/api without a limiter
    # has no such flag, and would refuse to start with it.
    help=$("$bin" -help 2>&1 || true)
    if [[ "$help" == *-limiter-enabled* ]]; then
        flags+=(-limiter-enabled=false)
    else
        say "note: $bin has no -limiter-enabled flag (no rate limiter)"
    fi
    flags+=("${@:4}")
    say "$name ($bin) on 127.0.0.1:$port"
    "$bin" "${flags[@]}" >"$WORK/$name.log" 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    wait_http "$name" "$STARTED_PID" "http://127.0.0.1:$port/v1/healthcheck"
}

# Starts bin/bench-bare on a new port with THREADS, MEMORY_KIB and POLL
# (epoll|poll; "-" for bare_mhd.c's default each), answering with the body
# that bin/api sent (BODY_FILE); STARTED_PID and STARTED_URL say where.  Its
# log: $WORK/NAME.log.
BODY_FILE=$WORK/healthcheck.json
STARTED_URL=""
start_bare() { # NAME THREADS MEMORY_KIB POLL
    local port
    port=$(free_port)
    "$BARE_BIN" "$port" "$BODY_FILE" "$2" "$3" "$4" >"$WORK/$1.log" 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    STARTED_URL="http://127.0.0.1:$port/v1/healthcheck"
    [[ "$1" != bare ]] || say "bin/bench-bare on 127.0.0.1:$port (threads $2, KiB $3, $4)"
    wait_http "bin/bench-bare $1" "$STARTED_PID" "$STARTED_URL"
}

start_services() {
    local api_port nginx_port nginx_pid pg_port body=$BODY_FILE
    local base_port

    pg_port=$(free_port)
    api_port=$(free_port)
    nginx_port=$(free_port)

    say "PostgreSQL on 127.0.0.1:$pg_port (in $WORK/pg)"
    PG_DATA=$WORK/pg/data
    PG_PORT=$pg_port
    PGCLUSTER_THROWAWAY=1 "$PGCLUSTER" start "$PG_DATA" "$PG_PORT" \
        >"$WORK/pgcluster.log" 2>&1 ||
        die "pgcluster.sh start failed: $(tail -n 5 "$WORK/pgcluster.log")"
    DSN="postgres://redlight:redlight@127.0.0.1:$pg_port/redlight?sslmode=disable"
    # make exports the development cluster's DSN: never let it leak in here.
    export REDLIGHT_DB_DSN=$DSN

    "$API_BIN" -db-dsn "$DSN" migrate up >"$WORK/migrate.log" 2>&1 ||
        die "bin/api migrate up failed: $(tail -n 5 "$WORK/migrate.log")"
    psql -X -q -v ON_ERROR_STOP=1 "$DSN" -f "$FIXTURE" >"$WORK/fixture.log" 2>&1 ||
        die "loading $FIXTURE failed: $(tail -n 5 "$WORK/fixture.log")"
    seed_movies

    start_api "$API_BIN" "$api_port" api
    API_PID=$STARTED_PID
    API_BASE="http://127.0.0.1:$api_port"
    API_URL="$API_BASE/v1/healthcheck"

    # The same bin/api through PgBouncer in transaction mode, for
    # get_by_id_pgbouncer (tests/tools/pgbouncer.sh; -db-prepared=false).
    local pgb_port pgb_api_port
    pgb_port=$(free_port)
    pgb_api_port=$(free_port)
    say "PgBouncer (transaction mode) on 127.0.0.1:$pgb_port"
    PGB_PID=$("$ROOT/tests/tools/pgbouncer.sh" start "$WORK/pgbouncer" "$pgb_port" "$pg_port") ||
        die "tests/tools/pgbouncer.sh start failed"
    PIDS+=("$PGB_PID")
    start_api "$API_BIN" "$pgb_api_port" api_pgbouncer -db-prepared=false \
        -db-dsn "postgres://redlight:redlight@127.0.0.1:$pgb_port/redlight?sslmode=disable"
    PGB_API_BASE="http://127.0.0.1:$pgb_api_port"
    if [[ -n "$BASE_BIN" ]]; then
        base_port=$(free_port)
        start_api "$BASE_BIN" "$base_port" base
        BASE_PID=$STARTED_PID
        BASE_API="http://127.0.0.1:$base_port"
    fi

    # The body bin/api sends, byte for byte; the ceilings send the same.
    curl -fsS --max-time 5 -o "$body" "$API_URL" ||
        die "GET $API_URL failed"
    [[ -s "$body" ]] || die "GET $API_URL returned an empty body"

    start_bare bare - - -
    BARE_PID=$STARTED_PID
    BARE_URL=$STARTED_URL
    # The same program configured as bin/api runs: its default I/O thread
    # count (-help), its connection memory, epoll. api/bare_as_api is what
    # the server's own code costs; bare_as_api/bare what its configuration
    # costs.
    API_THREADS=$("$API_BIN" -help 2>&1 | sed -n '/^  -http-threads/{n;s/.*(default \([0-9]*\)).*/\1/p}')
    [[ -n "$API_THREADS" ]] || die "cannot read -http-threads' default from bin/api -help"
    start_bare bare_as_api "$API_THREADS" "$API_POOL_KIB" epoll
    BARE_AS_API_URL=$STARTED_URL

    say "nginx on 127.0.0.1:$nginx_port"
    write_nginx_conf "$nginx_port" "$body"
    "$NGINX" -t -q -p "$WORK/nginx/" -e "$WORK/nginx/error.log" \
        -c "$WORK/nginx/nginx.conf" >"$WORK/nginx-t.log" 2>&1 ||
        die "nginx refused its config: $(cat "$WORK/nginx-t.log")"
    "$NGINX" -p "$WORK/nginx/" -e "$WORK/nginx/error.log" \
        -c "$WORK/nginx/nginx.conf" >"$WORK/nginx.log" 2>&1 &
    nginx_pid=$!
    PIDS+=("$nginx_pid")
    NGINX_URL="http://127.0.0.1:$nginx_port/v1/healthcheck"
    wait_http nginx "$nginx_pid" "$NGINX_URL"

    same_response "$API_URL" "$BARE_URL" "$NGINX_URL" "$BARE_AS_API_URL"
}

# The same status, Content-Type and body bytes from every URL.
same_response() {
    local url i=0 ct first_ct=""
    for url in "$@"; do
        i=$((i + 1))
        ct=$(curl -sS --max-time 5 -o "$WORK/check.$i" -w '%{http_code} %{content_type}' "$url") ||
            die "GET $url failed"
        [[ "$ct" == "200 application/json"* ]] ||
            die "GET $url answered '$ct', not 200 application/json"
        if ((i == 1)); then
            first_ct=$ct
        elif ! cmp -s "$WORK/check.1" "$WORK/check.$i"; then
            die "GET $url: the body differs from $1's"
        elif [[ "$ct" != "$first_ct" ]]; then
            say "note: $url sends Content-Type '${ct#* }', $1 sends '${first_ct#* }'"
        fi
    done
}

# ------------------------------------------------------------ bench user ---

BENCH_EMAIL=bench@example.com
BENCH_PASSWORD="" # random, set by setup_auth
BENCH_UID=""
TOKEN="" # the bench user's stateful authentication token
JWT=""   # and a JWT
ARGON2_MS="" # one login on the idle server: one Argon2id verification
LOGIN_TIMES="" # the single logins it was measured from, ms
POST_TIME="" # api_post: curl's time_total of the request, in seconds

# POST a JSON body to bin/api; the status must be STATUS.  The body goes to
# $WORK/check.NAME, curl's time_total to POST_TIME.
api_post() { # NAME STATUS PATH BODY
    local got
    got=$(curl -sS --max-time 10 -X POST -H 'Content-Type: application/json' \
        --data-binary "$4" -o "$WORK/check.$1" -w '%{http_code} %{time_total}' \
        "$API_BASE$3") || die "$1: POST $3 failed"
    [[ "${got%% *}" == "$2" ]] ||
        die "$1: POST $3 answered ${got%% *}, not $2: $(head -c 300 "$WORK/check.$1")"
    POST_TIME=${got#* }
}

json_token() { # FILE: the "token" of an {"authentication_token": ...} body
    sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$1" | head -n 1
}

# The bench user: registered through the API (the server makes the Argon2id
# hash of its password), activated with SQL, granted movies:write with the
# operator CLI; then a stateful token, a JWT, and the cost of one login.
setup_auth() {
    local creds out i ms times=()
    BENCH_PASSWORD=$(od -An -v -N12 -tx1 /dev/urandom | tr -d ' \n')
    creds=$(printf '{"email":"%s","password":"%s"}' "$BENCH_EMAIL" "$BENCH_PASSWORD")
    api_post register 202 /v1/users "{\"name\":\"Bench User\",${creds#\{}"
    out=$(psql -X -q -At -v ON_ERROR_STOP=1 "$DSN" 2>"$WORK/activate.log" \
        -c "UPDATE users SET activated = true WHERE email = '$BENCH_EMAIL' RETURNING id") ||
        die "activating the bench user failed: $(tail -n 5 "$WORK/activate.log")"
    BENCH_UID=${out%%$'\n'*}
    [[ "$BENCH_UID" =~ ^[0-9]+$ ]] || die "activating the bench user: unexpected '$out'"
    "$API_BIN" -db-dsn "$DSN" users grant "$BENCH_EMAIL" movies:write \
        >"$WORK/grant.log" 2>&1 ||
        die "bin/api users grant failed: $(tail -n 5 "$WORK/grant.log")"

    # One login on the idle server is one Argon2id verification plus two
    # queries: the median of 3 is the cost per hash shown beside login.
    for ((i = 0; i < 3; i++)); do
        api_post login 201 /v1/tokens/authentication "$creds"
        ms=$(awk -v t="$POST_TIME" 'BEGIN { printf "%.1f", t * 1000 }')
        times+=("$ms")
    done
    LOGIN_TIMES="${times[*]}"
    ARGON2_MS=$(median "${times[@]}")
    TOKEN=$(json_token "$WORK/check.login")
    [[ "$TOKEN" =~ ^[A-Z2-7]{26}$ ]] ||
        die "login: no 26-character token in $(head -c 300 "$WORK/check.login")"
    api_post jwt 201 /v1/tokens/jwt "$creds"
    JWT=$(json_token "$WORK/check.jwt")
    [[ "$JWT" =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] ||
        die "jwt: no JWT in $(head -c 300 "$WORK/check.jwt")"
    say "bench user $BENCH_EMAIL (id $BENCH_UID): activated, movies:read + movies:write;" \
        "stateful token and JWT issued; one login takes $(printf '%.0f' "$ARGON2_MS") ms"
}

# -------------------------------------------------- scenarios and results ---

SCENARIOS=()            # names, in the order they run in each round
declare -A SC_KIND=()   # name -> wrk | pgbench
declare -A SC_URL=()    # name -> URL (wrk), or what it runs (pgbench)
declare -A SC_ARGS=()   # name -> extra wrk arguments, joined by \x1f
declare -A SC_SCRIPT=() # name -> pgbench script file
declare -A SC_AFTER=()  # name -> command run after each of its runs (not timed)
declare -A RES_RPS=()   # name -> req/s (pgbench: tps) of each round, space-separated
declare -A RES_P99=()   # name -> p99 latency in ms of each round
declare -A RES_SOCK=()  # name -> socket errors (pgbench: failed transactions), all rounds
declare -A RES_NON2XX=() # name -> responses with status >= 400, all rounds

register() { # NAME KIND URL
    [[ -z "${SC_KIND[$1]+x}" ]] || die "scenario $1 registered twice"
    SCENARIOS+=("$1")
    SC_KIND[$1]=$2
    SC_URL[$1]=$3
    RES_SOCK[$1]=0
    RES_NON2XX[$1]=0
}

scenario() { # NAME URL [extra wrk arguments...]
    local name=$1 url=$2
    shift 2
    register "$name" wrk "$url"
    SC_ARGS[$name]=$(
        IFS=$'\x1f'
        printf '%s' "$*"
    )
}

pgbench_scenario() { # NAME SCRIPT: pgbench -f SCRIPT as the API's role
    register "$1" pgbench "pgbench -f $(basename -- "$2")"
    SC_SCRIPT[$1]=$2
}

record() { # NAME ROUND REQ_PER_S P99_MS SOCKET_ERRORS NON_2XX
    RES_RPS[$1]+="$3 "
    RES_P99[$1]+="$4 "
    RES_SOCK[$1]=$((${RES_SOCK[$1]:-0} + $5))
    RES_NON2XX[$1]=$((${RES_NON2XX[$1]:-0} + $6))
}

# wrk prints latencies as 512.00us, 1.25ms, 1.02s, 2.00m.
to_ms() {
    awk -v t="$1" 'BEGIN {
        if (match(t, /^[0-9.]+/) == 0) exit 1
        v = substr(t, 1, RLENGTH); u = substr(t, RLENGTH + 1)
        if (u == "us") v /= 1000; else if (u == "ms") v += 0
        else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
        else if (u == "h") v *= 3600000; else exit 1
        printf "%.3f\n", v
    }'
}

run_wrk() { # NAME SECONDS OUTFILE
    local name=$1 secs=$2 out=$3 args=()
    if [[ -n "${SC_ARGS[$name]}" ]]; then
        IFS=$'\x1f' read -r -a args <<<"${SC_ARGS[$name]}"
    fi
    # In the background, so that a signal to this script is handled at once.
    timeout --kill-after=5 $((secs + 30)) \
        wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"${secs}s" --latency \
        "${args[@]}" "${SC_URL[$name]}" >"$out" 2>&1 &
    LOAD_PID=$!
    wait "$LOAD_PID" || die "wrk failed on $name: $(tail -n 5 "$out")"
    LOAD_PID=""
}

# pgbench as the API connects: TCP 127.0.0.1, role redlight, database
# redlight; as many clients as wrk has connections, as many threads.  With
# LOGPREFIX, 1 transaction in 10 is logged (for the p99).
run_pgbench() { # NAME SECONDS OUTFILE [LOGPREFIX]
    local name=$1 secs=$2 out=$3 log=()
    if [[ -n "${4:-}" ]]; then
        log=(-l --sampling-rate=0.1 --log-prefix="$4")
    fi
    PGPASSWORD=redlight PGSSLMODE=disable PGAPPNAME=redlight-bench \
        timeout --kill-after=5 $((secs + 30)) \
        "$PGBENCH" -n -M prepared -c "$WRK_CONNECTIONS" -j "$WRK_THREADS" \
        -T "$secs" "${log[@]}" -h 127.0.0.1 -p "$PG_PORT" -U redlight \
        -f "${SC_SCRIPT[$name]}" redlight >"$out" 2>&1 &
    LOAD_PID=$!
    wait "$LOAD_PID" || die "pgbench failed on $name: $(tail -n 5 "$out")"
    LOAD_PID=""
}

run_load() { # NAME SECONDS OUTFILE [LOGPREFIX]
    if [[ "${SC_KIND[$1]}" == pgbench ]]; then
        run_pgbench "$@"
    else
        run_wrk "$1" "$2" "$3"
    fi
}

# p99 in ms of the latencies (3rd column, microseconds) of pgbench's logs.
pgbench_p99() { # LOGPREFIX
    local f=("$1".*)
    [[ -e "${f[0]}" ]] || return 1
    awk '{ print $3 }' "${f[@]}" | sort -n | awk '{ v[NR] = $1 }
        END {
            if (NR == 0) exit 1
            i = int(NR * 0.99); if (i < NR * 0.99) i++; if (i < 1) i = 1
            printf "%.3f\n", v[i] / 1000
        }'
}

# measure_wrk and measure_pgbench set these (no subshell: the load generator
# must stay a child of this shell, for cleanup).
M_RPS="" M_P99="" M_SOCK="" M_NON2XX=""

measure_wrk() { # NAME ROUND OUTFILE
    local name=$1 out=$3
    run_wrk "$name" "$BENCH_SECONDS" "$out"
    M_RPS=$(awk '$1 == "Requests/sec:" {print $2}' "$out")
    M_P99=$(awk '$1 == "99%" {print $2}' "$out")
    [[ -n "$M_RPS" && -n "$M_P99" ]] || die "cannot read wrk's output for $name: $(cat "$out")"
    M_P99=$(to_ms "$M_P99") || die "cannot read wrk's p99 for $name"
    M_SOCK=$(awk '/Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
        END { print n + 0 }' "$out")
    # wrk counts every status > 399 here, whatever the line says.
    M_NON2XX=$(awk '/Non-2xx or 3xx responses:/ { n += $NF } END { print n + 0 }' "$out")
}

measure_pgbench() { # NAME ROUND OUTFILE
    local name=$1 round=$2 out=$3 logs
    logs=$WORK/pgbench-log.$name.$round
    run_pgbench "$name" "$BENCH_SECONDS" "$out" "$logs"
    M_RPS=$(awk '$1 == "tps" && $2 == "=" {print $3; exit}' "$out")
    [[ -n "$M_RPS" ]] || die "cannot read pgbench's output for $name: $(cat "$out")"
    grep -q '^number of transactions actually processed' "$out" ||
        die "pgbench's output for $name is incomplete: $(cat "$out")"
    M_SOCK=$(awk '/^number of failed transactions:/ {print $5; exit}' "$out")
    M_SOCK=${M_SOCK:-0}
    M_NON2XX=0
    M_P99=$(pgbench_p99 "$logs") || die "cannot read pgbench's latency log for $name"
    rm -f -- "$logs".*
}

measure() { # NAME ROUND
    local name=$1 round=$2 out
    out=$WORK/${SC_KIND[$name]}.$name.$round.txt
    "measure_${SC_KIND[$name]}" "$name" "$round" "$out"
    ${SC_AFTER[$name]:-}
    local rps=$M_RPS p99=$M_P99 sock=$M_SOCK non2xx=$M_NON2XX
    record "$name" "$round" "$rps" "$p99" "$sock" "$non2xx"
    say "round $round  $(printf '%-12s %12.0f req/s  p99 %9s ms' "$name" "$rps" "$p99")"
    if ((sock + non2xx > 0)); then
        say "round $round  $name: $(grep -E 'Socket errors|Non-2xx|failed transactions' "$out" |
            sed 's/^ *//' | paste -sd ';')"
    fi
}

run_rounds() {
    local name round
    if ((BENCH_WARMUP > 0)); then
        for name in "${SCENARIOS[@]}"; do
            say "warm-up $name (${BENCH_WARMUP}s)"
            run_load "$name" "$BENCH_WARMUP" "$WORK/${SC_KIND[$name]}.$name.warmup.txt"
            ${SC_AFTER[$name]:-}
        done
    fi
    for ((round = 1; round <= BENCH_ROUNDS; round++)); do
        for name in "${SCENARIOS[@]}"; do
            measure "$name" "$round"
        done
    done
}

rounds_int() { # NAME: its req/s of each round, as integers
    local v out=""
    for v in ${RES_RPS[$1]}; do out+="${out:+ }$(printf '%.0f' "$v")"; done
    printf '%s' "$out"
}

median() { # VALUES...
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END {
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.3f\n", m
        }'
}

med_rps() {
    # shellcheck disable=SC2086 # the list is space-separated numbers
    median ${RES_RPS[$1]}
}
med_p99() {
    # shellcheck disable=SC2086
    median ${RES_P99[$1]}
}

ratio() { # A B: median req/s of A over B's
    awk -v a="$(med_rps "$1")" -v b="$(med_rps "$2")" \
        'BEGIN { if (b > 0) printf "%.3f\n", a / b; else print "null" }'
}

vm_hwm_kb() { # PID: peak resident set size in kB
    awk '$1 == "VmHWM:" {print $2}' "/proc/$1/status" 2>/dev/null || true
}

# Peak RSS through the HTTP scenarios alone.  setup_auth's logins (Argon2id,
# 64 MiB each) run before the rounds and the login scenario after them, so a
# whole-life VmHWM says nothing about the HTTP scenarios: http_rss_reset
# writes 5 to /proc/PID/clear_refs right before the rounds, which sets each
# process's VmHWM to its current RSS, and http_rss_read reads VmHWM right
# after them, before login.  A kernel without that reset (before Linux 4.0)
# leaves HTTP_RSS empty and the report says so.
declare -A HTTP_RSS=() # NAME -> peak kB through the rounds
http_rss_reset() { # NAME PID ...: pairs
    while (($# >= 2)); do
        if ! { echo 5 >"/proc/$2/clear_refs"; } 2>/dev/null; then
            say "note: cannot reset $1's peak RSS (/proc/$2/clear_refs)"
            HTTP_RSS[$1]=none
        fi
        shift 2
    done
}
http_rss_read() { # NAME PID ...: pairs
    while (($# >= 2)); do
        [[ "${HTTP_RSS[$1]:-}" == none ]] || HTTP_RSS[$1]=$(vm_hwm_kb "$2")
        shift 2
    done
}
http_rss() { # NAME: kB, or null
    local v=${HTTP_RSS[$1]:-}
    if [[ "$v" =~ ^[0-9]+$ ]]; then echo "$v"; else echo null; fi
}
print_http_rss() {
    printf '\npeak RSS through the HTTP scenarios (VmHWM reset before the rounds, read before login): api %s kB' \
        "$(http_rss api)"
    [[ -z "$BASE_BIN" ]] || printf ', base %s kB' "$(http_rss base)"
    printf '\n'
}

json_str() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\r'/\\r}
    s=${s//$'\t'/\\t}
    printf '"%s"' "$s"
}

json_list() { # space-separated numbers -> [a, b, c]
    local out="" v
    for v in $1; do out+="${out:+, }$v"; done
    printf '[%s]' "$out"
}

json_bool() { # true|false -> itself, anything else -> null
    case "${1:-}" in true | false) printf '%s' "$1" ;; *) printf null ;; esac
}

# ------------------------------------------------------ movies scenarios ---

# The SQL that internal/data/movies.c generates for the two list scenarios
# (rl_movie_statements_init: where_clause + the list statement; sort "id" for
# title_search, "-year" for genres_sort).  Checked against the text that the
# server's own sessions show in pg_stat_activity (check_server_sql).
COLS="id, title, year, runtime, genres, version"
TITLE_WHERE="WHERE to_tsvector('simple', title) @@ plainto_tsquery('simple', \$1)"
TITLE_SQL="WITH m AS MATERIALIZED (SELECT $COLS FROM movies $TITLE_WHERE) SELECT (SELECT count(*) FROM m), $COLS FROM m ORDER BY id ASC LIMIT \$2 OFFSET \$3"
GENRES_WHERE="WHERE genres @> \$1::text[]"
GENRES_SQL="SELECT (SELECT count(*) FROM movies $GENRES_WHERE), $COLS FROM movies $GENRES_WHERE ORDER BY -year ASC, id ASC LIMIT \$2 OFFSET \$3"
# The SELECT of GET /v1/movies/:id (internal/data/statements.c), in pgbench's
# notation.
GET_SQL="SELECT id, title, year, runtime, genres, version FROM movies WHERE id = :id"

TITLE_PATH="/v1/movies?title=river&page_size=20"
GENRES_PATH="/v1/movies?genres=drama&sort=-year"
Q_PATH="/v1/movies?q=rivr&page_size=20"
# The API refuses a year after the current one (UTC).
MAX_YEAR=$(date -u +%Y)

declare -A SC_DESC=()   # name -> what it sends, for the JSON
declare -A TOTAL=()     # list scenario -> metadata.total_records before the rounds
declare -A SQL_MATCH=() # list scenario -> true if the server ran our SQL text

# GET /v1/movies/:id as the holder of bearer TOKEN.
write_get_by_id_script() { # FILE TOKEN KIND
    cat >"$1" <<LUA
-- generated by tests/bench/run.sh: GET /v1/movies/:id, random seeded ids,
-- with the bench user's $3.
-- Each thread draws its ids once (math.random) and cycles through them.
local lo, hi, n, i = $SEED_LO, $SEED_HI, 10000, 0
local headers = { ["Authorization"] = "Bearer $2" }
local reqs = {}
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("thread_no", threads)
end
function init(args)
    math.randomseed(os.time() + 7919 * (thread_no or 0))
    for k = 1, n do
        reqs[k] = wrk.format(nil, "/v1/movies/" .. math.random(lo, hi), headers)
    end
end
function request()
    i = i % n + 1
    return reqs[i]
end
LUA
}

write_movie_scripts() {
    write_get_by_id_script "$WORK/get_by_id.lua" "$TOKEN" "stateful token"
    write_get_by_id_script "$WORK/get_by_id_jwt.lua" "$JWT" JWT
    # Titles without "river", genres without "drama": the rows that pile up
    # do not change what title_search and genres_sort find.
    cat >"$WORK/post.lua" <<LUA
-- generated by tests/bench/run.sh: POST /v1/movies, valid varied bodies.
local max_year = $MAX_YEAR
local genres = { "comedy", "action", "thriller", "romance", "horror", "sci-fi",
    "documentary", "animation", "crime", "adventure", "fantasy" }
local words = { "Paper", "Glass", "Copper", "Signal", "Harvest", "Meridian",
    "Ember", "Compass", "Velvet", "Lantern", "Orbit", "Thunder" }
local headers = { ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer $TOKEN" }
local threads, count = 0, 0
function setup(thread)
    threads = threads + 1
    thread:set("thread_no", threads)
end
function init(args)
    math.randomseed(os.time() + 104729 * (thread_no or 0))
end
function request()
    count = count + 1
    local g, k = {}, math.random(#genres)
    for j = 1, math.random(3) do
        g[j] = '"' .. genres[(k + j - 2) % #genres + 1] .. '"'
    end
    local body = string.format(
        '{"title":"%s %s No. %d-%d","year":%d,"runtime":"%d mins","genres":[%s]}',
        words[math.random(#words)], words[math.random(#words)],
        thread_no or 0, count, math.random(1900, max_year),
        math.random(60, 200), table.concat(g, ","))
    return wrk.format("POST", "/v1/movies", headers, body)
end
LUA
    printf '\\set id random(%d, %d)\n%s;\n' "$SEED_LO" "$SEED_HI" "$GET_SQL" \
        >"$WORK/get_by_id.pgbench"
    cat >"$WORK/login.lua" <<LUA
-- generated by tests/bench/run.sh: POST /v1/tokens/authentication with the
-- bench user's e-mail and password.
wrk.method = "POST"
wrk.body = '{"email":"$BENCH_EMAIL","password":"$BENCH_PASSWORD"}'
wrk.headers["Content-Type"] = "application/json"
LUA
}

# One request with curl: the exact status, a JSON body.  Sent with the
# bench user's stateful token, or with CHECK_TOKEN when that is set (empty:
# anonymous).
check_request() { # NAME STATUS METHOD PATH [BODY]
    local name=$1 want=$2 method=$3 path=$4 got args=() token=${CHECK_TOKEN-$TOKEN}
    if [[ -n "$token" ]]; then
        args+=(-H "Authorization: Bearer $token")
    fi
    if [[ -n "${5:-}" ]]; then
        args+=(-H 'Content-Type: application/json' --data-binary "$5")
    fi
    got=$(curl -sS --max-time 10 -X "$method" "${args[@]}" -o "$WORK/check.$name" \
        -w '%{http_code} %{content_type}' "$API_BASE$path") ||
        die "$name: $method $path failed"
    [[ "$got" == "$want application/json"* ]] ||
        die "$name: $method $path answered '$got', not $want application/json: $(head -c 300 "$WORK/check.$name")"
}

total_records() { # FILE: metadata.total_records of a list response
    grep -o '"total_records": *[0-9]*' "$1" | grep -o '[0-9]*$'
}

# Did one of the server's sessions last run exactly SQL?
check_server_sql() { # NAME SQL
    local n
    n=$(
        psql -X -q -At -v ON_ERROR_STOP=1 -v sql="$2" "$DSN" 2>"$WORK/sqlcheck.log" <<'SQL'
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND query = :'sql';
SQL
    ) || die "reading pg_stat_activity failed: $(tail -n 5 "$WORK/sqlcheck.log")"
    if ((n > 0)); then
        SQL_MATCH[$1]=true
    else
        SQL_MATCH[$1]=false
        say "WARNING: no session of bin/api ran the SQL that this script EXPLAINs for $1:"
        say "  internal/data/movies.c has changed, update TITLE_SQL/GENRES_SQL in tests/bench/run.sh"
    fi
}

preflight() {
    local body
    check_request get_by_id 200 GET "/v1/movies/$SEED_LO"
    check_request get_by_id 200 GET "/v1/movies/$SEED_HI"
    CHECK_TOKEN=$JWT check_request get_by_id_jwt 200 GET "/v1/movies/$SEED_LO"
    # The movie routes do check: without a token, 401.
    CHECK_TOKEN="" check_request anonymous 401 GET "/v1/movies/$SEED_LO"
    check_request title_search 200 GET "$TITLE_PATH"
    TOTAL[title_search]=$(total_records "$WORK/check.title_search") ||
        die "title_search: no metadata.total_records in $(head -c 300 "$WORK/check.title_search")"
    check_server_sql title_search "$TITLE_SQL"
    check_request genres_sort 200 GET "$GENRES_PATH"
    TOTAL[genres_sort]=$(total_records "$WORK/check.genres_sort") ||
        die "genres_sort: no metadata.total_records in $(head -c 300 "$WORK/check.genres_sort")"
    check_server_sql genres_sort "$GENRES_SQL"
    check_request q_search 200 GET "$Q_PATH"
    TOTAL[q_search]=$(total_records "$WORK/check.q_search") ||
        die "q_search: no metadata.total_records in $(head -c 300 "$WORK/check.q_search")"
    body=$(printf '{"title":"Bench Preflight","year":%d,"runtime":"%d mins","genres":["comedy","crime"]}' \
        "$MAX_YEAR" 95)
    check_request post 201 POST /v1/movies "$body"
    reset_movies
    say "every movie scenario answers its status (401 without a token);" \
        "title=river matches ${TOTAL[title_search]}, genres=drama ${TOTAL[genres_sort]}," \
        "q=rivr ${TOTAL[q_search]}"
}

# ----------------------------------------------------------- bare sweep ---

# bin/bench-bare's configuration is swept before the rounds: thread pools of
# 1, 2, CPUs, 2 x CPUs and 4 x CPUs (duplicates dropped), 16, 32 and 64 KiB
# of memory per connection, epoll and poll; one wrk run of
# BENCH_SWEEP_SECONDS each, as the rounds run it.  The fastest configuration
# without errors becomes the `bare` scenario, the ceiling of api/bare: the
# ratio then also counts what bin/api's own configuration costs, which a
# ceiling configured like bin/api would hide.  The sweep only picks: `bare`
# is then measured in the rounds like every scenario, so a lucky short run
# does not inflate the ceiling.  BENCH_SWEEP_SECONDS=0: no sweep, `bare`
# keeps bare_mhd.c's defaults (4 threads per CPU, 64 KiB, epoll).
# The server's own connection memory (cmd/api/server.c POOL_SIZE, sized for
# CONTRACT §12 #25's 64 KiB heads with 1,000 parameters) joins the sweep's
# sizes: libmicrohttpd 0.9.75 zeroes a connection's whole pool after every
# keep-alive request, so that size costs even the bare program.
API_POOL_KIB=$(sed -n 's/^#define POOL_SIZE ((size_t)\([0-9]*\) \* 1024)$/\1/p' "$ROOT/cmd/api/server.c")
[[ -n "$API_POOL_KIB" ]] || die "cannot read POOL_SIZE from cmd/api/server.c"
SWEEP_MEMORY=(16 32 64)
[[ " ${SWEEP_MEMORY[*]} " == *" $API_POOL_KIB "* ]] || SWEEP_MEMORY+=("$API_POOL_KIB")
SWEEP_ROWS=()       # "threads memory_kib poll req_per_s p99_ms errors" per run
BARE_THREADS=$(($(nproc) * 4)) # the `bare` scenario's configuration
BARE_MEMORY_KIB=64
BARE_POLL=epoll
BARE_CHOSEN_BY=default # or sweep
SWEEP_BEST=""       # index in SWEEP_ROWS of the fastest run without errors
SWEEP_DEFAULT=""    # and of the run with bare_mhd.c's defaults

sweep_bare() {
    local n t m p i=0 seen=" " threads=() best_rps=-1 pid
    n=$(nproc)
    for t in 1 2 "$n" $((2 * n)) $((4 * n)); do
        [[ "$seen" != *" $t "* ]] || continue
        seen+="$t "
        threads+=("$t")
    done
    say "sweeping bin/bench-bare: ${#threads[@]} thread counts x ${#SWEEP_MEMORY[@]} memory sizes x epoll/poll," \
        "${BENCH_SWEEP_SECONDS}s each (wrk -t$WRK_THREADS -c$WRK_CONNECTIONS)"
    SC_ARGS[sweep]=""
    for t in "${threads[@]}"; do
        for m in "${SWEEP_MEMORY[@]}"; do
            for p in epoll poll; do
                start_bare "sweep.$i" "$t" "$m" "$p"
                pid=$STARTED_PID
                SC_URL[sweep]=$STARTED_URL
                BENCH_SECONDS=$BENCH_SWEEP_SECONDS measure_wrk sweep "$i" "$WORK/wrk.sweep.$i.txt"
                stop_pid "$pid"
                forget_pid "$pid"
                rm -f -- "$WORK/sweep.$i.log"
                SWEEP_ROWS+=("$t $m $p $M_RPS $M_P99 $((M_SOCK + M_NON2XX))")
                say "$(printf 'sweep %2d/%d  %4d threads %3d KiB %-5s %12.0f req/s  p99 %9s ms' \
                    $((i + 1)) $((${#threads[@]} * ${#SWEEP_MEMORY[@]} * 2)) "$t" "$m" "$p" "$M_RPS" "$M_P99")"
                if ((M_SOCK + M_NON2XX == 0)) &&
                    awk -v a="$M_RPS" -v b="$best_rps" 'BEGIN { exit !(a > b) }'; then
                    best_rps=$M_RPS
                    SWEEP_BEST=$i
                fi
                if ((t == 4 * n && m == 64)) && [[ "$p" == epoll ]]; then
                    SWEEP_DEFAULT=$i
                fi
                i=$((i + 1))
            done
        done
    done
    if [[ -z "$SWEEP_BEST" ]]; then
        say "WARNING: every configuration of the sweep had errors: bare keeps its defaults"
        return 0
    fi
    read -r BARE_THREADS BARE_MEMORY_KIB BARE_POLL _ <<<"${SWEEP_ROWS[SWEEP_BEST]}"
    BARE_CHOSEN_BY=sweep
}

# The sweep, then the `bare` scenario restarted with its fastest
# configuration (still sending bin/api's healthcheck bytes).
choose_bare() {
    ((BENCH_SWEEP_SECONDS > 0)) || return 0
    sweep_bare
    [[ "$BARE_CHOSEN_BY" == sweep ]] || return 0
    stop_pid "$BARE_PID"
    forget_pid "$BARE_PID"
    start_bare bare "$BARE_THREADS" "$BARE_MEMORY_KIB" "$BARE_POLL"
    BARE_PID=$STARTED_PID
    BARE_URL=$STARTED_URL
    same_response "$API_URL" "$BARE_URL"
    say "bare: the fastest of the sweep, $BARE_THREADS threads, $BARE_MEMORY_KIB KiB per connection, $BARE_POLL"
}

print_sweep() {
    local i row t m p rps p99 err best_rps note
    if [[ -z "$SWEEP_BEST" ]]; then
        if ((BENCH_SWEEP_SECONDS == 0)); then
            printf '\nbare: no sweep (BENCH_SWEEP_SECONDS=0): bin/bench-bare with its defaults, %d threads, %d KiB, %s\n' \
                "$BARE_THREADS" "$BARE_MEMORY_KIB" "$BARE_POLL"
        else
            printf '\nbare: every configuration of the sweep had errors: bin/bench-bare with its defaults\n'
        fi
        [[ ${#SWEEP_ROWS[@]} -gt 0 ]] || return 0
    fi
    printf '\nbin/bench-bare sweep — GET /v1/healthcheck, wrk -t%d -c%d -d%ds, one run per configuration\n\n' \
        "$WRK_THREADS" "$WRK_CONNECTIONS" "$BENCH_SWEEP_SECONDS"
    printf '%7s %8s %-5s %12s %10s %9s %6s\n' threads 'mem KiB' poll 'req/s' 'p99 (ms)' '/fastest' errors
    best_rps=0
    [[ -z "$SWEEP_BEST" ]] || read -r _ _ _ best_rps _ <<<"${SWEEP_ROWS[SWEEP_BEST]}"
    for i in "${!SWEEP_ROWS[@]}"; do
        row=${SWEEP_ROWS[i]}
        read -r t m p rps p99 err <<<"$row"
        note=""
        [[ "$i" != "$SWEEP_BEST" ]] || note+="  <- fastest: the bare scenario"
        [[ "$i" != "$SWEEP_DEFAULT" ]] || note+="  (bare_mhd.c's defaults)"
        printf '%7d %8d %-5s %12.0f %10.3f %9s %6d%s\n' "$t" "$m" "$p" "$rps" "$p99" \
            "$(awk -v a="$rps" -v b="$best_rps" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }')" \
            "$err" "$note"
    done
}

sweep_json() {
    local i t m p rps p99 err first=1
    printf '  "bare": {"threads": %d, "connection_memory_kib": %d, "poll": %s, "chosen_by": %s},\n' \
        "$BARE_THREADS" "$BARE_MEMORY_KIB" "$(json_str "$BARE_POLL")" "$(json_str "$BARE_CHOSEN_BY")"
    if ((BENCH_SWEEP_SECONDS == 0)); then
        printf '  "bare_sweep": null,\n'
        return 0
    fi
    printf '  "bare_sweep": {"seconds": %d, "fastest_index": %s, "defaults_index": %s, "runs": [' \
        "$BENCH_SWEEP_SECONDS" "${SWEEP_BEST:-null}" "${SWEEP_DEFAULT:-null}"
    for i in "${!SWEEP_ROWS[@]}"; do
        read -r t m p rps p99 err <<<"${SWEEP_ROWS[i]}"
        ((first)) || printf ','
        first=0
        printf '\n    {"threads": %d, "connection_memory_kib": %d, "poll": %s, "req_per_s": %s, "p99_ms": %s, "errors": %d}' \
            "$t" "$m" "$(json_str "$p")" "$rps" "$p99" "$err"
    done
    printf '\n  ]},\n'
}

# --------------------------------------------------------------- EXPLAIN ---

declare -A PLAN_TEXT=() PLAN_INDEX=() PLAN_USES=() PLAN_GENERIC=() PLAN_MS=() PLAN_COUNTS=()

# PREPARE the SQL as the server does (libpq PQprepare without types: the same
# inferred parameter types; parameters sent as text), EXECUTE it 6 times, then
# EXPLAIN (ANALYZE, BUFFERS) EXECUTE: from the 6th execution on the plan cache
# may switch to the generic plan, as it does in each of the server's sessions.
explain_list() { # NAME INDEX SQL PARAMS (an SQL list of literals)
    local name=$1 index=$2 sql=$3 params=$4 out=$WORK/explain.$1.txt i script
    script="\\o /dev/null"$'\n'"PREPARE q AS $sql;"$'\n'
    for ((i = 0; i < 6; i++)); do
        script+="EXECUTE q($params);"$'\n'
    done
    script+="\\o $out"$'\n'"EXPLAIN (ANALYZE, BUFFERS) EXECUTE q($params);"$'\n'
    script+="\\o $out.counts"$'\n'
    script+="SELECT generic_plans || ' generic, ' || custom_plans || ' custom' FROM pg_prepared_statements WHERE name = 'q';"$'\n'
    psql -X -q -At -v ON_ERROR_STOP=1 "$DSN" <<<"$script" >"$WORK/explain.log" 2>&1 ||
        die "EXPLAIN for $name failed: $(tail -n 5 "$WORK/explain.log")"
    PLAN_TEXT[$name]=$(cat -- "$out")
    PLAN_INDEX[$name]=$index
    PLAN_COUNTS[$name]=$(cat -- "$out.counts")
    PLAN_USES[$name]=false
    if grep -q -- "$index" "$out"; then PLAN_USES[$name]=true; fi
    # A generic plan shows the parameters ($1) where a custom one has values.
    PLAN_GENERIC[$name]=false
    if grep -q -- '[$]1' "$out"; then PLAN_GENERIC[$name]=true; fi
    PLAN_MS[$name]=$(awk '/^Execution Time:/ {print $3}' "$out")
    PLAN_MS[$name]=${PLAN_MS[$name]:-null}
}

explain_lists() {
    # LIMIT page_size + 1: the extra row tells whether a next page exists.
    explain_list title_search movies_title_idx "$TITLE_SQL" "'river', '21', '0'"
    explain_list genres_sort movies_genres_idx "$GENRES_SQL" "'{\"drama\"}', '21', '0'"
}

print_plans() {
    local name kind uses
    for name in title_search genres_sort; do
        kind=custom
        [[ "${PLAN_GENERIC[$name]}" == false ]] || kind=generic
        uses=NO
        [[ "${PLAN_USES[$name]}" == false ]] || uses=yes
        printf '\nEXPLAIN (ANALYZE, BUFFERS) EXECUTE after 6 executions, %s: %s plan (%s so far), uses %s: %s, %s ms\n' \
            "$name" "$kind" "${PLAN_COUNTS[$name]}" "${PLAN_INDEX[$name]}" "$uses" "${PLAN_MS[$name]}"
        [[ "${SQL_MATCH[$name]}" == true ]] ||
            printf '  (WARNING: this SQL is not what bin/api ran, see above)\n'
        printf '%s\n' "${PLAN_TEXT[$name]}" | sed 's/^/    /'
    done
}

# The mixed-load part: run_mixed, print_mixed, mixed_json.
# shellcheck source=tests/bench/mixed.sh
. "$ROOT/tests/bench/mixed.sh"
# The Redis limiter's part: start_limiter_services ... limiter_json.
# shellcheck source=tests/bench/limiter.sh
. "$ROOT/tests/bench/limiter.sh"

# ----------------------------------------------------------------- main ---

start_services
start_limiter_services
setup_auth
write_movie_scripts
preflight
explain_lists
choose_bare

scenario nginx "$NGINX_URL"
scenario bare "$BARE_URL"
SC_DESC[bare]="GET $BARE_URL: bin/bench-bare, $BARE_THREADS threads, $BARE_MEMORY_KIB KiB per connection, $BARE_POLL ($BARE_CHOSEN_BY)"
scenario bare_as_api "$BARE_AS_API_URL"
SC_DESC[bare_as_api]="GET $BARE_AS_API_URL: bin/bench-bare configured as bin/api, $API_THREADS threads, $API_POOL_KIB KiB per connection, epoll"
scenario api "$API_URL"
pgbench_scenario pgbench "$WORK/get_by_id.pgbench"
SC_DESC[pgbench]="pgbench -n -M prepared: $GET_SQL, id random in $SEED_LO..$SEED_HI (TCP 127.0.0.1, role redlight)"
scenario get_by_id "$API_BASE/v1/movies/$SEED_LO" -s "$WORK/get_by_id.lua"
SC_DESC[get_by_id]="GET /v1/movies/:id, id random in $SEED_LO..$SEED_HI, stateful bearer token"
scenario get_by_id_jwt "$API_BASE/v1/movies/$SEED_LO" -s "$WORK/get_by_id_jwt.lua"
SC_DESC[get_by_id_jwt]="GET /v1/movies/:id, id random in $SEED_LO..$SEED_HI, JWT (HS256) bearer token"
scenario get_by_id_pgbouncer "$PGB_API_BASE/v1/movies/$SEED_LO" -s "$WORK/get_by_id.lua"
SC_DESC[get_by_id_pgbouncer]="get_by_id through PgBouncer (transaction mode) with -db-prepared=false: a second bin/api"
scenario title_search "$API_BASE$TITLE_PATH" -H "Authorization: Bearer $TOKEN"
SC_DESC[title_search]="GET $TITLE_PATH, stateful bearer token"
scenario genres_sort "$API_BASE$GENRES_PATH" -H "Authorization: Bearer $TOKEN"
SC_DESC[genres_sort]="GET $GENRES_PATH, stateful bearer token"
scenario q_search "$API_BASE$Q_PATH" -H "Authorization: Bearer $TOKEN"
SC_DESC[q_search]="GET $Q_PATH, stateful bearer token"
scenario post "$API_BASE/v1/movies" -s "$WORK/post.lua"
SC_DESC[post]="POST /v1/movies, valid JSON bodies with varied titles, stateful bearer token"
SC_AFTER[post]=reset_movies
register_limiter_scenarios
HEALTH_SCENARIOS=(nginx bare bare_as_api api)
MOVIE_SCENARIOS=(get_by_id get_by_id_jwt title_search genres_sort q_search post)
API_SCENARIOS=(api "${MOVIE_SCENARIOS[@]}")
if [[ -n "$BASE_BIN" ]]; then
    # Each bin/api scenario's twin against the base build runs right after
    # it in every round: the same request, URL and wrk arguments, on the
    # base's port.
    twin_order=()
    for name in "${SCENARIOS[@]}"; do
        twin_order+=("$name")
        [[ " ${API_SCENARIOS[*]} " == *" $name "* ]] || continue
        twin=$name@base
        register "$twin" wrk "${SC_URL[$name]/#$API_BASE/$BASE_API}"
        SC_ARGS[$twin]=${SC_ARGS[$name]}
        SC_DESC[$twin]="${SC_DESC[$name]:-GET ${SC_URL[$name]}} (base build)"
        [[ -z "${SC_AFTER[$name]:-}" ]] || SC_AFTER[$twin]=${SC_AFTER[$name]}
        twin_order+=("$twin")
    done
    SCENARIOS=("${twin_order[@]}")
fi

say "${#SCENARIOS[@]} scenarios x $BENCH_ROUNDS rounds x ${BENCH_SECONDS}s" \
    "(wrk -t$WRK_THREADS -c$WRK_CONNECTIONS; pgbench -c$WRK_CONNECTIONS -j$WRK_THREADS), $(nproc) CPUs"
http_rss_reset api "$API_PID" ${BASE_BIN:+base "$BASE_PID"}
run_rounds
check_limiter
run_mixed
http_rss_read api "$API_PID" ${BASE_BIN:+base "$BASE_PID"}

# login: once, after the rounds.  It is bound by Argon2id (one verification
# per login, at most one per CPU at a time: internal/password), so a short
# run says all there is; 2 connections per CPU keep every hash slot busy
# without queueing requests past wrk's timeout.
LOGIN_CONNECTIONS=$(($(nproc) * 2))
((LOGIN_CONNECTIONS >= WRK_THREADS)) || LOGIN_CONNECTIONS=$WRK_THREADS
scenario login "$API_BASE/v1/tokens/authentication" -s "$WORK/login.lua" --timeout 10s
SC_DESC[login]="POST /v1/tokens/authentication with the bench user's e-mail and password (wrk -t$WRK_THREADS -c$LOGIN_CONNECTIONS -d${BENCH_LOGIN_SECONDS}s, one run)"
say "login: wrk -t$WRK_THREADS -c$LOGIN_CONNECTIONS -d${BENCH_LOGIN_SECONDS}s, once"
WRK_CONNECTIONS=$LOGIN_CONNECTIONS BENCH_SECONDS=$BENCH_LOGIN_SECONDS measure login 1
LOGIN_MEAN_MS=$(awk '$1 == "Latency" && $2 != "Distribution" { print $2; exit }' \
    "$WORK/wrk.login.1.txt")
LOGIN_MEAN_MS=$(to_ms "$LOGIN_MEAN_MS") || die "cannot read wrk's mean latency for login"
# What the CPUs allow if every one of them did nothing but Argon2id, and the
# CPU time one login took at the measured rate.
LOGIN_CEILING=$(awk -v c="$(nproc)" -v ms="$ARGON2_MS" 'BEGIN { printf "%.1f", c * 1000 / ms }')
LOGIN_CPU_MS=$(awk -v c="$(nproc)" -v r="$(med_rps login)" \
    'BEGIN { if (r > 0) printf "%.1f", c * 1000 / r; else print "null" }')

api_rss=$(vm_hwm_kb "$API_PID")
base_rss=""
if [[ -n "$BASE_BIN" ]]; then
    base_rss=$(vm_hwm_kb "$BASE_PID")
    alive "$BASE_PID" || die "the base build died during the benchmark"
fi
bare_rss=$(vm_hwm_kb "$BARE_PID")
alive "$API_PID" || die "bin/api died during the benchmark"

mark() { # NAME: PASS or below, against TARGET
    awk -v r="$(ratio "$1" pgbench)" -v t="${TARGET[$1]}" \
        'BEGIN { print (r != "null" && r + 0 >= t + 0) ? "PASS" : "below" }'
}

report() {
    local name bad=0
    print_sweep
    printf '\nhealthcheck — wrk -t%d -c%d -d%ds --latency, median of %d rounds, %d CPUs\n\n' \
        "$WRK_THREADS" "$WRK_CONNECTIONS" "$BENCH_SECONDS" "$BENCH_ROUNDS" "$(nproc)"
    printf '%-10s %12s %12s %8s %8s   %s\n' target 'req/s' 'p99 (ms)' 'sock err' 'non-2xx' 'req/s of each round'
    for name in "${HEALTH_SCENARIOS[@]}"; do
        printf '%-10s %12.0f %12.3f %8d %8d   %s\n' "$name" "$(med_rps "$name")" \
            "$(med_p99 "$name")" "${RES_SOCK[$name]}" "${RES_NON2XX[$name]}" "$(rounds_int "$name")"
    done
    printf 'api/bare: %s   api/nginx: %s   api/bare_as_api: %s   bare_as_api/bare: %s\n' \
        "$(ratio api bare)" "$(ratio api nginx)" "$(ratio api bare_as_api)" "$(ratio bare_as_api bare)"
    printf 'bare: bin/bench-bare with %d threads, %d KiB per connection, %s (%s)\n' \
        "$BARE_THREADS" "$BARE_MEMORY_KIB" "$BARE_POLL" \
        "$([[ "$BARE_CHOSEN_BY" == sweep ]] && echo 'the fastest of the sweep' || echo "its defaults")"

    printf '\nmovies — %d seeded + demo movies; wrk as above; pgbench -n -M prepared -c%d -j%d -T%d\n' \
        "$SEED_MOVIES" "$WRK_CONNECTIONS" "$WRK_THREADS" "$BENCH_SECONDS"
    printf 'running the SELECT of get_by_id (the ceiling); ratios are req/s over pgbench tps\n\n'
    printf '%-13s %10s %10s %9s %8s %-6s %8s %8s   %s\n' scenario 'req/s' 'p99 (ms)' '/pgbench' target '' \
        'sock err' 'non-2xx' 'req/s of each round'
    printf '%-13s %10.0f %10.3f %9s %8s %-6s %8d %8s   %s\n' 'pgbench (tps)' "$(med_rps pgbench)" \
        "$(med_p99 pgbench)" 1 '' '' "${RES_SOCK[pgbench]}" - "$(rounds_int pgbench)"
    for name in "${MOVIE_SCENARIOS[@]}"; do
        printf '%-13s %10.0f %10.3f %9s %8s %-6s %8d %8d   %s\n' "$name" "$(med_rps "$name")" \
            "$(med_p99 "$name")" "$(ratio "$name" pgbench)" ">= ${TARGET[$name]}" "$(mark "$name")" \
            "${RES_SOCK[$name]}" "${RES_NON2XX[$name]}" "$(rounds_int "$name")"
    done
    for name in "${SCENARIOS[@]}"; do
        bad=$((bad + RES_SOCK[$name] + RES_NON2XX[$name]))
    done
    if ((bad == 0)); then
        printf 'no socket errors, no response >= 400, no failed pgbench transaction\n'
    else
        printf 'WARNING: %d errors (socket errors, responses >= 400, failed transactions): see the columns\n' "$bad"
    fi
    printf 'get_by_id through PgBouncer (transaction mode, -db-prepared=false): %.0f req/s, p99 %.3f ms, %s of direct get_by_id (%s)\n' \
        "$(med_rps get_by_id_pgbouncer)" "$(med_p99 get_by_id_pgbouncer)" \
        "$(ratio get_by_id_pgbouncer get_by_id)" "$(rounds_int get_by_id_pgbouncer)"
    printf 'title=river matches %s movies, genres=drama %s, q=rivr %s; post created %d movies, removed after each run\n' \
        "${TOTAL[title_search]}" "${TOTAL[genres_sort]}" "${TOTAL[q_search]}" "$POSTED"
    printf '\nlogin — POST /v1/tokens/authentication, wrk -t%d -c%d -d%ds, one run after the rounds\n\n' \
        "$WRK_THREADS" "$LOGIN_CONNECTIONS" "$BENCH_LOGIN_SECONDS"
    printf '%-13s %10s %10s %10s %8s %8s\n' '' 'req/s' 'mean (ms)' 'p99 (ms)' 'sock err' 'non-2xx'
    printf '%-13s %10.1f %10.1f %10.1f %8d %8d\n' login "$(med_rps login)" "$LOGIN_MEAN_MS" \
        "$(med_p99 login)" "${RES_SOCK[login]}" "${RES_NON2XX[login]}"
    printf 'Argon2id cost per hash: one login on the idle server takes %.1f ms (median of %s ms)\n' \
        "$ARGON2_MS" "$LOGIN_TIMES"
    printf 'so %d CPUs allow at most %.1f logins/s; measured %.1f (%s of that), %s CPU-ms per login\n' \
        "$(nproc)" "$LOGIN_CEILING" "$(med_rps login)" \
        "$(awk -v r="$(med_rps login)" -v c="$LOGIN_CEILING" 'BEGIN { printf "%.0f%%", 100 * r / c }')" \
        "$LOGIN_CPU_MS"
    print_http_rss
    printf 'api peak RSS over its whole life, logins included (VmHWM): %s kB   (bench-bare: %s kB)\n' \
        "${api_rss:-?}" "${bare_rss:-?}"
    print_plans
    print_mixed
    print_limiter
    if [[ -n "$BASE_BIN" ]]; then
        printf '\nthis build over the base (%s), each pair measured back to back in every round\n\n' "$BASE_LABEL"
        printf '%-13s %10s %10s %8s %10s %10s   %s\n' scenario 'req/s' 'base' 'ratio' 'p99 (ms)' 'base p99' \
            'req/s of each round: this | base'
        for name in "${API_SCENARIOS[@]}"; do
            printf '%-13s %10.0f %10.0f %8s %10.3f %10.3f   %s | %s\n' "$name" "$(med_rps "$name")" \
                "$(med_rps "$name@base")" "$(ratio "$name" "$name@base")" "$(med_p99 "$name")" \
                "$(med_p99 "$name@base")" "$(rounds_int "$name")" "$(rounds_int "$name@base")"
        done
        printf 'peak RSS (VmHWM): through the HTTP scenarios this %s kB, base %s kB; whole life this %s kB, base %s kB\n' \
            "$(http_rss api)" "$(http_rss base)" "${api_rss:-?}" "${base_rss:-?}"
    fi
}
report

write_json() {
    local name first=1 version sql pass
    version=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
    printf '{\n'
    printf '  "suite": %s,\n' "$(json_str "$SUITE")"
    printf '  "timestamp": %s,\n' "$(json_str "$STAMP_ISO")"
    printf '  "git": %s,\n' "$(json_str "$version")"
    printf '  "cpus": %d,\n' "$(nproc)"
    printf '  "kernel": %s,\n' "$(json_str "$(uname -r)")"
    printf '  "wrk": {"threads": %d, "connections": %d, "seconds": %d, "rounds": %d, "warmup_seconds": %d},\n' \
        "$WRK_THREADS" "$WRK_CONNECTIONS" "$BENCH_SECONDS" "$BENCH_ROUNDS" "$BENCH_WARMUP"
    printf '  "pgbench": {"clients": %d, "threads": %d, "seconds": %d, "protocol": "prepared", "script": %s},\n' \
        "$WRK_CONNECTIONS" "$WRK_THREADS" "$BENCH_SECONDS" "$(json_str "$(cat "$WORK/get_by_id.pgbench")")"
    printf '  "seed": {"movies": %d, "id_lo": %d, "id_hi": %d, "title_river_matches": %s, "genres_drama_matches": %s, "q_rivr_matches": %s, "posted_and_removed": %d},\n' \
        "$SEED_MOVIES" "$SEED_LO" "$SEED_HI" "${TOTAL[title_search]:-null}" \
        "${TOTAL[genres_sort]:-null}" "${TOTAL[q_search]:-null}" "$POSTED"
    printf '  "scenarios": {\n'
    for name in "${SCENARIOS[@]}"; do
        ((first)) || printf ',\n'
        first=0
        printf '    %s: {"kind": %s, "url": %s, "request": %s, "req_per_s_median": %s, "p99_ms_median": %s, "errors": %d, "socket_errors": %d, "non_2xx": %d, "req_per_s": %s, "p99_ms": %s' \
            "$(json_str "$name")" "$(json_str "${SC_KIND[$name]}")" "$(json_str "${SC_URL[$name]}")" \
            "$(json_str "${SC_DESC[$name]:-GET ${SC_URL[$name]}}")" \
            "$(med_rps "$name")" "$(med_p99 "$name")" \
            $((RES_SOCK[$name] + RES_NON2XX[$name])) "${RES_SOCK[$name]}" "${RES_NON2XX[$name]}" \
            "$(json_list "${RES_RPS[$name]}")" "$(json_list "${RES_P99[$name]}")"
        if [[ -n "${TARGET[$name]:-}" ]]; then
            pass=false
            [[ "$(mark "$name")" != PASS ]] || pass=true
            printf ', "ratio_to_pgbench": %s, "target_ratio": %s, "pass": %s' \
                "$(ratio "$name" pgbench)" "${TARGET[$name]}" "$pass"
        fi
        printf '}'
    done
    printf '\n  },\n'
    printf '  "plans": {\n'
    first=1
    for name in title_search genres_sort; do
        ((first)) || printf ',\n'
        first=0
        sql=$GENRES_SQL
        [[ "$name" != title_search ]] || sql=$TITLE_SQL
        printf '    %s: {"sql": %s, "server_ran_this_sql": %s, "index": %s, "uses_index": %s, "generic_plan": %s, "plan_cache": %s, "execution_ms": %s, "plan": %s}' \
            "$(json_str "$name")" "$(json_str "$sql")" "$(json_bool "${SQL_MATCH[$name]:-}")" \
            "$(json_str "${PLAN_INDEX[$name]}")" "$(json_bool "${PLAN_USES[$name]}")" \
            "$(json_bool "${PLAN_GENERIC[$name]}")" "$(json_str "${PLAN_COUNTS[$name]}")" \
            "${PLAN_MS[$name]}" "$(json_str "${PLAN_TEXT[$name]}")"
    done
    printf '\n  },\n'
    printf '  "auth": {"user_id": %s, "login": {"connections": %d, "seconds": %d, "req_per_s": %s, "mean_ms": %s, "p99_ms": %s, "argon2id_one_login_ms": %s, "single_logins_ms": %s, "ceiling_req_per_s": %s, "cpu_ms_per_login": %s}},\n' \
        "$BENCH_UID" "$LOGIN_CONNECTIONS" "$BENCH_LOGIN_SECONDS" "$(med_rps login)" "$LOGIN_MEAN_MS" \
        "$(med_p99 login)" "$ARGON2_MS" "$(json_list "$LOGIN_TIMES")" "$LOGIN_CEILING" "$LOGIN_CPU_MS"
    printf '  "api_peak_rss_kb": %s,\n' "${api_rss:-null}"
    printf '  "api_http_peak_rss_kb": %s,\n' "$(http_rss api)"
    printf '  "bare_peak_rss_kb": %s,\n' "${bare_rss:-null}"
    sweep_json
    mixed_json
    limiter_json
    if [[ -n "$BASE_BIN" ]]; then
        printf '  "base": {"label": %s, "peak_rss_kb": %s, "http_peak_rss_kb": %s, "ratios": {' \
            "$(json_str "$BASE_LABEL")" "${base_rss:-null}" "$(http_rss base)"
        first=1
        for name in "${API_SCENARIOS[@]}"; do
            ((first)) || printf ', '
            first=0
            printf '"%s": %s' "$name" "$(ratio "$name" "$name@base")"
        done
        printf '}},\n'
    fi
    printf '  "ratios": {"api/bare": %s, "api/nginx": %s, "api/bare_as_api": %s, "bare_as_api/bare": %s' \
        "$(ratio api bare)" "$(ratio api nginx)" "$(ratio api bare_as_api)" "$(ratio bare_as_api bare)"
    for name in "${MOVIE_SCENARIOS[@]}"; do
        printf ', "%s/pgbench": %s' "$name" "$(ratio "$name" pgbench)"
    done
    printf '}\n'
    printf '}\n'
}

STAMP_ISO=$(date -u +%Y-%m-%dT%H:%M:%SZ)
mkdir -p "$OUT_DIR"
json_file=$OUT_DIR/$SUITE-$(date -u -d "$STAMP_ISO" +%Y%m%dT%H%M%SZ).json
write_json >"$json_file"
printf '\nresults: %s\n' "${json_file#"$ROOT"/}"
