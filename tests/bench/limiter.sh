# shellcheck shell=bash
# tests/bench/limiter.sh — the shared rate limiter's cost in `make bench`
# (issue 14 item 1), sourced by tests/bench/run.sh after its helpers are
# defined.
#
# What a request pays for its bucket living in Redis (-limiter-redis) rather
# than in the node (the local limiter): two more bin/api processes on the
# bench database, both with the limiter ON at -limiter-rps 1000000
# -limiter-burst 1000000 (wrk comes from one address; nothing is refused),
# one with local buckets (lim_local), one with -limiter-redis on a
# redis-server of its own (127.0.0.1, a free port, no persistence, under
# $WORK, stopped by PID). Four scenarios join the round-robin, so noise hits
# them like the rest:
#   hc_lim_local, hc_lim_redis    GET /v1/healthcheck
#   id_lim_local, id_lim_redis    GET /v1/movies/:id (the get_by_id script)
# The table: each Redis scenario over its local twin (median req/s, p99).
# After the rounds the Redis node's /debug/vars must show Redis up and no
# fallback, so the numbers are the Redis path's. Skipped (with a note) when
# redis-server is not installed (make deps/bench installs it).
#
# start_limiter_services, register_limiter_scenarios, check_limiter,
# print_limiter, limiter_json (the "limiter_redis" member, with its comma).

LIMITER_ON=0
LIM_LOCAL_BASE=""
LIM_REDIS_BASE=""
LIMITER_CHECK=""
LIMITER_FLAGS=(-limiter-enabled=true -limiter-rps 1000000 -limiter-burst 1000000)

start_limiter_services() {
    local redis_bin port redis_port
    redis_bin=$(command -v redis-server || true)
    if [[ -z "$redis_bin" ]]; then
        say "note: no redis-server: the Redis limiter comparison is skipped (make deps/bench)"
        return 0
    fi
    redis_port=$(free_port)
    mkdir -p "$WORK/redis"
    say "redis-server on 127.0.0.1:$redis_port (in $WORK/redis)"
    "$redis_bin" --port "$redis_port" --bind 127.0.0.1 --dir "$WORK/redis" \
        --save "" --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
    PIDS+=("$!")
    local i
    for ((i = 0; i < 100; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break
        sleep 0.1
    done
    port=$(free_port)
    start_api "$API_BIN" "$port" lim_local "${LIMITER_FLAGS[@]}"
    LIM_LOCAL_BASE="http://127.0.0.1:$port"
    port=$(free_port)
    start_api "$API_BIN" "$port" lim_redis "${LIMITER_FLAGS[@]}" \
        -limiter-redis "redis://127.0.0.1:$redis_port/0"
    LIM_REDIS_BASE="http://127.0.0.1:$port"
    LIMITER_ON=1
}

# SC_DESC is run.sh's (what each scenario runs, for the JSON).
# shellcheck disable=SC2034
register_limiter_scenarios() {
    ((LIMITER_ON)) || return 0
    local kind base
    for kind in local redis; do
        base=$LIM_LOCAL_BASE
        [[ $kind == local ]] || base=$LIM_REDIS_BASE
        scenario "hc_lim_$kind" "$base/v1/healthcheck"
        SC_DESC["hc_lim_$kind"]="GET /v1/healthcheck, limiter on ($kind buckets, rps and burst 1000000)"
        scenario "id_lim_$kind" "$base/v1/movies/$SEED_LO" -s "$WORK/get_by_id.lua"
        SC_DESC["id_lim_$kind"]="GET /v1/movies/:id as get_by_id, limiter on ($kind buckets, rps and burst 1000000)"
    done
}

# The Redis node decided every request through Redis: up, no fallback.
check_limiter() {
    ((LIMITER_ON)) || return 0
    LIMITER_CHECK=$(curl -fsS --max-time 5 "$LIM_REDIS_BASE/debug/vars" |
        jq -c '.rate_limiter.redis | {up, decisions, fallbacks, errors, connects, slot_waits}') ||
        die "cannot read the Redis node's /debug/vars"
    [[ $(jq -r '.up and .fallbacks == 0' <<<"$LIMITER_CHECK") == true ]] ||
        say "WARNING: the Redis node fell back during the rounds: $LIMITER_CHECK"
}

print_limiter() {
    ((LIMITER_ON)) || return 0
    local what
    printf '\nrate limiter in Redis over local buckets — limiter on, rps and burst 1000000, wrk as above, same rounds\n\n'
    printf '%-12s %10s %10s %8s %10s %10s   %s\n' scenario 'redis' 'local' 'ratio' 'p99 redis' 'p99 local' \
        'req/s of each round: redis | local'
    for what in hc id; do
        printf '%-12s %10.0f %10.0f %8s %10.3f %10.3f   %s | %s\n' \
            "$([[ $what == hc ]] && echo healthcheck || echo get_by_id)" \
            "$(med_rps "${what}_lim_redis")" "$(med_rps "${what}_lim_local")" \
            "$(ratio "${what}_lim_redis" "${what}_lim_local")" "$(med_p99 "${what}_lim_redis")" \
            "$(med_p99 "${what}_lim_local")" "$(rounds_int "${what}_lim_redis")" \
            "$(rounds_int "${what}_lim_local")"
    done
    printf 'Redis node after the rounds (/debug/vars rate_limiter.redis): %s\n' "$LIMITER_CHECK"
}

limiter_json() {
    if ((!LIMITER_ON)); then
        printf '  "limiter_redis": null,\n'
        return 0
    fi
    printf '  "limiter_redis": {"healthcheck_ratio": %s, "get_by_id_ratio": %s, "redis_node": %s},\n' \
        "$(ratio hc_lim_redis hc_lim_local)" "$(ratio id_lim_redis id_lim_local)" \
        "${LIMITER_CHECK:-null}"
}
