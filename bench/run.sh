#!/usr/bin/env bash
# Keyway benchmark harness: compares, on loopback, in one run,
#
#   direct       wrk -> upstream nginx
#   nginx-proxy  wrk -> nginx reverse proxy (1 worker, keepalive pool) -> upstream
#   keyway       wrk -> Keyway (API key auth + call logging, KEYS keys) -> upstream
#
# For each: saturating throughput (closed-loop wrk), p50/p99 latency at a fixed
# moderate paced rate (interleaved rounds), and for the two proxies the proxy's CPU time per request
# (from /proc) and its RSS. The two proxies' saturating runs come in PAIRS pairs
# (nginx-proxy and keyway back to back, order swapped every other pair); the
# CPU-per-request ratio is the median of the pairs' ratios, and VM steal is read
# from /proc/stat around every measured run. Prints a table on stdout (progress
# goes to stderr) and writes bench/out/summary.json. See bench/README.md.
#
# Usage: bash bench/run.sh
# Knobs (env): DURATION CONNECTIONS KEYS RATE_CONNS RATE_DELAY_MS RATE_DURATION
#              ROUNDS WARMUP THREADS NGINX_WORKERS KEYWAY_WORKERS SKIP_KEYWAY SKIP_BUILD
#              KEYWAY_BIN KEEP_TMP OUT_DIR POLICIES CALL_LOG THREADING
#              PAIRS PAIR_DURATION PAIR_WARMUP STEAL_WARN_PCT PROXY_CPUS LOAD_CPUS
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$BENCH_DIR")"

# ---------------------------------------------------------------- settings --
DURATION="${DURATION:-10}"            # seconds of direct's saturating wrk run
DURATION="${DURATION%s}"
WARMUP="${WARMUP:-2}"                 # seconds of unmeasured warmup per target, once, before its first run
WARMUP="${WARMUP%s}"
PAIRS="${PAIRS:-5}"                   # pairs of saturating runs nginx-proxy / keyway
PAIR_DURATION="${PAIR_DURATION:-5}"   # seconds of each proxy's saturating run in a pair
PAIR_DURATION="${PAIR_DURATION%s}"
PAIR_WARMUP="${PAIR_WARMUP:-1}"       # seconds of unmeasured load right before each run of a pair (0: none)
PAIR_WARMUP="${PAIR_WARMUP%s}"
STEAL_WARN_PCT="${STEAL_WARN_PCT:-5}" # a pair with a run above this VM steal % is reported apart
PROXY_CPUS="${PROXY_CPUS:-}"          # taskset CPU list for the two proxies (e.g. 0); empty: not pinned
LOAD_CPUS="${LOAD_CPUS:-}"            # taskset CPU list for wrk and the upstream (e.g. 1); empty: not pinned
CONNECTIONS="${CONNECTIONS:-64}"      # wrk connections of the saturating run
THREADS="${THREADS:-2}"               # wrk threads (both runs)
KEYS="${KEYS:-100000}"                # API keys seeded into Keyway's store
RATE_CONNS="${RATE_CONNS:-16}"        # connections of the paced latency run
RATE_DELAY_MS="${RATE_DELAY_MS:-4}"   # pause after each response, per connection (~3,500 req/s)
RATE_DURATION="${RATE_DURATION:-5}"   # seconds of each paced run (one per target and round)
RATE_DURATION="${RATE_DURATION%s}"
ROUNDS="${ROUNDS:-3}"                 # rounds of paced runs; p50/p99 are the median of rounds
NGINX_WORKERS="${NGINX_WORKERS:-1}"   # worker_processes of both nginx instances
KEYWAY_WORKERS="${KEYWAY_WORKERS:-}"  # Keyway's gateway.worker_threads; empty: its default (1 per core)
THREADING="${THREADING:-}"            # Keyway's gateway.threading (per_core or shared); empty: its default
CALL_LOG="${CALL_LOG:-1}"             # 0: Keyway's call_log.enabled = false (no rows, no rollups)
SKIP_KEYWAY="${SKIP_KEYWAY:-0}"       # 1: only direct and nginx-proxy
SKIP_BUILD="${SKIP_BUILD:-0}"         # 1: use the existing Keyway binary as is
POLICIES="${POLICIES:-0}"             # 1: subscription, scope, IP rule and rate limit on every key
KEYWAY_BIN="${KEYWAY_BIN:-$REPO_DIR/target/release/keyway}"
KEEP_TMP="${KEEP_TMP:-0}"             # 1: keep the temp dir (configs, logs, store)
OUT_DIR="${OUT_DIR:-$BENCH_DIR/out}"

