//! Choosing the issuer by `iss` among the ones an API trusts, and reading
//! RFC 7662 introspection answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code")]

mod common;

use common::{claims, jwks, TestKey, NOW};
use jsonwebtoken::Algorithm;
use keyway_credentials::jwt::{interpret_introspection, Alg, InactiveReason, Issuer, IssuerConfig, TokenRefusal, TrustedIssuers};
use keyway_credentials::Code;
use serde_json::json;
use std::sync::Arc;

fn issuer(iss: &str, key: &TestKey) -> Arc<Issuer> {
    let mut config = IssuerConfig::new(iss, &[Alg::ES256]);
    config.jwks = Some(jwks(&[key]));
    Arc::new(Issuer::new(&config).expect("builds"))
}

#[test]
fn the_tokens_iss_picks_the_issuer_whose_keys_verify_it() {
    let (a, b) = (TestKey::ec(Algorithm::ES256, "a"), TestKey::ec(Algorithm::ES256, "b"));
    let trusted = TrustedIssuers::new([issuer("https://a.test", &a), issuer("https://idp.test", &b)]);
    let v = trusted.verify(&b.sign(&claims()), NOW).expect("verifies with b's keys");
    assert_eq!(v.issuer, "https://idp.test");
    // a's key signing a token that claims b's iss: b's keys do not know kid "a".
    assert_eq!(trusted.verify(&a.sign(&claims()), NOW).unwrap_err(), TokenRefusal::KeyUnknown { kid: Some("a".into()) });
}

#[test]
fn an_iss_this_api_does_not_trust_is_untrusted_before_any_key_is_tried() {
    let key = TestKey::ec(Algorithm::ES256, "a");
    let trusted = TrustedIssuers::new([issuer("https://a.test", &key)]);
    let refused = trusted.verify(&key.sign(&claims()), NOW).unwrap_err();
    assert_eq!(refused, TokenRefusal::IssuerUntrusted { issuer: Some("https://idp.test".into()) });
    assert_eq!(refused.code(), Code::TokenIssuerUntrusted);
    let mut no_iss = claims();
    no_iss.as_object_mut().map(|m| m.remove("iss"));
    assert_eq!(trusted.verify(&key.sign(&no_iss), NOW).unwrap_err(), TokenRefusal::IssuerUntrusted { issuer: None });
}

#[test]
fn an_active_introspection_answer_gives_subject_and_scopes() {
    let answer = json!({"active": true, "sub": "svc", "client_id": "app_1", "scope": "a b", "exp": NOW + 10});
    let got = interpret_introspection(&answer, NOW).expect("active");
    assert_eq!(got.subject.as_deref(), Some("svc"));
    assert_eq!(got.client_id.as_deref(), Some("app_1"));
    assert_eq!(got.scopes, vec!["a", "b"]);
}

#[test]
fn an_inactive_introspection_answer_is_token_inactive() {
    for (answer, why) in [
        (json!({"active": false}), InactiveReason::NotActive),
        (json!({"active": true, "exp": NOW - 1}), InactiveReason::NotActive),
        (json!({"active": "yes"}), InactiveReason::NoActiveMember),
        (json!({}), InactiveReason::NoActiveMember),
    ] {
        let refused = interpret_introspection(&answer, NOW).unwrap_err();
        assert_eq!(refused, TokenRefusal::Inactive(why), "{answer}");
        assert_eq!(refused.code(), Code::TokenInactive);
    }
}
