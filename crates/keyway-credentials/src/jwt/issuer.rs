//! One trusted issuer: its policy and its keys, built once from its admin
//! record, verifying tokens per request.

use super::algorithm::Alg;
use super::claims::{self, ClaimPolicy, VerifiedToken};
use super::compact::Unverified;
use super::config::{IssuerConfig, IssuerError};
use super::jwks_cache::{JwksCache, RefreshOutcome, RefreshPolicy};
use super::keys::KeySet;
use super::memo::VerifiedMemo;
use super::refusal::{AlgorithmRejected, TokenRefusal};
use std::sync::Arc;

#[derive(Debug)]
enum KeySource {
    Inline(Arc<KeySet>),
    Fetched(Arc<JwksCache>),
}

/// A trusted issuer, ready to verify its tokens.
#[derive(Debug)]
pub struct Issuer {
    algorithms: Vec<Alg>,
    policy: ClaimPolicy,
    keys: KeySource,
    /// Tokens verified already (see `memo.rs`).
    pub(super) memo: VerifiedMemo,
}

impl Issuer {
    /// Builds an issuer from its admin record; a `jwks_url` issuer gets a
    /// [`JwksCache`] with the default [`RefreshPolicy`], empty until its
    /// first fetch (see [`Issuer::verify_refreshing`]).
    pub fn new(config: &IssuerConfig) -> Result<Issuer, IssuerError> {
        Issuer::with_refresh_policy(config, RefreshPolicy::default())
    }

    /// As [`Issuer::new`], with `refresh` for a `jwks_url` issuer.
    pub fn with_refresh_policy(config: &IssuerConfig, refresh: RefreshPolicy) -> Result<Issuer, IssuerError> {
        if config.issuer.is_empty() {
            return Err(IssuerError::NoIssuer);
        }
        if config.algorithms.is_empty() {
            return Err(IssuerError::NoAlgorithms);
        }
        let algorithms = config
            .algorithms
            .iter()
            .map(|a| Alg::from_name(a).ok_or_else(|| IssuerError::UnsupportedAlgorithm(a.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let keys = match (&config.jwks_url, &config.jwks) {
            (Some(url), None) => KeySource::Fetched(Arc::new(JwksCache::new(url, refresh)?)),
            (None, Some(jwks)) => {
                let set = KeySet::from_jwks_value(jwks).map_err(IssuerError::Jwks)?;
                if set.is_empty() {
                    return Err(IssuerError::NoUsableKeys);
                }
                KeySource::Inline(Arc::new(set))
            }
            _ => return Err(IssuerError::KeySource),
        };
        let policy = ClaimPolicy {
            issuer: config.issuer.clone(),
            audiences: config.audiences.clone(),
            leeway: config.leeway_seconds,
            subject_claim: config.subject_claim.clone(),
            scopes_claim: config.scopes_claim.clone(),
            require_exp: config.require_exp,
        };
        Ok(Issuer { algorithms, policy, keys, memo: VerifiedMemo::default() })
    }

    /// The `iss` its tokens carry.
    pub fn issuer(&self) -> &str {
        &self.policy.issuer
    }

    /// The key set in use now.
    pub fn keys(&self) -> Arc<KeySet> {
        match &self.keys {
            KeySource::Inline(k) => k.clone(),
            KeySource::Fetched(c) => c.keys(),
        }
    }

    /// The JWKS cache of a `jwks_url` issuer.
    pub fn jwks_cache(&self) -> Option<&Arc<JwksCache>> {
        match &self.keys {
            KeySource::Inline(_) => None,
            KeySource::Fetched(c) => Some(c),
        }
    }

    /// Verifies `token` at `now` (Unix seconds) with the keys held now; no
    /// I/O. A [`TokenRefusal::KeyUnknown`] from a `jwks_url` issuer may be
    /// worth one refresh: [`Issuer::verify_refreshing`] does that.
    /// A token verified before with the same keys, and not yet at its
    /// `exp`, is answered from memory (see `memo.rs`).
    pub fn verify(&self, token: &str, now: u64) -> Result<VerifiedToken, TokenRefusal> {
        let keys = self.keys();
        if let Some(known) = self.memo.get(token, &keys, now) {
            return Ok(known);
        }
        let parsed = Unverified::parse(token)?;
        self.remember(token, &keys, now, self.verify_parsed(parsed, &keys, now))
    }

    /// Verifies `token` at `now` with every check, never answered from
    /// memory nor remembered (a replay, as `keyway diagnose` does; the
    /// cost of a token's first request).
    pub fn verify_fresh(&self, token: &str, now: u64) -> Result<VerifiedToken, TokenRefusal> {
        let parsed = Unverified::parse(token)?;
        self.verify_parsed(parsed, &self.keys(), now)
    }

    /// `verified`, kept for the token's next requests when it passed.
    fn remember(
        &self,
        token: &str,
        keys: &Arc<KeySet>,
        now: u64,
        verified: Result<VerifiedToken, TokenRefusal>,
    ) -> Result<VerifiedToken, TokenRefusal> {
        if let Ok(v) = &verified {
            self.memo.put(token, keys, v, now);
        }
        verified
    }

    /// Verifies `token` at `now`, first refreshing a stale fetched key set
    /// (one request fetches; the others use the keys held), and on an
    /// unknown `kid` refreshing once, within the cache's rate limit, then
    /// verifying again.
    pub async fn verify_refreshing(&self, token: &str, now: u64) -> Result<VerifiedToken, TokenRefusal> {
        let KeySource::Fetched(cache) = &self.keys else {
            return self.verify(token, now);
        };
        // A failed refresh keeps the keys held; an unknown kid then says so.
        let _ = cache.refresh_if_stale().await;
        let keys = cache.keys();
        if let Some(known) = self.memo.get(token, &keys, now) {
            return Ok(known);
        }
        let parsed = Unverified::parse(token)?;
        self.check_alg(parsed.alg)?;
        let unknown = matches!(keys.candidates(parsed.kid.as_deref(), parsed.alg), Err(TokenRefusal::KeyUnknown { .. }));
        if !unknown {
            return self.remember(token, &keys, now, self.verify_parsed(parsed, &keys, now));
        }
        match cache.refresh_for_unknown_kid(&keys).await {
            RefreshOutcome::Refreshed | RefreshOutcome::AlreadyChanged => {
                let fresh = cache.keys();
                self.remember(token, &fresh, now, self.verify_parsed(parsed, &fresh, now))
            }
            RefreshOutcome::RateLimited { .. } | RefreshOutcome::Failed(_) => {
                self.remember(token, &keys, now, self.verify_parsed(parsed, &keys, now))
            }
        }
    }

    fn check_alg(&self, alg: Alg) -> Result<(), TokenRefusal> {
        if self.algorithms.contains(&alg) {
            Ok(())
        } else {
            Err(TokenRefusal::AlgorithmRejected(AlgorithmRejected::NotAllowed(alg)))
        }
    }

    /// The checks after parsing: algorithm, key, signature, then claims.
    pub(crate) fn verify_parsed(&self, t: Unverified<'_>, keys: &KeySet, now: u64) -> Result<VerifiedToken, TokenRefusal> {
        self.check_alg(t.alg)?;
        let candidates = keys.candidates(t.kid.as_deref(), t.alg)?;
        let key = candidates
            .into_iter()
            .find(|k| k.verifies(t.signing_input.as_bytes(), t.signature, t.alg))
            .ok_or(TokenRefusal::SignatureInvalid)?;
        let kid = key.kid().map(str::to_owned);
        claims::check(&self.policy, t.claims, t.alg, kid, now)
    }
}