BASE_PATH="/bench"                    # API base path in Keyway (and nginx-proxy)
ADMIN_TOKEN="bench-admin-token"       # only so that Keyway does not mint one

TMP=""                                # temp dir, set in main
STARTED_PIDS=()                       # processes we started in the background
WORKER_PIDS=()                        # their nginx workers (killed only if left over)
NGINX=""                              # path of the nginx binary
HDR=()                                # the Authorization header, as wrk/curl arguments
LOAD_PID=""                           # the wrk running right now, if any

# ----------------------------------------------------------------- helpers --
log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
# Run a command on the CPUs of list $1 (taskset), or anywhere when it is
# empty. Only as a background job (`pinned ... &`): the job's subshell
# becomes the command, so $! is its pid.
pinned() {
    local cpus=$1
    shift
    if [[ -n "$cpus" ]]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}
die() { log "ERROR: $*"; exit 1; }

require_int() {
    local name=$1 value=$2
    [[ "$value" =~ ^[0-9]+$ && "$value" -gt 0 ]] || die "$name must be a positive integer, got '$value'"
}

# Stop everything we started: SIGTERM (graceful), then SIGKILL after 5 s.
# nginx workers are the master's business; they are killed only if they
# outlived their master.
cleanup() {
    local rc=$?
    trap - EXIT
    local pid i
    [[ -z "$LOAD_PID" ]] || kill -TERM "$LOAD_PID" 2>/dev/null || true
    for pid in "${STARTED_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED_PIDS[@]}"; do
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in "${WORKER_PIDS[@]}"; do
        # Only if that pid is still an nginx process (pids get reused).
        if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == nginx ]]; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    wait 2>/dev/null || true
    if [[ -n "$TMP" && -d "$TMP" ]]; then
        # Kept on failure for its logs, not when interrupted.
        if [[ "$KEEP_TMP" == 1 || ($rc -ne 0 && $rc -ne 130) ]]; then
            log "temp dir kept: $TMP"
        else
            rm -rf "$TMP"
        fi
    fi
    exit "$rc"
}

