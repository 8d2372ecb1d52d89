#!/usr/bin/env bash
# Load test of hookbridge's ingress, over loopback only.
#
#   benches/load.sh                 # DURATION=15s by default
#   DURATION=10s benches/load.sh
#
# 1. Throughput: wrk POSTs a real 10.8 KB Jira delivery, each with a unique
#    X-Atlassian-Webhook-Identifier, first to examples/ceiling.rs (hyper that only
#    parses the JSON: the most any server can do here) and then to the gateway with a
#    fresh SQLite store; prints requests/s, p50, p99 and errors for both, and the
#    gateway's share of the ceiling. /metrics must agree with what wrk counted.
# 1b. Throughput on PostgreSQL, when HOOKBRIDGE_TEST_PG is set (an admin URL such as
#    postgres://postgres@127.0.0.1:5432/test): the same run with the store in a fresh
#    database (created, then dropped), once with one gateway ("postgres x1") and once
#    with three on the one database ("postgres x3"), each driven by its own wrk
#    (-t1, CONNECTIONS/3 connections) in parallel; requests/s summed, p50/p99/max the
#    highest of the three. /metrics (summed over replicas) must agree with wrk.
# 2. Memory: a gateway whose only target is down takes EVENTS (100,000) events; once
#    its queue holds them all, VmRSS and VmHWM are read from /proc. Goal: < 100 MB.
#
# Environment: DURATION, THREADS (2), CONNECTIONS (64), EVENTS (100000),
# MEMORY_GOAL_MB (100), HOOKBRIDGE_TEST_PG (unset: no PostgreSQL runs), KEEP_TMP=1 keeps the temp folder (stores, logs, wrk output).
# Exits non-zero when a run had errors, /metrics disagrees, or the memory goal is
# missed, after printing every figure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LUA="$ROOT/benches/load/post.lua"
PAYLOAD="$ROOT/fixtures/jira/issue_updated.description.json"
MAPPING="$ROOT/mappings/jira.yaml"
DURATION=${DURATION:-15s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
EVENTS=${EVENTS:-100000}
MEMORY_GOAL_MB=${MEMORY_GOAL_MB:-100}
# Bounds on the counted run and on waiting for the queue, so the script always ends.
EVENTS_MAX_DURATION=${EVENTS_MAX_DURATION:-300s}
QUEUE_WAIT_SECS=${QUEUE_WAIT_SECS:-120}

die() {
    echo "load.sh: $*" >&2
    exit 1
}

problems=()
problem() {
    problems+=("$*")
    echo "!! $*" >&2
}

# --- processes and temp files: everything started here is stopped on exit ---------
TMP=$(mktemp -d -t hookbridge-load.XXXXXX)
PIDS=()
# PostgreSQL databases created here; cleanup drops them, after stopping the gateways.
PG_DBS=()
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "load.sh: pid $pid ignored SIGTERM for 5s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    local db
    for db in "${PG_DBS[@]}"; do
        pg_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)" ||
            echo "load.sh: could not drop PostgreSQL database $db; drop it by hand" >&2
    done
    if [[ "${KEEP_TMP:-0}" == 1 ]]; then
        echo "load.sh: kept $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$status"
}
# One SQL statement on HOOKBRIDGE_TEST_PG's database.
pg_admin() {
    PGCONNECT_TIMEOUT=10 psql "$HOOKBRIDGE_TEST_PG" -qAt -v ON_ERROR_STOP=1 -c "$1" >/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Stops one process started here, and forgets it.
stop() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    forget "$pid"
}

# Removes a value from one of the arrays cleanup works through (PIDS, PG_DBS).
forget_in() {
    local -n list=$1
    local keep=() item
    for item in "${list[@]}"; do
        [[ "$item" == "$2" ]] || keep+=("$item")
    done
    list=("${keep[@]}")
}

# Drops a pid that has ended from the ones cleanup stops.
forget() { forget_in PIDS "$1"; }

# Runs a command as a foreground one would, but in the background and waited for,
# so that a signal to this script stops it at once (bash runs a trap only after the
# foreground command ends).
run() {
    "$@" &
    local pid=$! rc=0
    PIDS+=("$pid")
    wait "$pid" || rc=$?
    forget "$pid"
    return "$rc"
}

