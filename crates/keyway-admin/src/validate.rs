//! Field checks shared by the resources. Each returns the cleaned value
//! or a 400 naming the field.

use crate::error::AdminError;

/// Longest display name, label or version accepted.
pub const MAX_NAME: usize = 200;
/// Longest free-text reason accepted.
pub const MAX_REASON: usize = 1000;
/// Most scopes on one key or API.
pub const MAX_SCOPES: usize = 100;

/// A required short text: trimmed, non-empty, at most `max` characters,
/// no control characters.
pub fn text(param: &str, value: &str, max: usize) -> Result<String, AdminError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AdminError::invalid(param, format!("{param} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(AdminError::invalid(param, format!("{param} is longer than {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(AdminError::invalid(param, format!("{param} must not contain control characters")));
    }
    Ok(v.to_owned())
}

/// An optional short text, checked like [`text`] when present.
pub fn opt_text(param: &str, value: Option<&str>, max: usize) -> Result<Option<String>, AdminError> {
    value.map(|v| text(param, v, max)).transpose()
}

/// A list of scope names: each non-empty, without whitespace or control
/// characters, at most 128 characters; duplicates dropped, order kept.
pub fn scopes(param: &str, values: Vec<String>) -> Result<Vec<String>, AdminError> {
    if values.len() > MAX_SCOPES {
        return Err(AdminError::invalid(param, format!("{param} holds more than {MAX_SCOPES} scopes")));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for (i, s) in values.into_iter().enumerate() {
        let at = format!("{param}[{i}]");
        if s.is_empty() || s.len() > 128 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(AdminError::invalid(at, "a scope is 1 to 128 characters without spaces, e.g. orders:read"));
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// A tenant slug: `^[a-z0-9][a-z0-9-]{0,62}$`.
pub fn slug(value: &str) -> Result<String, AdminError> {
    let b = value.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(AdminError::invalid("slug", "slug must be 1 to 63 characters of a-z, 0-9 and '-', starting with a letter or digit"))
    }
}

/// An email address, checked loosely (one `@`, something on each side,
/// no whitespace) and lowercased, so uniqueness ignores case.
pub fn email(value: &str) -> Result<String, AdminError> {
    let v = value.trim();
    let ok = v.len() <= 254
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(v.split_once('@'), Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if ok {
        Ok(v.to_lowercase())
    } else {
        Err(AdminError::invalid("email", "email must look like name@example.com"))
    }
}

/// Longest rate-limit period: one year.
pub const MAX_RATE_PERIOD_SECONDS: u64 = 366 * 24 * 3600;

/// A request rate: at least one request, per 1 s to one year.
pub fn rate_limit(param: &str, rl: &keyway_core::model::RateLimit) -> Result<(), AdminError> {
    if rl.requests == 0 {
        return Err(AdminError::invalid(format!("{param}.requests"), format!("{param}.requests must be at least 1")));
    }
    if rl.per_seconds == 0 || rl.per_seconds > MAX_RATE_PERIOD_SECONDS {
        return Err(AdminError::invalid(
            format!("{param}.per_seconds"),
            format!("{param}.per_seconds must be 1 to {MAX_RATE_PERIOD_SECONDS}"),
        ));
    }
    Ok(())
}

/// A period quota: at least one request.
pub fn quota(param: &str, q: &keyway_core::model::Quota) -> Result<(), AdminError> {
    if q.requests == 0 {
        return Err(AdminError::invalid(format!("{param}.requests"), format!("{param}.requests must be at least 1")));
    }
    Ok(())
}

/// Limits of a tenant, app or API; `key_rate_limit` only where `keys` is true (apps).
pub fn limits(param: &str, l: &keyway_core::model::Limits, keys: bool) -> Result<(), AdminError> {
    if let Some(rl) = &l.rate_limit {
        rate_limit(&format!("{param}.rate_limit"), rl)?;
    }
    if let Some(q) = &l.quota {
        quota(&format!("{param}.quota"), q)?;
    }
    match &l.key_rate_limit {
        Some(_) if !keys => Err(AdminError::invalid(format!("{param}.key_rate_limit"), "key_rate_limit is set on apps only")),
        Some(rl) => rate_limit(&format!("{param}.key_rate_limit"), rl),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for good in ["a", "acme", "0-team", "a-b-c", &"a".repeat(63)] {
            assert!(slug(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "Acme", "a_b", "a b", "é", &"a".repeat(64)] {
            assert!(slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(email(" Ops@Acme.test ").ok().as_deref(), Some("ops@acme.test"));
        for bad in ["", "a", "@a", "a@", "a@@b", "a@b@c", "a b@c", "a@b\tc"] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scope_lists() {
        assert_eq!(scopes("s", vec!["a".into(), "b".into(), "a".into()]).ok(), Some(vec!["a".into(), "b".into()]));
        let Err(AdminError::RequestInvalid { param, .. }) = scopes("s", vec!["a".into(), "b c".into()]) else {
            panic!("expected a 400");
        };
        assert_eq!(param.as_deref(), Some("s[1]"));
    }

    #[test]
    fn texts() {
        assert_eq!(text("name", "  Acme ", 10).ok().as_deref(), Some("Acme"));
        assert!(text("name", "   ", 10).is_err());
        assert!(text("name", "abcdefghijk", 10).is_err());
        assert!(text("name", "a\u{0}b", 10).is_err());
    }
}
