//! An RFC 9421 `hmac-sha256` signer for the gateway tests, written from
//! the RFC (section 2.5's signature base, RFC 9530's `Content-Digest`)
//! with `ring`'s HMAC and SHA-256, apart from the gateway's verifier. Its
//! knobs make each refusal: components left out, `created` moved, a
//! nonce reused, the body changed after signing.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::{digest, hmac};

/// What to sign and how.
#[derive(Clone, Debug)]
pub struct Signing {
    pub method: String,
    pub authority: String,
    pub path: String,
    pub query: Option<String>,
    pub body: Vec<u8>,
    pub keyid: String,
    /// Standard base64, as the admin API answers it.
    pub secret: String,
    pub created: u64,
    pub nonce: String,
    /// Components to leave out of the required ones.
    pub omit: Vec<&'static str>,
    /// Parameters to leave out (`created`, `nonce`, `keyid`).
    pub omit_params: Vec<&'static str>,
}

impl Signing {
    /// A GET of `path` by `keyid` with `secret`, created now, a fresh nonce.
    pub fn get(authority: &str, path: &str, keyid: &str, secret: &str) -> Self {
        Signing {
            method: "GET".into(),
            authority: authority.into(),
            path: path.into(),
            query: None,
            body: Vec::new(),
            keyid: keyid.into(),
            secret: secret.into(),
            created: super::tokens::now(),
            nonce: format!("n{}", rand::random::<u64>()),
            omit: Vec::new(),
            omit_params: Vec::new(),
        }
    }

    /// The `Content-Digest` of the body.
    pub fn content_digest(&self) -> String {
        format!("sha-256=:{}:", STANDARD.encode(digest::digest(&digest::SHA256, &self.body)))
    }

    /// The signature base, as RFC 9421 2.5 builds it.
    pub fn base(&self) -> (String, String) {
        let mut comps: Vec<(&str, String)> =
            vec![("@method", self.method.clone()), ("@authority", self.authority.clone()), ("@path", self.path.clone())];
        if let Some(q) = &self.query {
            comps.push(("@query", format!("?{q}")));
        }
        if !self.body.is_empty() {
            comps.push(("content-digest", self.content_digest()));
        }
        comps.retain(|(name, _)| !self.omit.contains(name));
        let list: Vec<String> = comps.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        let mut params = format!("({})", list.join(" "));
        for (name, value) in [
            ("created", self.created.to_string()),
            ("nonce", format!("\"{}\"", self.nonce)),
            ("keyid", format!("\"{}\"", self.keyid)),
            ("alg", "\"hmac-sha256\"".to_owned()),
        ] {
            if !self.omit_params.contains(&name) {
                params.push_str(&format!(";{name}={value}"));
            }
        }
        let mut base = String::new();
        for (n, v) in &comps {
            base.push_str(&format!("\"{n}\": {v}\n"));
        }
        base.push_str(&format!("\"@signature-params\": {params}"));
        (base, params)
    }

    /// The request headers: `Signature-Input`, `Signature`, and
    /// `Content-Digest` with a body.
    pub fn headers(&self) -> Vec<(String, String)> {
        let (base, params) = self.base();
        let key = hmac::Key::new(hmac::HMAC_SHA256, &STANDARD.decode(&self.secret).unwrap());
        let mac = hmac::sign(&key, base.as_bytes());
        let mut h = vec![
            ("signature-input".to_owned(), format!("sig1={params}")),
            ("signature".to_owned(), format!("sig1=:{}:", STANDARD.encode(mac.as_ref()))),
        ];
        if !self.body.is_empty() {
            h.push(("content-digest".to_owned(), self.content_digest()));
        }
        h
    }
}
