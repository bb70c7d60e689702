//! The one body type the gateway sends and forwards.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};

/// Error type of bodies in flight.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// A streamed body, either direction.
pub type Body = BoxBody<Bytes, BodyError>;

/// A body with these bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

/// An empty body.
pub fn empty() -> Body {
    full(Bytes::new())
}
