//! Phases credential through authorization for a TLS client certificate
//! (see [`crate::stages::certificate`] for the precedence between kinds).

use super::{identity_evidence, Admitted, Call, CallInput};
use crate::snapshot::{ApiEntry, Snapshot};
use crate::stages::certificate::{self, PeerCert};
use crate::stages::identity;
use keyway_core::refusals::ScopeHolder;
use keyway_core::{Refusal, Stage};
use std::sync::Arc;

impl Call {
    /// The certificate is the credential: its binding is the app, then
    /// the same identity and authorization as a key's (scopes from the
    /// binding; IP allow lists are a key's).
    pub(super) fn decide_certificate(
        &mut self,
        snapshot: &Snapshot,
        api: Arc<ApiEntry>,
        input: &CallInput<'_>,
    ) -> Result<Admitted, Refusal> {
        if let PeerCert::Trusted { sha256 } | PeerCert::Untrusted { sha256, .. } = input.client_cert {
            self.trace.pass(Stage::Credential, format!("TLS client certificate sha256 {sha256}"));
        }
        let found = certificate::verify(snapshot, &api, input.client_cert, input.headers)?;
        self.certificate = Some(found.binding.clone());
        self.credential_app = Some(found.app.clone());
        self.trace.pass(Stage::Key, certificate::evidence(&found));
        let who = identity::check_app(snapshot, found.app, &api)?;
        self.trace.pass(Stage::Identity, identity_evidence(&who.app, &who.tenant));
        let b = &found.binding;
        let holder = ScopeHolder::Certificate { sha256: &b.sha256_fingerprint, scopes: &b.scopes };
        self.authorization(snapshot, holder, &who.app, &api, input)?;
        // No credential header is involved (every place of one is stripped).
        let certificate = Some(found.binding);
        Ok(Admitted {
            api,
            key: None,
            token: None,
            certificate,
            hmac_key: None,
            app: who.app,
            tenant: who.tenant,
            location: None,
        })
    }
}
