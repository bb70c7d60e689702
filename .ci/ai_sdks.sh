#!/usr/bin/env bash
# The AI gateway through the providers' official Python SDKs (`openai`,
# `anthropic`, pinned) against `keyway serve --demo`: see ai_sdks.py.
#
# - Installs the SDKs into a venv under the cargo target dir (once; PyPI
#   must be reachable the first time).
# - Builds the (debug) binary, starts the demo on free loopback ports,
#   reads a working key and the model from what the demo prints.
# - Runs the checks; stops the server whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."

OPENAI_VERSION=3.60.0
ANTHROPIC_VERSION=2.17.0
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
VENV="$TARGET_DIR/ai-sdks-venv"

if ! "$VENV/bin/python" -c "import openai, anthropic, sys; sys.exit(0 if (openai.__version__, anthropic.__version__) == ('$OPENAI_VERSION', '$ANTHROPIC_VERSION') else 1)" 2>/dev/null; then
    echo "-- installing openai $OPENAI_VERSION and anthropic $ANTHROPIC_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "openai==$OPENAI_VERSION" "anthropic==$ANTHROPIC_VERSION"
fi

# The debug binary exactly as `cargo test --workspace` built it (same
# features, so in CI this compiles nothing; a `cargo build -p keyway`
# resolves features apart and would build a second copy of the
# dependencies, which once filled the CI machine's disk).
echo "-- building keyway (as the tests build it)"
cargo test --workspace --locked --no-run
BIN="$TARGET_DIR/debug/keyway"

read -r GATEWAY_PORT ADMIN_PORT < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
PY
)
DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/keyway-ai-sdks.XXXXXX")"
OUT="$DATA_DIR/demo.out"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA_DIR"
}
trap cleanup EXIT

KEYWAY_LOG_LEVEL=debug "$BIN" serve --demo --data-dir "$DATA_DIR/store" \
    --listen "127.0.0.1:$GATEWAY_PORT" --admin-listen "127.0.0.1:$ADMIN_PORT" >"$OUT" 2>"$DATA_DIR/demo.err" &
SERVER_PID=$!
for _ in $(seq 1 300); do
    grep -q "Press Ctrl-C" "$OUT" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DATA_DIR/demo.err" >&2; echo "demo exited" >&2; exit 1; }
    sleep 0.1
done
# The demo prints its AI curl lines in order: the working key, then (after
# the streamed and Anthropic lines) the budget-limited and embed-only keys.
mapfile -t KEYS < <(grep -o "/ai/v1/chat/completions -H 'Authorization: Bearer [^']*'" "$OUT" | sed "s/.*Bearer //; s/'//")
KEY="${KEYS[0]:-}"; BUDGET_KEY="${KEYS[2]:-}"; EMBED_ONLY_KEY="${KEYS[3]:-}"
MODEL="$(grep -o '"model": "[^"]*"' "$OUT" | head -1 | sed 's/.*: "//; s/"//')"
TOKEN="$(grep -o 'KEYWAY_ADMIN_TOKEN=[^ ]*' "$OUT" | head -1 | cut -d= -f2)"
[[ -n "$KEY" && -n "$BUDGET_KEY" && -n "$EMBED_ONLY_KEY" && -n "$MODEL" && -n "$TOKEN" ]] \
    || { cat "$OUT" >&2; echo "could not read the demo's keys (${#KEYS[@]}), model ($MODEL) and admin token" >&2; exit 1; }

"$VENV/bin/python" .ci/ai_sdks.py "http://127.0.0.1:$GATEWAY_PORT" "$KEY" "$MODEL" "$BUDGET_KEY" "$EMBED_ONLY_KEY"

# The provider's key (the demo model's, `sk-demo-...`) is nowhere a
# caller or an operator can read it: not in the call log, the audit log,
# an admin read, the metrics, the server's own log lines (debug level), or
# any byte of the store on disk (it is kept only sealed).
ADMIN="http://127.0.0.1:$ADMIN_PORT"
for path in /admin/v1/logs?limit=1000 /admin/v1/audit?limit=1000 /metrics /admin/v1/tenants; do
    curl -fs "$ADMIN$path" -H "authorization: Bearer $TOKEN" >>"$DATA_DIR/reads.txt"
done
for t in $(curl -fs "$ADMIN/admin/v1/tenants" -H "authorization: Bearer $TOKEN" | python3 -c 'import json,sys; print(" ".join(t["id"] for t in json.load(sys.stdin)["data"]))'); do
    curl -fs "$ADMIN/admin/v1/tenants/$t/providers" -H "authorization: Bearer $TOKEN" >>"$DATA_DIR/reads.txt"
done
grep -q '"last4"' "$DATA_DIR/reads.txt" || { echo "FAIL the provider reads were not fetched" >&2; exit 1; }
grep -q '"model":"demo-chat"' "$DATA_DIR/reads.txt" || { echo "FAIL the call-log rows were not fetched" >&2; exit 1; }
if grep -a -r -l "sk-demo-" "$DATA_DIR/reads.txt" "$OUT" "$DATA_DIR/demo.err" "$DATA_DIR/store"; then
    echo "FAIL the provider's key is readable in the files above" >&2
    exit 1
fi
echo "ok   the provider's key is in no log line, call-log row, audit entry, admin read, metric or stored byte"
