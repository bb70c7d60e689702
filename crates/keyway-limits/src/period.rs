//! Calendar periods for quotas: the UTC day and the UTC month.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

/// A quota period, aligned to the UTC calendar. Serialized as `day` or
/// `month`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// 00:00:00 UTC to the next midnight UTC.
    Day,
    /// The 1st 00:00:00 UTC to the 1st of the next month.
    Month,
}

impl Period {
    /// The lowercase name: `day` or `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Month => "month",
        }
    }

    /// Start of the period containing `now`.
    pub fn start(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let date = now.date_naive();
        let first = match self {
            Period::Day => date,
            Period::Month => date.with_day(1).unwrap_or(date),
        };
        midnight(first)
    }

    /// Start of the period after the one containing `now`: when its quota
    /// resets.
    pub fn next_start(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let date = now.date_naive();
        let next = match self {
            Period::Day => date.succ_opt(),
            Period::Month => {
                let (year, month) = if date.month() == 12 { (date.year() + 1, 1) } else { (date.year(), date.month() + 1) };
                NaiveDate::from_ymd_opt(year, month, 1)
            }
        };
        // Only the last representable date has no successor.
        midnight(next.unwrap_or(NaiveDate::MAX))
    }
}

/// 00:00:00 UTC on `date`.
fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc()
}
