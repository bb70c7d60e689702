//! Stage 1, route: `route_not_found`, `api_retired`, `method_not_allowed`.

use crate::model::Api;
use crate::{fmt_time, ErrorCode, Refusal};

/// Why no API serves the path.
#[derive(Debug, Clone, Copy)]
pub enum NoRoute {
    /// The path has `.` or `..` segments, which are never routed.
    DotSegment,
    /// No published API's base path prefixes it.
    NoApi,
}

impl Refusal {
    /// `route_not_found`: no published API serves `path`.
    pub fn route_not_found(path: &str, why: NoRoute) -> Self {
        match why {
            NoRoute::DotSegment => Self::new(
                ErrorCode::RouteNotFound,
                "Paths with . or .. segments are not routed.",
                format!("path {path} has a dot segment"),
            )
            .hint("Send the normalized path."),
            NoRoute::NoApi => Self::new(
                ErrorCode::RouteNotFound,
                format!("No API is published at {path}."),
                format!("no published API has a base path that prefixes {path}"),
            )
            .hint("Check the path: it starts with the API's base path, e.g. /orders/v1/...")
            .fix("publish an API whose base_path prefixes this path, or correct the caller's URL"),
        }
    }

    /// `api_retired`: `api` is retired; `successor` is where callers go.
    pub fn api_retired(api: &Api, successor: Option<&Api>) -> Self {
        let when = api.retired_at.map(|t| format!(" on {}", fmt_time(&t))).unwrap_or_default();
        let r = Self::new(
            ErrorCode::ApiRetired,
            format!("API {} {} was retired{when}.", api.name, api.version),
            format!("api {} {} ({}) is retired{when}", api.name, api.version, api.id),
        );
        let r = match successor {
            Some(s) => r
                .hint(format!("Use {} {} at {} instead.", s.name, s.version, s.base_path))
                .header("link", format!("<{}>; rel=\"successor-version\"", s.base_path)),
            None => r.hint("This API version has no successor; contact the API's owners."),
        };
        r.fix("callers must move to the successor version")
    }

    /// `method_not_allowed`: `api` does not take `method`.
    pub fn method_not_allowed(api: &Api, method: &str, path: &str) -> Self {
        let allowed = api.methods.join(", ");
        Self::new(
            ErrorCode::MethodNotAllowed,
            format!("{method} is not allowed on {path}."),
            format!("api {} {} allows {allowed}", api.name, api.version),
        )
        .hint(format!("Allowed methods: {allowed}."))
        .header("allow", allowed)
    }
}
