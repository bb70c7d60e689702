//! One test per token refusal, plus the order of checks the disclosure
//! rule asks for: nothing about the claims before the signature verified.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code")]

mod common;

use common::{claims, jwks, TestKey, NOW};
use jsonwebtoken::Algorithm;
use keyway_credentials::jwt::{
    Alg, AlgorithmRejected, Issuer, IssuerConfig, KeyType, Part, TimeClaim, TokenMalformed, TokenRefusal,
};
use keyway_credentials::Code;
use serde_json::{json, Value};

fn issuer_with(keys: &[&TestKey], algs: &[Alg], edit: impl FnOnce(&mut IssuerConfig)) -> Issuer {
    let mut config = IssuerConfig::new("https://idp.test", algs);
    config.jwks = Some(jwks(keys));
    config.audiences = vec!["orders".into()];
    edit(&mut config);
    Issuer::new(&config).expect("issuer builds")
}

fn es256_issuer() -> (TestKey, Issuer) {
    let key = TestKey::ec(Algorithm::ES256, "k1");
    let issuer = issuer_with(&[&key], &[Alg::ES256], |_| {});
    (key, issuer)
}

fn with(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut c = claims();
    if let Value::Object(m) = &mut c {
        edit(m);
    }
    c
}

#[test]
fn es256_es384_eddsa_and_hs512_tokens_verify_with_subject_and_scopes() {
    let keys = [
        TestKey::ec(Algorithm::ES256, "p256"),
        TestKey::ec(Algorithm::ES384, "p384"),
        TestKey::ed25519("ed"),
        TestKey::hmac(Algorithm::HS512, "hs", &[7u8; 64]),
    ];
    let refs: Vec<&TestKey> = keys.iter().collect();
    let issuer = issuer_with(&refs, &[Alg::ES256, Alg::ES384, Alg::EdDSA, Alg::HS512], |_| {});
    for key in &keys {
        let v = issuer.verify(&key.sign(&claims()), NOW).expect("verifies");
        assert_eq!(v.subject.as_deref(), Some("svc-billing"));
        assert_eq!(v.scopes, vec!["orders:read", "orders:write"]);
        assert_eq!(v.kid.as_deref(), Some(key.kid()));
        assert_eq!(v.audiences, vec!["orders"]);
    }
}

#[test]
fn scopes_come_from_scp_arrays_or_strings_and_from_a_configured_claim() {
    let (key, issuer) = es256_issuer();
    let scp_array = with(|m| {
        m.remove("scope");
        m.insert("scp".into(), json!(["a", "b"]));
    });
    assert_eq!(issuer.verify(&key.sign(&scp_array), NOW).expect("ok").scopes, vec!["a", "b"]);
    let scp_string = with(|m| {
        m.remove("scope");
        m.insert("scp".into(), json!("c d"));
    });
    assert_eq!(issuer.verify(&key.sign(&scp_string), NOW).expect("ok").scopes, vec!["c", "d"]);
    let custom = issuer_with(&[&key], &[Alg::ES256], |c| c.scopes_claim = "permissions".into());
    let perms = with(|m| {
        m.insert("permissions".into(), json!(["x"]));
    });
    assert_eq!(custom.verify(&key.sign(&perms), NOW).expect("ok").scopes, vec!["x"]);
}

#[test]
fn malformed_tokens_are_credential_malformed_with_the_reason() {
    let (key, issuer) = es256_issuer();
    let good = key.sign(&claims());
    let cases: Vec<(String, TokenMalformed)> = vec![
        ("abc.def".into(), TokenMalformed::NotThreeSegments),
        (format!("{good}.x"), TokenMalformed::NotThreeSegments),
        ("!!.e30.AA".into(), TokenMalformed::Base64(Part::Header)),
        (format!("{}.e30.AA", common::b64(b"[1]")), TokenMalformed::Json(Part::Header)),
        (format!("{}.e30.AA", common::b64(b"{\"typ\":\"JWT\"}")), TokenMalformed::NoAlg),
        (
            format!("{}.e30.AA", common::b64(b"{\"alg\":\"ES256\",\"crit\":[\"b64\"]}")),
            TokenMalformed::CriticalExtension("b64".into()),
        ),
        (format!("{}.bm90IGpzb24.AA", common::b64(b"{\"alg\":\"ES256\"}")), TokenMalformed::Json(Part::Payload)),
        ("x".repeat(20_000), TokenMalformed::TooLong { limit: 16 * 1024 }),
    ];
    for (token, why) in cases {
        let refused = issuer.verify(&token, NOW).unwrap_err();
        assert_eq!(refused, TokenRefusal::Malformed(why), "{token:.60}");
        assert_eq!(refused.code(), Code::CredentialMalformed);
    }
}

#[test]
fn an_algorithm_outside_the_issuers_list_is_rejected() {
    let key = TestKey::hmac(Algorithm::HS384, "k1", b"0123456789abcdef0123456789abcdef0123456789abcdef");
    let issuer = issuer_with(&[&key], &[Alg::HS256], |_| {});
    let refused = issuer.verify(&key.sign(&claims()), NOW).unwrap_err();
    assert_eq!(refused, TokenRefusal::AlgorithmRejected(AlgorithmRejected::NotAllowed(Alg::HS384)));
    assert_eq!(refused.code(), Code::TokenAlgorithmRejected);
}

