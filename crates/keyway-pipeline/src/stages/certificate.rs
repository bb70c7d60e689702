//! Stages 2 and 3 for TLS client certificates: did the connection carry
//! one, did the listener trust its chain, and which app does a binding
//! make it?
//!
//! The listener judges the chain after the handshake (the handshake itself
//! proved the client holds the certificate's private key) and hands every
//! request a [`PeerCert`]; this stage turns it into an app, or into the
//! `client_certificate_*` refusal. Precedence when an API accepts other
//! kinds too: a presented key or token wins (the certificate is then not
//! read); a certificate alone authenticates; neither is
//! `credential_missing` naming every accepted kind.

use crate::snapshot::{ApiEntry, Snapshot};
use crate::stages::token;
use http::HeaderMap;
use keyway_core::certificates::ClientCertificate;
use keyway_core::model::{App, AuthMethod};
use keyway_core::refusals::NoCertificate;
use keyway_core::{ErrorCode, Refusal};
use std::sync::Arc;

/// What the connection's client presented, as the listener judged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerCert<'a> {
    /// Plain HTTP, or a TLS listener without a client CA.
    #[default]
    NotAsked,
    /// Asked for, none sent.
    Missing,
    /// Signed by a trusted CA and valid now.
    Trusted {
        /// SHA-256 of the leaf certificate, lowercase hex.
        sha256: &'a str,
    },
    /// Presented but refused by the verifier.
    Untrusted {
        /// SHA-256 of the leaf certificate, lowercase hex.
        sha256: &'a str,
        /// Why.
        reason: &'a str,
    },
}

/// A bound certificate and its app.
#[derive(Debug, Clone)]
pub struct CertIdentity {
    /// The live binding.
    pub binding: Arc<ClientCertificate>,
    /// Its app.
    pub app: Arc<App>,
}

/// Stage 3 for a certificate: the binding of a trusted certificate and
/// its app; `absent` (the certificate is missing) decides with what the
/// API accepts.
pub fn verify(snapshot: &Snapshot, api: &ApiEntry, peer: PeerCert<'_>, headers: &HeaderMap) -> Result<CertIdentity, Refusal> {
    let sha256 = match peer {
        PeerCert::NotAsked => return Err(absent(api, NoCertificate::NotAsked, headers)),
        PeerCert::Missing => return Err(absent(api, NoCertificate::NotSent, headers)),
        PeerCert::Untrusted { sha256, reason } => return Err(Refusal::client_certificate_untrusted(sha256, reason)),
        PeerCert::Trusted { sha256 } => sha256,
    };
    let Some(binding) = snapshot.certificates.bound(sha256) else {
        return Err(Refusal::client_certificate_unbound(sha256));
    };
    let Some(app) = snapshot.apps.get(&binding.app_id) else {
        let gone = format!("binding {} names app {}, which is not in the store", binding.id, binding.app_id);
        return Err(Refusal::client_certificate_unbound(sha256).noting(gone));
    };
    Ok(CertIdentity { binding: binding.clone(), app: app.clone() })
}

