//! The admin API's resources, one module each. Handlers validate the
//! whole request before they write anything, and write through
//! [`AdminState::commit`](crate::AdminState::commit) only.

pub mod apis;
pub mod apps;
pub mod audit;
pub mod keys;
pub mod logs;
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

/// Query-string filters, checked by name: unknown or repeated parameters
/// are refused, empty values count as absent.
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
                continue;
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

    /// An RFC 3339 time filter.
    pub fn time(&self, name: &str) -> Result<Option<keyway_core::Timestamp>, AdminError> {
        self.0
            .get(name)
            .map(|v| {
                chrono::DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&chrono::Utc)).map_err(|_| {
                    AdminError::invalid(
                        name,
                        format!("{name} must be an RFC 3339 time such as 2025-01-31T12:00:00Z (write + as %2B)"),
                    )
                })
            })
            .transpose()
    }

    /// `limit`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
    pub fn limit(&self) -> Result<usize, AdminError> {
        match self.0.get("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| AdminError::invalid("limit", format!("limit must be a whole number from 1 to {MAX_LIMIT}"))),
        }
    }
}
