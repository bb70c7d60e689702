//! Client certificates: asked for during the handshake, judged after it.
//!
//! The handshake accepts any certificate whose holder proves it has the
//! private key (the handshake signature is still checked), so that a
//! certificate from the wrong CA, or an expired one, reaches the gateway
//! as a [`PeerCertificate::Untrusted`] it can refuse in HTTP with a code
//! and a reason, rather than as a TLS alert. The chain is then checked
//! against the CA bundle exactly as rustls's own verifier would have.

use super::TlsError;
use rustls_pki_types::{CertificateDer, UnixTime};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{DigitallySignedStruct, DistinguishedName, Error, RootCertStore, SignatureScheme};

/// What a connection's client presented, as every request of the
/// connection carries it (a request extension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerCertificate {
    /// Not a TLS connection, or the listener has no client CA.
    NotAsked,
    /// Asked for, none presented.
    Missing,
    /// Signed by a CA of the bundle and valid now.
    Trusted {
        /// SHA-256 of the leaf certificate (DER), lowercase hex.
        sha256: String,
    },
    /// Presented, but not signed by a trusted CA, expired, or not for
    /// client authentication.
    Untrusted {
        /// SHA-256 of the leaf certificate (DER), lowercase hex.
        sha256: String,
        /// Why, as rustls's verifier puts it.
        reason: String,
    },
}

/// SHA-256 of a certificate, lowercase hex.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The handshake's verifier: asks for a certificate, checks the
/// handshake signature, leaves the chain to [`Judge`].
#[derive(Debug)]
pub(super) struct JudgeLater {
    webpki: Arc<dyn ClientCertVerifier>,
}

/// Judges a presented chain after the handshake.
#[derive(Debug)]
pub(super) struct Judge {
    webpki: Arc<dyn ClientCertVerifier>,
}

impl JudgeLater {
    /// The verifier pair over `roots`.
    pub(super) fn over(roots: RootCertStore, provider: Arc<CryptoProvider>) -> Result<(Self, Judge), TlsError> {
        let webpki = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .allow_unauthenticated()
            .build()
            .map_err(|e| TlsError(format!("client CA bundle: {e}")))?;
        Ok((Self { webpki: webpki.clone() }, Judge { webpki }))
    }
}

impl Judge {
    pub(super) fn judge(&self, presented: Option<&[CertificateDer<'_>]>) -> PeerCertificate {
        let Some((leaf, intermediates)) = presented.and_then(<[_]>::split_first) else {
            return PeerCertificate::Missing;
        };
        let sha256 = fingerprint(leaf);
        match self.webpki.verify_client_cert(leaf, intermediates, UnixTime::now()) {
            Ok(_) => PeerCertificate::Trusted { sha256 },
            Err(e) => PeerCertificate::Untrusted { sha256, reason: reason(&e) },
        }
    }
}

/// Why a chain is not trusted, in words a caller can act on.
fn reason(e: &Error) -> String {
    use tokio_rustls::rustls::CertificateError as C;
    match e {
        Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => "the certificate has expired".to_owned(),
        Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => "the certificate is not valid yet".to_owned(),
        Error::InvalidCertificate(C::UnknownIssuer) => "the certificate is not signed by a CA this gateway trusts".to_owned(),
        Error::InvalidCertificate(C::Revoked) => "the certificate is revoked".to_owned(),
        Error::InvalidCertificate(C::InvalidPurpose | C::InvalidPurposeContext { .. }) => {
            "the certificate is not for client authentication (extended key usage)".to_owned()
        }
        other => other.to_string(),
    }
}

impl ClientCertVerifier for JudgeLater {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.webpki.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        // Judged after the handshake (Judge), so that the gateway can
        // answer in HTTP; the handshake signature below still proves the
        // client holds the certificate's key.
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
