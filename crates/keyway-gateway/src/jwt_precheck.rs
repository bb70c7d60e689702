//! A bearer JWT verified before the snapshot phases run, because
//! verification may need I/O: a `jwks_url` issuer's key set is fetched on
//! first use, again when its TTL passes (one request fetches, the others
//! keep the keys held), and once on an unknown `kid`, rate limited by the
//! issuer's `JwksCache`. Nothing here blocks other requests: the snapshot
//! is an `Arc` held by this request alone, and a cache's fetch lock is
//! per issuer. The phases then read the outcome
//! (`CallInput::token_check`) instead of verifying again.

use http::HeaderMap;
use keyway_core::model::AuthMethod;
use keyway_pipeline::stages::{route, token};
use keyway_pipeline::Snapshot;

/// The outcome of verifying the request's bearer JWT against the issuers
/// its API trusts, when it carries one and its API accepts `jwt`.
pub async fn verify(
    snapshot: &Snapshot,
    host: Option<&str>,
    method: &str,
    path: &str,
    headers: &HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<token::Prechecked> {
    let bearer = token::bearer_jwt(headers)?;
    let api = route::check(snapshot, host, method, path).ok()?;
    if !api.api.auth.contains(&AuthMethod::Jwt) {
        return None;
    }
    let trusted = snapshot.jwt.trusted_by(&api.api)?;
    let now = u64::try_from(now.timestamp()).unwrap_or(0);
    Some(trusted.verify_refreshing(bearer, now).await)
}
