#!/usr/bin/env bash
# What the AI gateway's path costs, against the REST hop, on loopback.
#
# An nginx stands in for an OpenAI-compatible provider (a fixed
# `chat.completion` answer, and a fixed `text/event-stream` answer of 12
# chunks plus a usage chunk, both real OpenAI shapes). One Keyway serves,
# with the call log on:
#
#   rest    POST /rest/...                 proxied to the same nginx (the plain hop)
#   ai      POST /ai/v1/chat/completions   OpenAI format in, OpenAI provider: parse,
#                                           model, AI limits (a budget and a token limit
#                                           on the key), build, exchange, metering
#   stream  the same with "stream": true   the provider's SSE decoded and re-encoded
#   xlate   POST /ai/v1/messages           Anthropic format in, OpenAI provider: both
#                                           directions translated
#
# For each: closed-loop wrk, Keyway's CPU time per request (utime + stime
# from /proc, all threads), throughput, p50/p99. Prints a table; see
# bench/README.md ("The AI path").
#
# Usage: bash bench/ai.sh     Knobs: DURATION (10), CONNECTIONS (32), SKIP_BUILD
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$BENCH_DIR")"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
BIN="${KEYWAY_BIN:-$REPO_DIR/target/release/keyway}"
TOKEN="bench-admin-token"
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "needs wrk and nginx (apt-get install -y wrk nginx-light)" >&2; exit 1; }
[[ "${SKIP_BUILD:-0}" == 1 ]] || (cd "$REPO_DIR" && cargo build --release --locked -p keyway >&2)

TMP="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PROV=$(port); GW=$(port); ADM=$(port)

# ---- the provider: nginx with OpenAI's shapes
chat='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":9,"total_tokens":28}}'
sse=""
for w in Hello '!' ' How' ' can' ' I' ' help' ' you' ' today' '?' ' Ask' ' away' '.'; do
    sse+="data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"$w\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
done
sse+='data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n'
sse+='data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":12,"total_tokens":31}}\n\n'
sse+='data: [DONE]\n\n'
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1; pid $TMP/nginx/pid; error_log $TMP/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off; client_body_temp_path $TMP/nginx/b; proxy_temp_path $TMP/nginx/p;
  fastcgi_temp_path $TMP/nginx/f; uwsgi_temp_path $TMP/nginx/u; scgi_temp_path $TMP/nginx/s;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$PROV;
    location = /v1/chat/completions { default_type application/json; return 200 '$chat'; }
    location = /stream/v1/chat/completions { default_type text/event-stream; return 200 '$sse'; }
    location /rest/ { default_type application/json; return 200 '$chat'; }
  }
}
EOF
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' & PIDS+=($!)

# ---- Keyway
KEYWAY_ADMIN_TOKEN=$TOKEN KEYWAY_LOG_LEVEL=error "$BIN" serve --data-dir "$TMP/kw" \
    --listen "127.0.0.1:$GW" --admin-listen "127.0.0.1:$ADM" >"$TMP/kw.log" 2>&1 & KW=$!; PIDS+=($KW)
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$ADM/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
A="http://127.0.0.1:$ADM/admin/v1"
api() { curl -fs -X "$1" "$A$2" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "$3"; }
jid() { python3 -c 'import json,sys; print(json.load(sys.stdin)["'"${1:-id}"'"])'; }
T=$(api POST /tenants '{"slug":"bench","name":"bench"}' | jid)
U=$(api POST "/tenants/$T/users" '{"email":"b@bench.test","role":"owner"}' | jid)
APP=$(api POST "/tenants/$T/apps" "{\"name\":\"bench\",\"owner_user_id\":\"$U\"}" | jid)
api POST "/tenants/$T/providers" "{\"name\":\"p\",\"kind\":\"openai\",\"base_url\":\"http://127.0.0.1:$PROV/v1\",\"credentials\":[{\"api_key\":\"sk-bench-0000\"}]}" >/dev/null
api POST "/tenants/$T/providers" "{\"name\":\"ps\",\"kind\":\"openai\",\"base_url\":\"http://127.0.0.1:$PROV/stream/v1\",\"credentials\":[{\"api_key\":\"sk-bench-0000\"}]}" >/dev/null
api POST "/tenants/$T/models" '{"name":"fast","targets":[{"provider":"p","model":"gpt-4o-mini"}]}' >/dev/null
api POST "/tenants/$T/models" '{"name":"fast-stream","targets":[{"provider":"ps","model":"gpt-4o-mini"}]}' >/dev/null
api POST "/tenants/$T/apis" '{"name":"ai","version":"v1","base_path":"/ai","kind":"ai","auth":["api_key"],"requires_approval":false,"visibility":"tenant"}' >/dev/null
api POST "/tenants/$T/apis" "{\"name\":\"rest\",\"version\":\"v1\",\"base_path\":\"/rest\",\"upstream\":{\"targets\":[{\"url\":\"http://127.0.0.1:$PROV/rest\"}]},\"auth\":[\"api_key\"],\"requires_approval\":false,\"visibility\":\"tenant\"}" >/dev/null
KEY=$(api POST "/apps/$APP/keys" '{"budget":{"usd":1000000,"period":"day"},"tokens_per_minute":1000000000000}' | jid key)

# ---- load
body_chat='{"model":"fast","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello there, how are you?"}]}'
body_stream='{"model":"fast-stream","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hello there, how are you?"}]}'
body_msgs='{"model":"fast","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"Hello there, how are you?"}]}'
cpu_ticks() { awk '{print $14 + $15}' "/proc/$KW/stat"; }
run() {
    local name=$1 path=$2 body=$3
    printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["content-type"] = "application/json"\nwrk.headers["authorization"] = "Bearer %s"\nwrk.headers["anthropic-version"] = "2023-06-01"\n' \
        "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$body")" "$KEY" >"$TMP/$name.lua"
    # Warm up, then measure.
    wrk -t2 -c"$CONNECTIONS" -d2s -s "$TMP/$name.lua" "http://127.0.0.1:$GW$path" >/dev/null
    local before after out
    before=$(cpu_ticks)
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$TMP/$name.lua" "http://127.0.0.1:$GW$path")
    after=$(cpu_ticks)
    local reqs rps p50 p99 non2xx
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    local hz; hz=$(getconf CLK_TCK)
    local us; us=$(python3 -c "print(f'{($after - $before) / $hz / $reqs * 1e6:.1f}')")
    printf '%-7s %10s %10s %10s %10s %12s %s\n' "$name" "$us" "$rps" "$p50" "$p99" "$reqs" "${non2xx:+non-2xx: $non2xx}"
}
printf '%-7s %10s %10s %10s %10s %12s\n' path "cpu us/req" "req/s" p50 p99 requests
run rest /rest/v1/chat/completions "$body_chat"
run ai /ai/v1/chat/completions "$body_chat"
run stream /ai/v1/chat/completions "$body_stream"
run xlate /ai/v1/messages "$body_msgs"
