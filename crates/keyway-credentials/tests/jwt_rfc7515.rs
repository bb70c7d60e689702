//! The JWS examples of RFC 7515 Appendix A, with the RFC's exact keys and
//! tokens, verified at a fixed clock (their `exp` is 1300819380).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code")]

use keyway_credentials::jwt::{Alg, AlgorithmRejected, Issuer, IssuerConfig, TokenRefusal};
use keyway_credentials::Code;
use serde_json::json;

/// One second before the examples' `exp`.
const BEFORE_EXP: u64 = 1_300_819_379;

/// A.1: HS256.
const A1: &str = concat!(
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.",
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
);
const A1_K: &str = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

/// A.2: RS256.
const A2: &str = concat!(
    "eyJhbGciOiJSUzI1NiJ9.",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.",
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7",
    "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4",
    "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K",
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv",
    "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB",
    "p0igcN_IoypGlUPQGe77Rw"
);
const A2_N: &str = concat!(
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qP",
    "CJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7",
    "OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uD",
    "Zlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcD",
    "TW9gb54h4FRWyuXpoQ"
);

/// A.3: ES256.
const A3: &str = concat!(
    "eyJhbGciOiJFUzI1NiJ9.",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.",
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
);
const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

/// A.4: ES512 over the payload "Payload".
const A4: &str = concat!(
    "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.",
    "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZq",
    "wqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8Kp",
    "EHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn"
);
const A4_X: &str = "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk";
const A4_Y: &str = "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2";

/// A.5: unsecured (`alg: none`).
const A5: &str = concat!(
    "eyJhbGciOiJub25lIn0.",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
);

fn issuer(algs: &[Alg], key: serde_json::Value) -> Issuer {
    let mut config = IssuerConfig::new("joe", algs);
    config.jwks = Some(json!({ "keys": [key] }));
    Issuer::new(&config).expect("the RFC's key loads")
}

fn hs256() -> Issuer {
    issuer(&[Alg::HS256], json!({"kty": "oct", "k": A1_K}))
}

fn rs256() -> Issuer {
    issuer(&[Alg::RS256], json!({"kty": "RSA", "n": A2_N, "e": "AQAB"}))
}

fn es256() -> Issuer {
    issuer(&[Alg::ES256], json!({"kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y}))
}

fn assert_rfc_claims(token: &str, issuer: &Issuer, alg: Alg) {
    let v = issuer.verify(token, BEFORE_EXP).expect("the RFC's token verifies");
    assert_eq!(v.issuer, "joe");
    assert_eq!(v.exp, Some(1_300_819_380));
    assert_eq!(v.alg, alg);
    assert_eq!(v.claims["http://example.com/is_root"], json!(true));
    assert_eq!(v.subject, None, "the examples carry no sub");
}

#[test]
fn a1_hs256_verifies() {
    assert_rfc_claims(A1, &hs256(), Alg::HS256);
}

#[test]
fn a2_rs256_verifies() {
    assert_rfc_claims(A2, &rs256(), Alg::RS256);
}

#[test]
fn a3_es256_verifies() {
    assert_rfc_claims(A3, &es256(), Alg::ES256);
}

#[test]
fn the_examples_expire_at_their_exp_plus_leeway() {
    // exp 1300819380, default leeway 60: valid through 1300819440.
    assert!(hs256().verify(A1, 1_300_819_440).is_ok());
    let refused = rs256().verify(A2, 1_300_819_441).unwrap_err();
    assert_eq!(refused, TokenRefusal::Expired { exp: 1_300_819_380, now: 1_300_819_441, leeway: 60 });
    assert_eq!(refused.code(), Code::TokenExpired);
}

#[test]
fn one_flipped_signature_byte_fails_each_example() {
    for (token, issuer) in [(A1, hs256()), (A2, rs256()), (A3, es256())] {
        let mut bytes = token.as_bytes().to_vec();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).expect("ascii");
        assert_eq!(issuer.verify(&tampered, BEFORE_EXP).unwrap_err(), TokenRefusal::SignatureInvalid);
    }
}

#[test]
fn a_changed_payload_fails_the_signature_not_the_claims() {
    // The A.1 header and signature over a payload whose exp is in the far
    // future: the signature fails, and nothing about exp is said.
    let forged_payload = "eyJpc3MiOiJqb2UiLCJleHAiOjQxMDI0NDQ4MDB9";
    let sig = A1.rsplit('.').next().expect("three parts");
    let forged = format!("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.{forged_payload}.{sig}");
    assert_eq!(hs256().verify(&forged, BEFORE_EXP).unwrap_err(), TokenRefusal::SignatureInvalid);
}

#[test]
fn a4_es512_is_recognised_and_refused_as_unsupported() {
    // The ring backend of jsonwebtoken has no P-521: the A.4 key is
    // skipped (not an error for the set) and the token refused by its alg.
    let mut config = IssuerConfig::new("joe", &[Alg::ES256]);
    config.jwks = Some(json!({"keys": [
        {"kty": "EC", "crv": "P-521", "x": A4_X, "y": A4_Y},
        {"kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y}
    ]}));
    let issuer = Issuer::new(&config).expect("the usable key loads");
    assert_eq!(issuer.keys().keys().len(), 1);
    assert_eq!(issuer.keys().skipped().len(), 1);
    let refused = issuer.verify(A4, BEFORE_EXP).unwrap_err();
    assert_eq!(refused, TokenRefusal::AlgorithmRejected(AlgorithmRejected::Unsupported("ES512".into())));
    assert_eq!(refused.code(), Code::TokenAlgorithmRejected);
    // ES512 cannot be configured either.
    let mut config = IssuerConfig::new("joe", &[]);
    config.algorithms = vec!["ES512".into()];
    config.jwks = Some(json!({"keys": [{"kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y}]}));
    assert!(Issuer::new(&config).is_err());
}

#[test]
fn a5_unsecured_is_refused_whatever_the_issuer_allows() {
    for issuer in [hs256(), rs256(), es256()] {
        let refused = issuer.verify(A5, BEFORE_EXP).unwrap_err();
        assert_eq!(refused, TokenRefusal::AlgorithmRejected(AlgorithmRejected::None));
        assert_eq!(refused.code(), Code::TokenAlgorithmRejected);
    }
}
