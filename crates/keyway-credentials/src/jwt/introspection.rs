//! Reading an RFC 7662 introspection answer for an issuer whose tokens
//! are opaque: `token_inactive` unless it says `"active": true`.

use super::refusal::{InactiveReason, TokenRefusal};
use serde_json::Value;

/// What an active token's introspection answer says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Introspected {
    /// `sub`, if given.
    pub subject: Option<String>,
    /// `client_id`, if given.
    pub client_id: Option<String>,
    /// `scope`, split on spaces.
    pub scopes: Vec<String>,
    /// `exp`, Unix seconds, if given.
    pub exp: Option<u64>,
}

/// Interprets the JSON `answer` of an introspection endpoint at `now`. An
/// active token whose `exp` has passed is treated as inactive: the
/// answer may come from a cache.
pub fn interpret_introspection(answer: &Value, now: u64) -> Result<Introspected, TokenRefusal> {
    match answer.get("active").and_then(Value::as_bool) {
        Some(true) => {}
        Some(false) => return Err(TokenRefusal::Inactive(InactiveReason::NotActive)),
        None => return Err(TokenRefusal::Inactive(InactiveReason::NoActiveMember)),
    }
    let exp = answer.get("exp").and_then(Value::as_u64);
    if exp.is_some_and(|e| e < now) {
        return Err(TokenRefusal::Inactive(InactiveReason::NotActive));
    }
    let text = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(Introspected {
        subject: text("sub"),
        client_id: text("client_id"),
        scopes: text("scope").map(|s| s.split_whitespace().map(str::to_owned).collect()).unwrap_or_default(),
        exp,
    })
}
