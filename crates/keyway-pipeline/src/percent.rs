//! Percent-encoding (RFC 3986 §2.1), the little of it the request path needs.

/// The value of one hex digit.
pub(crate) fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte `%XY` at the start of `b` stands for, if it is a whole escape.
pub(crate) fn escape_at(b: &[u8]) -> Option<u8> {
    match b {
        [b'%', h, l, ..] => Some(hex_value(*h)? << 4 | hex_value(*l)?),
        _ => None,
    }
}
