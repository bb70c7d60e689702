#!/usr/bin/env bash
# What the AI gateway's path costs, against the REST hop, nginx proxying the
# same request, LiteLLM's proxy and Portkey's gateway, on loopback.
#
# An nginx stands in for an OpenAI-compatible provider (a fixed
# `chat.completion` answer, and a fixed `text/event-stream` answer of 12
# chunks plus a usage chunk, both real OpenAI shapes). In front of it:
#
#   keyway       with the call log on:
#     rest    POST /rest/...                 proxied to the same nginx (the plain hop)
#     ai      POST /ai/v1/chat/completions   OpenAI format in, OpenAI provider: parse,
#                                             model, AI limits (a budget and a token limit
#                                             on the key), build, exchange, metering
#     stream  the same with "stream": true   the provider's SSE decoded and re-encoded
#     xlate   POST /ai/v1/messages           Anthropic format in, OpenAI provider: both
#                                             directions translated
#   nginx-proxy  a second nginx (1 worker, upstream keepalive pool) proxying the
#                same ai and stream requests (stream unbuffered): the baseline
#   litellm      LiteLLM's proxy (PyPI litellm[proxy], pinned, 1 worker), the two
#                models of a config.yaml pointing at the mock          (LITELLM=1)
#   portkey      Portkey's gateway (npm @portkey-ai/gateway, pinned, on node),
#                provider openai with the mock as its custom host       (PORTKEY=1)
#
# Each system is first asked once with curl (it must answer 200 with the
# mock's content, else an excerpt is printed and the system skipped; Keyway
# and nginx-proxy must pass). Then for each path: closed-loop wrk (2 s warm-up,
# then DURATION s), the CPU time of the system's whole process tree per
# request (utime + stime of every live process under it, all threads, plus
# the cutime + cstime of children it reaped, from /proc, before and after),
# req/s, p50/p99, non-2xx answers and socket errors. LiteLLM and Portkey run
# with SLOW_CONNECTIONS; when either is on, Keyway and nginx-proxy are also
# run with SLOW_CONNECTIONS, so each ratio compares the same load. LiteLLM
# and Portkey are installed on first use under $CARGO_TARGET_DIR/bench (or
# target/bench) and started only for their own runs. Prints a table and the
# ratios; see bench/README.md ("The AI path").
#
# Usage: bash bench/ai.sh
# Then, paced (PACED=1): the mock asked directly, nginx-proxy and Keyway, for
# ai and stream, each connection pausing RATE_DELAY_MS after a response, in
# ROUNDS interleaved rounds of RATE_DURATION s: the median p99 of each, the
# latency each proxy adds to the direct call at that load (p99 - direct's
# p99), and the load as a share of Keyway's closed-loop max.
#
# Knobs: DURATION (10), CONNECTIONS (32), SLOW_CONNECTIONS (8), LITELLM (1),
#        PORTKEY (1), LITELLM_VERSION, PORTKEY_VERSION, BENCH_TOOLS, SKIP_BUILD,
#        KEYWAY_BIN, PACED (1), RATE_CONNS (32), RATE_DELAY_MS (1),
#        RATE_DURATION (5), ROUNDS (3)
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$BENCH_DIR")"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
SLOW_CONNECTIONS="${SLOW_CONNECTIONS:-8}"       # connections for LiteLLM and Portkey
LITELLM="${LITELLM:-1}"                         # 0: skip LiteLLM (no PyPI needed)
PORTKEY="${PORTKEY:-1}"                         # 0: skip Portkey (no npm needed)
PACED="${PACED:-1}"                             # 0: no paced latency runs
RATE_CONNS="${RATE_CONNS:-32}"                  # connections of the paced runs
RATE_DELAY_MS="${RATE_DELAY_MS:-1}"             # pause after each response, per connection
RATE_DURATION="${RATE_DURATION:-5}"             # seconds of each paced run
ROUNDS="${ROUNDS:-3}"                           # paced rounds; the median p99 is reported
LITELLM_VERSION="${LITELLM_VERSION:-1.106.12}"  # 1.107+: litellm[proxy] pins extras PyPI does not have
PORTKEY_VERSION="${PORTKEY_VERSION:-1.15.2}"    # with @hono/node-server pinned to 1.13.8 (see install_portkey)
BENCH_TOOLS="${BENCH_TOOLS:-${CARGO_TARGET_DIR:-$REPO_DIR/target}/bench}"
BIN="${KEYWAY_BIN:-${CARGO_TARGET_DIR:-$REPO_DIR/target}/release/keyway}"
TOKEN="bench-admin-token"
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "needs wrk and nginx (apt-get install -y wrk nginx-light)" >&2; exit 1; }
[[ "${SKIP_BUILD:-0}" == 1 ]] || (cd "$REPO_DIR" && cargo build --release --locked -p keyway >&2)
log() { printf '[ai %s] %s\n' "$(date +%T)" "$*" >&2; }

