//! Test requests and a signer built on the crate's own base builder (the
//! RFC vector and the Python signer check that builder independently).

#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue};
use keyway_credentials::http_signature::{content_digest, signature_base, DigestAlg, HmacKey, SignatureInput, SignedRequest};
use sfv::{ListEntry, Parser};

/// An owned request to sign and verify.
pub struct Req {
    pub method: String,
    pub scheme: String,
    pub authority: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Req {
    pub fn new(method: &str, target: &str) -> Req {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (target.to_owned(), None),
        };
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("api.example.test"));
        Req {
            method: method.into(),
            scheme: "https".into(),
            authority: "api.example.test".into(),
            path,
            query,
            headers,
            body: Vec::new(),
        }
    }

    /// Sets a body and its `Content-Digest` (sha-256).
    pub fn with_body(mut self, body: &[u8]) -> Req {
        self.body = body.to_vec();
        self.set("content-digest", &content_digest(DigestAlg::Sha256, body));
        self
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.headers.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }

    pub fn view(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: &self.method,
            scheme: &self.scheme,
            authority: &self.authority,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
            body: &self.body,
        }
    }

    /// Signs the request as `label` over `members` (a serialized inner list
    /// with parameters, e.g. `("@method");created=1;keyid="k"`).
    pub fn sign(&mut self, key: &HmacKey, label: &str, members: &str) {
        let list: Vec<ListEntry> = Parser::new(members).parse().unwrap();
        let ListEntry::InnerList(inner) = &list[0] else { panic!("not an inner list") };
        let input = SignatureInput::from_inner_list(label, inner).unwrap();
        let base = signature_base(&self.view(), &input).unwrap();
        let sig = STANDARD.encode(key.sign(base.as_bytes()));
        self.set("signature-input", &format!("{label}={members}"));
        self.set("signature", &format!("{label}=:{sig}:"));
    }
}

pub const NOW: u64 = 1_800_000_000;

pub fn key() -> HmacKey {
    HmacKey::from_base64("c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYnk=").unwrap()
}

/// The members a policy-complete signature covers, with `extra` components.
pub fn members(extra: &str, created: u64, nonce: &str) -> String {
    format!(r#"("@method" "@authority" "@path"{extra});created={created};nonce="{nonce}";keyid="hk_1";alg="hmac-sha256""#)
}
