//! The key set of a `jwks_url` issuer: fetched, held, refreshed when its
//! TTL passes, and on an unknown `kid` at most once per interval, so a
//! flood of tokens with made-up `kid`s cannot hammer the IdP.

use super::config::IssuerError;
use super::fetch::JwksClient;
use super::keys::{JwksError, KeySet};
use arc_swap::ArcSwap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// When a fetched key set is refreshed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// Refresh when the set is older than this.
    pub ttl: Duration,
    /// At most one refresh for an unknown `kid` within this interval.
    pub unknown_kid_interval: Duration,
    /// Deadline of one fetch.
    pub fetch_timeout: Duration,
    /// Largest JWKS accepted, bytes.
    pub max_body: usize,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            ttl: Duration::from_secs(3600),
            unknown_kid_interval: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
            max_body: 1024 * 1024,
        }
    }
}

/// What a refresh for an unknown `kid` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The set was fetched anew: verify again.
    Refreshed,
    /// Another caller replaced the set since it was read: verify again.
    AlreadyChanged,
    /// The last unknown-`kid` refresh was too recent; nothing fetched.
    RateLimited {
        /// When the next one is allowed.
        retry_in: Duration,
    },
    /// The fetch failed; the held set stays.
    Failed(JwksError),
}

struct Held {
    keys: Arc<KeySet>,
    fetched_at: Option<Instant>,
}

/// A fetched, cached JWKS.
pub struct JwksCache {
    uri: http::Uri,
    policy: RefreshPolicy,
    client: JwksClient,
    held: ArcSwap<Held>,
    /// Held while fetching: one fetch at a time.
    fetching: Mutex<()>,
    fetches: AtomicU64,
    born: Instant,
    /// Milliseconds after `born` of the last failed fetch, plus one (0: none).
    failed_at: AtomicU64,
}

impl JwksCache {
    /// A cache for the JWKS at `url`, empty until the first refresh.
    pub fn new(url: &str, policy: RefreshPolicy) -> Result<JwksCache, IssuerError> {
        let uri: http::Uri = url.parse().map_err(|_| IssuerError::BadJwksUrl(url.to_owned()))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
            return Err(IssuerError::BadJwksUrl(url.to_owned()));
        }
        Ok(JwksCache {
            uri,
            policy,
            client: JwksClient::new(policy.fetch_timeout),
            held: ArcSwap::from_pointee(Held { keys: Arc::new(KeySet::default()), fetched_at: None }),
            fetching: Mutex::new(()),
            fetches: AtomicU64::new(0),
            born: Instant::now(),
            failed_at: AtomicU64::new(0),
        })
    }

    /// The key set held now (lock-free).
    pub fn keys(&self) -> Arc<KeySet> {
        self.held.load().keys.clone()
    }

    /// How many fetches were made.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Whether the set was never fetched or is older than the TTL.
    pub fn is_stale(&self) -> bool {
        self.held.load().fetched_at.is_none_or(|t| t.elapsed() >= self.policy.ttl)
    }

    /// How long ago the last fetch failed, if the last one did.
    fn since_failure(&self) -> Option<Duration> {
        match self.failed_at.load(Ordering::Relaxed) {
            0 => None,
            at => Some(self.born.elapsed().saturating_sub(Duration::from_millis(at - 1))),
        }
    }

    /// Whether the last fetch, successful or not, is younger than the
    /// unknown-`kid` interval.
    fn fetched_recently(&self, held: &Held) -> Option<Duration> {
        let ages = [held.fetched_at.map(|t| t.elapsed()), self.since_failure()];
        ages.into_iter().flatten().min().filter(|age| *age < self.policy.unknown_kid_interval)
    }

    async fn fetch(&self) -> Result<(), JwksError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = self.fetch_keys().await;
        match &result {
            Ok(keys) => {
                self.failed_at.store(0, Ordering::Relaxed);
                self.held.store(Arc::new(Held { keys: keys.clone(), fetched_at: Some(Instant::now()) }));
            }
            Err(_) => {
                let at = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
                self.failed_at.store(at + 1, Ordering::Relaxed);
            }
        }
        result.map(|_| ())
    }

    async fn fetch_keys(&self) -> Result<Arc<KeySet>, JwksError> {
        let body = self.client.get(&self.uri, self.policy.fetch_timeout, self.policy.max_body).await?;
        let text = std::str::from_utf8(&body).map_err(|e| JwksError::NotAKeySet(e.to_string()))?;
        Ok(Arc::new(KeySet::from_jwks_json(text)?))
    }

    /// Fetches the set now, whatever its age.
    pub async fn refresh(&self) -> Result<(), JwksError> {
        let _guard = self.fetching.lock().await;
        self.fetch().await
    }

    /// Fetches the set if it is stale, no other caller is already
    /// fetching it, and no fetch failed within the unknown-`kid` interval
    /// (an IdP that is down is not asked on every request); answers
    /// whether this call fetched.
    pub async fn refresh_if_stale(&self) -> Result<bool, JwksError> {
        let backing_off = self.since_failure().is_some_and(|age| age < self.policy.unknown_kid_interval);
        if !self.is_stale() || backing_off {
            return Ok(false);
        }
        let Ok(_guard) = self.fetching.try_lock() else {
            return Ok(false);
        };
        if !self.is_stale() {
            return Ok(false);
        }
        self.fetch().await.map(|()| true)
    }

    /// Refreshes because a token named a `kid` missing from `seen` (the
    /// set the caller verified with), unless the last fetch (or failed
    /// fetch) is younger than [`RefreshPolicy::unknown_kid_interval`]: so
    /// however many unknown `kid`s arrive, the IdP sees at most one fetch
    /// per interval.
    /// Concurrent callers wait for one fetch and then verify again.
    pub async fn refresh_for_unknown_kid(&self, seen: &Arc<KeySet>) -> RefreshOutcome {
        let _guard = self.fetching.lock().await;
        let held = self.held.load();
        if !Arc::ptr_eq(&held.keys, seen) {
            return RefreshOutcome::AlreadyChanged;
        }
        if let Some(age) = self.fetched_recently(&held) {
            return RefreshOutcome::RateLimited { retry_in: self.policy.unknown_kid_interval - age };
        }
        match self.fetch().await {
            Ok(()) => RefreshOutcome::Refreshed,
            Err(e) => RefreshOutcome::Failed(e),
        }
    }
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("host", &self.uri.host())
            .field("path", &self.uri.path())
            .field("policy", &self.policy)
            .field("keys", &self.keys())
            .field("fetches", &self.fetch_count())
            .finish()
    }
}
