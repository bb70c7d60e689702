//! Admin authentication, deny by default: every path needs
//! `Authorization: Bearer <admin token>` except those in [`PUBLIC_PATHS`].
//!
//! Tokens are never stored: only their keyed digest, which is what a
//! presented token is looked up by.

use crate::error::AdminError;
use crate::extract::Actor;
use crate::state::{now, AdminState};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keyway_core::ids::AdminTokenId;
use keyway_core::key_format::{digests_equal, KeyHasher, BASE62};
use keyway_store::{AdminToken, Store, StoreError};
use rand::Rng;

/// Paths anyone may call without a token: probes, metrics scraping and
/// the API description.
pub const PUBLIC_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics", "/admin/v1/openapi.json"];

/// Leading text of minted admin tokens.
pub const TOKEN_LEAD: &str = "kwadm_";
/// Number of random base62 characters in a minted admin token.
pub const TOKEN_RANDOM_LEN: usize = 40;

/// Middleware: lets public paths through, otherwise resolves the bearer
/// token to an admin token and records its id as the request's [`Actor`].
pub async fn require_admin_token(State(state): State<AdminState>, mut req: Request, next: Next) -> Response {
    if PUBLIC_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let presented = req.headers().get(header::AUTHORIZATION).cloned();
    match authenticate(&state, presented).await {
        Ok(actor) => {
            req.extensions_mut().insert(actor);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

async fn authenticate(state: &AdminState, presented: Option<HeaderValue>) -> Result<Actor, AdminError> {
    let Some(value) = presented else {
        return Err(AdminError::TokenMissing);
    };
    let token = bearer_token(value.as_bytes())?;
    let digest = state.settings.hasher.digest(token);
    match state.store.admin_token_by_digest(&digest).await? {
        Some(found) if digests_equal(&found.digest, &digest) => Ok(Actor(found.id.to_string())),
        _ => Err(AdminError::TokenInvalid("the admin token is not valid".to_owned())),
    }
}

/// The token of an `Authorization: Bearer <token>` value.
fn bearer_token(value: &[u8]) -> Result<&str, AdminError> {
    let text = std::str::from_utf8(value)
        .map_err(|_| AdminError::TokenInvalid("the Authorization header is not valid text".to_owned()))?;
    let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AdminError::TokenInvalid("use the Bearer scheme: Authorization: Bearer <token>".to_owned()));
    }
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(AdminError::TokenInvalid(
            "the Authorization header must be exactly `Bearer <token>`, with no extra spaces".to_owned(),
        ));
    }
    Ok(token)
}

/// Makes sure an admin token exists at start-up.
///
/// - `from_env` set (e.g. `KEYWAY_ADMIN_TOKEN`): its digest is stored
///   (name `env`) unless already there; returns `None`. A blank value
///   counts as unset.
/// - otherwise, on a store with no admin token: mints one
///   (`kwadm_` + 40 base62 characters from the OS RNG), stores its digest
///   and returns it, for `keyway serve` to print once.
/// - otherwise `None`.
pub async fn bootstrap_admin_token(
    store: &dyn Store,
    hasher: &KeyHasher,
    from_env: Option<&str>,
) -> Result<Option<String>, StoreError> {
    if let Some(token) = from_env.map(str::trim).filter(|t| !t.is_empty()) {
        let digest = hasher.digest(token);
        if store.admin_token_by_digest(&digest).await?.is_none() {
            store.insert_admin_token(&stored("env", digest)).await?;
        }
        return Ok(None);
    }
    if store.admin_token_count().await? > 0 {
        return Ok(None);
    }
    let token = mint_token();
    store.insert_admin_token(&stored("bootstrap", hasher.digest(&token))).await?;
    Ok(Some(token))
}

fn stored(name: &str, digest: [u8; 32]) -> AdminToken {
    AdminToken { id: AdminTokenId::generate(), name: name.to_owned(), digest, created_at: now() }
}

fn mint_token() -> String {
    let mut rng = rand::rngs::OsRng;
    let mut token = String::with_capacity(TOKEN_LEAD.len() + TOKEN_RANDOM_LEN);
    token.push_str(TOKEN_LEAD);
    for _ in 0..TOKEN_RANDOM_LEN {
        token.push(char::from(BASE62[rng.gen_range(0..BASE62.len())]));
    }
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_have_the_documented_shape() {
        let a = mint_token();
        assert_eq!(a.len(), 46);
        assert!(a.starts_with("kwadm_"));
        assert!(a[6..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, mint_token());
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(b"Bearer abc").ok(), Some("abc"));
        assert_eq!(bearer_token(b"bearer abc").ok(), Some("abc"));
        assert!(bearer_token(b"Token abc").is_err());
        assert!(bearer_token(b"Bearer").is_err());
        assert!(bearer_token(b"Bearer  abc").is_err());
        assert!(bearer_token(b"Bearer abc def").is_err());
    }
}
