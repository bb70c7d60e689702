//! What a limit applies to: a level (key, app, tenant, API) and a subject.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The level a limit is configured at. Rendered lowercase (`key`, `app`,
/// `tenant`, `api`) in headers, logs and persisted quota rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// One API key.
    Key,
    /// One app (all of its keys).
    App,
    /// One tenant (all of its apps).
    Tenant,
    /// One API (all callers).
    Api,
}

impl Level {
    /// The lowercase name: `key`, `app`, `tenant` or `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Key => "key",
            Level::App => "app",
            Level::Tenant => "tenant",
            Level::Api => "api",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of `key`, `app`, `tenant`, `api`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLevel(pub String);

impl fmt::Display for UnknownLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown limit level {:?} (expected key, app, tenant or api)", self.0)
    }
}

impl std::error::Error for UnknownLevel {}

impl FromStr for Level {
    type Err = UnknownLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "key" => Ok(Level::Key),
            "app" => Ok(Level::App),
            "tenant" => Ok(Level::Tenant),
            "api" => Ok(Level::Api),
            other => Err(UnknownLevel(other.to_owned())),
        }
    }
}

/// Identifies one limited bucket: a level and the id of its subject
/// (e.g. `Level::App` and `"app_01J…"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LimitKey {
    /// The level the limit is configured at.
    pub level: Level,
    /// The subject's id at that level (key id, app id, tenant id, API id).
    pub subject: String,
}

impl LimitKey {
    /// A key for `subject` at `level`.
    pub fn new(level: Level, subject: impl Into<String>) -> Self {
        Self { level, subject: subject.into() }
    }
}

impl fmt::Display for LimitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.level, self.subject)
    }
}
