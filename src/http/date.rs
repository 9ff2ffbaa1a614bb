//! HTTP dates (RFC 9110 §5.6.7): the `Date` and `Last-Modified` headers.
//!
//! A sender must use IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`); a
//! recipient must also accept the obsolete RFC 850 and asctime forms. The
//! calendar arithmetic is Howard Hinnant's `days_from_civil`, so no time-zone
//! database (and no dependency) is needed: HTTP dates are always UTC.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use waitress::http::date::{format_http_date, parse_http_date};
//!
//! let t = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
//! assert_eq!(format_http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
//! assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(t));
//! ```
#![forbid(unsafe_code)]

use std::time::{Duration, SystemTime};

const DAY_NAMES: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

// ANCHOR: format
/// Formats a time as IMF-fixdate. Times before 1970 are clamped to the epoch.
///
/// ```
/// use waitress::http::date::format_http_date;
/// assert_eq!(format_http_date(std::time::UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
/// ```
pub fn format_http_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let days = (secs / 86_400) as i64;
    let (year, month, day) = civil_from_days(days);
    let second_of_day = secs % 86_400;
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAY_NAMES[(days % 7) as usize],
        day,
        MONTH_NAMES[(month - 1) as usize],
        year,
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}
// ANCHOR_END: format

/// Parses any of the three HTTP date forms; `None` when the text is not one.
///
/// ```
/// use waitress::http::date::parse_http_date;
/// let fixdate = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
/// assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), fixdate);
/// assert_eq!(parse_http_date("yesterday"), None);
/// ```
pub fn parse_http_date(text: &str) -> Option<SystemTime> {
    let text = text.trim_matches([' ', '\t']);
    let fields: Vec<&str> = text.split(' ').filter(|f| !f.is_empty()).collect();
    // ANCHOR: forms
    let (day, month, year, clock) = match fields.as_slice() {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        [weekday, day, month, year, clock, "GMT"] if weekday.ends_with(',') => {
            (*day, *month, parse_number(year, 4)?, *clock)
        }
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        [weekday, date, clock, "GMT"] if weekday.ends_with(',') => {
            let mut parts = date.split('-');
            let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() {
                return None;
            }
            let year = rfc850_year(parse_number(year, 2)?, current_year());
            (day, month, year, *clock)
        }
        // asctime: Sun Nov  6 08:49:37 1994
        [_weekday, month, day, clock, year] => (*day, *month, parse_number(year, 4)?, *clock),
        _ => return None,
    };
    // ANCHOR_END: forms
    let day = if day.len() == 1 {
        parse_number(day, 1)?
    } else {
        parse_number(day, 2)?
    };
    let month = MONTH_NAMES.iter().position(|m| *m == month)? as i64 + 1;
    let mut clock = clock.split(':');
    let hour = parse_number(clock.next()?, 2)?;
    let minute = parse_number(clock.next()?, 2)?;
    let second = parse_number(clock.next()?, 2)?;
    if clock.next().is_some() || day == 0 || day > 31 || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days.checked_mul(86_400)? + hour * 3600 + minute * 60 + second;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

// ANCHOR: rfc850_year
/// RFC 9110 §5.6.7: a two-digit year that would be more than 50 years in
/// the future means the most recent past year with those digits.
fn rfc850_year(two_digits: i64, current_year: i64) -> i64 {
    let year = current_year - current_year.rem_euclid(100) + two_digits;
    if year > current_year + 50 {
        year - 100
    } else if year <= current_year - 50 {
        year + 100
    } else {
        year
    }
}

/// The year now, in UTC.
fn current_year() -> i64 {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    civil_from_days((secs / 86_400) as i64).0
}
// ANCHOR_END: rfc850_year

/// Exactly `len` ASCII digits.
fn parse_number(text: &str, len: usize) -> Option<i64> {
    if text.len() != len || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month 1-12, day 1-31) to days since 1970-01-01.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * mp + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn formats_the_rfc_example() {
        assert_eq!(
            format_http_date(at(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }

    #[test]
    fn formats_leap_days_and_year_ends() {
        assert_eq!(
            format_http_date(at(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        assert_eq!(
            format_http_date(at(1_798_761_599)),
            "Thu, 31 Dec 2026 23:59:59 GMT"
        );
    }

    #[test]
    fn parses_all_three_forms_to_the_same_instant() {
        let expected = Some(at(784_111_777));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), expected);
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, +6 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rfc850_years_stay_within_50_years_of_now() {
        assert_eq!(rfc850_year(70, 2026), 2070);
        assert_eq!(rfc850_year(76, 2026), 2076);
        assert_eq!(rfc850_year(77, 2026), 1977);
        assert_eq!(rfc850_year(94, 2026), 1994);
        assert_eq!(rfc850_year(10, 2090), 2110);
    }

    #[test]
    fn day_arithmetic_round_trips() {
        for days in [-800_000, -1, 0, 1, 59, 365, 10_957, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
