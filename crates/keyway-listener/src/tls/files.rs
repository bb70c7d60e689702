//! The PEM files of a TLS listener, and when they last changed.

use super::TlsError;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use tokio_rustls::rustls::RootCertStore;

/// Where a listener's certificate chain, key and (for mTLS) client CA
/// bundle are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates that sign client certificates (PEM); none: client
    /// certificates are not asked for.
    pub client_ca: Option<PathBuf>,
}

/// Modification time and length of each file, to notice a change.
pub(super) type Stamp = Vec<Option<(SystemTime, u64)>>;

impl TlsFiles {
    pub(super) fn stamp(&self) -> Stamp {
        let stamp = |p: &Path| std::fs::metadata(p).ok().and_then(|m| Some((m.modified().ok()?, m.len())));
        [Some(&self.cert), Some(&self.key), self.client_ca.as_ref()].into_iter().flatten().map(|p| stamp(p)).collect()
    }

    pub(super) fn read_identity(&self) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
        let chain = certificates(&self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| TlsError(format!("{}: no usable private key ({e})", self.key.display())))?;
        Ok((chain, key))
    }

    pub(super) fn read_client_roots(&self) -> Result<Option<RootCertStore>, TlsError> {
        let Some(path) = &self.client_ca else { return Ok(None) };
        let mut roots = RootCertStore::empty();
        for cert in certificates(path)? {
            roots.add(cert).map_err(|e| TlsError(format!("{}: a CA certificate cannot be used: {e}", path.display())))?;
        }
        Ok(Some(roots))
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| TlsError(format!("{}: cannot be read ({e})", path.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError(format!("{}: not PEM certificates ({e})", path.display())))?;
    if certs.is_empty() {
        return Err(TlsError(format!("{}: holds no certificate", path.display())));
    }
    Ok(certs)
}
