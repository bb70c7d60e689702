#!/usr/bin/env bash
# What verifying each kind of credential costs per request, against an
# API key: JWTs (HS256, RS256 with a 2048-bit key, ES256, EdDSA) and an
# RFC 9421 HMAC signature, in process, single-threaded
# (crates/keyway-credentials/benches/verify_cost.rs). Makes the RSA key
# with openssl (ring, which signs the others, cannot make RSA keys).
#
# Usage: bash bench/credentials.sh
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v openssl >/dev/null || { echo "needs openssl (apt-get install openssl)" >&2; exit 1; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/rsa.pem" 2>/dev/null
openssl rsa -in "$dir/rsa.pem" -traditional -outform DER -out "$dir/rsa.der" 2>/dev/null
modulus=$(openssl rsa -in "$dir/rsa.pem" -noout -modulus | cut -d= -f2)
cd "$BENCH_DIR/.."
KEYWAY_BENCH_RSA_DER="$dir/rsa.der" KEYWAY_BENCH_RSA_N_HEX="$modulus" cargo bench -q -p keyway-credentials --bench verify_cost
