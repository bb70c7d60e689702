#!/usr/bin/env bash
# Identity writes at scale: for each store size (default 10k, 100k, 1M
# keys), seeds a fresh store with `keyway tools seed-bench`, starts a
# release `keyway serve` on it and measures through the real admin API:
# start-up time, RSS, sequential key create and revoke latency, 100,000
# key creates by 8 concurrent clients (one key a request, then 1,000 a
# request through keys:batch), and that a revoked key is refused by the
# very next gateway request. See bench/README.md.
#
# Settings (environment): SIZES SEQUENTIAL BULK BATCH BATCH_SIZE CLIENTS
#                         REVOKE_CHECKS SKIP_BUILD KEYWAY_BIN KEEP_TMP OUT_DIR
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIZES="${SIZES:-10000 100000 1000000}"
SEQUENTIAL="${SEQUENTIAL:-300}"
BULK="${BULK:-100000}"
BATCH="${BATCH:-100000}"
BATCH_SIZE="${BATCH_SIZE:-1000}"
CLIENTS="${CLIENTS:-8}"
REVOKE_CHECKS="${REVOKE_CHECKS:-50}"
SKIP_BUILD="${SKIP_BUILD:-0}"
KEEP_TMP="${KEEP_TMP:-0}"
OUT_DIR="${OUT_DIR:-$REPO_DIR/bench/out}"
KEYWAY_BIN="${KEYWAY_BIN:-${CARGO_TARGET_DIR:-$REPO_DIR/target}/release/keyway}"
BASE_PATH=/bench
ADMIN_TOKEN="kwadm_bench_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

log() { echo "[identity] $*" >&2; }
die() { log "error: $*"; exit 1; }

TMP="$(mktemp -d -t keyway-identity.XXXXXX)"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ "$KEEP_TMP" == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_mb() { awk -v f="$2:" '$1==f {printf "%.1f", $2/1024}' "/proc/$1/status"; }

wait_http() {  # URL TIMEOUT_S: until it answers 200
    local deadline=$((SECONDS + $2))
    until curl -fsS -o /dev/null "$1" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}

for tool in curl python3; do command -v "$tool" >/dev/null || die "$tool is needed"; done
if [[ "$SKIP_BUILD" != 1 ]]; then
    log "building: cargo build --release -p keyway"
    (cd "$REPO_DIR" && nice cargo build --release -p keyway >&2)
fi
[[ -x "$KEYWAY_BIN" ]] || die "no Keyway binary at $KEYWAY_BIN"
mkdir -p "$OUT_DIR"

# The upstream: a static file server that answers GET /anything with 200.
mkdir -p "$TMP/upstream" && echo ok >"$TMP/upstream/anything"
UPSTREAM_PORT="$(free_port)"
python3 -m http.server "$UPSTREAM_PORT" --bind 127.0.0.1 --directory "$TMP/upstream" >/dev/null 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$UPSTREAM_PORT/anything" 10 || die "upstream did not start"

RESULTS=()
for size in $SIZES; do
    data="$TMP/data-$size"
    log "$size keys: seeding"
    t0=$(date +%s.%N)
    "$KEYWAY_BIN" tools seed-bench --data-dir "$data" --keys "$size" \
        --upstream "http://127.0.0.1:$UPSTREAM_PORT" --base-path "$BASE_PATH" >"$TMP/seed.out" 2>"$TMP/seed.err" \
        || { cat "$TMP/seed.err" >&2; die "seed-bench failed"; }
    seed_s=$(python3 -c "print(round($(date +%s.%N) - $t0, 2))")

    port="$(free_port)" admin_port="$(free_port)"
    t0=$(date +%s.%N)
    KEYWAY_ADMIN_TOKEN="$ADMIN_TOKEN" KEYWAY_LOG_LEVEL=info "$KEYWAY_BIN" serve --data-dir "$data" \
        --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin_port" >"$TMP/keyway-$size.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_http "http://127.0.0.1:$admin_port/readyz" 300 || { tail "$TMP/keyway-$size.log" >&2; die "keyway did not start"; }
    startup_s=$(python3 -c "print(round($(date +%s.%N) - $t0, 2))")
    rss_start=$(rss_mb "$pid" VmRSS)
    log "$size keys: seeded in ${seed_s}s, serving after ${startup_s}s, RSS ${rss_start} MB; measuring writes"

    ADMIN_PORT="$admin_port" GATEWAY_PORT="$port" ADMIN_TOKEN="$ADMIN_TOKEN" BASE_PATH="$BASE_PATH" \
        SEQUENTIAL="$SEQUENTIAL" BULK="$BULK" BATCH="$BATCH" BATCH_SIZE="$BATCH_SIZE" CLIENTS="$CLIENTS" REVOKE_CHECKS="$REVOKE_CHECKS" \
        python3 "$REPO_DIR/bench/identity.py" >"$TMP/writes-$size.json" || die "write measurements failed"
    rss_end=$(rss_mb "$pid" VmRSS) rss_peak=$(rss_mb "$pid" VmHWM)
    # "snapshot loaded keys=N load_ms=L build_ms=B", colours stripped.
    snapshot_line="$(sed 's/\x1b\[[0-9;]*m//g' "$TMP/keyway-$size.log" | grep -m1 'snapshot loaded' || true)"
    load_ms="$(grep -o 'load_ms=[0-9]*' <<<"$snapshot_line" | cut -d= -f2)"
    build_ms="$(grep -o 'build_ms=[0-9]*' <<<"$snapshot_line" | cut -d= -f2)"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    RESULTS+=("$(python3 - "$TMP/writes-$size.json" <<PY
import json, sys
w = json.load(open(sys.argv[1]))
w.update(keys=$size, seed_s=$seed_s, startup_s=$startup_s, rss_start_mb=$rss_start, rss_end_mb=$rss_end,
         rss_peak_mb=$rss_peak, load_ms=${load_ms:-None}, build_ms=${build_ms:-None})
print(json.dumps(w))
PY
)")
done

printf '%s\n' "${RESULTS[@]}" >"$OUT_DIR/identity.jsonl"
python3 - "$OUT_DIR/identity.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"{'keys':>9} {'start s':>7} {'load+build ms':>13} {'RSS MB':>7} {'create p50/p99 ms':>18} {'revoke p50/p99 ms':>18} "
      f"{'bulk keys/s':>11} {'bulk s':>7} {'batch s':>7} {'peak MB':>7} {'revoked then let through':>25}")
for r in rows:
    c, v, b, x = r["create"], r["revoke"], r["bulk"] or {}, r["revocation"]
    bt = r.get("batch") or {}
    print(f"{r['keys']:>9} {r['startup_s']:>7} {str(r['load_ms']) + '+' + str(r['build_ms']):>13} {r['rss_start_mb']:>7} {c['p50_ms']:>8}/{c['p99_ms']:<9} "
          f"{v['p50_ms']:>8}/{v['p99_ms']:<9} {b.get('keys_per_s', '-'):>11} {b.get('seconds', '-'):>7} {bt.get('seconds', '-'):>7} "
          f"{r['rss_peak_mb']:>7} {x['let_through_after_revoke']:>10} of {x['checked']}")
PY
log "raw results: $OUT_DIR/identity.jsonl"