# Make sure wrk, nginx, curl and python3 are there; install the Debian
# packages when we are root, otherwise say what to install.
check_deps() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
    command -v curl >/dev/null || missing+=(curl)
    command -v python3 >/dev/null || missing+=(python3)
    if ((${#missing[@]})); then
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
            log "installing ${missing[*]}"
            apt-get update -qq >&2
            apt-get install -y -qq "${missing[@]}" >&2
        else
            die "missing tools; install them with: sudo apt-get install -y ${missing[*]}"
        fi
    fi
    NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
}

# Print a free TCP port on 127.0.0.1: the preferred one if it can be bound,
# otherwise one the kernel picks.
free_port() {
    python3 - "$1" <<'EOF'
import socket, sys
def try_bind(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return s.getsockname()[1]
    except OSError:
        return None
    finally:
        s.close()
print(try_bind(int(sys.argv[1])) or try_bind(0))
EOF
}

# Wait until URL answers 200 (up to 30 s) while process PID is alive.
wait_ready() {
    local url=$1 pid=$2 what=$3 i
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || die "$what exited during startup (see logs in $TMP)"
        if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)" == 200 ]]; then
            return 0
        fi
        sleep 0.1
    done
    die "$what not ready at $url after 30 s"
}

# ------------------------------------------------------------------- nginx --
# nginx-light's compiled-in temp paths live under /var/lib/nginx; point every
# temp path this nginx knows about into the instance's own dir.
nginx_temp_paths() {
    local dir=$1 kind probe
    probe="$(mktemp -d "$TMP/probe.XXXX")"
    for kind in client_body proxy fastcgi uwsgi scgi; do
        printf 'pid %s/p.pid; events {} http { %s_temp_path %s/t; }\n' "$probe" "$kind" "$probe" >"$probe/nginx.conf"
        if "$NGINX" -t -q -p "$probe" -c "$probe/nginx.conf" -e "$probe/error.log" 2>/dev/null; then
            printf '    %s_temp_path %s/%s_temp;\n' "$kind" "$dir" "$kind"
        fi
    done
    rm -rf "$probe"
}

# Settings common to both instances.
nginx_main_conf() {
    local dir=$1
    cat <<EOF
worker_processes $NGINX_WORKERS;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
EOF
}

# The upstream: GET /anything -> 200 with a 100-byte body.
write_upstream_conf() {
    local dir=$1 port=$2
    mkdir -p "$dir"
    {
        nginx_main_conf "$dir"
        cat <<EOF
http {
$(nginx_temp_paths "$dir")
    access_log off;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location = /anything {
            default_type text/plain;
            return 200 "$(upstream_body)";
        }
        location / { return 404; }
    }
}
EOF
    } >"$dir/nginx.conf"
}

# A 100-byte body: 23 characters of text and 77 zeros.
upstream_body() { printf 'keyway-bench upstream: %077d' 0; }

# The nginx reverse proxy: /bench/x -> upstream /x, like Keyway's base path.
write_proxy_conf() {
    local dir=$1 port=$2 upstream_port=$3
    mkdir -p "$dir"
    {
        nginx_main_conf "$dir"
        cat <<EOF
http {
$(nginx_temp_paths "$dir")
    access_log off;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    upstream backend {
        server 127.0.0.1:$upstream_port;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$port backlog=4096;
        location $BASE_PATH/ {
            proxy_pass http://backend/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
    } >"$dir/nginx.conf"
}

# Start an nginx instance in the foreground of a background job; prints its
# master pid.
start_nginx() {
    local dir=$1 cpus=${2:-}
    "$NGINX" -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
        || die "nginx config test failed for $dir"
    pinned "$cpus" "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;' \
        >"$dir/stdout.log" 2>&1 &
    echo $!
}

# ------------------------------------------------------------------ keyway --
build_keyway() {
    if [[ "$SKIP_BUILD" == 1 ]]; then
        log "SKIP_BUILD=1: using $KEYWAY_BIN as it is"
    else
        command -v cargo >/dev/null || die "cargo not found; install Rust or set SKIP_BUILD=1 KEYWAY_BIN=..."
        log "building Keyway (cargo build --release -p keyway)"
        (cd "$REPO_DIR" && cargo build --release -p keyway >&2)
    fi
    [[ -x "$KEYWAY_BIN" ]] || die "no Keyway binary at $KEYWAY_BIN"
    "$KEYWAY_BIN" tools seed-bench --help >/dev/null 2>&1 \
        || die "$KEYWAY_BIN has no 'tools seed-bench' command"
}

# Seed KEYS keys into a fresh store; prints the one usable key.
seed_keyway() {
    local data_dir=$1 upstream_port=$2 key extra=()
    [[ "$POLICIES" == 1 ]] && extra+=(--policies)
    "$KEYWAY_BIN" tools seed-bench --data-dir "$data_dir" --keys "$KEYS" \
        --upstream "http://127.0.0.1:$upstream_port" --base-path "$BASE_PATH" "${extra[@]}" \
        >"$TMP/seed.out" 2>"$TMP/seed.err" \
        || { cat "$TMP/seed.err" >&2; die "keyway tools seed-bench failed"; }
    key="$(grep -v '^[[:space:]]*$' "$TMP/seed.out" | tail -n 1 | tr -d '[:space:]')"
    [[ "$key" == kw_* ]] || die "seed-bench did not print a key on its last line (got '$key')"
    echo "$key"
}

start_keyway() {
    local data_dir=$1 port=$2 admin_port=$3
    local kw_env=(KEYWAY_ADMIN_TOKEN="$ADMIN_TOKEN" KEYWAY_LOG_LEVEL=warn)
    [[ -z "$KEYWAY_WORKERS" ]] || kw_env+=(KEYWAY_GATEWAY_WORKER_THREADS="$KEYWAY_WORKERS")
    [[ -z "$THREADING" ]] || kw_env+=(KEYWAY_GATEWAY_THREADING="$THREADING")
    [[ "$CALL_LOG" == 1 ]] || kw_env+=(KEYWAY_CALL_LOG_ENABLED=false)
    pinned "$PROXY_CPUS" env "${kw_env[@]}" "$KEYWAY_BIN" serve --data-dir "$data_dir" \
        --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin_port" \
        >"$TMP/keyway.log" 2>&1 &
    echo $!
}

# ------------------------------------------------------------ measurements --
# PID and its direct children (nginx: master + workers).
pid_tree() {
    local root=$1 stat p
    echo "$root"
    for stat in /proc/[0-9]*/stat; do
        p="${stat#/proc/}"; p="${p%/stat}"
        # Field 4 is the parent pid; strip "pid (comm) " first, comm may hold spaces.
        [[ "$(sed 's/^.*) //' "$stat" 2>/dev/null | cut -d' ' -f2)" == "$root" ]] && echo "$p"
    done
    return 0
}

# utime+stime (fields 14 and 15 of /proc/PID/stat, clock ticks) summed over PIDs.
cpu_ticks() {
    local total=0 pid fields
    for pid in "$@"; do
        fields="$(sed 's/^.*) //' "/proc/$pid/stat")"
        # After stripping "pid (comm) ", utime and stime are fields 12 and 13.
        total=$((total + $(cut -d' ' -f12 <<<"$fields") + $(cut -d' ' -f13 <<<"$fields")))
    done
    echo "$total"
}

# A /proc/PID/status field in kB (VmRSS, VmHWM) summed over PIDs.
status_kb() {
    local field=$1 total=0 pid
    shift
    for pid in "$@"; do
        total=$((total + $(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status")))
    done
    echo "$total"
}

# Percent of all CPUs busy during the next SECONDS (from /proc/stat). Taken
# while no load runs, it is what other processes on the machine use.
cpu_busy_pct() {
    local secs=$1 a b
    read -ra a < <(head -n 1 /proc/stat)
    sleep "$secs"
    read -ra b < <(head -n 1 /proc/stat)
    # cpu user nice system idle iowait irq softirq steal ...
    local total=0 idle i
    for ((i = 1; i <= 8; i++)); do total=$((total + b[i] - a[i])); done
    idle=$((b[4] - a[4] + b[5] - a[5]))
    ((total > 0)) || total=1
    echo $(((total - idle) * 100 / total))
}

# The cpu line of /proc/stat as "TOTAL IDLE STEAL" (clock ticks, all CPUs):
# TOTAL sums user..steal (guest time is already inside user and nice), IDLE is
# idle+iowait, STEAL the time the hypervisor ran something else while this VM
# had a runnable vCPU.
stat_cpu() {
    local f total=0 i
    read -ra f < <(head -n 1 /proc/stat)
    # cpu user nice system idle iowait irq softirq steal ...
    for ((i = 1; i <= 8; i++)); do total=$((total + ${f[i]:-0})); done
    echo "$total $((f[4] + f[5])) ${f[8]:-0}"
}

# The JSON fields of /proc/stat's change between two stat_cpu readings.
#   stat_json "TOTAL0 IDLE0 STEAL0" "TOTAL1 IDLE1 STEAL1"
stat_json() {
    local a b
    read -ra a <<<"$1"
    read -ra b <<<"$2"
    local total=$((b[0] - a[0])) idle=$((b[1] - a[1])) steal=$((b[2] - a[2]))
    echo "\"stat_total\": $total, \"stat_idle\": $idle, \"stat_steal\": $steal"
}

# Run wrk as a background job and wait for it: bash runs a trap only between
# commands, and `wait` (unlike a foreground command) is cut short by a
# signal, so Ctrl-C or SIGTERM stops the bench at once.
wrk_bg() {
    pinned "$LOAD_CPUS" wrk "$@" &
    LOAD_PID=$!
    local rc=0
    wait "$LOAD_PID" || rc=$?
    LOAD_PID=""
    return "$rc"
}

# Run wrk; keep its full output in OUT_DIR/NAME.txt and its WRK_JSON line in
# OUT_DIR/NAME.json.
run_wrk() {
    local name=$1
    shift
    wrk_bg "$@" >"$OUT_DIR/$name.txt" 2>&1 || { cat "$OUT_DIR/$name.txt" >&2; die "wrk failed ($name)"; }
    sed -n 's/^WRK_JSON //p' "$OUT_DIR/$name.txt" >"$OUT_DIR/$name.json"
    [[ -s "$OUT_DIR/$name.json" ]] || die "no WRK_JSON line in $OUT_DIR/$name.txt"
}

# Throughput of one target: warmup, then the saturating run, with the proxy's
# CPU time read around it and its RSS after it.
#   bench_throughput NAME URL [PID]   (PID: the proxy's (master) pid, if any)
bench_throughput() {
    local name=$1 url=$2 root_pid=${3:-} pids=() t0=0 t1=0 rss_kb=0 hwm_kb=0 busy

    # Other processes eating CPU make every number here noisy: say so.
    busy=$(cpu_busy_pct 1)
    if ((busy > 10)); then
        log "WARNING: $busy% of the CPUs are busy before any load: results will be noisy"
    fi

    log "$name: warmup ${WARMUP}s"
    wrk_bg -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "${HDR[@]}" "$url" >/dev/null 2>&1

    if [[ -n "$root_pid" ]]; then
        mapfile -t pids < <(pid_tree "$root_pid")
        t0=$(cpu_ticks "${pids[@]}")
    fi
    local s0 s1
    s0=$(stat_cpu)
    log "$name: saturating run, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
    run_wrk "$name-saturating" -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        -s "$BENCH_DIR/report.lua" "${HDR[@]}" "$url"
    s1=$(stat_cpu)
    if [[ -n "$root_pid" ]]; then
        t1=$(cpu_ticks "${pids[@]}")
        rss_kb=$(status_kb VmRSS "${pids[@]}")
        hwm_kb=$(status_kb VmHWM "${pids[@]}")
    fi

    cat >"$OUT_DIR/$name-proc.json" <<EOF
{"pids": [$(IFS=,; echo "${pids[*]}")], "cpu_ticks": $((t1 - t0)), "rss_kb": $rss_kb, "hwm_kb": $hwm_kb,
 "idle_busy_pct": $busy, $(stat_json "$s0" "$s1")}
EOF
    log "$name: $(sed 's/.*"rps":\([0-9]*\).*/\1/' "$OUT_DIR/$name-saturating.json") req/s"
}

# One measured saturating run of a proxy inside a pair: PAIR_WARMUP of load,
# then PAIR_DURATION of wrk with the proxy's CPU ticks and /proc/stat read
# around it. Leaves NAME-saturating-P.{txt,json} and NAME-run-P.json.
#   bench_pair_run NAME URL PAIR PID...
bench_pair_run() {
    local name=$1 url=$2 pair=$3 t0 t1 s0 s1
    shift 3
    if ((PAIR_WARMUP > 0)); then
        wrk_bg -t"$THREADS" -c"$CONNECTIONS" -d"${PAIR_WARMUP}s" "${HDR[@]}" "$url" >/dev/null 2>&1
    fi
    t0=$(cpu_ticks "$@")
    s0=$(stat_cpu)
    run_wrk "$name-saturating-$pair" -t"$THREADS" -c"$CONNECTIONS" -d"${PAIR_DURATION}s" --latency \
        -s "$BENCH_DIR/report.lua" "${HDR[@]}" "$url"
    s1=$(stat_cpu)
    t1=$(cpu_ticks "$@")
    cat >"$OUT_DIR/$name-run-$pair.json" <<EOF
{"pair": $pair, "cpu_ticks": $((t1 - t0)), $(stat_json "$s0" "$s1")}
EOF
    # One progress line: req/s, CPU us/req and steal % of this run.
    local rps requests a b
    read -ra a <<<"$s0"
    read -ra b <<<"$s1"
    rps=$(sed 's/.*"rps":\([0-9]*\).*/\1/' "$OUT_DIR/$name-saturating-$pair.json")
    requests=$(sed 's/.*"requests":\([0-9]*\).*/\1/' "$OUT_DIR/$name-saturating-$pair.json")
    log "$(awk -v n="$name" -v p="$pair" -v rps="$rps" -v req="$requests" -v ticks="$((t1 - t0))" \
        -v hz="$(getconf CLK_TCK)" -v st="$((b[2] - a[2]))" -v tot="$((b[0] - a[0]))" \
        'BEGIN { printf "pair %d %s: %d req/s, %.1f us/req, steal %.1f%%", p, n, rps,
                 (req > 0 ? ticks / hz / req * 1e6 : 0), (tot > 0 ? st * 100 / tot : 0) }')"
}

# The proxies' saturating runs, in PAIRS pairs: nginx-proxy and keyway back to
# back, the order swapped every other pair (N K, K N, N K, ...), so that noise
# on the machine lands on both halves of a pair alike and neither is always
# first. Both stay up throughout. Each proxy gets one WARMUP of load first.
# Leaves NAME-proc.json (pids, RSS after the last pair) per proxy.
#   bench_pairs NAME=URL=PID...
bench_pairs() {
    local busy spec name pair order=()
    local -A urls=() root=() pidlist=()
    for spec in "$@"; do
        name=${spec%%=*}; spec=${spec#*=}
        urls[$name]=${spec%=*}; root[$name]=${spec##*=}
        order+=("$name")
    done

    # Other processes eating CPU make every number here noisy: say so.
    busy=$(cpu_busy_pct 1)
    if ((busy > 10)); then
        log "WARNING: $busy% of the CPUs are busy before any load: results will be noisy"
    fi
    # The pids of each proxy (nginx: master + workers), read once: nobody
    # restarts them during the pairs.
    for name in "${order[@]}"; do
        pidlist[$name]="$(pid_tree "${root[$name]}" | tr '\n' ' ')"
        log "$name: warmup ${WARMUP}s"
        wrk_bg -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "${HDR[@]}" "${urls[$name]}" >/dev/null 2>&1
    done

    log "saturating runs: $PAIRS pairs of ${order[*]}, wrk -t$THREADS -c$CONNECTIONS" \
        "-d${PAIR_DURATION}s each after ${PAIR_WARMUP}s of warmup"
    for ((pair = 1; pair <= PAIRS; pair++)); do
        local seq=("${order[@]}")
        if ((pair % 2 == 0 && ${#order[@]} == 2)); then seq=("${order[1]}" "${order[0]}"); fi
        for name in "${seq[@]}"; do
            # shellcheck disable=SC2086 # the pid list is meant to split
            bench_pair_run "$name" "${urls[$name]}" "$pair" ${pidlist[$name]}
        done
    done

    local pids rss_kb hwm_kb
    for name in "${order[@]}"; do
        read -ra pids <<<"${pidlist[$name]}"
        rss_kb=$(status_kb VmRSS "${pids[@]}")
        hwm_kb=$(status_kb VmHWM "${pids[@]}")
        cat >"$OUT_DIR/$name-proc.json" <<EOF
{"pids": [$(IFS=,; echo "${pids[*]}")], "rss_kb": $rss_kb, "hwm_kb": $hwm_kb, "idle_busy_pct": $busy}
EOF
    done
}

# Latency of all targets at the paced rate, in ROUNDS rounds that take the
# targets in turn, so that a burst of noise on the machine hits them alike.
#   bench_latency NAME=URL...
bench_latency() {
    local round pair name url busy
    busy=$(cpu_busy_pct 1)
    if ((busy > 10)); then
        log "WARNING: $busy% of the CPUs are busy before any load: results will be noisy"
    fi
    echo "{\"idle_busy_pct\": $busy}" >"$OUT_DIR/latency-proc.json"
    for ((round = 1; round <= ROUNDS; round++)); do
        log "latency round $round/$ROUNDS: $RATE_CONNS connections x ${RATE_DELAY_MS} ms pause," \
            "${RATE_DURATION}s per target"
        for pair in "$@"; do
            name=${pair%%=*}
            url=${pair#*=}
            run_wrk "$name-paced-$round" -t"$THREADS" -c"$RATE_CONNS" -d"${RATE_DURATION}s" --latency \
                -s "$BENCH_DIR/pace.lua" "${HDR[@]}" "$url" -- "$RATE_DELAY_MS"
        done
    done
}

# Check a target answers like the upstream does before measuring it.
check_target() {
    local name=$1 url=$2 body
    body="$(curl -sf --max-time 5 "${HDR[@]}" "$url")" \
        || die "$name: GET $url did not answer 2xx"
    [[ "$body" == "$(upstream_body)" ]] || die "$name: unexpected body from $url: $body"
}

# -------------------------------------------------------------------- main --
main() {
    local targets="direct nginx-proxy"
    [[ "$SKIP_KEYWAY" == 1 ]] || targets+=" keyway"
    local v
    for v in DURATION WARMUP CONNECTIONS THREADS KEYS RATE_CONNS RATE_DELAY_MS RATE_DURATION ROUNDS \
        NGINX_WORKERS PAIRS PAIR_DURATION STEAL_WARN_PCT; do
        require_int "$v" "${!v}"
    done
    [[ "$PAIR_WARMUP" =~ ^[0-9]+$ ]] || die "PAIR_WARMUP must be a non-negative integer, got '$PAIR_WARMUP'"

    check_deps
    [[ "$SKIP_KEYWAY" == 1 ]] || build_keyway

    TMP="$(mktemp -d "${TMPDIR:-/tmp}/keyway-bench.XXXXXX")"
    chmod 755 "$TMP"   # nginx workers may run as another user when we are root
    trap cleanup EXIT
    trap 'exit 130' INT TERM HUP
    mkdir -p "$OUT_DIR"
    rm -f "$OUT_DIR"/*.json "$OUT_DIR"/*.txt

    local up_port px_port kw_port kw_admin_port
    up_port=$(free_port 18080)
    px_port=$(free_port 18081)
    kw_port=$(free_port 18082)
    kw_admin_port=$(free_port 18083)
    log "ports: upstream $up_port, nginx-proxy $px_port, keyway $kw_port (admin $kw_admin_port)"

    # The key is sent to every target so that all requests are the same bytes.
    local api_key="kw_live_not_used_by_nginx"
    local seed_secs=null
    if [[ "$SKIP_KEYWAY" != 1 ]]; then
        log "seeding Keyway with $KEYS keys"
        local s0=$SECONDS
        api_key="$(seed_keyway "$TMP/keyway-data" "$up_port")"
        seed_secs=$((SECONDS - s0))
        log "seeded in ${seed_secs}s"
    fi

    HDR=(-H "Authorization: Bearer $api_key")

    write_upstream_conf "$TMP/upstream" "$up_port"
    write_proxy_conf "$TMP/nginx-proxy" "$px_port" "$up_port"
    local up_pid px_pid kw_pid=""
    up_pid=$(start_nginx "$TMP/upstream" "$LOAD_CPUS"); STARTED_PIDS+=("$up_pid")
    px_pid=$(start_nginx "$TMP/nginx-proxy" "$PROXY_CPUS"); STARTED_PIDS+=("$px_pid")
    wait_ready "http://127.0.0.1:$up_port/anything" "$up_pid" "upstream nginx"
    wait_ready "http://127.0.0.1:$px_port$BASE_PATH/anything" "$px_pid" "nginx proxy"
    # Remember the workers too, so cleanup can reach them if a master dies.
    mapfile -t WORKER_PIDS < <(pid_tree "$up_pid" | tail -n +2; pid_tree "$px_pid" | tail -n +2)

    local direct_url="http://127.0.0.1:$up_port/anything"
    local proxy_url="http://127.0.0.1:$px_port$BASE_PATH/anything"
    local keyway_url="http://127.0.0.1:$kw_port$BASE_PATH/anything"
    if [[ "$SKIP_KEYWAY" != 1 ]]; then
        kw_pid=$(start_keyway "$TMP/keyway-data" "$kw_port" "$kw_admin_port"); STARTED_PIDS+=("$kw_pid")
        wait_ready "http://127.0.0.1:$kw_port/readyz" "$kw_pid" "keyway"
        # Auth must really be on: a request without a key is refused.
        local code
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$keyway_url" || true)"
        [[ "$code" == 401 || "$code" == 403 ]] || die "keyway: a request without a key got HTTP $code, expected 401/403"
    fi

    check_target direct "$direct_url"
    check_target nginx-proxy "$proxy_url"
    [[ "$SKIP_KEYWAY" == 1 ]] || check_target keyway "$keyway_url"

    bench_throughput direct "$direct_url"
    local pair_targets=("nginx-proxy=$proxy_url=$px_pid")
    [[ "$SKIP_KEYWAY" == 1 ]] || pair_targets+=("keyway=$keyway_url=$kw_pid")
    bench_pairs "${pair_targets[@]}"

    local lat_targets=("direct=$direct_url" "nginx-proxy=$proxy_url")
    [[ "$SKIP_KEYWAY" == 1 ]] || lat_targets+=("keyway=$keyway_url")
    bench_latency "${lat_targets[@]}"

    # Everything summarize.py needs besides the files in OUT_DIR.
    BENCH_TARGETS="$targets" BENCH_DURATION="$DURATION" BENCH_CONNECTIONS="$CONNECTIONS" \
    BENCH_THREADS="$THREADS" BENCH_KEYS="$KEYS" BENCH_RATE_CONNS="$RATE_CONNS" \
    BENCH_ROUNDS="$ROUNDS" BENCH_RATE_DURATION="$RATE_DURATION" \
    BENCH_RATE_DELAY_MS="$RATE_DELAY_MS" BENCH_NGINX_WORKERS="$NGINX_WORKERS" \
    BENCH_KEYWAY_WORKERS="${KEYWAY_WORKERS:-default}" BENCH_KEYWAY_THREADING="${THREADING:-default}" \
    BENCH_CALL_LOG="$CALL_LOG" BENCH_PAIRS="$PAIRS" BENCH_PAIR_DURATION="$PAIR_DURATION" \
    BENCH_PAIR_WARMUP="$PAIR_WARMUP" BENCH_STEAL_WARN_PCT="$STEAL_WARN_PCT" \
    BENCH_SEED_SECS="$seed_secs" BENCH_CLK_TCK="$(getconf CLK_TCK)" \
    BENCH_NGINX_VERSION="$("$NGINX" -v 2>&1 | sed 's/^.*: //')" \
    BENCH_WRK_VERSION="$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f2)" \
    BENCH_KEYWAY_REV="$(git -C "$REPO_DIR" describe --always --dirty 2>/dev/null || echo unknown)" \
        python3 "$BENCH_DIR/summarize.py" "$OUT_DIR"
}

main "$@"
