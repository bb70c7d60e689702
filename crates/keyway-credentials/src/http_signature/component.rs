//! Covered components (RFC 9421 section 2): the derived `@` components of
//! a request and header fields, and their values.

use super::refusal::{Missing, SignatureMalformed, SignatureRefusal};
use super::request::SignedRequest;
use std::fmt::Write;

/// A component a signature covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Component {
    /// `@method`
    Method,
    /// `@target-uri`
    TargetUri,
    /// `@authority`
    Authority,
    /// `@scheme`
    Scheme,
    /// `@request-target`
    RequestTarget,
    /// `@path`
    Path,
    /// `@query`
    Query,
    /// A header field, by its lowercase name.
    Field(String),
}

impl Component {
    /// The component named `name` (its identifier without quotes).
    pub fn from_name(name: &str) -> Result<Component, SignatureRefusal> {
        let unsupported = || SignatureRefusal::Malformed(SignatureMalformed::UnsupportedComponent(format!("{name:?}")));
        Ok(match name {
            "@method" => Component::Method,
            "@target-uri" => Component::TargetUri,
            "@authority" => Component::Authority,
            "@scheme" => Component::Scheme,
            "@request-target" => Component::RequestTarget,
            "@path" => Component::Path,
            "@query" => Component::Query,
            _ if name.starts_with('@') => return Err(unsupported()),
            _ if !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.!#$%&'*+^`|~".contains(&b)) =>
            {
                Component::Field(name.to_owned())
            }
            _ => return Err(unsupported()),
        })
    }

    /// The component's name as its identifier spells it.
    pub fn name(&self) -> &str {
        match self {
            Component::Method => "@method",
            Component::TargetUri => "@target-uri",
            Component::Authority => "@authority",
            Component::Scheme => "@scheme",
            Component::RequestTarget => "@request-target",
            Component::Path => "@path",
            Component::Query => "@query",
            Component::Field(f) => f,
        }
    }

    /// Appends the component's value in `request` to `out` (RFC 9421
    /// sections 2.1 and 2.2).
    pub(crate) fn write_value(&self, request: &SignedRequest<'_>, out: &mut String) -> Result<(), SignatureRefusal> {
        let path = if request.path.is_empty() { "/" } else { request.path };
        match self {
            Component::Method => out.push_str(request.method),
            Component::Scheme => out.push_str(&request.scheme.to_ascii_lowercase()),
            Component::Authority => out.push_str(&authority(request)),
            Component::TargetUri => {
                let _ = write!(out, "{}://{}{path}", request.scheme.to_ascii_lowercase(), authority(request));
                if let Some(q) = request.query {
                    let _ = write!(out, "?{q}");
                }
            }
            Component::RequestTarget => {
                out.push_str(path);
                if let Some(q) = request.query {
                    let _ = write!(out, "?{q}");
                }
            }
            Component::Path => out.push_str(path),
            Component::Query => {
                out.push('?');
                out.push_str(request.query.unwrap_or(""));
            }
            Component::Field(name) => {
                let mut lines = request.headers.get_all(name.as_str()).iter().peekable();
                if lines.peek().is_none() {
                    return Err(SignatureRefusal::HeadersMissing(Missing::Field(name.clone())));
                }
                for (i, line) in lines.enumerate() {
                    let text =
                        line.to_str().map_err(|_| SignatureRefusal::Malformed(SignatureMalformed::FieldValue(name.clone())))?;
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(text.trim_matches(|c| c == ' ' || c == '\t'));
                }
            }
        }
        Ok(())
    }
}

/// The authority normalized as RFC 9421 2.2.3 asks: lowercase, without
/// the scheme's default port.
fn authority(request: &SignedRequest<'_>) -> String {
    let lower = request.authority.to_ascii_lowercase();
    let default = match request.scheme.to_ascii_lowercase().as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return lower,
    };
    match lower.strip_suffix(default) {
        Some(host) => host.to_owned(),
        None => lower,
    }
}
