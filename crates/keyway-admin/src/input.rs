//! How request bodies read the values `openapi.json` describes, so the
//! server accepts exactly what the document allows:
//!
//! - [`some`]: an optional field that may be left out but not be `null`
//!   (`Option<T>` alone would take `null` as "left out").
//! - [`whole`], [`nullable_whole`]: a JSON Schema `integer`. JSON Schema
//!   counts `351.0` and `3.51e2` as the integer 351, so they are accepted;
//!   `351.5` is refused.
//! - [`time`], [`nullable_time`], [`parse_time`]: an RFC 3339 `date-time`
//!   as JSON Schema's `format` checks it, years 0001 to 9998.
//! - [`RateLimitIn`], [`QuotaIn`], [`LimitsIn`], [`UpstreamIn`],
//!   [`TargetIn`], [`ScopeRuleIn`]: request forms of model types whose
//!   integers must read as above; [`crate::validate`] checks their ranges
//!   and turns them into the model.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use keyway_core::model::QuotaPeriod;
use keyway_core::Timestamp;
use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::Deserialize;
use std::fmt;

/// For optional fields that must not be `null`: absent is `None` (with
/// `#[serde(default)]`), a value is `Some(v)`, `null` is refused.
pub fn some<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

struct WholeVisitor;

impl Visitor<'_> for WholeVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &"a whole number, 0 or more"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        // 2^64, the first value past u64::MAX; every integral f64 below it
        // converts exactly.
        const LIMIT: f64 = 18_446_744_073_709_551_616.0;
        if v.is_finite() && v.fract() == 0.0 && (0.0..LIMIT).contains(&v) {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "integral and in range: checked above")]
            Ok(v as u64)
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }
}

/// A whole number as JSON Schema's `integer` reads it: `5`, `5.0`, `5e0`.
pub fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(WholeVisitor)
}

#[derive(Deserialize)]
struct Whole(#[serde(deserialize_with = "whole")] u64);

/// Like [`whole`], where `null` means "none" (use with `#[serde(default)]`).
pub fn nullable_whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Option::<Whole>::deserialize(d).map(|w| w.map(|Whole(v)| v))
}

/// Like [`whole`], for an optional field that may not be `null` (use
/// with `#[serde(default)]`).
pub fn some_whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Whole::deserialize(d).map(|Whole(v)| Some(v))
}

/// An RFC 3339 time (see [`parse_time`]).
pub fn time<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    let s = String::deserialize(d)?;
    parse_time(&s).map_err(|why| de::Error::custom(format!("{s:?} {why}")))
}

#[derive(Deserialize)]
struct Time(#[serde(deserialize_with = "time")] Timestamp);

/// Like [`time`], where `null` means "none" (use with `#[serde(default)]`).
pub fn nullable_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    Option::<Time>::deserialize(d).map(|t| t.map(|Time(v)| v))
}

/// For PATCH fields that may be cleared: absent is `None`, `null` is
/// `Some(None)`, a time is `Some(Some(t))`. Use with `#[serde(default)]`.
pub fn clearable_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Timestamp>>, D::Error> {
    nullable_time(d).map(Some)
}

/// Earliest year a time may name: its UTC form must stay within the years
/// storage can hold (0000 to 9999) whatever its offset.
pub const MIN_YEAR: i32 = 1;
/// Latest year a time may name.
pub const MAX_YEAR: i32 = 9998;

/// Parses an RFC 3339 `date-time` exactly as JSON Schema's `format`
/// (and the pattern in `openapi.json`) accept it:
/// `YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm)`, `T` and `Z` in either
/// case, a real calendar date of years [`MIN_YEAR`] to [`MAX_YEAR`], and
/// second 60 only where the UTC time is 23:59 (a leap second). Fractions
/// finer than a nanosecond are dropped.
pub fn parse_time(s: &str) -> Result<Timestamp, &'static str> {
    const SHAPE: &str = "is not an RFC 3339 time such as 2025-01-31T12:00:00Z";
    let b = s.as_bytes();
    let num = |at: usize, len: usize| -> Result<u32, &'static str> {
        let digits = b.get(at..at + len).ok_or(SHAPE)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(SHAPE);
        }
        Ok(digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let at = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt") && at(13, b":") && at(16, b":")) {
        return Err(SHAPE);
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if at(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return Err(SHAPE);
        }
        for k in 0..9 {
            let d = if start + k < i { b.get(start + k).map_or(0, |d| u32::from(d - b'0')) } else { 0 };
            nanos = nanos * 10 + d;
        }
    }
    let offset_minutes: i32 = if at(i, b"Zz") {
        i += 1;
        0
    } else if at(i, b"+-") {
        let sign = if at(i, b"-") { -1 } else { 1 };
        let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
        if !at(i + 3, b":") {
            return Err(SHAPE);
        }
        if oh > 23 || om > 59 {
            return Err("has an offset outside -23:59 to +23:59");
        }
        i += 6;
        sign * i32::try_from(oh * 60 + om).map_err(|_| SHAPE)?
    } else {
        return Err(SHAPE);
    };
    if i != b.len() {
        return Err(SHAPE);
    }
    let year = i32::try_from(year).map_err(|_| SHAPE)?;
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err("names a year outside 0001 to 9998");
    }
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or("is not a calendar date")?;
    if hour > 23 || minute > 59 || second > 60 {
        return Err("is not a time of day");
    }
    let time = if second == 60 {
        let local = i32::try_from(hour * 60 + minute).map_err(|_| SHAPE)?;
        if (local - offset_minutes).rem_euclid(24 * 60) != 23 * 60 + 59 {
            return Err("has second 60, which only a leap second at 23:59 UTC has");
        }
        NaiveTime::from_hms_nano_opt(hour, minute, 59, 1_000_000_000 + nanos)
    } else {
        NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
    }
    .ok_or("is not a time of day")?;
    let offset = FixedOffset::east_opt(offset_minutes * 60).ok_or(SHAPE)?;
    offset
        .from_local_datetime(&NaiveDateTime::new(date, time))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or("is not a representable time")
}

