//! Keyway's admin API: tenants, users, apps, keys, APIs, the call log and
//! the audit log, over JSON, with RFC 9457 problem+json errors.
//!
//! - [`router`] assembles the routes of [`routes()`] and the layers.
//! - [`AdminState`] is what handlers share; every write goes through
//!   [`AdminState::commit`]: storage first, then the gateway snapshot.
//! - [`auth`]: deny by default, bearer admin tokens, and
//!   [`bootstrap_admin_token`] for `keyway serve`.
//! - [`error`]: [`AdminError`] and its problem+json rendering.

pub mod ai_fields;
pub mod analytics;
pub mod auth;
pub mod diagnose;
pub mod error;
pub mod extract;
pub mod health;
pub mod input;
pub mod json;
pub mod openapi;
pub mod resources;
mod routes;
pub mod state;
pub mod validate;
pub mod validate_ai;
pub mod validate_issuer;

pub use auth::{bootstrap_admin_token, PUBLIC_PATHS};
pub use error::AdminError;
pub use extract::Actor;
pub use routes::routes;
pub use state::{AdminState, PendingCalls, Write};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use error::Problem;
use keyway_core::ids::RequestId;

/// Largest request body accepted: 1 MiB.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The admin API.
pub fn router(state: AdminState) -> Router {
    let mut app = Router::new();
    for r in routes::table() {
        app = app.route(r.path, r.handler);
    }
    // Layers wrap what was added before them: the last one added runs
    // first on the way in. Read bottom-up for the request's path:
    //   1. request_id: gives every response an `x-request-id`, and puts it
    //      into every problem+json body, including 401s from step 2;
    //   2. require_admin_token: deny by default; only PUBLIC_PATHS pass
    //      without a token, and unknown paths answer 401 before 404 so
    //      they reveal nothing;
    //   3. DefaultBodyLimit: read by the body extractors (413 over 1 MiB);
    //   4. the route, or the fallbacks (404 unknown path, 405 method).
    app.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), auth::require_admin_token))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

async fn not_found(uri: Uri) -> AdminError {
    AdminError::NotFound(format!("no admin API route at {}", uri.path()))
}

async fn method_not_allowed() -> AdminError {
    AdminError::MethodNotAllowed
}

/// Tags the response with a fresh request id (header, and problem body).
async fn request_id(req: Request, next: Next) -> Response {
    let id = RequestId::generate().to_string();
    let res = next.run(req).await;
    let (mut parts, body) = res.into_parts();
    let body = match parts.extensions.remove::<Problem>() {
        Some(problem) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Body::from(problem.body(Some(&id)).to_string())
        }
        None => body,
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        parts.headers.insert("x-request-id", v);
    }
    Response::from_parts(parts, body)
}
