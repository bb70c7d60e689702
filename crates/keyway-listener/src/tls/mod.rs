//! TLS on a listener (rustls): the server certificate and key from PEM
//! files, reloaded when they change without a restart; ALPN `h2` and
//! `http/1.1`; and, with a client CA bundle, client certificates asked
//! for (optional at the TLS layer, so APIs without mTLS still serve) and
//! judged per connection into a [`PeerCertificate`] that every request of
//! the connection carries as an extension, for the gateway's credential
//! phase to refuse with a precise code (`client_certificate_missing`,
//! `_untrusted`, `_unbound`) instead of a TLS alert the caller cannot read.

mod client_cert;
mod files;

pub use client_cert::{fingerprint, PeerCertificate};
pub use files::TlsFiles;

use arc_swap::ArcSwap;
use client_cert::{Judge, JudgeLater};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls;

/// Why the TLS settings could not be used.
#[derive(Debug)]
pub struct TlsError(pub String);

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

/// One listener's TLS: the configuration in use, swapped whole when its
/// files change.
pub struct TlsTerminator {
    files: TlsFiles,
    current: ArcSwap<Loaded>,
}

/// What one reading of the files gave.
struct Loaded {
    config: Arc<rustls::ServerConfig>,
    judge: Option<Judge>,
    stamp: files::Stamp,
}

impl std::fmt::Debug for TlsTerminator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTerminator").field("files", &self.files).finish_non_exhaustive()
    }
}

impl TlsTerminator {
    /// Reads `files`; fails with what is wrong (a file missing, no
    /// certificate in it, a key that does not match).
    pub fn load(files: TlsFiles) -> Result<Self, TlsError> {
        let loaded = load(&files)?;
        Ok(Self { files, current: ArcSwap::from_pointee(loaded) })
    }

    /// Reads the files again if any changed since they were last read;
    /// keeps the configuration in use (logged) if the new one is broken.
    /// Whether a new one is in use.
    pub fn reload_if_changed(&self) -> bool {
        let stamp = self.files.stamp();
        if stamp == self.current.load().stamp {
            return false;
        }
        match load(&self.files) {
            Ok(loaded) => {
                self.current.store(Arc::new(loaded));
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "TLS files changed but cannot be used; keeping the ones in use");
                false
            }
        }
    }

    /// Checks the files every `every` until `stop` resolves.
    pub async fn watch(self: Arc<Self>, every: Duration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => { self.reload_if_changed(); }
                () = &mut stop => return,
            }
        }
    }

    /// Completes the TLS handshake on `io` with the configuration in use,
    /// and judges the client's certificate.
    pub(crate) async fn accept<IO>(&self, io: IO) -> std::io::Result<(tokio_rustls::server::TlsStream<IO>, PeerCertificate)>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let loaded = self.current.load_full();
        let stream = tokio_rustls::TlsAcceptor::from(loaded.config.clone()).accept(io).await?;
        let peer = match &loaded.judge {
            Some(judge) => judge.judge(stream.get_ref().1.peer_certificates()),
            None => PeerCertificate::NotAsked,
        };
        Ok((stream, peer))
    }
}

fn load(files: &TlsFiles) -> Result<Loaded, TlsError> {
    let stamp = files.stamp();
    let (chain, key) = files.read_identity()?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(format!("TLS versions: {e}")))?;
    let (builder, judge) = match files.read_client_roots()? {
        Some(roots) => {
            let (later, judge) = JudgeLater::over(roots, provider)?;
            (builder.with_client_cert_verifier(Arc::new(later)), Some(judge))
        }
        None => (builder.with_no_client_auth(), None),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        TlsError(format!("{}: the key does not go with the certificate, or is not usable: {e}", files.key.display()))
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Loaded { config: Arc::new(config), judge, stamp })
}