/// A request rate as a request gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitIn {
    /// Requests allowed per period.
    #[serde(deserialize_with = "whole")]
    pub requests: u64,
    /// Period length in seconds.
    #[serde(deserialize_with = "whole")]
    pub per_seconds: u64,
}

/// A period quota as a request gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaIn {
    /// Requests allowed per period.
    #[serde(deserialize_with = "whole")]
    pub requests: u64,
    /// `day` or `month`.
    pub period: QuotaPeriod,
}

/// Limits of a tenant, app or API as a request gives them; each may be
/// `null` (none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsIn {
    /// Rate across the whole tenant, app or API.
    pub rate_limit: Option<RateLimitIn>,
    /// Quota across the whole tenant, app or API.
    pub quota: Option<QuotaIn>,
    /// Apps only: the rate of each key that sets none.
    pub key_rate_limit: Option<RateLimitIn>,
}

/// One upstream target as a request gives it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetIn {
    /// Base URL.
    pub url: String,
    /// Share of traffic, 1 when left out.
    #[serde(default = "one", deserialize_with = "whole")]
    pub weight: u64,
}

fn one() -> u64 {
    1
}

fn yes() -> bool {
    true
}

/// An upstream as a request gives it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamIn {
    /// Targets.
    pub targets: Vec<TargetIn>,
    /// Remove the base path before forwarding (true when left out).
    #[serde(default = "yes")]
    pub strip_base_path: bool,
    /// Per-API timeout in milliseconds; `null` or left out: the gateway's.
    #[serde(default, deserialize_with = "nullable_whole")]
    pub timeout_ms: Option<u64>,
}

/// A route scope rule as a request gives it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeRuleIn {
    /// HTTP method; `null` or left out: any.
    #[serde(default)]
    pub method: Option<String>,
    /// Path pattern relative to the base path.
    pub path: String,
    /// Scopes the route needs.
    pub scopes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct N {
        #[serde(deserialize_with = "whole")]
        n: u64,
    }

    fn n(json: &str) -> Option<u64> {
        serde_json::from_str::<N>(&format!("{{\"n\": {json}}}")).ok().map(|v| v.n)
    }

    #[test]
    fn whole_numbers_read_as_json_schema_integers() {
        assert_eq!(n("351"), Some(351));
        assert_eq!(n("351.0"), Some(351));
        assert_eq!(n("3.51e2"), Some(351));
        assert_eq!(n("-0"), Some(0));
        assert_eq!(n("-0.0"), Some(0));
        assert_eq!(n("18446744073709551615"), Some(u64::MAX));
        // Integral decimals near 2^51 parse exactly (serde_json's
        // `float_roundtrip`): its fast parser read this one as
        // 2198058287505528.8 and refused it (found by schemathesis).
        assert_eq!(n("2198058287505529.0"), Some(2_198_058_287_505_529));
        assert_eq!(n("2.198058287505529e15"), Some(2_198_058_287_505_529));
        for bad in ["351.5", "-1", "-1.0", "1e20", "18446744073709551616", "\"5\"", "null", "true", "[1]"] {
            assert_eq!(n(bad), None, "{bad}");
        }
    }

    #[test]
    fn times_read_as_json_schema_date_times() {
        let ok = |s: &str| parse_time(s).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
        assert_eq!(ok("2025-01-31T12:00:00Z").as_deref(), Ok("2025-01-31T12:00:00Z"));
        assert_eq!(ok("2025-01-31t12:00:00z").as_deref(), Ok("2025-01-31T12:00:00Z"));
        assert_eq!(ok("2025-01-31T12:00:00.5+01:30").as_deref(), Ok("2025-01-31T10:30:00.500Z"));
        assert_eq!(ok("2025-01-31T12:00:00.1234567891234-00:00").as_deref(), Ok("2025-01-31T12:00:00.123456789Z"));
        assert_eq!(ok("2016-12-31T23:59:60Z").as_deref(), Ok("2016-12-31T23:59:60Z"));
        assert_eq!(ok("2017-01-01T00:59:60+01:00").as_deref(), Ok("2016-12-31T23:59:60Z"));
        assert_eq!(ok("2024-02-29T00:00:00Z").as_deref(), Ok("2024-02-29T00:00:00Z"));
        assert_eq!(ok("0001-01-01T00:00:00+23:59").as_deref(), Ok("0000-12-31T00:01:00Z"));
        assert_eq!(ok("9998-12-31T23:59:59-23:59").as_deref(), Ok("9999-01-01T23:58:59Z"));
        for bad in [
            "",
            "2025-01-31",
            "2025-01-31 12:00:00Z",
            "2025-01-31T12:00Z",
            "2025-01-31T12:00:00",
            "2025-01-31T12:00:00.Z",
            "2025-01-31T12:00:00+0100",
            "2025-01-31T12:00:00+24:00",
            "2025-01-31T12:00:00+01:60",
            "2025-01-31T24:00:00Z",
            "2025-01-31T12:60:00Z",
            "2025-01-31T12:00:60Z",
            "2025-02-29T00:00:00Z",
            "2025-04-31T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-00-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-01-01T00:00:00Z",
            "+2025-01-31T12:00:00Z",
            "2025-01-31T12:00:00Z ",
            "２０２５-01-31T12:00:00Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