# --- tools ---------------------------------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
if [[ -n "${HOOKBRIDGE_TEST_PG:-}" ]]; then
    command -v psql >/dev/null || need+=(postgresql-client)
fi
if ((${#need[@]})); then
    echo "load.sh: installing ${need[*]} with apt-get" >&2
    if ! apt-get install -y "${need[@]}" >&2; then
        apt-get update >&2 || true
        apt-get install -y "${need[@]}" >&2 || die "cannot install ${need[*]} with apt-get (needs root and Debian's package lists)"
    fi
    for tool in "${need[@]}"; do
        [[ "$tool" == postgresql-client ]] && tool=psql
        command -v "$tool" >/dev/null || die "$tool is still missing after apt-get install"
    done
fi
[[ -f "$PAYLOAD" ]] || die "payload $PAYLOAD is missing"
[[ -f "$MAPPING" ]] || die "mapping $MAPPING is missing"
if [[ -n "${HOOKBRIDGE_TEST_PG:-}" ]]; then
    [[ "$HOOKBRIDGE_TEST_PG" =~ ^(postgres(ql)?://[^/?]+) ]] ||
        die "HOOKBRIDGE_TEST_PG ($HOOKBRIDGE_TEST_PG) is not a postgres://USER@HOST:PORT/DB URL"
    PG_SERVER=${BASH_REMATCH[1]}
    pg_admin 'SELECT 1' || die "cannot connect to HOOKBRIDGE_TEST_PG ($HOOKBRIDGE_TEST_PG) with psql"
    ((CONNECTIONS >= 3)) || die "CONNECTIONS ($CONNECTIONS) must be at least 3 for the three-replica run"
fi
((EVENTS >= THREADS)) || die "EVENTS ($EVENTS) must be at least THREADS ($THREADS)"

echo "== building (release)" >&2
run cargo build --manifest-path "$ROOT/Cargo.toml" --release --bin hookbridge --example ceiling >&2 ||
    die "cargo build failed"
BIN="$ROOT/target/release/hookbridge"
CEILING="$ROOT/target/release/examples/ceiling"

# --- helpers -------------------------------------------------------------------------

# Waits for `addr=HOST:PORT` in a log (hookbridge's JSON `"addr":"..."` or the
# ceiling's plain line) and prints the address.
wait_for_addr() {
    local pid=$1 log=$2 addr
    for _ in $(seq 300); do
        addr=$(grep -m1 -oE '"addr":"[^"]+"|addr=[^ ]+' "$log" 2>/dev/null |
            sed -E 's/^"addr":"//; s/"$//; s/^addr=//' || true)
        if [[ -n "$addr" ]]; then
            echo "$addr"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "pid $pid exited before listening (log above)"; }
        sleep 0.1
    done
    cat "$log" >&2
    die "pid $pid did not listen within 30s (log above)"
}

# Starts the gateway with config $1, log to $2; sets GATEWAY_PID and GATEWAY_ADDR.
# A gateway config on STORE serving the Jira mapping to the preview target, at FILE.
write_config() {
    cat >"$1" <<EOF
listen: 127.0.0.1:0
store: $2
# wrk is one client with many connections.
server: {max_connections_per_client: 1024}
targets:
  preview: {kind: preview}
routes:
  jira:
    mappings: [$MAPPING]
    targets: [preview]
EOF
}

start_gateway() {
    "$BIN" serve --config "$1" --log-format json 2>"$2" &
    GATEWAY_PID=$!
    PIDS+=("$GATEWAY_PID")
    GATEWAY_ADDR=$(wait_for_addr "$GATEWAY_PID" "$2")
}

# A sample's value from the gateway's /metrics: metric name, then label filters.
metric() {
    local addr=$1 name=$2 line
    shift 2
    local body
    body=$(curl -fsS --max-time 10 "http://$addr/metrics") || return 1
    line=$(grep -E "^$name(\{| )" <<<"$body" || true)
    local label
    for label in "$@"; do
        line=$(grep -F "$label" <<<"$line" || true)
    done
    [[ -n "$line" ]] || { echo 0; return 0; }
    awk '{ sum += $NF } END { printf "%d\n", sum }' <<<"$line"
}

# Replaces the (sub)shell with wrk running the Lua script: output file, URL, duration.
exec_wrk() {
    LOAD_PAYLOAD="$PAYLOAD" LOAD_THREADS="$THREADS" LOAD_RUN="${LOAD_RUN:-$(date +%s%N)}" \
        exec wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" --latency -s "$LUA" "$2" >"$1" 2>&1
}

# Checks wrk's exit status ($2) and output ($1), and shows the output.
check_wrk_run() {
    local out=$1 rc=$2
    if ((rc != 0)) || ! grep -q '^LOADRESULT ' "$out"; then
        cat "$out" >&2
        die "wrk failed (exit $rc); its output is above"
    fi
    grep -v '^LOADRESULT ' "$out" | sed 's/^/   | /' >&2
}

# CPU accounting, so that a run on a busy machine shows as one: ticks of the whole
# machine, of one process, and (seconds) of this shell's finished children (wrk).
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# `times` must run in this shell itself (a $(...) subshell has no finished children).
children_secs() {
    times >"$TMP/times"
    CHILDREN_SECS=$(tail -1 "$TMP/times" | awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] } printf "%.2f\n", n }')
}
# Ticks of every PostgreSQL process (server and backends) that exists now.
pg_ticks() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
        awk '$2 == "(postgres)" { n += $14 + $15 } END { printf "%d\n", n }'
}
HZ=$(getconf CLK_TCK)

# Runs wrk in the foreground: output file, URL, duration, the server's pid. Leaves
# "server wrk other" CPU use (average cores over the run) in OUTPUT.cpu.
run_wrk() {
    local out=$1 server=$4 rc=0 b0 s0 c0 t0 b1 s1 c1 t1
    children_secs
    c0=$CHILDREN_SECS b0=$(busy_ticks) s0=$(proc_ticks "$server") t0=$(date +%s.%N)
    run exec_wrk "$1" "$2" "$3" || rc=$?
    b1=$(busy_ticks) s1=$(proc_ticks "$server") t1=$(date +%s.%N)
    children_secs
    c1=$CHILDREN_SECS
    check_wrk_run "$out" "$rc"
    awk -v hz="$HZ" -v b="$((b1 - b0))" -v s="$((s1 - s0))" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" \
        'BEGIN { t = t1 - t0; srv = s / hz / t; w = (c1 - c0) / t; o = b / hz / t - srv - w;
                 printf "%.2f %.2f %.2f\n", srv, w, (o < 0 ? 0 : o) }' >"$out.cpu"
}

# A field of the LOADRESULT line wrk's done() printed.
field() {
    grep -m1 '^LOADRESULT ' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }

# Reports what wrk's own text says went wrong; every run's errors are shown.
check_wrk_errors() {
    local name=$1 out=$2 line
    line=$(grep -E 'Socket errors:' "$out" || true)
    [[ -z "$line" ]] || problem "$name: wrk reported$(sed 's/^ *//; s/^/ /' <<<"$line")"
    line=$(grep -E 'Non-2xx' "$out" || true)
    [[ -z "$line" ]] || problem "$name: wrk reported$(sed 's/^ *//; s/^/ /' <<<"$line")"
}

# --- 1. throughput -------------------------------------------------------------------
echo "== throughput: wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(stat -c %s "$PAYLOAD") byte payload" >&2

"$CEILING" 127.0.0.1:0 2>"$TMP/ceiling.log" &
CEILING_PID=$!
PIDS+=("$CEILING_PID")
CEILING_ADDR=$(wait_for_addr "$CEILING_PID" "$TMP/ceiling.log")
curl -fsS -o /dev/null -H 'Content-Type: application/json' --data-binary "@$PAYLOAD" \
    "http://$CEILING_ADDR/hooks/jira" || die "the ceiling server does not accept the payload"
echo "   ceiling at $CEILING_ADDR" >&2
run_wrk "$TMP/wrk-ceiling.txt" "http://$CEILING_ADDR/hooks/jira" "$DURATION" "$CEILING_PID"
stop "$CEILING_PID"
check_wrk_errors ceiling "$TMP/wrk-ceiling.txt"

mkdir -p "$TMP/throughput"
write_config "$TMP/throughput/config.yaml" "sqlite://$TMP/throughput/load.db"
start_gateway "$TMP/throughput/config.yaml" "$TMP/throughput/gateway.log"
echo "   gateway at $GATEWAY_ADDR (store $TMP/throughput/load.db)" >&2
run_wrk "$TMP/wrk-gateway.txt" "http://$GATEWAY_ADDR/hooks/jira" "$DURATION" "$GATEWAY_PID"
check_wrk_errors hookbridge "$TMP/wrk-gateway.txt"
# wrk abandons requests in flight when its time is up; let the gateway finish them.
sleep 2
gw_completed=$(field "$TMP/wrk-gateway.txt" requests)
gw_accepted=$(metric "$GATEWAY_ADDR" hookbridge_events_total 'route="jira"' 'outcome="accepted"')
gw_other=$(curl -fsS --max-time 10 "http://$GATEWAY_ADDR/metrics" |
    grep -E '^hookbridge_events_total\{' | grep -v 'outcome="accepted"' || true)
gw_queue=$(metric "$GATEWAY_ADDR" hookbridge_queue_depth 'target="preview"')
gw_delivered=$(metric "$GATEWAY_ADDR" hookbridge_deliveries_total 'target="preview"' 'result="delivered"')
gw_warnings=$(grep -cE '"level":"(WARN|ERROR)"' "$TMP/throughput/gateway.log" || true)
gw_log_lines=$(wc -l <"$TMP/throughput/gateway.log")
gw_log_bytes=$(stat -c %s "$TMP/throughput/gateway.log")
stop "$GATEWAY_PID"

# --- 1b. throughput on PostgreSQL ----------------------------------------------------
# Replicas of the gateway under test: their pids and addresses.
REPLICA_PIDS=()
REPLICA_ADDRS=()

# Drives every replica at once with its own wrk (one replica: -t$THREADS
# -c$CONNECTIONS, as run_wrk; n replicas: -t1 -c$((CONNECTIONS / n)) each): output
# file prefix, duration. Each wrk writes OUT.I; OUT gets one LOADRESULT line for them
# all (requests and errors summed, duration_us such that requests/s is the sum of
# theirs, latencies the highest) and OUT.cpu "servers wrk other postgres" cores.
run_wrk_replicas() {
    local out=$1 duration=$2 n=${#REPLICA_PIDS[@]} i pid base b0 s0 p0 c0 t0 b1 s1 p1 c1 t1
    local threads=$THREADS connections=$CONNECTIONS wrks=() rcs=()
    if ((n > 1)); then
        threads=1 connections=$((CONNECTIONS / n))
    fi
    base=$(date +%s%N)
    children_secs
    c0=$CHILDREN_SECS b0=$(busy_ticks) p0=$(pg_ticks) t0=$(date +%s.%N) s0=0
    for pid in "${REPLICA_PIDS[@]}"; do s0=$((s0 + $(proc_ticks "$pid"))); done
    for ((i = 0; i < n; i++)); do
        THREADS=$threads CONNECTIONS=$connections LOAD_RUN="$base-r$i" \
            exec_wrk "$out.$i" "http://${REPLICA_ADDRS[i]}/hooks/jira" "$duration" &
        wrks+=("$!")
        PIDS+=("$!")
    done
    for pid in "${wrks[@]}"; do
        local rc=0
        wait "$pid" || rc=$?
        forget "$pid"
        rcs+=("$rc")
    done
    b1=$(busy_ticks) p1=$(pg_ticks) t1=$(date +%s.%N) s1=0
    for pid in "${REPLICA_PIDS[@]}"; do s1=$((s1 + $(proc_ticks "$pid"))); done
    children_secs
    c1=$CHILDREN_SECS
    for ((i = 0; i < n; i++)); do
        ((n == 1)) || echo "   replica $((i + 1)) at ${REPLICA_ADDRS[i]}:" >&2
        check_wrk_run "$out.$i" "${rcs[i]}"
    done
    for ((i = 0; i < n; i++)); do grep -m1 '^LOADRESULT ' "$out.$i"; done |
        awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
               req += v["requests"]; rps += v["requests"] / (v["duration_us"] / 1e6)
               for (k in v) if (k ~ /_us$/ && k != "duration_us") { if (v[k] > hi[k]) hi[k] = v[k] }
                            else if (k != "requests" && k != "duration_us") sum[k] += v[k] }
             END { printf "LOADRESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " \
                          "status=%d connect=%d read=%d write=%d timeout=%d\n",
                          req, (rps > 0 ? req / rps * 1e6 : 1), hi["p50_us"], hi["p90_us"], hi["p99_us"],
                          hi["max_us"], sum["status"], sum["connect"], sum["read"], sum["write"], sum["timeout"] }' >"$out"
    awk -v hz="$HZ" -v b="$((b1 - b0))" -v s="$((s1 - s0))" -v p="$((p1 - p0))" -v c0="$c0" -v c1="$c1" \
        -v t0="$t0" -v t1="$t1" \
        'BEGIN { t = t1 - t0; srv = s / hz / t; w = (c1 - c0) / t; pg = (p < 0 ? 0 : p) / hz / t;
                 o = b / hz / t - srv - w - pg;
                 printf "%.2f %.2f %.2f %.2f\n", srv, w, (o < 0 ? 0 : o), pg }' >"$out.cpu"
}

