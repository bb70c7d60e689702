//! Stage 3 for TLS client certificates: `client_certificate_missing`,
//! `client_certificate_untrusted`, `client_certificate_unbound`; and
//! `credential_missing` for an API that accepts several kinds of
//! credential and got none of them.
//!
//! Disclosure: a presented certificate was proven during the handshake
//! (the client signed with its private key), and its fingerprint and the
//! reason its chain is refused are facts about the caller's own
//! certificate, so the caller is told them. Nothing names a binding, an
//! app or a tenant before a binding is found.

use crate::{ErrorCode, Refusal};

/// Why a request of an mTLS API has no client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoCertificate {
    /// The listener does not ask for one: plain HTTP, or TLS without
    /// `gateway.tls.client_ca_file` (an operator's fix).
    NotAsked,
    /// Asked for during the handshake, none sent.
    NotSent,
}

impl Refusal {
    /// `client_certificate_missing`: the API accepts only `mtls` and the
    /// connection carries no client certificate.
    pub fn client_certificate_missing(why: NoCertificate, api: &str) -> Self {
        match why {
            NoCertificate::NotAsked => Self::new(
                ErrorCode::ClientCertificateMissing,
                "This API needs a TLS client certificate, and this listener does not ask for one.",
                format!("API {api} accepts mtls, but the connection is plain HTTP or its TLS listener has no client CA"),
            )
            .hint("Connect over HTTPS to a gateway listener that requests client certificates; if this is yours, set gateway.tls.client_ca_file.")
            .fix("set gateway.tls.client_ca_file (KEYWAY_GATEWAY_TLS_CLIENT_CA_FILE) with cert_file and key_file, and have callers connect over TLS"),
            NoCertificate::NotSent => Self::new(
                ErrorCode::ClientCertificateMissing,
                "This API needs a TLS client certificate, and none was presented.",
                format!("API {api} accepts mtls; the handshake asked for a client certificate and the client sent none"),
            )
            .hint("Present your client certificate and key (e.g. curl --cert client.pem --key client.key).")
            .fix("the caller must present a client certificate issued by a CA of gateway.tls.client_ca_file"),
        }
    }

    /// `client_certificate_untrusted`: the certificate with fingerprint
    /// `sha256` is not signed by a trusted CA, expired or not yet valid,
    /// or not for client authentication (`reason`).
    pub fn client_certificate_untrusted(sha256: &str, reason: &str) -> Self {
        Self::new(
            ErrorCode::ClientCertificateUntrusted,
            format!("The client certificate (SHA-256 {sha256}) is not accepted: {reason}."),
            format!("client certificate sha256 {sha256} refused by the listener's verifier: {reason}"),
        )
        .hint("Use a current client certificate issued by a CA this gateway trusts.")
        .fix("issue the caller a certificate from a CA in gateway.tls.client_ca_file, or add its CA to that bundle")
    }

    /// `client_certificate_unbound`: a trusted certificate that no live
    /// binding names.
    pub fn client_certificate_unbound(sha256: &str) -> Self {
        Self::new(
            ErrorCode::ClientCertificateUnbound,
            format!("The client certificate (SHA-256 {sha256}) is trusted but bound to no app."),
            format!("no live certificate binding has sha256 {sha256}"),
        )
        .hint("Ask the API's operator to bind this certificate's SHA-256 fingerprint to your app.")
        .fix(format!("POST /admin/v1/apps/{{app_id}}/certificates {{\"sha256_fingerprint\": \"{sha256}\"}}"))
    }

    /// `credential_missing` for an API accepting several kinds: none of
    /// them was presented; `accepted` lists every kind and place.
    pub fn credential_missing_of_kinds(accepted: &[&str]) -> Self {
        let list = accepted.join(", or ");
        Self::new(
            ErrorCode::CredentialMissing,
            "No credential was presented.",
            format!("no credential of any accepted kind ({list})"),
        )
        .hint(format!("Present one of: {list}."))
        .fix("the caller must present a credential this API accepts")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_refusals_name_only_the_callers_own_certificate() {
        let fp = "ab".repeat(32);
        let r = Refusal::client_certificate_unbound(&fp);
        assert!(r.detail.contains(&fp) && r.code.caller_proven());
        let r = Refusal::client_certificate_untrusted(&fp, "the certificate has expired");
        assert!(r.detail.contains("expired") && r.detail.contains(&fp));
        let r = Refusal::client_certificate_missing(NoCertificate::NotAsked, "orders v1");
        assert!(r.hint.as_deref().unwrap_or("").contains("gateway.tls.client_ca_file"), "{r:?}");
        assert!(!r.detail.contains("orders"), "the API label is the operator's");
        let r = Refusal::credential_missing_of_kinds(&["x-api-key", "a TLS client certificate"]);
        assert!(r.hint.as_deref().unwrap_or("").contains("x-api-key, or a TLS client certificate"));
    }
}
