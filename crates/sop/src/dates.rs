//! ISO 8601 dates as SOP writes them (`2026-12-02T05:12:31Z`, always UTC) and reads them
//! (that form, a date alone, `now`, and `-` for "no limit").

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 of a civil date (proleptic Gregorian), after Howard Hinnant's
/// `days_from_civil`.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2026-12-02T05:12:31Z`.
pub fn format(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", of_day / 3600, of_day / 60 % 60, of_day % 60)
}

/// Reads a date: `Some(None)` is `-` (no limit); `None` is not a date. A date without a time
/// means the day's start, or its end when `end_of_day` (for "not after").
pub fn parse(text: &str, end_of_day: bool) -> Option<Option<SystemTime>> {
    let text = text.trim();
    match text {
        "-" => return Some(None),
        "now" => return Some(Some(SystemTime::now())),
        _ => {}
    }
    let number = |s: &str| -> Option<i64> { s.bytes().all(|b| b.is_ascii_digit()).then(|| s.parse().ok()).flatten() };
    let (date, time) = match text.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let (year, month, day) = match date.len() {
        10 if &date[4..5] == "-" && &date[7..8] == "-" => {
            (number(&date[..4])?, number(&date[5..7])?, number(&date[8..])?)
        }
        8 => (number(&date[..4])?, number(&date[4..6])?, number(&date[6..])?),
        _ => return None,
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let seconds_of_day = match time {
        None if end_of_day => 86_399,
        None => 0,
        Some(time) => {
            let time = time.strip_suffix('Z')?;
            // Fractions of a second are dropped.
            let time = time.split('.').next()?;
            let parts: Vec<&str> = if time.contains(':') {
                time.split(':').collect()
            } else {
                vec![time.get(..2)?, time.get(2..4)?, time.get(4..)?]
            };
            let [hours, minutes, seconds] = parts.as_slice() else { return None };
            let (hours, minutes, seconds) = (number(hours)?, number(minutes)?, number(seconds)?);
            if hours > 23 || minutes > 59 || seconds > 60 {
                return None;
            }
            hours * 3600 + minutes * 60 + seconds
        }
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + seconds_of_day;
    let seconds = u64::try_from(seconds).ok()?;
    Some(Some(UNIX_EPOCH + Duration::from_secs(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_known_instants_match() {
        let at = UNIX_EPOCH + Duration::from_secs(1_571_961_009);
        assert_eq!(format(at), "2019-10-24T23:50:09Z");
        assert_eq!(parse("2019-10-24T23:50:09Z", false), Some(Some(at)));
        assert_eq!(parse("20191024T235009Z", false), Some(Some(at)));
        assert_eq!(parse("2019-10-24T23:50:09.123Z", false), Some(Some(at)));
        assert_eq!(format(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(format(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
        for days in [0i64, 59, 60, 365, 10_957, 20_000, 50_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn a_date_alone_is_the_start_or_the_end_of_its_day() {
        let start = parse("2026-12-02", false).flatten().expect("a date");
        let end = parse("2026-12-02", true).flatten().expect("a date");
        assert_eq!(end.duration_since(start).expect("later"), Duration::from_secs(86_399));
        assert_eq!(format(start), "2026-12-02T00:00:00Z");
    }

    #[test]
    fn specials_and_nonsense() {
        assert_eq!(parse("-", false), Some(None));
        assert!(parse("now", false).flatten().is_some());
        for bad in ["", "yesterday", "2026-13-01", "2026-12-02T25:00:00Z", "2026-12-02T10:00:00", "2026/12/02"] {
            assert_eq!(parse(bad, false), None, "{bad}");
        }
    }
}