# One run on a fresh PostgreSQL database: row name, number of replicas. Leaves the
# wrk summary in $TMP/wrk-NAME.txt and the /metrics check in $TMP/wrk-NAME.txt.report.
pg_run() {
    local name=$1 n=$2 slug db dir out i accepted=0 a warnings=0 w completed diff
    slug=${name// /-}
    db="hookbridge_load_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
    dir="$TMP/$slug"
    out="$TMP/wrk-$slug.txt"
    mkdir -p "$dir"
    PG_DBS+=("$db")
    pg_admin "CREATE DATABASE $db" || die "cannot create PostgreSQL database $db"
    write_config "$dir/config.yaml" "$PG_SERVER/$db"
    REPLICA_PIDS=() REPLICA_ADDRS=()
    # One after the other: each runs the migrations at start.
    for ((i = 1; i <= n; i++)); do
        start_gateway "$dir/config.yaml" "$dir/gateway-$i.log"
        REPLICA_PIDS+=("$GATEWAY_PID")
        REPLICA_ADDRS+=("$GATEWAY_ADDR")
    done
    echo "   $name: gateway(s) at ${REPLICA_ADDRS[*]} (store $PG_SERVER/$db)" >&2
    run_wrk_replicas "$out" "$DURATION"
    for ((i = 0; i < n; i++)); do
        check_wrk_errors "$name$( ((n == 1)) || echo " replica $((i + 1))")" "$out.$i"
    done
    # wrk abandons requests in flight when its time is up; let the gateways finish them.
    sleep 2
    completed=$(field "$out" requests)
    for ((i = 0; i < n; i++)); do
        a=$(metric "${REPLICA_ADDRS[i]}" hookbridge_events_total 'route="jira"' 'outcome="accepted"')
        accepted=$((accepted + a))
        curl -fsS --max-time 10 "http://${REPLICA_ADDRS[i]}/metrics" |
            grep -E '^hookbridge_events_total\{' | grep -v 'outcome="accepted"' |
            sed "s/^/    replica $((i + 1)): /" >>"$dir/other" || true
        w=$(grep -cE '"level":"(WARN|ERROR)"' "$dir/gateway-$((i + 1)).log" || true)
        warnings=$((warnings + w))
    done
    for pid in "${REPLICA_PIDS[@]}"; do stop "$pid"; done
    REPLICA_PIDS=() REPLICA_ADDRS=()
    pg_admin "DROP DATABASE $db WITH (FORCE)" || die "cannot drop PostgreSQL database $db"
    forget_in PG_DBS "$db"
    diff=$((accepted - completed))
    {
        echo "$name /metrics after the run$( ((n == 1)) || echo " (summed over the $n replicas)"):"
        echo "  wrk completed requests          $completed"
        echo "  events accepted (route jira)    $accepted   (difference $diff; wrk drops up to $CONNECTIONS in flight at its end)"
        [[ ! -s "$dir/other" ]] || { echo "  other outcomes:"; cat "$dir/other"; }
        echo "  log: $warnings WARN/ERROR"
        if ((warnings > 0)); then
            echo "  first WARN/ERROR lines:"
            cat "$dir"/gateway-*.log | grep -m5 -E '"level":"(WARN|ERROR)"' | sed 's/^/    /' || true
        fi
    } >"$out.report"
    if ((diff < 0 || diff > CONNECTIONS)); then
        problem "$name: /metrics counted $accepted accepted events, wrk $completed completed requests"
    fi
}


PG_ROWS=()
if [[ -n "${HOOKBRIDGE_TEST_PG:-}" ]]; then
    echo "== throughput on PostgreSQL ($PG_SERVER): 1 gateway, then 3 on one database" >&2
    pg_run "postgres x1" 1
    pg_run "postgres x3" 3
    PG_ROWS=("postgres x1" "postgres x3")
else
    PG_SKIPPED="PostgreSQL runs skipped: HOOKBRIDGE_TEST_PG is not set (e.g. HOOKBRIDGE_TEST_PG=postgres://postgres@127.0.0.1:5432/test)"
    echo "== $PG_SKIPPED" >&2
fi

# --- table ---------------------------------------------------------------------------
row() {
    local name=$1 out=$2 seconds rps socket cpu
    seconds=$(awk -v us="$(field "$out" duration_us)" 'BEGIN { print us / 1e6 }')
    rps=$(awk -v n="$(field "$out" requests)" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')
    socket=$(($(field "$out" connect) + $(field "$out" read) + $(field "$out" write) + $(field "$out" timeout)))
    read -r -a cpu <"$out.cpu"
    # shellcheck disable=SC2059
    printf "$ROW" "$name" "$rps" "$(ms "$(field "$out" p50_us)")" "$(ms "$(field "$out" p99_us)")" \
        "$(ms "$(field "$out" max_us)")" "$(field "$out" status)" "$socket" "${cpu[0]}" "${cpu[1]}" "${cpu[2]}"
    if ((${#cpu[@]} > 3)); then
        notes+=("$name: PostgreSQL used ${cpu[3]} cores during its run (not in other-cores)")
    fi
    if awk -v o="${cpu[2]}" 'BEGIN { exit !(o > 0.25) }'; then
        notes+=("$name: other processes used ${cpu[2]} of the 2 cores during its run; its figures are low by about that share")
    fi
}
rps_of() {
    awk -v n="$(field "$1" requests)" -v us="$(field "$1" duration_us)" 'BEGIN { printf "%.2f", n / (us / 1e6) }'
}
echo
echo "Throughput: wrk -t$THREADS -c$CONNECTIONS -d$DURATION, POST $(stat -c %s "$PAYLOAD") B Jira payload, unique X-Atlassian-Webhook-Identifier"
ROW='%-11s %11s %10s %10s %10s %8s %14s %11s %9s %10s\n'
notes=()
# shellcheck disable=SC2059
printf "$ROW" server requests/s p50 p99 max non-2xx socket-errors server-cores wrk-cores other-cores
row ceiling "$TMP/wrk-ceiling.txt"
row hookbridge "$TMP/wrk-gateway.txt"
for name in "${PG_ROWS[@]}"; do
    row "$name" "$TMP/wrk-${name// /-}.txt"
done
share_of() {
    awk -v g="$(rps_of "$1")" -v c="$(rps_of "$TMP/wrk-ceiling.txt")" \
        'BEGIN { printf "%.1f", (c > 0 ? 100 * g / c : 0) }'
}
echo "hookbridge / ceiling: $(share_of "$TMP/wrk-gateway.txt") %"
for name in "${PG_ROWS[@]}"; do
    echo "$name / ceiling: $(share_of "$TMP/wrk-${name// /-}.txt") %"
done
if ((${#PG_ROWS[@]})); then
    echo "postgres x3: three wrk -t1 -c$((CONNECTIONS / 3)) at once, one per replica; requests/s summed, latencies the highest of the three, CPU columns summed"
else
    echo "$PG_SKIPPED"
fi
if ((${#notes[@]})); then
    printf 'note: %s\n' "${notes[@]}"
fi
echo
echo "hookbridge /metrics after the run:"
echo "  wrk completed requests          $gw_completed"
echo "  events accepted (route jira)    $gw_accepted   (difference $((gw_accepted - gw_completed)); wrk drops up to $CONNECTIONS in flight at its end)"
[[ -z "$gw_other" ]] || { echo "  other outcomes:"; sed 's/^/    /' <<<"$gw_other"; }
echo "  preview deliveries done         $gw_delivered, still queued $gw_queue"
echo "  log: $gw_log_lines lines, $((gw_log_bytes / 1024)) KiB, $gw_warnings WARN/ERROR"
diff=$((gw_accepted - gw_completed))
if ((diff < 0 || diff > CONNECTIONS)); then
    problem "hookbridge: /metrics counted $gw_accepted accepted events, wrk $gw_completed completed requests"
fi
if ((gw_warnings > 0)); then
    echo "  first WARN/ERROR lines:"
    grep -m5 -E '"level":"(WARN|ERROR)"' "$TMP/throughput/gateway.log" | sed 's/^/    /'
fi
for name in "${PG_ROWS[@]}"; do
    echo
    cat "$TMP/wrk-${name// /-}.txt.report"
done

# --- 2. memory -----------------------------------------------------------------------
echo >&2
echo "== memory: $EVENTS events to a target that is down" >&2
mkdir -p "$TMP/memory"
cat >"$TMP/memory/config.yaml" <<EOF
listen: 127.0.0.1:0
store: sqlite://$TMP/memory/load.db
# wrk's connections and this script's metric reads all come from one address.
server: {max_connections_per_client: 1024}
targets:
  down: {kind: ringcentral, url: "http://127.0.0.1:9/hook", retry: {initial: 60s, max_delay: 10m, budget: 24h}}
routes:
  jira:
    mappings: [$MAPPING]
    targets: [down]
EOF
start_gateway "$TMP/memory/config.yaml" "$TMP/memory/gateway.log"
rss_kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
idle_rss=$(rss_kb "$GATEWAY_PID" VmRSS)
started=$(date +%s.%N)
# Each wrk thread stops itself once its share of POSTs is answered, but wrk's main
# thread sleeps out -d regardless; SIGINT ends that sleep, and wrk then prints its
# summary as usual. So: run wrk in the background, watch the queue, then SIGINT it.
LOAD_EVENTS=$EVENTS exec_wrk "$TMP/wrk-memory.txt" "http://$GATEWAY_ADDR/hooks/jira" "$EVENTS_MAX_DURATION" &
WRK_PID=$!
PIDS+=("$WRK_PID")
depth=0
deadline=$(($(date +%s) + ${EVENTS_MAX_DURATION%s} + QUEUE_WAIT_SECS))
while (($(date +%s) < deadline)); do
    depth=$(metric "$GATEWAY_ADDR" hookbridge_queue_depth 'target="down"')
    ((depth >= EVENTS)) && break
    kill -0 "$WRK_PID" 2>/dev/null || break
    sleep 0.5
done
sent_secs=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
kill -INT "$WRK_PID" 2>/dev/null || true
wrk_rc=0
wait "$WRK_PID" || wrk_rc=$?
forget "$WRK_PID"
# 130 is wrk ending on our SIGINT after it printed its summary.
((wrk_rc == 130)) && wrk_rc=0
check_wrk_run "$TMP/wrk-memory.txt" "$wrk_rc"
check_wrk_errors memory "$TMP/wrk-memory.txt"
accepted=$(metric "$GATEWAY_ADDR" hookbridge_events_total 'route="jira"' 'outcome="accepted"')
rss=$(rss_kb "$GATEWAY_PID" VmRSS)
hwm=$(rss_kb "$GATEWAY_PID" VmHWM)
db_bytes=$(du -cb "$TMP/memory/"load.db* | tail -1 | cut -f1)
stop "$GATEWAY_PID"
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f MB", kb / 1024 }'; }
echo
echo "Memory: $EVENTS events POSTed and queued in ${sent_secs}s, to a gateway whose only target is down (MB = 1024 KiB)"
echo "  accepted events                 $accepted"
echo "  queue_depth{target=\"down\"}      $depth"
echo "  VmRSS at start                  $(mb "$idle_rss")"
echo "  VmRSS with the queue full       $(mb "$rss")"
echo "  VmHWM (peak RSS)                $(mb "$hwm")"
echo "  store on disk (db + wal + shm)  $(mb $((db_bytes / 1024)))"
((depth >= EVENTS)) || problem "memory: the queue reached only $depth of $EVENTS within ${QUEUE_WAIT_SECS}s"
((hwm < MEMORY_GOAL_MB * 1024)) || problem "memory: peak RSS $(mb "$hwm") is not under the goal of $MEMORY_GOAL_MB MB"

echo
if ((${#problems[@]})); then
    echo "Problems (${#problems[@]}):"
    printf '  - %s\n' "${problems[@]}"
    exit 1
fi
echo "No errors."
