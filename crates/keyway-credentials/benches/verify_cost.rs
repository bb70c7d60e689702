//! What verifying each kind of credential costs a request, against an
//! API key: run by `bench/credentials.sh` (which makes the RSA key), or
//! `cargo bench -p keyway-credentials --bench verify_cost` (RS256 is then
//! skipped). Prints the median over rounds of the time per verification.
//!
//! - `api_key`: what the gateway does with a presented key: parse its
//!   text (prefix, checksum), its keyed digest (HMAC-SHA256 under the
//!   server secret), a hash-map lookup, a constant-time compare.
//! - `jwt HS256|RS256|ES256|EdDSA`: a token's first request
//!   (`Issuer::verify_fresh`: parse, key by kid, signature, claims), and
//!   its later ones (`Issuer::verify`, answered from the issuer's memo of
//!   verified tokens).
//! - `hmac signature`: `SignatureVerifier::check_without_nonce` of an RFC
//!   9421 signature over method, authority, path, query and a sha-256
//!   `Content-Digest` of a 1 KiB body (base, HMAC, digest of the body),
//!   then the nonce store's insert, measured apart.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a bench fails loudly")]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/signing/mod.rs"]
mod signing;

use common::{b64, claims, TestKey, NOW};
use jsonwebtoken::{Algorithm, EncodingKey};
use keyway_credentials::http_signature::{MemoryNonceStore, NonceStore, SignatureVerifier};
use keyway_credentials::jwt::{Alg, Issuer, IssuerConfig};
use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

const ROUNDS: usize = 7;

/// Median over [`ROUNDS`] of the time one call of `f` takes, each round
/// `iters` calls.
fn per_call(iters: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..iters / 10 {
        f();
    }
    let mut rounds: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed() / iters
        })
        .collect();
    rounds.sort();
    rounds[ROUNDS / 2]
}

fn issuer(key: &TestKey, alg: Alg) -> Issuer {
    let mut config = IssuerConfig::new("https://idp.test", &[alg]);
    config.jwks = Some(common::jwks(&[key]));
    config.audiences = vec!["orders".into()];
    Issuer::new(&config).unwrap()
}

/// The RSA key `bench/credentials.sh` made (PKCS#1 DER path and modulus in hex).
fn rsa_key() -> Option<TestKey> {
    let der = std::fs::read(std::env::var_os("KEYWAY_BENCH_RSA_DER")?).ok()?;
    let hex = std::env::var("KEYWAY_BENCH_RSA_N_HEX").ok()?;
    let n: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    Some(TestKey {
        alg: Algorithm::RS256,
        encoding: EncodingKey::from_rsa_der(&der),
        jwk: serde_json::json!({"kty": "RSA", "kid": "rsa-1", "n": b64(&n), "e": "AQAB"}),
    })
}

fn main() {
    let mut results: Vec<(String, Duration)> = Vec::new();

    // The API key path.
    let hasher = keyway_core::key_format::KeyHasher::new(b"bench-server-secret-of-32-bytes!");
    let keys: Vec<String> = (0..1000).map(|_| keyway_core::key_format::generate(keyway_core::key_format::KeyEnv::Live)).collect();
    let table: HashMap<keyway_core::key_format::KeyDigest, usize> =
        keys.iter().enumerate().map(|(i, k)| (hasher.digest(k), i)).collect();
    let presented = keys[500].clone();
    results.push((
        "api_key".into(),
        per_call(200_000, || {
            let parsed = keyway_core::key_format::parse(black_box(&presented)).unwrap();
            let digest = hasher.digest(parsed.text);
            let found = table.get_key_value(&digest).unwrap();
            black_box(keyway_core::key_format::digests_equal(found.0, &digest));
        }),
    ));

    // Tokens.
    let mut kinds = vec![
        (TestKey::hmac(Algorithm::HS256, "hs-1", b"a-shared-secret-of-thirty-two-by"), Alg::HS256, 100_000),
        (TestKey::ec(Algorithm::ES256, "es-1"), Alg::ES256, 10_000),
        (TestKey::ed25519("ed-1"), Alg::EdDSA, 10_000),
    ];
    match rsa_key() {
        Some(k) => kinds.insert(1, (k, Alg::RS256, 10_000)),
        None => eprintln!("RS256 skipped: run bench/credentials.sh, which makes the RSA key"),
    }
    for (key, alg, iters) in &kinds {
        let issuer = issuer(key, *alg);
        let token = key.sign(&claims());
        issuer.verify(&token, NOW).expect("the bench's token verifies");
        results.push((
            format!("jwt {alg:?}, first request"),
            per_call(*iters, || drop(black_box(issuer.verify_fresh(black_box(&token), NOW)))),
        ));
        results.push((
            format!("jwt {alg:?}, seen before"),
            per_call(100_000, || drop(black_box(issuer.verify(black_box(&token), NOW)))),
        ));
    }

    // An RFC 9421 signature.
    let body = vec![b'x'; 1024];
    let mut req = signing::Req::new("POST", "/orders/v1/items?limit=10").with_body(&body);
    let members = signing::members(r#" "@query" "content-digest""#, NOW, "n-1");
    req.sign(&signing::key(), "sig1", &members);
    let keys: HashMap<String, keyway_credentials::http_signature::HmacKey> = HashMap::from([("hk_1".to_owned(), signing::key())]);
    let verifier = SignatureVerifier::new(300);
    verifier.check_without_nonce(&req.view(), &keys, NOW).expect("the bench's signature verifies");
    results.push((
        "hmac signature (1 KiB body)".into(),
        per_call(50_000, || drop(black_box(verifier.check_without_nonce(&req.view(), &keys, NOW)))),
    ));
    let nonces = MemoryNonceStore::new(100_000);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut n = 0u64;
    results.push((
        "  + nonce store insert".into(),
        per_call(50_000, || {
            n += 1;
            let nonce = format!("nonce-{n}");
            drop(black_box(runtime.block_on(nonces.insert_if_new("hk_1", &nonce, NOW, NOW + 300))));
        }),
    ));

    let base = results[0].1.as_secs_f64();
    println!("{:<34} {:>12} {:>10}", "credential", "per request", "x api_key");
    for (name, d) in &results {
        println!("{name:<34} {:>9.2} us {:>9.1}x", d.as_secs_f64() * 1e6, d.as_secs_f64() / base);
    }
}