#[test]
fn an_hs256_token_keyed_with_the_issuers_public_key_is_algorithm_confusion() {
    // The classic attack: HMAC over the token with the public key's bytes
    // as the secret, against an issuer that also allows HS256.
    let ec = TestKey::ec(Algorithm::ES256, "k1");
    let issuer = issuer_with(&[&ec], &[Alg::ES256, Alg::HS256], |_| {});
    let public_as_secret = ec.jwk.to_string().into_bytes();
    let forger = TestKey::hmac(Algorithm::HS256, "k1", &public_as_secret);
    let want = TokenRefusal::AlgorithmRejected(AlgorithmRejected::KeyMismatch { alg: Alg::HS256, key: KeyType::EcP256 });
    assert_eq!(issuer.verify(&forger.sign(&claims()), NOW).unwrap_err(), want);
    // Without a kid, no key of the right type exists either.
    let no_kid = forger.sign_with_header(&json!({"alg": "HS256"}), &claims());
    assert_eq!(issuer.verify(&no_kid, NOW).unwrap_err(), want);
}

#[test]
fn a_key_whose_own_alg_differs_is_not_used() {
    let mut key = TestKey::hmac(Algorithm::HS256, "k1", &[1u8; 32]);
    key.jwk["alg"] = json!("HS512");
    let issuer = issuer_with(&[&key], &[Alg::HS256, Alg::HS512], |_| {});
    let refused = issuer.verify(&key.sign(&claims()), NOW).unwrap_err();
    assert_eq!(refused, TokenRefusal::AlgorithmRejected(AlgorithmRejected::KeyMismatch { alg: Alg::HS256, key: KeyType::Hmac }));
}

#[test]
fn an_unknown_kid_is_its_own_outcome() {
    let (_, issuer) = es256_issuer();
    let stranger = TestKey::ec(Algorithm::ES256, "rotated-in");
    let refused = issuer.verify(&stranger.sign(&claims()), NOW).unwrap_err();
    assert_eq!(refused, TokenRefusal::KeyUnknown { kid: Some("rotated-in".into()) });
    assert_eq!(refused.code(), Code::TokenKeyUnknown);
}

#[test]
fn a_wrong_key_with_the_right_kid_is_signature_invalid() {
    let (_, issuer) = es256_issuer();
    let impostor = TestKey::ec(Algorithm::ES256, "k1");
    let refused = issuer.verify(&impostor.sign(&claims()), NOW).unwrap_err();
    assert_eq!(refused, TokenRefusal::SignatureInvalid);
    assert_eq!(refused.code(), Code::TokenSignatureInvalid);
}

#[test]
fn nothing_about_the_claims_is_said_before_the_signature_verifies() {
    let (_, issuer) = es256_issuer();
    let impostor = TestKey::ec(Algorithm::ES256, "k1");
    let everything_wrong = json!({"iss": "https://other.test", "aud": "nope", "exp": 1, "nbf": NOW + 9999});
    assert_eq!(issuer.verify(&impostor.sign(&everything_wrong), NOW).unwrap_err(), TokenRefusal::SignatureInvalid);
}

#[test]
fn a_verified_token_from_another_iss_is_untrusted() {
    let (key, issuer) = es256_issuer();
    let other = with(|m| {
        m.insert("iss".into(), json!("https://other.test"));
    });
    let refused = issuer.verify(&key.sign(&other), NOW).unwrap_err();
    assert_eq!(refused, TokenRefusal::IssuerUntrusted { issuer: Some("https://other.test".into()) });
    assert_eq!(refused.code(), Code::TokenIssuerUntrusted);
}

#[test]
fn an_audience_not_accepted_is_a_mismatch_with_both_lists() {
    let (key, issuer) = es256_issuer();
    let billing = with(|m| {
        m.insert("aud".into(), json!(["billing", "ledger"]));
    });
    let refused = issuer.verify(&key.sign(&billing), NOW).unwrap_err();
    assert_eq!(
        refused,
        TokenRefusal::AudienceMismatch { presented: vec!["billing".into(), "ledger".into()], accepted: vec!["orders".into()] }
    );
    assert_eq!(refused.code(), Code::TokenAudienceMismatch);
    let none = with(|m| {
        m.remove("aud");
    });
    assert!(matches!(issuer.verify(&key.sign(&none), NOW), Err(TokenRefusal::AudienceMismatch { .. })));
    let any = issuer_with(&[&key], &[Alg::ES256], |c| c.audiences.clear());
    assert!(any.verify(&key.sign(&none), NOW).is_ok(), "no audiences configured accepts any");
}

