//! RFC 9530 `Content-Digest`: `sha-256` and `sha-512`, checked against
//! the body.

use super::refusal::{SignatureMalformed, SignatureRefusal};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sfv::{Dictionary, ListEntry, Parser};
use sha2::{Digest, Sha256, Sha512};
use std::fmt;

/// A digest algorithm of the RFC 9530 registry this crate checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestAlg {
    /// `sha-256`
    Sha256,
    /// `sha-512`
    Sha512,
}

impl DigestAlg {
    /// The registry name.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlg::Sha256 => "sha-256",
            DigestAlg::Sha512 => "sha-512",
        }
    }

    /// The digest of `body`.
    pub fn digest(self, body: &[u8]) -> Vec<u8> {
        match self {
            DigestAlg::Sha256 => Sha256::digest(body).to_vec(),
            DigestAlg::Sha512 => Sha512::digest(body).to_vec(),
        }
    }
}

impl fmt::Display for DigestAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `Content-Digest` value for `body` with `alg` (`sha-256=:...:`).
pub fn content_digest(alg: DigestAlg, body: &[u8]) -> String {
    format!("{}=:{}:", alg.name(), STANDARD.encode(alg.digest(body)))
}

/// The digests a `Content-Digest` header declares, of the algorithms
/// this crate checks; unknown algorithms are ignored, none known is an
/// error.
pub(crate) fn declared(headers: &http::HeaderMap) -> Result<Vec<(DigestAlg, Vec<u8>)>, SignatureRefusal> {
    let malformed = |e: String| SignatureRefusal::Malformed(SignatureMalformed::ContentDigest(e));
    let mut lines = Vec::new();
    for v in headers.get_all(http::header::HeaderName::from_static("content-digest")) {
        lines.push(v.to_str().map_err(|_| malformed("not visible ASCII".into()))?);
    }
    let dict: Dictionary = Parser::new(&lines.join(", ")).parse().map_err(|e| malformed(e.to_string()))?;
    let mut found = Vec::new();
    for (name, entry) in &dict {
        let alg = match name.as_str() {
            "sha-256" => DigestAlg::Sha256,
            "sha-512" => DigestAlg::Sha512,
            _ => continue,
        };
        let ListEntry::Item(item) = entry else {
            return Err(malformed(format!("{} is not a byte sequence", alg.name())));
        };
        let bytes =
            item.bare_item.as_byte_sequence().ok_or_else(|| malformed(format!("{} is not a byte sequence", alg.name())))?;
        found.push((alg, bytes.to_vec()));
    }
    if found.is_empty() {
        return Err(malformed("no sha-256 or sha-512 digest".into()));
    }
    Ok(found)
}

/// The first declared digest the body does not match: its algorithm and
/// the body's actual digest (base64).
pub(crate) fn mismatch(declared: &[(DigestAlg, Vec<u8>)], body: &[u8]) -> Option<(DigestAlg, String)> {
    declared.iter().find_map(|(alg, want)| {
        let got = alg.digest(body);
        (got != *want).then(|| (*alg, STANDARD.encode(got)))
    })
}
