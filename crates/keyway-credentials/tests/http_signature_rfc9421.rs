//! RFC 9421 Appendix B.2.5 (hmac-sha256 over the test request of B.2 with
//! the `test-shared-secret` key of B.1.5), with the RFC's exact values;
//! and RFC 9530's digest of that request's body.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code")]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::{HeaderMap, HeaderValue};
use keyway_credentials::http_signature::{
    content_digest, signature_base, DigestAlg, HmacKey, Missing, SignatureInput, SignatureRefusal, SignatureVerifier,
    SignedRequest,
};
use std::collections::HashMap;

/// B.1.5 `test-shared-secret`.
const SHARED_SECRET: &str = "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==";
const SIGNATURE_INPUT: &str = r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#;
const SIGNATURE: &str = "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:";
const BODY: &[u8] = br#"{"hello": "world"}"#;
/// The signature base B.2.5 prints.
const BASE: &str = concat!(
    "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n",
    "\"@authority\": example.com\n",
    "\"content-type\": application/json\n",
    "\"@signature-params\": (\"date\" \"@authority\" \"content-type\");created=1618884473;keyid=\"test-shared-secret\""
);

/// The B.2 test request: `POST /foo?param=Value&Pet=dog` to example.com.
fn test_request_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("host", HeaderValue::from_static("example.com"));
    h.insert("date", HeaderValue::from_static("Tue, 20 Apr 2021 02:07:55 GMT"));
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        "content-digest",
        HeaderValue::from_static(
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
        ),
    );
    h.insert("content-length", HeaderValue::from_static("18"));
    h.insert("signature-input", HeaderValue::from_static(SIGNATURE_INPUT));
    h.insert("signature", HeaderValue::from_static(SIGNATURE));
    h
}

fn test_request(headers: &HeaderMap) -> SignedRequest<'_> {
    SignedRequest {
        method: "POST",
        scheme: "https",
        authority: "example.com",
        path: "/foo",
        query: Some("param=Value&Pet=dog"),
        headers,
        body: BODY,
    }
}

#[test]
fn b25_signature_base_and_value_are_the_rfcs() {
    let headers = test_request_headers();
    let (input, signature) = SignatureInput::from_headers(&headers).unwrap();
    assert_eq!(input.label, "sig-b25");
    assert_eq!(input.keyid.as_deref(), Some("test-shared-secret"));
    assert_eq!(input.created, Some(1_618_884_473));
    let base = signature_base(&test_request(&headers), &input).unwrap();
    assert_eq!(base, BASE);
    let key = HmacKey::from_base64(SHARED_SECRET).unwrap();
    let computed = key.sign(base.as_bytes());
    assert_eq!(STANDARD.encode(computed), "pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=");
    assert_eq!(computed.to_vec(), signature);
    assert!(key.verify(base.as_bytes(), &signature));
}

#[test]
fn b2_content_digest_is_rfc_9530s_sha512_of_the_body() {
    let headers = test_request_headers();
    assert_eq!(headers["content-digest"].to_str().unwrap(), content_digest(DigestAlg::Sha512, BODY));
    // RFC 9530 section 2's sha-256 example over the same body.
    assert_eq!(content_digest(DigestAlg::Sha256, BODY), "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
}

#[test]
fn b25_as_sent_misses_what_keyways_policy_requires() {
    // The RFC example covers neither @method nor a nonce: Keyway's policy
    // refuses it before checking the HMAC.
    let headers = test_request_headers();
    let keys: HashMap<String, HmacKey> = [("test-shared-secret".to_owned(), HmacKey::from_base64(SHARED_SECRET).unwrap())].into();
    let refused = SignatureVerifier::default().check_without_nonce(&test_request(&headers), &keys, 1_618_884_473).unwrap_err();
    assert_eq!(refused, SignatureRefusal::HeadersMissing(Missing::Parameter("nonce")));
}
