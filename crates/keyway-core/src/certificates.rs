//! Client certificates bound to apps (`POST /admin/v1/apps/{id}/certificates`):
//! a TLS client certificate, named by the SHA-256 of its DER encoding, is
//! that app when the gateway's listener trusts its chain. The binding
//! holds no secret: the certificate's private key never leaves the caller.

use crate::ids::{AppId, CertificateId, TenantId};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// A client certificate bound to an app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCertificate {
    /// Id, `crt_…`.
    pub id: CertificateId,
    /// The app the certificate is.
    pub app_id: AppId,
    /// The app's tenant.
    pub tenant_id: TenantId,
    /// SHA-256 of the certificate (DER), 64 lowercase hex digits; unique
    /// among live bindings.
    pub sha256_fingerprint: String,
    /// Scopes a call with this certificate holds (an extension of the
    /// contract, as for keys; empty: none).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// When the binding was deleted (kept for the audit trail).
    pub deleted_at: Option<Timestamp>,
}

impl ClientCertificate {
    /// Whether the binding still binds.
    pub fn is_live(&self) -> bool {
        self.deleted_at.is_none()
    }
}

/// Why a text is not a SHA-256 fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FingerprintError {
    /// A character other than a hex digit or a colon.
    NotHex(char),
    /// Not 64 hex digits (the count found).
    Length(usize),
    /// A colon that does not sit between two hex digits.
    Colon,
}

impl std::fmt::Display for FingerprintError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FingerprintError::NotHex(c) => {
                write!(f, "{c:?} is not a hex digit; a SHA-256 fingerprint is 64 hex digits, colons allowed")
            }
            FingerprintError::Colon => f.write_str("a colon must sit between two hex digits (AB:CD:...)"),
            FingerprintError::Length(n) => {
                write!(f, "{n} hex digits; a SHA-256 fingerprint has 64 (e.g. openssl x509 -noout -fingerprint -sha256)")
            }
        }
    }
}

/// `text` as Keyway keeps a fingerprint: hex digits in either case, with
/// or without single colons between digits (`AB:CD:…` as
/// `openssl x509 -fingerprint -sha256` prints it); lowercase hex without
/// colons, 64 digits. Exactly what the OpenAPI pattern
/// `^(?:[0-9A-Fa-f]:?){63}[0-9A-Fa-f]$` allows.
pub fn normalize_fingerprint(text: &str) -> Result<String, FingerprintError> {
    let mut out = String::with_capacity(64);
    let mut after_digit = false;
    for c in text.chars() {
        match c {
            ':' if after_digit => after_digit = false,
            ':' => return Err(FingerprintError::Colon),
            c if c.is_ascii_hexdigit() => {
                out.push(c.to_ascii_lowercase());
                after_digit = true;
            }
            c => return Err(FingerprintError::NotHex(c)),
        }
    }
    if !after_digit && !out.is_empty() {
        return Err(FingerprintError::Colon);
    }
    if out.len() != 64 {
        return Err(FingerprintError::Length(out.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_kept_lowercase_without_colons() {
        let hex = "ab".repeat(32);
        assert_eq!(normalize_fingerprint(&hex).unwrap(), hex);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(normalize_fingerprint(&colons).unwrap(), hex);
        assert_eq!(normalize_fingerprint(&format!(" {colons}")), Err(FingerprintError::NotHex(' ')));
        for bad in [format!(":{hex}"), format!("{hex}:"), format!("ab::{}", &hex[2..])] {
            assert_eq!(normalize_fingerprint(&bad), Err(FingerprintError::Colon), "{bad}");
        }
        assert_eq!(normalize_fingerprint("abc"), Err(FingerprintError::Length(3)));
        assert_eq!(normalize_fingerprint(&"a".repeat(65)), Err(FingerprintError::Length(65)));
        assert_eq!(normalize_fingerprint(&format!("{}zz", "a".repeat(62))), Err(FingerprintError::NotHex('z')));
        assert!(normalize_fingerprint("").is_err());
    }
}
