//! HTTP/1.1 on the wire, the parts Keyway's two HTTP/1.1 ends share: the
//! client-facing server (`keyway-listener`) and the upstream client
//! (`keyway-gateway`'s `upstream_h1`).
//!
//! - [`head`]: header blocks parsed with `httparse` into a [`http::HeaderMap`]
//!   whose values share the read buffer; `Content-Length` and `Connection`
//!   read strictly.
//! - [`framing`]: a message body decoded in place off a read buffer
//!   (a length, chunked with extensions and trailers, or until close).
//! - [`read`]: a socket read into a buffer, one system call per arrival.

pub mod decimal;
pub mod framing;
pub mod head;
pub mod read;

pub use decimal::decimal;
pub use framing::{Decoder, Framing, FramingError, Source};
