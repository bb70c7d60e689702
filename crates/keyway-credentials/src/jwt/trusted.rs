//! The issuers an API trusts, chosen by the token's `iss`.

use super::claims::VerifiedToken;
use super::compact::Unverified;
use super::issuer::Issuer;
use super::refusal::TokenRefusal;
use std::collections::HashMap;
use std::sync::Arc;

/// The issuers one API trusts (its `jwt_issuers`, or its tenant's).
#[derive(Debug, Default, Clone)]
pub struct TrustedIssuers {
    by_iss: HashMap<String, Arc<Issuer>>,
}

impl TrustedIssuers {
    /// A set of `issuers`; a later one with the same `iss` replaces an
    /// earlier one.
    pub fn new(issuers: impl IntoIterator<Item = Arc<Issuer>>) -> Self {
        TrustedIssuers { by_iss: issuers.into_iter().map(|i| (i.issuer().to_owned(), i)).collect() }
    }

    /// The issuer whose `iss` is `iss`.
    pub fn get(&self, iss: &str) -> Option<&Arc<Issuer>> {
        self.by_iss.get(iss)
    }

    fn select<'t>(&self, token: &'t str) -> Result<(Unverified<'t>, &Arc<Issuer>), TokenRefusal> {
        let parsed = Unverified::parse(token)?;
        let claimed = parsed.claimed_issuer();
        match claimed.and_then(|iss| self.by_iss.get(iss)) {
            Some(issuer) => Ok((parsed, issuer)),
            None => Err(TokenRefusal::IssuerUntrusted { issuer: claimed.map(str::to_owned) }),
        }
    }

    /// Verifies `token` at `now` with the issuer its (unverified) `iss`
    /// names, using the keys held; `token_issuer_untrusted` when it names
    /// none of them. The `iss` is only a selector until the signature
    /// verified; it is checked again with the claims.
    pub fn verify(&self, token: &str, now: u64) -> Result<VerifiedToken, TokenRefusal> {
        let (parsed, issuer) = self.select(token)?;
        issuer.verify_parsed(parsed, &issuer.keys(), now)
    }

    /// As [`TrustedIssuers::verify`], refreshing a fetched key set as
    /// [`Issuer::verify_refreshing`] does.
    pub async fn verify_refreshing(&self, token: &str, now: u64) -> Result<VerifiedToken, TokenRefusal> {
        let (_, issuer) = self.select(token)?;
        issuer.verify_refreshing(token, now).await
    }
}
