//! One test per signature refusal and the order of checks: nothing about
//! the window, the body or the nonce before the HMAC verified.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code")]

mod signing;

use keyway_credentials::http_signature::{
    HmacKey, InvalidCause, MemoryNonceStore, Missing, SignatureMalformed, SignatureRefusal, SignatureVerifier, Skew,
    TimeParameter, VerifyError,
};
use keyway_credentials::Code;
use signing::{key, members, Req, NOW};
use std::collections::HashMap;

fn keys() -> HashMap<String, HmacKey> {
    [("hk_1".to_owned(), key())].into()
}

fn check(req: &Req) -> Result<keyway_credentials::http_signature::Verified, SignatureRefusal> {
    SignatureVerifier::default().check_without_nonce(&req.view(), &keys(), NOW)
}

fn signed_get() -> Req {
    let mut req = Req::new("GET", "/orders/7");
    req.sign(&key(), "sig1", &members("", NOW, "n-1"));
    req
}

fn signed_post() -> Req {
    let mut req = Req::new("POST", "/orders?dry_run=1").with_body(br#"{"item": 7}"#);
    req.sign(&key(), "sig1", &members(r#" "@query" "content-digest""#, NOW, "n-2"));
    req
}

#[test]
fn a_complete_signature_verifies() {
    let v = check(&signed_get()).unwrap();
    assert_eq!((v.key_id.as_str(), v.label.as_str(), v.created, v.nonce.as_str()), ("hk_1", "sig1", NOW, "n-1"));
    assert_eq!(v.covered, vec!["@method", "@authority", "@path"]);
    assert!(check(&signed_post()).is_ok());
}

#[test]
fn every_derived_component_and_a_header_verify() {
    let mut req = Req::new("GET", "/a%20b?x=1&y=2");
    req.authority = "API.Example.Test:443".into();
    req.set("x-request-tag", "  spaced  ");
    req.headers.append("x-request-tag", "second".parse().unwrap());
    let all = r#" "@query" "@target-uri" "@scheme" "@request-target" "x-request-tag""#;
    req.sign(&key(), "sig1", &members(all, NOW, "n-3"));
    assert!(check(&req).is_ok());
    // The values RFC 9421 2.1-2.2 derive, read back from the base a
    // verifier holding another key reports.
    let other: HashMap<String, HmacKey> = [("hk_1".to_owned(), HmacKey::from_bytes(b"other"))].into();
    let SignatureRefusal::Invalid(invalid) =
        SignatureVerifier::default().check_without_nonce(&req.view(), &other, NOW).unwrap_err()
    else {
        panic!("not invalid")
    };
    let lines: Vec<&str> = invalid.signature_base.lines().collect();
    assert_eq!(
        lines[..8],
        [
            "\"@method\": GET",
            "\"@authority\": api.example.test",
            "\"@path\": /a%20b",
            "\"@query\": ?x=1&y=2",
            "\"@target-uri\": https://api.example.test/a%20b?x=1&y=2",
            "\"@scheme\": https",
            "\"@request-target\": /a%20b?x=1&y=2",
            "\"x-request-tag\": spaced, second",
        ]
    );
}

#[test]
fn a_request_without_a_query_covers_an_empty_query_as_a_lone_question_mark() {
    let mut req = Req::new("GET", "");
    req.sign(&key(), "sig1", &members(r#" "@query""#, NOW, "n"));
    let other: HashMap<String, HmacKey> = [("hk_1".to_owned(), HmacKey::from_bytes(b"other"))].into();
    let SignatureRefusal::Invalid(invalid) =
        SignatureVerifier::default().check_without_nonce(&req.view(), &other, NOW).unwrap_err()
    else {
        panic!("not invalid")
    };
    assert!(invalid.signature_base.contains("\"@path\": /\n\"@query\": ?\n"), "{}", invalid.signature_base);
}

#[test]
fn missing_signature_headers_are_signature_headers_missing() {
    let mut req = signed_get();
    req.headers.remove("signature");
    let refused = check(&req).unwrap_err();
    assert_eq!(refused, SignatureRefusal::HeadersMissing(Missing::Header("Signature")));
    assert_eq!(refused.code(), Code::SignatureHeadersMissing);
    let mut req = signed_get();
    req.headers.remove("signature-input");
    assert_eq!(check(&req).unwrap_err(), SignatureRefusal::HeadersMissing(Missing::Header("Signature-Input")));
    let mut req = signed_get();
    req.set("signature", "other=:AAAA:");
    assert_eq!(check(&req).unwrap_err(), SignatureRefusal::HeadersMissing(Missing::Label("sig1".into())));
}

#[test]
fn each_required_parameter_is_required() {
    for (drop, name) in [(";created=1800000000", "created"), (r#";nonce="n""#, "nonce"), (r#";keyid="hk_1""#, "keyid")] {
        let full = r#"("@method" "@authority" "@path");created=1800000000;nonce="n";keyid="hk_1""#;
        let mut req = Req::new("GET", "/x");
        req.sign(&key(), "sig1", &full.replace(drop, ""));
        assert_eq!(check(&req).unwrap_err(), SignatureRefusal::HeadersMissing(Missing::Parameter(name)), "{name}");
    }
}

#[test]
fn each_required_component_is_required() {
    let cases = [
        (Req::new("GET", "/x"), r#"("@authority" "@path")"#, "@method"),
        (Req::new("GET", "/x"), r#"("@method" "@path")"#, "@authority"),
        (Req::new("GET", "/x"), r#"("@method" "@authority")"#, "@path"),
        (Req::new("GET", "/x?q=1"), r#"("@method" "@authority" "@path")"#, "@query"),
        (Req::new("PUT", "/x").with_body(b"{}"), r#"("@method" "@authority" "@path")"#, "content-digest"),
    ];
    for (mut req, list, missing) in cases {
        req.sign(&key(), "sig1", &format!(r#"{list};created={NOW};nonce="n";keyid="hk_1""#));
        let refused = check(&req).unwrap_err();
        assert_eq!(refused, SignatureRefusal::HeadersMissing(Missing::Component(missing)), "{missing}");
        assert_eq!(refused.code(), Code::SignatureHeadersMissing);
    }
}

#[test]
fn a_covered_header_absent_from_the_request_is_missing() {
    let mut req = Req::new("GET", "/x");
    req.set("date", "Tue, 20 Apr 2021 02:07:55 GMT");
    req.sign(&key(), "sig1", &members(r#" "date""#, NOW, "n"));
    req.headers.remove("date");
    assert_eq!(check(&req).unwrap_err(), SignatureRefusal::HeadersMissing(Missing::Field("date".into())));
}

#[test]
fn unreadable_signature_headers_are_malformed() {
    let cases: [(&str, &str, SignatureMalformed); 6] = [
        ("signature-input", "sig1=(\"@method\"", SignatureMalformed::SignatureInput(String::new())),
        ("signature", "sig1=notbytes", SignatureMalformed::Signature("sig1 is not a byte sequence".into())),
        (
            "signature-input",
            r#"sig1=("@status");created=1800000000;nonce="n";keyid="hk_1""#,
            SignatureMalformed::UnsupportedComponent("\"@status\"".into()),
        ),
        (
            "signature-input",
            r#"sig1=("@method" "@method");created=1800000000;nonce="n";keyid="hk_1""#,
            SignatureMalformed::DuplicateComponent("@method".into()),
        ),
        (
            "signature-input",
            r#"sig1=("@method" "@authority" "@path");created="now";nonce="n";keyid="hk_1""#,
            SignatureMalformed::ParameterType("created"),
        ),
        (
            "signature-input",
            r#"sig1=("@method" "@authority" "@path");created=1800000000;nonce="n";keyid="hk_1";alg="rsa-pss-sha512""#,
            SignatureMalformed::Algorithm("rsa-pss-sha512".into()),
        ),
    ];
    for (header, value, want) in cases {
        let mut req = signed_get();
        req.set(header, value);
        let refused = check(&req).unwrap_err();
        assert_eq!(refused.code(), Code::CredentialMalformed, "{value}");
        match (&refused, &want) {
            (SignatureRefusal::Malformed(SignatureMalformed::SignatureInput(_)), SignatureMalformed::SignatureInput(_)) => {}
            (SignatureRefusal::Malformed(got), want) => assert_eq!(got, want, "{value}"),
            _ => panic!("{value}: {refused:?}"),
        }
    }
}

#[test]
fn a_wrong_hmac_is_signature_invalid_with_the_base_the_gateway_signed() {
    let mut req = signed_get();
    req.path = "/orders/8".into();
    let SignatureRefusal::Invalid(invalid) = check(&req).unwrap_err() else { panic!("not invalid") };
    assert_eq!(invalid.cause, InvalidCause::Mismatch);
    assert_eq!(
        invalid.signature_base,
        concat!(
            "\"@method\": GET\n\"@authority\": api.example.test\n\"@path\": /orders/8\n",
            "\"@signature-params\": (\"@method\" \"@authority\" \"@path\");created=1800000000;nonce=\"n-1\";keyid=\"hk_1\";alg=\"hmac-sha256\""
        )
    );
    assert_eq!(SignatureRefusal::Invalid(invalid).code(), Code::SignatureInvalid);
}

#[test]
fn an_unknown_keyid_reads_like_a_wrong_hmac_but_for_the_operators_cause() {
    let mut req = Req::new("GET", "/orders/7");
    req.sign(&key(), "sig1", &members("", NOW, "n").replace("hk_1", "hk_gone"));
    let SignatureRefusal::Invalid(invalid) = check(&req).unwrap_err() else { panic!("not invalid") };
    assert_eq!(invalid.cause, InvalidCause::UnknownKey);
    assert!(invalid.signature_base.ends_with(r#"keyid="hk_gone";alg="hmac-sha256""#));
    let other_secret: HashMap<String, HmacKey> = [("hk_1".to_owned(), HmacKey::from_bytes(b"another"))].into();
    let SignatureRefusal::Invalid(wrong) =
        SignatureVerifier::default().check_without_nonce(&signed_get().view(), &other_secret, NOW).unwrap_err()
    else {
        panic!("not invalid")
    };
    assert_eq!(wrong.cause, InvalidCause::Mismatch);
}

#[test]
fn created_outside_the_window_is_skewed_with_server_time_and_window() {
    for (created, skew) in [(NOW - 301, 301i64), (NOW + 301, -301)] {
        let mut req = Req::new("GET", "/x");
        req.sign(&key(), "sig1", &members("", created, "n"));
        let refused = check(&req).unwrap_err();
        assert_eq!(
            refused,
            SignatureRefusal::TimestampSkewed(Skew {
                parameter: TimeParameter::Created,
                at: created,
                now: NOW,
                window: 300,
                skew
            })
        );
        assert_eq!(refused.code(), Code::RequestTimestampSkewed);
    }
    let mut edge = Req::new("GET", "/x");
    edge.sign(&key(), "sig1", &members("", NOW - 300, "n"));
    assert!(check(&edge).is_ok(), "the window's edge is inside");
    let narrow = SignatureVerifier::new(10);
    assert!(matches!(narrow.check_without_nonce(&edge.view(), &keys(), NOW), Err(SignatureRefusal::TimestampSkewed(_))));
}

#[test]
fn a_passed_expires_is_skewed() {
    let mut req = Req::new("GET", "/x");
    req.sign(
        &key(),
        "sig1",
        &format!(r#"("@method" "@authority" "@path");created={NOW};expires={};nonce="n";keyid="hk_1""#, NOW - 1),
    );
    let SignatureRefusal::TimestampSkewed(skew) = check(&req).unwrap_err() else { panic!("not skewed") };
    assert_eq!((skew.parameter, skew.at, skew.skew), (TimeParameter::Expires, NOW - 1, 1));
}

#[test]
fn the_window_is_judged_only_after_the_hmac() {
    let mut req = Req::new("GET", "/x");
    req.sign(&HmacKey::from_bytes(b"not the key"), "sig1", &members("", NOW - 9999, "n"));
    assert!(matches!(check(&req).unwrap_err(), SignatureRefusal::Invalid(i) if i.cause == InvalidCause::Mismatch));
}

#[test]
fn a_body_that_does_not_match_its_signed_digest_is_refused() {
    let mut req = signed_post();
    req.body = br#"{"item": 8}"#.to_vec();
    let SignatureRefusal::Invalid(invalid) = check(&req).unwrap_err() else { panic!("not invalid") };
    let InvalidCause::BodyDigestMismatch { algorithm, computed } = &invalid.cause else { panic!("{:?}", invalid.cause) };
    assert_eq!(algorithm.name(), "sha-256");
    assert_eq!(format!("sha-256=:{computed}:"), keyway_credentials::http_signature::content_digest(*algorithm, &req.body));
}

#[test]
fn a_content_digest_without_a_known_algorithm_is_malformed() {
    let mut req = Req::new("POST", "/x");
    req.body = b"{}".to_vec();
    req.set("content-digest", "md5=:AAAA:");
    req.sign(&key(), "sig1", &members(r#" "content-digest""#, NOW, "n"));
    assert_eq!(
        check(&req).unwrap_err(),
        SignatureRefusal::Malformed(SignatureMalformed::ContentDigest("no sha-256 or sha-512 digest".into()))
    );
}

#[tokio::test]
async fn a_replayed_request_is_refused_and_a_fresh_nonce_is_not() {
    let store = MemoryNonceStore::new(100);
    let verifier = SignatureVerifier::default();
    let req = signed_get();
    assert!(verifier.verify(&req.view(), &keys(), &store, NOW).await.is_ok());
    let refused = verifier.verify(&req.view(), &keys(), &store, NOW + 5).await.unwrap_err();
    assert_eq!(refused, VerifyError::Refused(SignatureRefusal::Replayed { nonce: "n-1".into(), window: 300 }));
    assert_eq!(refused.code(), Some(Code::SignatureReplayed));
    let mut fresh = Req::new("GET", "/orders/7");
    fresh.sign(&key(), "sig1", &members("", NOW, "n-other"));
    assert!(verifier.verify(&fresh.view(), &keys(), &store, NOW + 5).await.is_ok());
    // A refused request spends no nonce.
    let mut bad = Req::new("GET", "/orders/7");
    bad.sign(&HmacKey::from_bytes(b"wrong"), "sig1", &members("", NOW, "n-bad"));
    assert!(verifier.verify(&bad.view(), &keys(), &store, NOW).await.is_err());
    assert_eq!(store.len(), 2);
}

#[test]
fn debug_output_never_shows_an_hmac_secret() {
    let shown = format!("{:?} {:?}", key(), keys());
    assert!(!shown.contains("c2VjcmV0") && !shown.contains("secret"), "{shown}");
    assert!(shown.contains("redacted"));
}
