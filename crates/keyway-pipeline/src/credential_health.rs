//! The health of AI provider credentials on this node: the credential
//! pool of each provider taken in turn (round robin), those the provider
//! refused (401/403) skipped until a retry interval has passed, then
//! tried again so one that works again comes back. Shared by every
//! gateway worker, and read by the admin API (a credential's `healthy`).

use keyway_core::ids::CredentialId;
use keyway_core::providers::{Provider, ProviderCredential};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a refused credential is skipped before it is tried again.
pub const RETRY_REFUSED_AFTER: Duration = Duration::from_secs(60);

/// Which credentials providers refused, and the round-robin cursor.
#[derive(Debug, Default)]
pub struct CredentialHealth {
    refused: Mutex<HashMap<CredentialId, Instant>>,
    cursor: AtomicUsize,
}

impl CredentialHealth {
    /// `provider`'s credentials in the order to try them: healthy ones
    /// from the next in turn, then refused ones whose retry is due
    /// (oldest refusal first). A credential refused within the retry
    /// interval is left out, unless every credential is.
    pub fn order<'p>(&self, provider: &'p Provider, now: Instant) -> Vec<&'p ProviderCredential> {
        let all = &provider.credentials;
        if all.is_empty() {
            return Vec::new();
        }
        let start = self.cursor.fetch_add(1, Ordering::Relaxed) % all.len();
        let refused = self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut healthy = Vec::with_capacity(all.len());
        let mut due = Vec::new();
        let mut cooling = Vec::new();
        for c in all.iter().cycle().skip(start).take(all.len()) {
            match refused.get(&c.id) {
                None => healthy.push(c),
                Some(at) if now.saturating_duration_since(*at) >= RETRY_REFUSED_AFTER => due.push((*at, c)),
                Some(at) => cooling.push((*at, c)),
            }
        }
        due.sort_by_key(|(at, _)| *at);
        healthy.extend(due.into_iter().map(|(_, c)| c));
        if healthy.is_empty() {
            cooling.sort_by_key(|(at, _)| *at);
            healthy.extend(cooling.into_iter().map(|(_, c)| c));
        }
        healthy
    }

    /// The provider refused `id`: skip it for a while.
    pub fn refused(&self, id: &CredentialId, now: Instant) {
        self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id.clone(), now);
    }

    /// The provider accepted `id`: it is healthy again.
    pub fn accepted(&self, id: &CredentialId) {
        let mut refused = self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !refused.is_empty() {
            refused.remove(id);
        }
    }

    /// Whether `id` is currently skipped.
    pub fn is_refused(&self, id: &CredentialId) -> bool {
        self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains_key(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyway_core::ids::{ProviderId, TenantId};
    use keyway_core::providers::ProviderKind;

    fn provider(n: usize) -> Provider {
        Provider {
            id: ProviderId::generate(),
            tenant_id: TenantId::generate(),
            name: "p".into(),
            kind: ProviderKind::OpenAi,
            base_url: None,
            preset: None,
            api_version: None,
            credentials: (0..n)
                .map(|_| ProviderCredential {
                    id: CredentialId::generate(),
                    sealed: Vec::new(),
                    last4: "abcd".into(),
                    rejected_at: None,
                })
                .collect(),
            created_at: chrono::Utc::now(),
            deleted_at: None,
        }
    }

    #[test]
    fn credentials_are_taken_in_turn() {
        let (p, h, now) = (provider(3), CredentialHealth::default(), Instant::now());
        let firsts: Vec<_> = (0..6).map(|_| h.order(&p, now)[0].id.clone()).collect();
        assert_eq!(firsts[..3], firsts[3..], "a cycle of three");
        assert!(firsts[0] != firsts[1] && firsts[1] != firsts[2] && firsts[0] != firsts[2]);
    }

    #[test]
    fn a_refused_credential_is_skipped_until_its_retry_is_due_then_tried_again() {
        let (p, h, now) = (provider(2), CredentialHealth::default(), Instant::now());
        let bad = p.credentials[0].id.clone();
        h.refused(&bad, now);
        for _ in 0..4 {
            let order = h.order(&p, now + Duration::from_secs(1));
            assert_eq!(order.len(), 1);
            assert_ne!(order[0].id, bad);
        }
        let later = h.order(&p, now + RETRY_REFUSED_AFTER);
        assert_eq!(later.len(), 2, "due again, after the healthy one");
        assert_eq!(later[1].id, bad);
        h.accepted(&bad);
        assert!(!h.is_refused(&bad));
    }

    #[test]
    fn when_every_credential_is_refused_they_are_all_still_tried() {
        let (p, h, now) = (provider(2), CredentialHealth::default(), Instant::now());
        h.refused(&p.credentials[1].id, now);
        h.refused(&p.credentials[0].id, now + Duration::from_millis(5));
        let order = h.order(&p, now + Duration::from_secs(1));
        assert_eq!(order.iter().map(|c| &c.id).collect::<Vec<_>>(), [&p.credentials[1].id, &p.credentials[0].id]);
    }
}
