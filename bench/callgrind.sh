#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind: repeatable on a
# noisy shared machine, so two versions of the request path can be compared.
#
# Runs `keyway serve` (one worker thread) under valgrind twice, with N1 and
# N2 keep-alive requests through an API key and the call log, and prints
# (Ir(N2) - Ir(N1)) / (N2 - N1): start-up and shutdown cancel out.
#
# Usage: bash bench/callgrind.sh [path/to/keyway]   (default target/release/keyway)
# Knobs: N1 (300), N2 (1300), KEYS (1000), KEEP_OUT (file to keep the N2 profile in)
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="${1:-$BENCH_DIR/../target/release/keyway}"
N1="${N1:-300}"; N2="${N2:-1300}"; KEYS="${KEYS:-1000}"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port); GW=$(free_port); ADM=$(free_port)
python3 "$BENCH_DIR/callgrind_upstream.py" "$UP" & UP_PID=$!
trap 'kill $UP_PID 2>/dev/null || true' EXIT

run() {
    local n=$1 dir key pid
    dir=$(mktemp -d)
    key=$("$BIN" tools seed-bench --data-dir "$dir" --keys "$KEYS" --upstream "http://127.0.0.1:$UP" 2>/dev/null | tail -1)
    KEYWAY_LOG_LEVEL=error KEYWAY_GATEWAY_WORKER_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" \
        "$BIN" serve --data-dir "$dir" --listen "127.0.0.1:$GW" --admin-listen "127.0.0.1:$ADM" >/dev/null 2>"$dir/vg.err" &
    pid=$!
    for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$ADM/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
    python3 - "$key" "$GW" "$n" <<'PY'
import http.client, sys
key, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    c.request("GET", "/bench/x", headers={"Authorization": "Bearer " + key})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
    kill -TERM "$pid"; wait "$pid" || true
    if [[ -n "${KEEP_OUT:-}" && "$n" == "$N2" ]]; then cp "$dir/cg.out" "$KEEP_OUT"; fi
    awk '/^(summary|totals):/ {print $2; exit}' "$dir/cg.out"
    rm -rf "$dir"
}
a=$(run "$N1"); b=$(run "$N2")
echo "instructions per proxied request: $(( (b - a) / (N2 - N1) ))  (Ir $a at $N1, $b at $N2)"
