#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind: repeatable on a
# noisy shared machine, so two versions of the request path can be compared.
#
# Runs `keyway serve` (one worker thread) under valgrind with its
# instrumentation off, sends WARM keep-alive requests through an API key and
# the call log, waits for the log writer, switches instrumentation on
# (`callgrind_control -i on`), sends N more, waits for the writer to store
# them, switches it off, and prints Ir / N: only the steady state is counted
# (no start-up, no migrations, no clock calibration), writer included.
#
# Usage: bash bench/callgrind.sh [path/to/keyway]   (default target/release/keyway)
# Knobs: N (1000), WARM (300), KEYS (1000), KEEP_OUT (file to keep the profile in)
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="${1:-$BENCH_DIR/../target/release/keyway}"
N="${N:-1000}"; WARM="${WARM:-300}"; KEYS="${KEYS:-1000}"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port); GW=$(free_port); ADM=$(free_port)
python3 "$BENCH_DIR/callgrind_upstream.py" "$UP" & UP_PID=$!
dir=$(mktemp -d)
trap 'kill $UP_PID 2>/dev/null || true; rm -rf "$dir"' EXIT

key=$("$BIN" tools seed-bench --data-dir "$dir" --keys "$KEYS" --upstream "http://127.0.0.1:$UP" 2>/dev/null | tail -1)
KEYWAY_LOG_LEVEL=error KEYWAY_GATEWAY_WORKER_THREADS=1 valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$dir/cg.out" \
    "$BIN" serve --data-dir "$dir" --listen "127.0.0.1:$GW" --admin-listen "127.0.0.1:$ADM" >/dev/null 2>"$dir/vg.err" &
pid=$!
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$ADM/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
python3 - "$key" "$GW" "$pid" "$WARM" "$N" <<'PY'
import http.client, subprocess, sys, time
key, port, pid, warm, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
c = http.client.HTTPConnection("127.0.0.1", port)
def send(count):
    for _ in range(count):
        c.request("GET", "/bench/x", headers={"Authorization": "Bearer " + key})
        r = c.getresponse(); r.read()
        assert r.status == 200, r.status
def instrument(state):
    subprocess.run(["callgrind_control", "-i", state, pid], check=True, capture_output=True)
send(warm); time.sleep(1.0)   # the writer stores the warm-up rows (flush interval 200 ms)
instrument("on")
send(n); time.sleep(1.0)      # ... and the measured ones, inside the window
instrument("off")
PY
kill -TERM "$pid"; wait "$pid" || true
[[ -z "${KEEP_OUT:-}" ]] || cp "$dir/cg.out" "$KEEP_OUT"
ir=$(awk '/^totals:/ {t=$2} /^summary:/ && !t {s=$2} END {print (t ? t : s)}' "$dir/cg.out")
echo "instructions per proxied request: $(( ir / N ))  (Ir $ir over $N requests after $WARM warm-up)"
