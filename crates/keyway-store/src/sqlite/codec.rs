//! Column encodings shared by every table: timestamps as fixed-width
//! RFC 3339 text, nested values as JSON text, counters clamped to SQLite's
//! signed 64-bit integers.

use chrono::{DateTime, SecondsFormat, Utc};
use keyway_core::Timestamp;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;

/// Length of every stored timestamp: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
/// Fixed width is what makes text order equal time order.
pub(crate) const TIME_LEN: usize = 30;

/// A timestamp outside years 0000–9999, which has no fixed-width form.
#[derive(Debug)]
pub(crate) struct TimeOutOfRange(Timestamp);

impl fmt::Display for TimeOutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timestamp {} is outside the storable range (years 0000-9999)", self.0)
    }
}

impl std::error::Error for TimeOutOfRange {}

/// The stored form of `t`: UTC, nanoseconds, `Z` suffix, always
/// [`TIME_LEN`] characters.
pub(crate) fn encode_time(t: &Timestamp) -> Result<String, TimeOutOfRange> {
    let text = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
    if text.len() == TIME_LEN {
        Ok(text)
    } else {
        Err(TimeOutOfRange(*t))
    }
}

/// Parses the stored form back.
pub(crate) fn decode_time(text: &str) -> Result<Timestamp, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc))
}

/// Binds or reads a timestamp column.
pub(crate) struct Time(pub Timestamp);

impl ToSql for Time {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let text = encode_time(&self.0).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(ToSqlOutput::from(text))
    }
}

impl FromSql for Time {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        decode_time(value.as_str()?).map(Time).map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// `t` as integer nanoseconds since the epoch (the call log's times);
/// fails outside years 1677-2262.
pub(crate) fn time_ns(t: &Timestamp) -> Result<i64, TimeOutOfRange> {
    t.timestamp_nanos_opt().ok_or(TimeOutOfRange(*t))
}

/// The timestamp `ns` nanoseconds after the epoch.
pub(crate) fn from_ns(ns: i64) -> Timestamp {
    DateTime::from_timestamp_nanos(ns)
}

/// Binds or reads a value stored as JSON text.
pub(crate) struct Json<T>(pub T);

impl<T: Serialize> ToSql for Json<T> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let text = serde_json::to_string(&self.0).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(ToSqlOutput::from(text))
    }
}

impl<T: DeserializeOwned> FromSql for Json<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        serde_json::from_str(value.as_str()?).map(Json).map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// A count as an SQLite integer, saturating at `i64::MAX` (no real token
/// count gets near it; a bogus one must not sink a call-log batch).
pub(crate) fn clamp_count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_fixed_width_and_round_trip() {
        let times = [
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 59).unwrap() + chrono::Duration::nanoseconds(1),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap() + chrono::Duration::nanoseconds(999_999_999),
            Utc::now(),
        ];
        for t in times {
            let text = encode_time(&t).unwrap();
            assert_eq!(text.len(), TIME_LEN, "{text}");
            assert_eq!(decode_time(&text).unwrap(), t);
        }
    }

    #[test]
    fn text_order_is_time_order() {
        let a = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 9).unwrap();
        let b = a + chrono::Duration::seconds(1);
        let c = b + chrono::Duration::nanoseconds(1);
        let mut texts = [c, a, b].map(|t| encode_time(&t).unwrap());
        texts.sort();
        assert_eq!(texts, [a, b, c].map(|t| encode_time(&t).unwrap()));
    }

    #[test]
    fn nanosecond_times_round_trip() {
        let t = Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 59).unwrap() + chrono::Duration::nanoseconds(7);
        assert_eq!(from_ns(time_ns(&t).unwrap()), t);
        assert!(time_ns(&Utc.with_ymd_and_hms(2263, 1, 1, 0, 0, 0).unwrap()).is_err());
    }

    #[test]
    fn years_past_9999_are_refused() {
        let t = Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
        assert!(encode_time(&t).is_err());
    }

    #[test]
    fn counts_saturate() {
        assert_eq!(clamp_count(7), 7);
        assert_eq!(clamp_count(u64::MAX), i64::MAX);
    }
}
