#!/usr/bin/env bash
# Instructions per AI request, counted by callgrind, for the three AI paths
# of bench/ai.sh: repeatable on a noisy shared machine, so two versions of
# the AI path can be compared.
#
#   ai      POST /ai/v1/chat/completions, OpenAI format in, OpenAI provider
#   stream  the same with "stream": true and stream_options.include_usage
#   xlate   POST /ai/v1/messages, Anthropic format in, OpenAI provider
#
# The provider is bench/callgrind_ai_provider.py (OpenAI's wire format: a
# chat.completion, or 12 content chunks, a finish chunk, a usage chunk and
# [DONE] in chunked encoding; FRAMING=length sends the stream with a
# content-length as bench/ai.sh's nginx does). Runs `keyway serve` (one
# worker thread) under valgrind with its instrumentation off, seeds it
# through its admin API as bench/ai.sh does (a tenant, an app, two OpenAI
# providers, two models, an `ai` API and a key with a budget and a
# tokens-per-minute limit, so the metering ledger is on the path), then for
# each path: WARM keep-alive requests, a pause for the call-log writer,
# counters zeroed, instrumentation on (`callgrind_control -i on`), N more
# requests, a pause for the writer to store them, instrumentation off, a
# dump. Prints Ir / N per path: the steady state only, writer included.
#
# Usage: bash bench/callgrind_ai.sh [path/to/keyway]   (default target/release/keyway)
# Knobs: N (1000), WARM (300), PATHS ("ai stream xlate"), FRAMING (chunked),
#        KEEP_OUT (a directory to keep the profiles in, one per path)
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="${1:-$BENCH_DIR/../target/release/keyway}"
N="${N:-1000}"; WARM="${WARM:-300}"; PATHS="${PATHS:-ai stream xlate}"
export FRAMING="${FRAMING:-chunked}"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PROV=$(free_port); GW=$(free_port); ADM=$(free_port)
TOKEN="callgrind-admin-token"
python3 "$BENCH_DIR/callgrind_ai_provider.py" "$PROV" & PROV_PID=$!
dir=$(mktemp -d)
pid=""
trap '[[ -z "$pid" ]] || kill "$pid" 2>/dev/null || true; kill $PROV_PID 2>/dev/null || true; rm -rf "$dir"' EXIT

KEYWAY_ADMIN_TOKEN=$TOKEN KEYWAY_LOG_LEVEL=error KEYWAY_GATEWAY_WORKER_THREADS=1 \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/cg.out" \
    "$BIN" serve --data-dir "$dir/kw" --listen "127.0.0.1:$GW" --admin-listen "127.0.0.1:$ADM" >/dev/null 2>"$dir/vg.err" &
pid=$!
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$ADM/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "http://127.0.0.1:$ADM/readyz" >/dev/null || { echo "keyway did not start; valgrind said:" >&2; tail -20 "$dir/vg.err" >&2; exit 1; }

python3 - "$TOKEN" "$ADM" "$GW" "$PROV" "$pid" "$WARM" "$N" "$dir" $PATHS <<'PY'
import http.client, json, subprocess, sys, time
token, adm, gw, prov, pid, warm, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
paths = sys.argv[9:]

admin = http.client.HTTPConnection("127.0.0.1", adm, timeout=120)
def api(method, path, body):
    admin.request(method, "/admin/v1" + path, body=json.dumps(body),
                  headers={"authorization": "Bearer " + token, "content-type": "application/json"})
    r = admin.getresponse(); data = r.read()
    assert 200 <= r.status < 300, (path, r.status, data)
    return json.loads(data) if data else None
t = api("POST", "/tenants", {"slug": "bench", "name": "bench"})["id"]
u = api("POST", f"/tenants/{t}/users", {"email": "b@bench.test", "role": "owner"})["id"]
app = api("POST", f"/tenants/{t}/apps", {"name": "bench", "owner_user_id": u})["id"]
for name, base in [("p", "/v1"), ("ps", "/stream/v1")]:
    api("POST", f"/tenants/{t}/providers", {"name": name, "kind": "openai", "base_url": f"http://127.0.0.1:{prov}{base}",
                                            "credentials": [{"api_key": "sk-bench-0000"}]})
api("POST", f"/tenants/{t}/models", {"name": "fast", "targets": [{"provider": "p", "model": "gpt-4o-mini"}]})
api("POST", f"/tenants/{t}/models", {"name": "fast-stream", "targets": [{"provider": "ps", "model": "gpt-4o-mini"}]})
api("POST", f"/tenants/{t}/apis", {"name": "ai", "version": "v1", "base_path": "/ai", "kind": "ai", "auth": ["api_key"],
                                  "requires_approval": False, "visibility": "tenant"})
key = api("POST", f"/apps/{app}/keys", {"budget": {"usd": 1000000, "period": "day"}, "tokens_per_minute": 1000000000000})["key"]

# The bodies of bench/ai.sh.
requests = {
    "ai": ("/ai/v1/chat/completions", {"model": "fast", "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there, how are you?"}]}),
    "stream": ("/ai/v1/chat/completions", {"model": "fast-stream", "stream": True, "stream_options": {"include_usage": True},
                                           "messages": [{"role": "user", "content": "Hello there, how are you?"}]}),
    "xlate": ("/ai/v1/messages", {"model": "fast", "max_tokens": 100, "system": "Be brief.",
                                  "messages": [{"role": "user", "content": "Hello there, how are you?"}]}),
}
c = http.client.HTTPConnection("127.0.0.1", gw, timeout=120)
headers = {"authorization": "Bearer " + key, "content-type": "application/json", "anthropic-version": "2023-06-01"}
def send(path, body, count):
    for _ in range(count):
        c.request("POST", path, body=body, headers=headers)
        r = c.getresponse(); data = r.read()
        assert r.status == 200 and b"today" in data, (r.status, data[:300])
def control(*args):
    subprocess.run(["callgrind_control", *args, pid], check=True, capture_output=True)
for name in paths:
    path, body = requests[name]
    body = json.dumps(body, separators=(",", ":"))
    send(path, body, warm); time.sleep(1.0)   # the writer stores the warm-up rows (flush interval 200 ms)
    control("-z")
    control("-i", "on")
    send(path, body, n); time.sleep(1.0)      # ... and the measured ones, inside the window
    control("-i", "off")
    control("-d", name)
    print(name, flush=True)
PY
kill -TERM "$pid"; wait "$pid" || true; pid=""
[[ -z "${KEEP_OUT:-}" ]] || { mkdir -p "$KEEP_OUT"; }
i=0
for name in $PATHS; do
    i=$((i + 1))
    f="$dir/cg.out.$i"
    [[ -e "$f" ]] || f=$(grep -l "^desc: Trigger: dump $name\$" "$dir"/cg.out* | head -1)
    [[ -z "${KEEP_OUT:-}" ]] || cp "$f" "$KEEP_OUT/cg.$name.out"
    ir=$(awk '/^totals:/ {t=$2} /^summary:/ && !t {s=$2} END {print (t ? t : s)}' "$f")
    printf '%-7s instructions per request: %8d  (Ir %s over %s requests after %s warm-up)\n' "$name" $(( ir / N )) "$ir" "$N" "$WARM"
done