#[test]
fn expiry_gives_exp_server_time_and_leeway() {
    let (key, issuer) = es256_issuer();
    let expired = with(|m| {
        m.insert("exp".into(), json!(NOW - 61));
    });
    let refused = issuer.verify(&key.sign(&expired), NOW).unwrap_err();
    assert_eq!(refused, TokenRefusal::Expired { exp: NOW - 61, now: NOW, leeway: 60 });
    assert_eq!(refused.code(), Code::TokenExpired);
    let within = with(|m| {
        m.insert("exp".into(), json!(NOW - 60));
    });
    assert!(issuer.verify(&key.sign(&within), NOW).is_ok(), "inside the leeway");
    let strict = issuer_with(&[&key], &[Alg::ES256], |c| c.leeway_seconds = 0);
    assert_eq!(strict.verify(&key.sign(&within), NOW).unwrap_err(), TokenRefusal::Expired { exp: NOW - 60, now: NOW, leeway: 0 });
}

#[test]
fn a_token_without_exp_is_refused_unless_the_issuer_allows_it() {
    let (key, issuer) = es256_issuer();
    let forever = with(|m| {
        m.remove("exp");
    });
    assert_eq!(
        issuer.verify(&key.sign(&forever), NOW).unwrap_err(),
        TokenRefusal::Malformed(TokenMalformed::MissingClaim { claim: "exp" })
    );
    let lax = issuer_with(&[&key], &[Alg::ES256], |c| c.require_exp = false);
    assert_eq!(lax.verify(&key.sign(&forever), NOW).expect("allowed").exp, None);
}

#[test]
fn nbf_or_iat_in_the_future_gives_the_measured_skew() {
    let (key, issuer) = es256_issuer();
    let nbf = with(|m| {
        m.insert("nbf".into(), json!(NOW + 90));
    });
    let refused = issuer.verify(&key.sign(&nbf), NOW).unwrap_err();
    assert_eq!(refused, TokenRefusal::NotYetValid { claim: TimeClaim::Nbf, at: NOW + 90, now: NOW, leeway: 60, skew: 90 });
    assert_eq!(refused.code(), Code::TokenNotYetValid);
    let iat = with(|m| {
        m.insert("iat".into(), json!(NOW + 61));
    });
    assert_eq!(
        issuer.verify(&key.sign(&iat), NOW).unwrap_err(),
        TokenRefusal::NotYetValid { claim: TimeClaim::Iat, at: NOW + 61, now: NOW, leeway: 60, skew: 61 }
    );
    let slight = with(|m| {
        m.insert("nbf".into(), json!(NOW + 60));
    });
    assert!(issuer.verify(&key.sign(&slight), NOW).is_ok(), "inside the leeway");
}

#[test]
fn a_subject_that_maps_to_no_app_is_subject_unknown() {
    let (key, issuer) = es256_issuer();
    let verified = issuer.verify(&key.sign(&claims()), NOW).expect("verifies");
    let apps = [("svc-billing", "app_billing")];
    let lookup = |s: &str| apps.iter().find(|(sub, _)| *sub == s).map(|(_, app)| *app);
    assert_eq!(verified.resolve_subject(lookup), Ok("app_billing"));
    let stranger = issuer.verify(
        &key.sign(&with(|m| {
            m.insert("sub".into(), json!("svc-unknown"));
        })),
        NOW,
    );
    let refused = stranger.expect("verifies").resolve_subject(lookup).unwrap_err();
    assert_eq!(refused, TokenRefusal::SubjectUnknown { claim: "sub".into(), subject: Some("svc-unknown".into()) });
    assert_eq!(refused.code(), Code::TokenSubjectUnknown);
    let custom = issuer_with(&[&key], &[Alg::ES256], |c| c.subject_claim = "client_id".into());
    let refused = custom.verify(&key.sign(&claims()), NOW).expect("verifies").resolve_subject(lookup).unwrap_err();
    assert_eq!(refused, TokenRefusal::SubjectUnknown { claim: "client_id".into(), subject: None });
}

#[test]
fn claims_of_the_wrong_type_are_malformed() {
    let (key, issuer) = es256_issuer();
    for (name, value) in [("exp", json!("soon")), ("aud", json!(7)), ("sub", json!(42)), ("scope", json!({"a": 1}))] {
        let bad = with(|m| {
            m.insert(name.into(), value);
        });
        assert_eq!(
            issuer.verify(&key.sign(&bad), NOW).unwrap_err(),
            TokenRefusal::Malformed(TokenMalformed::ClaimType { claim: name.into() }),
            "{name}"
        );
    }
}

#[test]
fn debug_output_never_shows_an_hmac_secret() {
    let secret = b"do-not-print-this-secret-0123456789";
    let key = TestKey::hmac(Algorithm::HS256, "k1", secret);
    let mut config = IssuerConfig::new("https://idp.test", &[Alg::HS256]);
    config.jwks = Some(jwks(&[&key]));
    let issuer = Issuer::new(&config).expect("builds");
    let shown = format!("{config:?} {issuer:?} {:?}", issuer.keys());
    assert!(shown.contains("k1"), "{shown}");
    for needle in [String::from_utf8_lossy(secret).to_string(), common::b64(secret), format!("{:?}", &secret[..8])] {
        assert!(!shown.contains(&needle), "{shown}");
    }
}
