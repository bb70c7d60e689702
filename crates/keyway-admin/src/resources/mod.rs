//! The admin API's resources, one module each. Handlers validate the
//! whole request before they write anything, and write through
//! [`AdminState::commit`](crate::AdminState::commit) only.

pub mod analytics;
pub mod api_kind;
pub mod apis;
pub mod apps;
pub mod audit;
pub mod certificates;
pub mod hmac_keys;
pub mod issuers;
pub mod key_batch;
pub mod keys;
pub mod logs;
pub mod models;
pub mod providers;
pub mod subscriptions;
pub mod tenants;
pub mod users;

use crate::error::AdminError;
use crate::state::AdminState;
use axum::http::StatusCode;
use axum::Json;
use keyway_core::ids::{ApiId, AppId, KeyId, TenantId, UserId};
use keyway_core::model::{Api, ApiKey, App, Tenant, User};
use serde::{Deserialize, Deserializer, Serialize};

/// A list answer: `{"data": [...]}`.
#[derive(Debug, Serialize)]
pub struct List<T> {
    /// The items.
    pub data: Vec<T>,
}

/// `{"data": items}` with status 200.
pub fn list<T: Serialize>(data: Vec<T>) -> Json<List<T>> {
    Json(List { data })
}

/// A created resource: 201 and the body.
pub type Created<T> = (StatusCode, Json<T>);

/// 201 with `body`.
pub fn created<T: Serialize>(body: T) -> Created<T> {
    (StatusCode::CREATED, Json(body))
}

/// A tenant, or 404.
pub async fn tenant(state: &AdminState, id: &str) -> Result<Tenant, AdminError> {
    state.store.tenant(&TenantId::from(id)).await?.ok_or_else(|| AdminError::not_found("tenant", id))
}

/// A user, or 404.
pub async fn user(state: &AdminState, id: &str) -> Result<User, AdminError> {
    state.store.user(&UserId::from(id)).await?.ok_or_else(|| AdminError::not_found("user", id))
}

/// An app, or 404.
pub async fn app(state: &AdminState, id: &str) -> Result<App, AdminError> {
    state.store.app(&AppId::from(id)).await?.ok_or_else(|| AdminError::not_found("app", id))
}

/// A key, or 404.
pub async fn key(state: &AdminState, id: &str) -> Result<ApiKey, AdminError> {
    state.store.key(&KeyId::from(id)).await?.ok_or_else(|| AdminError::not_found("key", id))
}

/// An API, or 404.
pub async fn api(state: &AdminState, id: &str) -> Result<Api, AdminError> {
    state.store.api(&ApiId::from(id)).await?.ok_or_else(|| AdminError::not_found("api", id))
}

/// For PATCH fields that may be cleared: absent is `None`, `null` is
/// `Some(None)`, a value is `Some(Some(v))`. Use with `#[serde(default)]`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Gives a storage conflict (the store's unique constraint caught what the
/// handler's own check missed, e.g. a concurrent writer in another
/// process) the field and wording of the handler's own check.
pub fn conflict_as(param: &'static str, detail: String) -> impl FnOnce(AdminError) -> AdminError {
    move |e| match e {
        AdminError::AlreadyExists { .. } => AdminError::exists(param, detail),
        other => other,
    }
}

/// Default number of rows a list-of-records query returns.
pub const DEFAULT_LIMIT: usize = 100;
/// Most rows a list-of-records query returns.
pub const MAX_LIMIT: usize = 1000;

/// Query-string filters, checked by name: unknown, repeated or empty
/// parameters are refused.
#[derive(Debug, Default)]
pub struct Filters(std::collections::HashMap<String, String>);

impl Filters {
    /// Reads `pairs`, accepting only the parameters in `known`.
    pub fn parse(pairs: Vec<(String, String)>, known: &[&str]) -> Result<Self, AdminError> {
        let mut map = std::collections::HashMap::new();
        for (name, value) in pairs {
            if !known.contains(&name.as_str()) {
                return Err(AdminError::invalid(
                    name.clone(),
                    format!("unknown query parameter {name}; known: {}", known.join(", ")),
                ));
            }
            if value.is_empty() {
                return Err(AdminError::invalid(
                    name.clone(),
                    format!("query parameter {name} is empty: give it a value or leave it out"),
                ));
            }
            if map.insert(name.clone(), value).is_some() {
                return Err(AdminError::invalid(name.clone(), format!("query parameter {name} is given twice")));
            }
        }
        Ok(Filters(map))
    }

    /// A text filter.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    /// A text filter that must be one of `allowed`.
    pub fn one_of(&self, name: &str, allowed: &[&str]) -> Result<Option<String>, AdminError> {
        match self.0.get(name) {
            Some(v) if !allowed.contains(&v.as_str()) => {
                Err(AdminError::invalid(name, format!("{name} must be one of {}", allowed.join(", "))))
            }
            v => Ok(v.cloned()),
        }
    }

    /// An RFC 3339 time filter (see [`crate::input::parse_time`]).
    pub fn time(&self, name: &str) -> Result<Option<keyway_core::Timestamp>, AdminError> {
        self.0
            .get(name)
            .map(|v| {
                crate::input::parse_time(v)
                    .map_err(|why| AdminError::invalid(name, format!("{name} {v:?} {why} (in a query string, write + as %2B)")))
            })
            .transpose()
    }

    /// `limit`: 1 to [`MAX_LIMIT`] in decimal digits, [`DEFAULT_LIMIT`] when absent.
    pub fn limit(&self) -> Result<usize, AdminError> {
        match self.0.get("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(v) => Some(v)
                .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| AdminError::invalid("limit", format!("limit must be a whole number from 1 to {MAX_LIMIT}"))),
        }
    }
}
