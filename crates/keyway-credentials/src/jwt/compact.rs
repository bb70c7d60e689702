//! A JWS compact token split and decoded, not yet verified: nothing read
//! here is trusted until the signature checks out.

use super::algorithm::Alg;
use super::refusal::{AlgorithmRejected, Part, TokenMalformed, TokenRefusal};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The longest token read, bytes (far above any real JWT).
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;

#[derive(Deserialize)]
struct Header {
    alg: Option<Value>,
    kid: Option<Value>,
    crit: Option<Value>,
}

/// A token's parts: signing input, supported `alg`, `kid`, claims and
/// the (still base64url) signature.
pub(crate) struct Unverified<'t> {
    /// `BASE64URL(header) . BASE64URL(payload)`, what the signature covers.
    pub signing_input: &'t str,
    /// The signature segment.
    pub signature: &'t str,
    /// The header's algorithm (`none` and unsupported ones are refused here).
    pub alg: Alg,
    /// The header's `kid`.
    pub kid: Option<String>,
    /// The payload's claims.
    pub claims: Map<String, Value>,
}

fn decode(segment: &str, part: Part) -> Result<Vec<u8>, TokenRefusal> {
    URL_SAFE_NO_PAD.decode(segment).map_err(|_| TokenRefusal::Malformed(TokenMalformed::Base64(part)))
}

fn object(segment: &str, part: Part) -> Result<Map<String, Value>, TokenRefusal> {
    let bytes = decode(segment, part)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(TokenRefusal::Malformed(TokenMalformed::Json(part))),
    }
}

impl<'t> Unverified<'t> {
    /// Splits and decodes `token`, refusing what is not a JWS compact
    /// token and any `alg` this crate never verifies (`none` first).
    pub fn parse(token: &'t str) -> Result<Self, TokenRefusal> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenRefusal::Malformed(TokenMalformed::TooLong { limit: MAX_TOKEN_LEN }));
        }
        let mut it = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return Err(TokenRefusal::Malformed(TokenMalformed::NotThreeSegments));
        };
        let header_map = object(h, Part::Header)?;
        let header = Header::deserialize(Value::Object(header_map))
            .map_err(|_| TokenRefusal::Malformed(TokenMalformed::Json(Part::Header)))?;
        let Some(Value::String(alg_name)) = header.alg else {
            return Err(TokenRefusal::Malformed(TokenMalformed::NoAlg));
        };
        if alg_name.eq_ignore_ascii_case("none") {
            return Err(TokenRefusal::AlgorithmRejected(AlgorithmRejected::None));
        }
        let alg = Alg::from_name(&alg_name).ok_or(TokenRefusal::AlgorithmRejected(AlgorithmRejected::Unsupported(alg_name)))?;
        if let Some(crit) = header.crit {
            let first = crit.as_array().and_then(|a| a.first()).unwrap_or(&crit);
            let first = first.as_str().map_or_else(|| first.to_string(), str::to_owned);
            return Err(TokenRefusal::Malformed(TokenMalformed::CriticalExtension(first)));
        }
        let kid = match header.kid {
            None => None,
            Some(Value::String(k)) => Some(k),
            Some(_) => return Err(TokenRefusal::Malformed(TokenMalformed::ClaimType { claim: "kid".into() })),
        };
        let claims = object(p, Part::Payload)?;
        decode(s, Part::Signature)?;
        Ok(Unverified { signing_input: &token[..h.len() + 1 + p.len()], signature: s, alg, kid, claims })
    }

    /// The unverified `iss`, only to choose which issuer's keys to try.
    pub fn claimed_issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }
}
