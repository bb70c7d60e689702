//! The parts of a request a signature covers, borrowed from the gateway's
//! view of it.

/// A request as received, borrowed for one verification.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'a> {
    /// The method, as sent (`POST`).
    pub method: &'a str,
    /// `http` or `https`, as the gateway received the request.
    pub scheme: &'a str,
    /// The target's authority (`Host`, or the HTTP/2 `:authority`).
    pub authority: &'a str,
    /// The path as sent, still percent-encoded; empty means `/`.
    pub path: &'a str,
    /// The query as sent, without `?`; `None` when the target has no `?`.
    pub query: Option<&'a str>,
    /// The request's header fields.
    pub headers: &'a http::HeaderMap,
    /// The whole body (empty when there is none).
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    /// Whether the target has a non-empty query.
    pub fn has_query(&self) -> bool {
        self.query.is_some_and(|q| !q.is_empty())
    }

    /// Whether the request carries a body.
    pub fn has_body(&self) -> bool {
        !self.body.is_empty()
    }
}
