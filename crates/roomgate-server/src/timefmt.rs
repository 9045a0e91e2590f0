//! Timestamps on the wire.
use time::{format_description::FormatItem, macros::format_description, Date, OffsetDateTime};

const MICROS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
const SECONDS: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
const DATE: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// Unix microseconds as RFC 3339 UTC with six fractional digits: `2021-04-16T09:46:20.954863Z`.
pub fn micros_rfc3339(micros: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| t.format(MICROS).ok())
        .unwrap_or_default()
}

/// Unix seconds as RFC 3339 UTC in whole seconds: `2021-04-22T12:24:55Z`.
pub fn secs_rfc3339(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(SECONDS).ok())
        .unwrap_or_default()
}

/// Unix microseconds of a time.
pub fn unix_micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

/// The start (Unix microseconds, UTC) of an ISO 8601 calendar date `YYYY-MM-DD`.
pub fn date_start_micros(s: &str) -> Option<i64> {
    let date = Date::parse(s, DATE).ok()?;
    Some(unix_micros(date.midnight().assume_utc()))
}

/// Microseconds in a day.
pub const DAY_MICROS: i64 = 86_400 * 1_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_telnyx() {
        assert_eq!(
            micros_rfc3339(1_618_566_380_954_863),
            "2021-04-16T09:46:20.954863Z"
        );
        assert_eq!(
            micros_rfc3339(1_618_566_380_000_000),
            "2021-04-16T09:46:20.000000Z"
        );
        assert_eq!(secs_rfc3339(1_619_094_295), "2021-04-22T12:24:55Z");
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(date_start_micros("1970-01-02"), Some(DAY_MICROS));
        for bad in ["2021-4-25", "2021-02-30", "yesterday", "2021-04-25T00:00:00Z", ""] {
            assert_eq!(date_start_micros(bad), None, "{bad}");
        }
    }
}
