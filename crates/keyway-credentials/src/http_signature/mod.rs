//! RFC 9421 HMAC request signatures.