/// The refusal for a request without a certificate: the certificate's own
/// code when the API accepts only `mtls`; otherwise `credential_missing`
/// naming every kind the API accepts (or the malformed bearer value of a
/// `jwt` API that takes no keys).
fn absent(api: &ApiEntry, why: NoCertificate, headers: &HeaderMap) -> Refusal {
    let auth = &api.api.auth;
    if auth.iter().all(|m| *m == AuthMethod::Mtls) {
        return Refusal::client_certificate_missing(why, &label(api));
    }
    if auth.contains(&AuthMethod::Jwt) && !auth.contains(&AuthMethod::ApiKey) {
        let refusal = token::missing(headers);
        if refusal.code == ErrorCode::CredentialMalformed {
            return refusal;
        }
    }
    let kinds = accepted_kinds(api, why);
    Refusal::credential_missing_of_kinds(&kinds.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Every kind and place `api` accepts, as a caller reads them.
pub fn accepted_kinds(api: &ApiEntry, why: NoCertificate) -> Vec<String> {
    let auth = &api.api.auth;
    let mut out: Vec<String> = Vec::new();
    if auth.contains(&AuthMethod::ApiKey) {
        out.extend(api.api.key_locations.iter().map(|l| l.describe().to_owned()));
    }
    if auth.contains(&AuthMethod::Jwt) {
        out.push("Authorization: Bearer <JWT>".to_owned());
    }
    if auth.contains(&AuthMethod::Hmac) {
        out.push("an RFC 9421 HMAC signature (Signature-Input and Signature)".to_owned());
    }
    if auth.contains(&AuthMethod::Mtls) {
        out.push(match why {
            NoCertificate::NotSent => "a TLS client certificate".to_owned(),
            NoCertificate::NotAsked => {
                "a TLS client certificate (this listener does not request one: plain HTTP, or no gateway.tls.client_ca_file)"
                    .to_owned()
            }
        });
    }
    out
}

/// `orders v1 (api_…)`, for the operator's evidence.
fn label(api: &ApiEntry) -> String {
    format!("{} {} ({})", api.api.name, api.api.version, api.api.id)
}

/// `key` phase evidence of a bound certificate.
pub fn evidence(found: &CertIdentity) -> String {
    let b = &found.binding;
    format!("client certificate sha256 {} bound by {} to app {}", b.sha256_fingerprint, b.id, found.app.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyway_core::ids::TenantId;
    use keyway_core::model::{Api, Upstream};

    fn api(auth: &[AuthMethod]) -> ApiEntry {
        let upstream = Upstream { targets: Vec::new(), strip_base_path: true, timeout_ms: None };
        let api = Api::new(&TenantId::generate(), "orders", "v1", "/orders/v1", upstream, chrono::Utc::now());
        ApiEntry::new(Api { auth: auth.to_vec(), ..api })
    }

    fn code(api: &ApiEntry, peer: PeerCert<'_>, headers: &HeaderMap) -> ErrorCode {
        verify(&Snapshot::default(), api, peer, headers).unwrap_err().code
    }

    #[test]
    fn without_a_certificate_the_api_s_kinds_decide_the_code() {
        let none = HeaderMap::new();
        let only = api(&[AuthMethod::Mtls]);
        assert_eq!(code(&only, PeerCert::NotAsked, &none), ErrorCode::ClientCertificateMissing);
        assert_eq!(code(&only, PeerCert::Missing, &none), ErrorCode::ClientCertificateMissing);
        let mixed = api(&[AuthMethod::ApiKey, AuthMethod::Jwt, AuthMethod::Mtls]);
        let r = verify(&Snapshot::default(), &mixed, PeerCert::NotAsked, &none).unwrap_err();
        assert_eq!(r.code, ErrorCode::CredentialMissing);
        let hint = r.hint.unwrap_or_default();
        assert!(
            hint.contains("x-api-key: <key>") && hint.contains("Bearer <JWT>") && hint.contains("does not request one"),
            "{hint}"
        );
        let mut bearer = HeaderMap::new();
        bearer.insert(http::header::AUTHORIZATION, "Bearer not-a-jwt".parse().unwrap());
        let jwt = api(&[AuthMethod::Jwt, AuthMethod::Mtls]);
        assert_eq!(code(&jwt, PeerCert::Missing, &bearer), ErrorCode::CredentialMalformed, "a bad bearer value is named");
        assert_eq!(code(&jwt, PeerCert::Missing, &none), ErrorCode::CredentialMissing);
    }

    #[test]
    fn a_presented_certificate_is_judged_then_looked_up() {
        let (none, only) = (HeaderMap::new(), api(&[AuthMethod::Mtls]));
        let fp = "ab".repeat(32);
        let untrusted = PeerCert::Untrusted { sha256: &fp, reason: "the certificate has expired" };
        assert_eq!(code(&only, untrusted, &none), ErrorCode::ClientCertificateUntrusted);
        assert_eq!(code(&only, PeerCert::Trusted { sha256: &fp }, &none), ErrorCode::ClientCertificateUnbound);
    }
}
