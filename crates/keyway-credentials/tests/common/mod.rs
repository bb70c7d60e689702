//! Test token minting: keys generated per test, tokens signed with
//! `jsonwebtoken`'s own signer, JWKS documents for the public halves.

#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING};
use serde_json::{json, Value};

/// A signing key and its public JWK.
pub struct TestKey {
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Value,
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl TestKey {
    /// An HMAC key for `alg` (HS*), `kid`.
    pub fn hmac(alg: Algorithm, kid: &str, secret: &[u8]) -> TestKey {
        TestKey { alg, encoding: EncodingKey::from_secret(secret), jwk: json!({"kty": "oct", "kid": kid, "k": b64(secret)}) }
    }

    /// A fresh P-256 (ES256) or P-384 (ES384) key.
    pub fn ec(alg: Algorithm, kid: &str) -> TestKey {
        let (ring_alg, crv, half) = match alg {
            Algorithm::ES256 => (&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256", 32),
            _ => (&ECDSA_P384_SHA384_FIXED_SIGNING, "P-384", 48),
        };
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(ring_alg, &rng).expect("key generated");
        let pair = EcdsaKeyPair::from_pkcs8(ring_alg, pkcs8.as_ref(), &rng).expect("key parsed");
        let public = pair.public_key().as_ref();
        let (x, y) = public[1..].split_at(half);
        TestKey {
            alg,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({"kty": "EC", "crv": crv, "kid": kid, "x": b64(x), "y": b64(y)}),
        }
    }

    /// A fresh Ed25519 (EdDSA) key.
    pub fn ed25519(kid: &str) -> TestKey {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("key generated");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key parsed");
        TestKey {
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(pair.public_key().as_ref())}),
        }
    }

    /// The key's `kid`.
    pub fn kid(&self) -> &str {
        self.jwk["kid"].as_str().unwrap_or_default()
    }

    /// A token with this key's alg and kid over `claims`.
    pub fn sign(&self, claims: &Value) -> String {
        let alg = format!("{:?}", self.alg);
        self.sign_with_header(&json!({"alg": alg, "kid": self.kid(), "typ": "JWT"}), claims)
    }

    /// A token with `header` over `claims`, signed with this key.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &self.encoding, self.alg).expect("signed");
        format!("{input}.{sig}")
    }
}

/// A JWKS of `keys`' public halves.
pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
}

/// Server time of the tests.
pub const NOW: u64 = 1_800_000_000;

/// Claims valid at [`NOW`] from issuer `https://idp.test`.
pub fn claims() -> Value {
    json!({"iss": "https://idp.test", "sub": "svc-billing", "aud": "orders", "exp": NOW + 600, "iat": NOW - 5, "scope": "orders:read orders:write"})
}