TMP="$(mktemp -d)"
PIDS=()
descendants() { local c; for c in $(pgrep -P "$1" 2>/dev/null); do descendants "$c"; echo "$c"; done; }
# Stop a process and everything under it: SIGTERM, then SIGKILL after 10 s.
stop_tree() {
    local p=$1 all i
    all="$(descendants "$p") $p"
    kill -TERM $all 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 $all 2>/dev/null || break; sleep 0.1; done
    kill -KILL $all 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}
cleanup() { for p in "${PIDS[@]}"; do stop_tree "$p"; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PROV=$(port); GW=$(port); ADM=$(port); NP=$(port); LP=$(port); PK=$(port)

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

# ---- nginx as a reverse proxy of the same requests (the baseline)
mkdir -p "$TMP/nginx-proxy"
cat >"$TMP/nginx-proxy/nginx.conf" <<EOF
worker_processes 1; pid $TMP/nginx-proxy/pid; error_log $TMP/nginx-proxy/error.log;
events { worker_connections 1024; }
http {
  access_log off; client_body_temp_path $TMP/nginx-proxy/b; proxy_temp_path $TMP/nginx-proxy/p;
  fastcgi_temp_path $TMP/nginx-proxy/f; uwsgi_temp_path $TMP/nginx-proxy/u; scgi_temp_path $TMP/nginx-proxy/s;
  keepalive_requests 1000000;
  upstream provider { server 127.0.0.1:$PROV; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$NP;
    proxy_http_version 1.1; proxy_set_header Connection "";
    location = /v1/chat/completions { proxy_pass http://provider; }
    location = /stream/v1/chat/completions { proxy_pass http://provider; proxy_buffering off; }
  }
}
EOF
nginx -p "$TMP/nginx-proxy" -c "$TMP/nginx-proxy/nginx.conf" -g 'daemon off;' & NGP=$!; PIDS+=($NGP)

# ---- load
body_chat='{"model":"fast","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello there, how are you?"}]}'
body_stream='{"model":"fast-stream","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hello there, how are you?"}]}'
body_msgs='{"model":"fast","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"Hello there, how are you?"}]}'
# Clock ticks (utime + stime + cutime + cstime) of $1 and every live process under it.
tree_ticks() {
    python3 - "$1" <<'PY'
import os, sys
kids, ticks = {}, {}
for d in os.listdir('/proc'):
    if not d.isdigit():
        continue
    try:
        with open(f'/proc/{d}/stat') as f:
            st = f.read()
    except OSError:
        continue
    st = st[st.rindex(')') + 2:].split()  # from field 3 (state) on
    kids.setdefault(int(st[1]), []).append(int(d))
    ticks[int(d)] = sum(int(x) for x in st[11:15])  # fields 14-17
total, todo = 0, [int(sys.argv[1])]
while todo:
    p = todo.pop()
    total += ticks.get(p, 0)
    todo += kids.get(p, [])
print(total)
PY
}
# check SYSTEM URL BODY [HEADER...]: one request with curl; 200 and the mock's content, else an excerpt.
check() {
    local sys=$1 url=$2 body=$3; shift 3
    local hdrs=() h code
    for h in "$@"; do hdrs+=(-H "$h"); done
    code=$(curl -sN -m 60 -o "$TMP/check.out" -w '%{http_code}' -X POST "$url" -H 'content-type: application/json' "${hdrs[@]}" -d "$body" || true)
    if [[ "$code" == 200 ]] && grep -q 'today' "$TMP/check.out" \
        && { [[ "$body" != *'"stream":true'* ]] || grep -q '^data: ' "$TMP/check.out"; }; then
        return 0
    fi
    log "$sys: $url answered ${code:-nothing}, not 200 with the mock's content; the answer begins:"
    head -c 400 "$TMP/check.out" >&2 || true; echo >&2
    [[ -z "${LOGS[$sys]:-}" ]] || { log "$sys: its log ends:"; tail -8 "${LOGS[$sys]}" >&2 || true; }
    return 1
}
declare -A CPU RPS LOGS=([keyway]="$TMP/kw.log" [nginx-proxy]="$TMP/nginx-proxy/error.log" [litellm]="$TMP/litellm.log" [portkey]="$TMP/portkey.log")
# run SYSTEM PID PATH-NAME CONNECTIONS URL BODY [HEADER...]
run() {
    local sys=$1 pid=$2 name=$3 conns=$4 url=$5 body=$6; shift 6
    local lua="$TMP/$sys-$name-$conns.lua" h
    printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["content-type"] = "application/json"\n' \
        "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$body")" >"$lua"
    for h in "$@"; do printf 'wrk.headers["%s"] = "%s"\n' "${h%%: *}" "${h#*: }" >>"$lua"; done
    check "$sys" "$url" "$body" "$@" || { printf '%-12s %-7s %5s  not measured (see above)\n' "$sys" "$name" "$conns"; return 0; }
    # Warm up, then measure.
    wrk -t2 -c"$conns" -d2s --timeout 10s -s "$lua" "$url" >/dev/null
    local before after out
    before=$(tree_ticks "$pid")
    out=$(wrk -t2 -c"$conns" -d"${DURATION}s" --timeout 10s --latency -s "$lua" "$url")
    after=$(tree_ticks "$pid")
    local reqs rps p50 p99 non2xx errs us
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    errs=$(awk -F'[ ,]+' '/Socket errors/ {print $5 + $7 + $9 + $11}' <<<"$out")
    us=$(python3 -c "print(f'{($after - $before) / $(getconf CLK_TCK) / max($reqs, 1) * 1e6:.1f}')")
    CPU["$sys $name $conns"]=$us
    RPS["$sys $name $conns"]=$rps
    printf '%-12s %-7s %5s %10s %10s %10s %10s %10s %8s %7s\n' "$sys" "$name" "$conns" "$us" "$rps" "$p50" "$p99" "$reqs" "${non2xx:-0}" "${errs:-0}"
}
wait_http() {  # URL SECONDS PID: until something answers over HTTP, while PID lives
    local i
    for i in $(seq 1 $(( $2 * 10 ))); do
        [[ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" || true)" =~ ^[1-5] ]] && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# ---- LiteLLM and Portkey: installed on first use, under BENCH_TOOLS
install_litellm() {
    local venv="$BENCH_TOOLS/litellm-$LITELLM_VERSION"
    if [[ ! -e "$venv/.installed" ]]; then
        log "installing litellm[proxy]==$LITELLM_VERSION into $venv (pip, PyPI)"
        rm -rf "$venv"; mkdir -p "$BENCH_TOOLS"
        if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q "litellm[proxy]==$LITELLM_VERSION"; } >"$TMP/pip.log" 2>&1; then
            log "LiteLLM: installing litellm[proxy]==$LITELLM_VERSION failed (offline? LITELLM=0 skips it); pip said:"
            tail -5 "$TMP/pip.log" >&2; return 1
        fi
        touch "$venv/.installed"
    fi
    echo "$venv"
}
install_portkey() {
    local dir="$BENCH_TOOLS/portkey-$PORTKEY_VERSION"
    if [[ ! -e "$dir/.installed" ]]; then
        log "installing @portkey-ai/gateway@$PORTKEY_VERSION into $dir (npm)"
        rm -rf "$dir"; mkdir -p "$dir"
        # @hono/node-server 1.14 and later hand Portkey a response whose headers are immutable,
        # and every streamed answer fails with `TypeError: immutable` (Portkey-AI/gateway#1389).
        printf '{"private": true, "dependencies": {"@portkey-ai/gateway": "%s"}, "overrides": {"@hono/node-server": "1.13.8"}}\n' \
            "$PORTKEY_VERSION" >"$dir/package.json"
        if ! npm install --prefix "$dir" --no-audit --no-fund >"$TMP/npm.log" 2>&1; then
            log "Portkey: installing @portkey-ai/gateway@$PORTKEY_VERSION failed (offline? PORTKEY=0 skips it); npm said:"
            tail -5 "$TMP/npm.log" >&2; return 1
        fi
        touch "$dir/.installed"
    fi
    echo "$dir"
}

printf '%-12s %-7s %5s %10s %10s %10s %10s %10s %8s %7s\n' system path conns "cpu us/req" "req/s" p50 p99 requests non-2xx errors
kw() { run keyway "$KW" "$1" "$2" "http://127.0.0.1:$GW$3" "$4" "authorization: Bearer $KEY" "anthropic-version: 2023-06-01"; }
np() { run nginx-proxy "$NGP" "$1" "$2" "http://127.0.0.1:$NP$3" "$4" "authorization: Bearer sk-bench"; }
check keyway "http://127.0.0.1:$GW/ai/v1/chat/completions" "$body_chat" "authorization: Bearer $KEY" || exit 1
check nginx-proxy "http://127.0.0.1:$NP/v1/chat/completions" "$body_chat" || exit 1
kw rest "$CONNECTIONS" /rest/v1/chat/completions "$body_chat"
kw ai "$CONNECTIONS" /ai/v1/chat/completions "$body_chat"
kw stream "$CONNECTIONS" /ai/v1/chat/completions "$body_stream"
kw xlate "$CONNECTIONS" /ai/v1/messages "$body_msgs"
np ai "$CONNECTIONS" /v1/chat/completions "$body_chat"
np stream "$CONNECTIONS" /stream/v1/chat/completions "$body_stream"
if [[ "$LITELLM" == 1 || "$PORTKEY" == 1 ]] && [[ "$SLOW_CONNECTIONS" != "$CONNECTIONS" ]]; then
    kw ai "$SLOW_CONNECTIONS" /ai/v1/chat/completions "$body_chat"
    kw stream "$SLOW_CONNECTIONS" /ai/v1/chat/completions "$body_stream"
    np ai "$SLOW_CONNECTIONS" /v1/chat/completions "$body_chat"
    np stream "$SLOW_CONNECTIONS" /stream/v1/chat/completions "$body_stream"
fi

# ---- paced: the latency each proxy adds at a fixed load
# paced_run NAME URL BODY [HEADER...] -> p99 in us of one paced run
paced_run() {
    local name=$1 url=$2 body=$3; shift 3
    local lua="$TMP/paced-$name.lua" h out
    printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["content-type"] = "application/json"\n' \
        "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$body")" >"$lua"
    for h in "$@"; do printf 'wrk.headers["%s"] = "%s"\n' "${h%%: *}" "${h#*: }" >>"$lua"; done
    printf 'function delay() return %s end\n' "$RATE_DELAY_MS" >>"$lua"
    out=$(wrk -t2 -c"$RATE_CONNS" -d"${RATE_DURATION}s" --timeout 10s --latency -s "$lua" "$url")
    python3 - "$(awk '$1 == "99%" {print $2}' <<<"$out")" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" <<'PY'
import re, sys
v, unit = re.match(r"([0-9.]+)([a-z]+)", sys.argv[1]).groups()
print(f"{float(v) * {'us': 1, 'ms': 1e3, 's': 1e6}[unit]:.0f} {sys.argv[2]}")
PY
}
if [[ "$PACED" == 1 ]]; then
    declare -A P99S PRPS
    targets=(
        "direct ai|http://127.0.0.1:$PROV/v1/chat/completions|$body_chat|authorization: Bearer sk-bench"
        "direct stream|http://127.0.0.1:$PROV/stream/v1/chat/completions|$body_stream|authorization: Bearer sk-bench"
        "nginx-proxy ai|http://127.0.0.1:$NP/v1/chat/completions|$body_chat|authorization: Bearer sk-bench"
        "nginx-proxy stream|http://127.0.0.1:$NP/stream/v1/chat/completions|$body_stream|authorization: Bearer sk-bench"
        "keyway ai|http://127.0.0.1:$GW/ai/v1/chat/completions|$body_chat|authorization: Bearer $KEY"
        "keyway stream|http://127.0.0.1:$GW/ai/v1/chat/completions|$body_stream|authorization: Bearer $KEY"
    )
    log "paced: $RATE_CONNS connections x $RATE_DELAY_MS ms pause, $ROUNDS rounds of ${RATE_DURATION}s per target"
    for round in $(seq 1 "$ROUNDS"); do
        for t in "${targets[@]}"; do
            IFS='|' read -r label url body header <<<"$t"
            read -r p99 rps < <(paced_run "${label// /-}" "$url" "$body" "$header")
            P99S[$label]+="$p99 "; PRPS[$label]+="$rps "
        done
    done
    median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
    echo
    printf '%-20s %12s %10s %14s %12s\n' paced "req/s" "p99 us" "added p99 us" "of kw max"
    for p in ai stream; do
        d=$(median "${P99S[direct $p]}")
        for sys in direct nginx-proxy keyway; do
            p99=$(median "${P99S[$sys $p]}"); rps=$(median "${PRPS[$sys $p]}")
            added=$([[ $sys == direct ]] && echo - || echo $(( p99 - d )))
            share=$(python3 -c "m=float('${RPS[keyway $p $CONNECTIONS]:-0}' or 0); print(f'{float($rps)/m:.0%}' if m else '-')")
            printf '%-20s %12s %10s %14s %12s\n' "$sys $p" "$rps" "$p99" "$added" "$share"
        done
    done
fi

if [[ "$LITELLM" == 1 ]] && venv=$(install_litellm); then
    LITELLM_KEY=sk-bench-master-0123456789abcdef0123456789abcdef
    cat >"$TMP/litellm.yaml" <<EOF
model_list:
  - model_name: fast
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:$PROV/v1", api_key: sk-bench}
  - model_name: fast-stream
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:$PROV/stream/v1", api_key: sk-bench}
litellm_settings:
  telemetry: false
  set_verbose: false
EOF
    # No database, no callbacks; the model cost map from the package, not fetched. A master
    # key (it refuses to start without one), checked on every request as a deployment would.
    LITELLM_MASTER_KEY=$LITELLM_KEY LITELLM_LOG=ERROR LITELLM_LOCAL_MODEL_COST_MAP=True NO_DOCS=True DISABLE_ADMIN_UI=True \
        "$venv/bin/litellm" --config "$TMP/litellm.yaml" --host 127.0.0.1 --port "$LP" --num_workers 1 \
        >"$TMP/litellm.log" 2>&1 & LL=$!; PIDS+=($LL)
    if wait_http "http://127.0.0.1:$LP/health/liveliness" 180 "$LL"; then
        run litellm "$LL" ai "$SLOW_CONNECTIONS" "http://127.0.0.1:$LP/v1/chat/completions" "$body_chat" "authorization: Bearer $LITELLM_KEY"
        run litellm "$LL" stream "$SLOW_CONNECTIONS" "http://127.0.0.1:$LP/v1/chat/completions" "$body_stream" "authorization: Bearer $LITELLM_KEY"
    else
        log "LiteLLM did not start (or answer on :$LP within 180 s); its log ends:"; tail -20 "$TMP/litellm.log" >&2
    fi
    stop_tree "$LL"
fi

if [[ "$PORTKEY" == 1 ]] && pdir=$(install_portkey); then
    # --port=N and --headless (no console UI) are start-server.js's only flags in 1.15.
    node "$pdir/node_modules/@portkey-ai/gateway/build/start-server.js" --port="$PK" --headless \
        >"$TMP/portkey.log" 2>&1 & PKP=$!; PIDS+=($PKP)
    if wait_http "http://127.0.0.1:$PK/" 60 "$PKP"; then
        run portkey "$PKP" ai "$SLOW_CONNECTIONS" "http://127.0.0.1:$PK/v1/chat/completions" "$body_chat" \
            "x-portkey-provider: openai" "x-portkey-custom-host: http://127.0.0.1:$PROV/v1" "authorization: Bearer sk-bench"
        run portkey "$PKP" stream "$SLOW_CONNECTIONS" "http://127.0.0.1:$PK/v1/chat/completions" "$body_stream" \
            "x-portkey-provider: openai" "x-portkey-custom-host: http://127.0.0.1:$PROV/stream/v1" "authorization: Bearer sk-bench"
    else
        log "Portkey did not start (or answer on :$PK within 60 s); its log ends:"; tail -20 "$TMP/portkey.log" >&2
    fi
    stop_tree "$PKP"
fi

# ---- ratios of CPU per request, at the same connections
ratio() {  # LABEL A B: CPU[A] / CPU[B], if both were measured
    [[ -n "${CPU[$2]:-}" && -n "${CPU[$3]:-}" ]] || return 0
    printf '%-44s %6s\n' "$1" "$(python3 -c "print(f'{${CPU[$2]} / ${CPU[$3]}:.2f}x')")"
}
echo
for p in ai stream; do
    for c in $(printf "%s\n" "$CONNECTIONS" "$SLOW_CONNECTIONS" | sort -un); do
        ratio "keyway / nginx-proxy, $p, $c connections" "keyway $p $c" "nginx-proxy $p $c"
    done
    ratio "litellm / keyway, $p, $SLOW_CONNECTIONS connections" "litellm $p $SLOW_CONNECTIONS" "keyway $p $SLOW_CONNECTIONS"
    ratio "portkey / keyway, $p, $SLOW_CONNECTIONS connections" "portkey $p $SLOW_CONNECTIONS" "keyway $p $SLOW_CONNECTIONS"
done
