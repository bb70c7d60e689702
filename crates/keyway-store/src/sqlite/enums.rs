//! Enums as text columns: each stored as its serde name, so the database
//! reads the same words as the admin API's JSON.

use keyway_core::codes::ErrorCode;
use keyway_core::key_format::KeyEnv;
use keyway_core::model::{ApiKind, ApiStatus, PrincipalStatus, Protocol, Role, SubscriptionStatus, TenantStatus, Visibility};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// An enum with a fixed text form per variant.
pub(crate) trait TextEnum: Sized + Copy + 'static {
    /// Every variant (for tests that compare with serde).
    #[cfg(test)]
    const ALL: &'static [Self];
    /// What the column holds.
    fn to_text(self) -> &'static str;
    /// The variant a column value names, if any.
    fn from_text(text: &str) -> Option<Self>;
}

macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl TextEnum for $ty {
            #[cfg(test)]
            const ALL: &'static [Self] = &[$(<$ty>::$variant),+];

            fn to_text(self) -> &'static str {
                match self { $(<$ty>::$variant => $text),+ }
            }

            fn from_text(text: &str) -> Option<Self> {
                match text { $($text => Some(<$ty>::$variant),)+ _ => None }
            }
        }
    };
}

text_enum!(TenantStatus { Active => "active", Suspended => "suspended" });
text_enum!(PrincipalStatus { Active => "active", Suspended => "suspended", Deleted => "deleted" });
text_enum!(Role { Owner => "owner", Admin => "admin", Developer => "developer", Viewer => "viewer" });
text_enum!(KeyEnv { Live => "live", Test => "test" });
text_enum!(Visibility { Private => "private", Tenant => "tenant", Public => "public" });
text_enum!(ApiStatus { Published => "published", Deprecated => "deprecated", Retired => "retired" });
text_enum!(ApiKind { Rest => "rest", Ai => "ai", Prompt => "prompt" });
text_enum!(Protocol { Rest => "rest", Openai => "openai", Anthropic => "anthropic" });
text_enum!(SubscriptionStatus { Pending => "pending", Approved => "approved", Rejected => "rejected", Revoked => "revoked" });

impl TextEnum for ErrorCode {
    #[cfg(test)]
    const ALL: &'static [Self] = ErrorCode::ALL;

    fn to_text(self) -> &'static str {
        self.as_str()
    }

    fn from_text(text: &str) -> Option<Self> {
        ErrorCode::parse(text)
    }
}

/// Binds or reads a [`TextEnum`] as a text column.
pub(crate) struct Enum<T>(pub T);

impl<T: TextEnum> ToSql for Enum<T> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0.to_text()))
    }
}

impl<T: TextEnum> FromSql for Enum<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        T::from_text(text)
            .map(Enum)
            .ok_or_else(|| FromSqlError::Other(format!("unknown {} '{text}'", std::any::type_name::<T>()).into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    fn matches_serde<T: TextEnum + Serialize + PartialEq + std::fmt::Debug>() {
        assert!(!T::ALL.is_empty());
        for v in T::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::Value::String(v.to_text().to_owned()));
            assert_eq!(T::from_text(v.to_text()), Some(*v));
        }
        assert_eq!(T::from_text("no-such-variant"), None);
    }

    #[test]
    fn text_forms_are_the_serde_names() {
        matches_serde::<TenantStatus>();
        matches_serde::<PrincipalStatus>();
        matches_serde::<Role>();
        matches_serde::<KeyEnv>();
        matches_serde::<Visibility>();
        matches_serde::<SubscriptionStatus>();
        matches_serde::<ApiStatus>();
        matches_serde::<Protocol>();
        matches_serde::<ApiKind>();
        matches_serde::<ErrorCode>();
    }
}
