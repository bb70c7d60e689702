//! Opaque, type-prefixed identifiers: `ten_01J…`, `key_01J…`.
//!
//! An id is a prefix, an underscore and a lowercase ULID, so ids sort by
//! creation time and say what they point at when they show up in a log.
//!
//! Ids of records the gateway's snapshot holds (tenants, users, apps,
//! keys, APIs, subscriptions) are `Arc<str>`: a clone is a reference
//! count, so a million keys share their app's and tenant's id text and
//! the key-id index shares each key's own. Ids made per request or per
//! audit entry stay `String`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        id_type!($(#[$doc])* $name, $prefix, Arc<str>);
    };
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $text:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $text);

        impl $name {
            /// The type prefix of this kind of id, without the underscore.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh, unique id.
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, ulid::Ulid::new().to_string().to_lowercase()).into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.into())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s.into())
            }
        }
    };
}

id_type!(/// A tenant (team).
    TenantId, "ten");
id_type!(/// A user of a tenant.
    UserId, "usr");
id_type!(/// An application that owns keys.
    AppId, "app");
id_type!(/// An API key (the record, never the secret).
    KeyId, "key");
id_type!(/// A published API version.
    ApiId, "api");
id_type!(/// A subscription of an app to an API.
    SubscriptionId, "sub");
id_type!(/// An AI provider of a tenant.
    ProviderId, "prv");
id_type!(/// One credential of an AI provider (the record, never the secret).
    CredentialId, "prc");
id_type!(/// A model of a tenant, as callers name it.
    ModelId, "mdl");
id_type!(/// A trusted JWT issuer of a tenant.
    IssuerId, "iss");
id_type!(/// A client certificate bound to an app (mTLS).
    CertificateId, "crt");
id_type!(/// An HMAC signing key of an app (the record, never the secret);
    /// the `keyid` of its RFC 9421 signatures.
    HmacKeyId, "hk");
id_type!(/// One request through the gateway.
    RequestId, "req", String);

impl RequestId {
    /// A fresh id whose ULID time is `time` (to the millisecond), so the
    /// call log, keyed by request id, is in arrival order and a time range
    /// is a range of ids.
    pub fn at(time: crate::Timestamp) -> Self {
        let ms = u64::try_from(time.timestamp_millis()).unwrap_or(0);
        let ulid = ulid::Ulid::from_parts(ms, rand::random::<u128>());
        // One allocation: minted on every request.
        let mut buf = [0u8; ulid::ULID_LEN];
        let text = ulid.array_to_str(&mut buf);
        text.make_ascii_lowercase();
        let mut id = String::with_capacity(Self::PREFIX.len() + 1 + ulid::ULID_LEN);
        id.push_str(Self::PREFIX);
        id.push('_');
        id.push_str(text);
        Self(id)
    }

    /// The smallest id of a request that arrived at `ms` milliseconds
    /// after the epoch (clamped to what a ULID holds): the bound of an id
    /// range covering a time range.
    pub fn lower_bound(ms: i64) -> String {
        let ms = u64::try_from(ms).unwrap_or(0).min((1 << 48) - 1);
        format!("{}_{}", Self::PREFIX, ulid::Ulid::from_parts(ms, 0).to_string().to_lowercase())
    }
}
id_type!(/// One audit-log entry.
    AuditId, "aud", String);
id_type!(/// An admin token.
    AdminTokenId, "adm");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_at_a_time_sort_by_that_time() {
        let t = chrono::DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        let id = RequestId::at(t);
        assert!(id.0 >= RequestId::lower_bound(1_700_000_000_123), "{id}");
        assert!(id.0 < RequestId::lower_bound(1_700_000_000_124), "{id}");
        assert!(RequestId::at(t + chrono::Duration::milliseconds(1)).0 > id.0);
        assert!(RequestId::lower_bound(-5) < RequestId::lower_bound(1));
        let text = id.as_str().strip_prefix("req_").unwrap();
        assert_eq!(text.len(), 26);
        assert_eq!(ulid::Ulid::from_string(text).unwrap().timestamp_ms(), 1_700_000_000_123);
        assert_eq!(text, text.to_lowercase());
    }

    #[test]
    fn ids_carry_their_prefix_and_are_unique() {
        let a = KeyId::generate();
        let b = KeyId::generate();
        assert!(a.as_str().starts_with("key_"));
        assert_eq!(a.as_str().len(), 4 + 26);
        assert_ne!(a, b);
        assert!(TenantId::generate().as_str().starts_with("ten_"));
    }
}
