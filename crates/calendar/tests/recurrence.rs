//! Recurrence and time zones, against an independent implementation and by hand.
//!
//! - `matches_dateutil_on_generated_rules`: 400 rules that `recurrence_reference.py` draws (every
//!   frequency, INTERVAL, BYDAY with and without ordinals, BYMONTHDAY with negative days,
//!   BYMONTH, BYSETPOS, WKST, COUNT, UNTIL in UTC, EXDATE in the series' zone and in UTC, RDATE;
//!   series in six zones, floating and all-day, seen from four zones), expanded by plico-calendar
//!   and by python-dateutil with zoneinfo; the starts must be the same, one by one.
//! - The rest are cases written by hand: the daylight-saving gap and overlap, a meeting kept at
//!   its wall time across the change and seen from another zone, Outlook's zone names, and
//!   overrides.

use plico_calendar::{occurrences, parse_series};
use std::process::Command;

const HOUR: i64 = 3600;

fn unix(text: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("a test time").and_utc().timestamp()
}

fn starts(ics: &str, viewer: chrono_tz::Tz, from: &str, to: &str) -> Vec<i64> {
    let series = parse_series(ics).expect("the test's calendar parses");
    let (found, problems) = occurrences(&series, viewer, unix(from), unix(to));
    assert!(problems.is_empty(), "{problems:?}");
    found.iter().map(|o| o.start).collect()
}

fn event(lines: &[&str]) -> String {
    let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n");
    let mut in_event = false;
    for line in lines {
        if line.starts_with("BEGIN:VEVENT") || line.starts_with("BEGIN:VTIMEZONE") {
            in_event = true;
        }
        text.push_str(line);
        text.push_str("\r\n");
        if line.starts_with("END:VEVENT") || line.starts_with("END:VTIMEZONE") {
            in_event = false;
        }
    }
    assert!(!in_event);
    text.push_str("END:VCALENDAR\r\n");
    text
}

#[test]
fn matches_dateutil_on_generated_rules() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/recurrence_reference.py");
    // Debian's own Python, where `cargo xtask setup` installs python3-dateutil.
    let output = Command::new("/usr/bin/python3").args([script, "400", "20261207"]).output().unwrap_or_else(|error| {
        panic!("/usr/bin/python3 runs the reference ({error}); `cargo xtask setup` installs python3-dateutil")
    });
    assert!(
        output.status.success(),
        "the reference failed (is python3-dateutil installed? `cargo xtask setup` installs it): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cases: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).expect("the reference writes JSON");
    assert_eq!(cases.len(), 400);
    let mut occurrences_compared = 0;
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let ics = case["ics"].as_str().expect("ics");
        let viewer: chrono_tz::Tz = case["viewer"].as_str().expect("viewer").parse().expect("a zone");
        let limit = case["limit"].as_u64().expect("limit") as usize;
        let expected: Vec<i64> =
            case["starts"].as_array().expect("starts").iter().map(|s| s.as_i64().expect("a start")).collect();
        let series = parse_series(ics).expect("the reference's calendar parses");
        let (found, problems) =
            occurrences(&series, viewer, case["from"].as_i64().expect("from"), case["to"].as_i64().expect("to"));
        let got: Vec<i64> = found.iter().map(|o| o.start).take(limit).collect();
        occurrences_compared += expected.len();
        if !problems.is_empty() || got != expected {
            let first_difference = got.iter().zip(&expected).position(|(a, b)| a != b);
            failures.push(format!(
                "case {index}, {} seen from {viewer}: {problems:?} got {} starts, dateutil {}; first difference at {first_difference:?} (got {:?}, dateutil {:?})\n{ics}",
                case["rule"],
                got.len(),
                expected.len(),
                first_difference.map(|i| got[i]),
                first_difference.map(|i| expected[i]),
            ));
        }
    }
    assert!(failures.is_empty(), "{} of 400 rules differ from dateutil:\n{}", failures.len(), failures.join("\n"));
    assert!(occurrences_compared > 10_000, "the cases cover many occurrences ({occurrences_compared})");
}

#[test]
fn a_paris_meeting_stays_at_nine_paris_time_across_the_change_and_moves_for_new_york() {
    let ics = event(&[
        "BEGIN:VEVENT",
        "UID:weekly@plico.test",
        "DTSTART;TZID=Europe/Paris:20260323T090000",
        "DTEND;TZID=Europe/Paris:20260323T100000",
        "RRULE:FREQ=WEEKLY;COUNT=3",
        "END:VEVENT",
    ]);
    let paris: chrono_tz::Tz = "Europe/Paris".parse().expect("zone");
    // 09:00 CET is 08:00 UTC; after 29 March, 09:00 CEST is 07:00 UTC.
    assert_eq!(
        starts(&ics, paris, "2026-03-01 00:00", "2026-05-01 00:00"),
        vec![unix("2026-03-23 08:00"), unix("2026-03-30 07:00"), unix("2026-04-06 07:00")]
    );
    // New York changed on 8 March: 04:00 EDT in the week between, 03:00 EDT after.
    let new_york: chrono_tz::Tz = "America/New_York".parse().expect("zone");
    let series = parse_series(&ics).expect("parses");
    let (found, _) = occurrences(&series, new_york, unix("2026-03-01 00:00"), unix("2026-05-01 00:00"));
    let local: Vec<String> = found
        .iter()
        .map(|o| {
            chrono::DateTime::from_timestamp(o.start, 0)
                .expect("time")
                .with_timezone(&new_york)
                .format("%d %H:%M")
                .to_string()
        })
        .collect();
    assert_eq!(local, ["23 04:00", "30 03:00", "06 03:00"]);
    // The end keeps the hour's length across the change.
    assert!(found.iter().all(|o| o.end - o.start == HOUR));
}

#[test]
fn a_time_in_the_spring_gap_moves_forward_and_one_in_the_autumn_overlap_is_the_first() {
    let ics = event(&[
        "BEGIN:VEVENT",
        "UID:night@plico.test",
        "DTSTART;TZID=Europe/Paris:20260328T023000",
        "DTEND;TZID=Europe/Paris:20260328T030000",
        "RRULE:FREQ=DAILY;COUNT=3",
        "END:VEVENT",
    ]);
    let paris: chrono_tz::Tz = "Europe/Paris".parse().expect("zone");
    // 28 March 02:30 CET = 01:30 UTC; 29 March 02:30 does not exist: read with the offset
    // before the gap (+01:00), 01:30 UTC, which is 03:30 CEST; 30 March 02:30 CEST = 00:30 UTC.
    assert_eq!(
        starts(&ics, paris, "2026-03-27 00:00", "2026-04-02 00:00"),
        vec![unix("2026-03-28 01:30"), unix("2026-03-29 01:30"), unix("2026-03-30 00:30")]
    );
    let autumn = event(&[
        "BEGIN:VEVENT",
        "UID:autumn@plico.test",
        "DTSTART;TZID=Europe/Paris:20261024T023000",
        "DURATION:PT30M",
        "RRULE:FREQ=DAILY;COUNT=3",
        "END:VEVENT",
    ]);
    // 25 October 02:30 happens twice (CEST then CET): the first, 00:30 UTC.
    assert_eq!(
        starts(&autumn, paris, "2026-10-20 00:00", "2026-10-30 00:00"),
        vec![unix("2026-10-24 00:30"), unix("2026-10-25 00:30"), unix("2026-10-26 01:30")]
    );
}

#[test]
fn until_in_utc_keeps_the_last_occurrence_at_the_same_instant() {
    // Google writes UNTIL in UTC; the last meeting is 09:00 Paris = 08:00 UTC on 12 January.
    let ics = event(&[
        "BEGIN:VEVENT",
        "UID:until@plico.test",
        "DTSTART;TZID=Europe/Paris:20270105T090000",
        "DTEND;TZID=Europe/Paris:20270105T093000",
        "RRULE:FREQ=WEEKLY;UNTIL=20270112T080000Z",
        "END:VEVENT",
    ]);
    let viewer: chrono_tz::Tz = "UTC".parse().expect("zone");
    assert_eq!(
        starts(&ics, viewer, "2027-01-01 00:00", "2027-03-01 00:00"),
        vec![unix("2027-01-05 08:00"), unix("2027-01-12 08:00")]
    );
}

#[test]
fn outlook_zone_names_and_vtimezones_are_read_as_the_iana_zone() {
    let ics = event(&[
        "BEGIN:VTIMEZONE",
        "TZID:W. Europe Standard Time",
        "BEGIN:STANDARD",
        "DTSTART:16010101T030000",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:16010101T020000",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        "UID:outlook@plico.test",
        "DTSTART;TZID=W. Europe Standard Time:20260325T140000",
        "DTEND;TZID=W. Europe Standard Time:20260325T150000",
        "RRULE:FREQ=WEEKLY;COUNT=2",
        "END:VEVENT",
    ]);
    let viewer: chrono_tz::Tz = "UTC".parse().expect("zone");
    assert_eq!(
        starts(&ics, viewer, "2026-03-01 00:00", "2026-05-01 00:00"),
        vec![unix("2026-03-25 13:00"), unix("2026-04-01 12:00")]
    );
}

#[test]
fn an_override_replaces_its_occurrence_whatever_its_sequence_and_exdate_in_utc_removes_one() {
    let ics = event(&[
        "BEGIN:VEVENT",
        "UID:standup@plico.test",
        "SEQUENCE:0",
        "DTSTART;TZID=America/New_York:20260302T093000",
        "DTEND;TZID=America/New_York:20260302T094500",
        "RRULE:FREQ=DAILY;COUNT=5",
        // 4 March 09:30 EST = 14:30 UTC.
        "EXDATE:20260304T143000Z",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:standup@plico.test",
        "SEQUENCE:2",
        "RECURRENCE-ID;TZID=America/New_York:20260305T093000",
        "DTSTART;TZID=America/New_York:20260305T110000",
        "DTEND;TZID=America/New_York:20260305T113000",
        "SUMMARY:Moved",
        "END:VEVENT",
    ]);
    let viewer: chrono_tz::Tz = "UTC".parse().expect("zone");
    let series = parse_series(&ics).expect("parses");
    let (found, problems) = occurrences(&series, viewer, unix("2026-03-01 00:00"), unix("2026-03-10 00:00"));
    assert!(problems.is_empty());
    let shown: Vec<(i64, usize)> = found.iter().map(|o| (o.start, o.component)).collect();
    let master = found[0].component;
    let moved = found.iter().find(|o| o.component != master).expect("the override is shown").component;
    assert_eq!(
        shown,
        vec![
            (unix("2026-03-02 14:30"), master),
            (unix("2026-03-03 14:30"), master),
            (unix("2026-03-05 16:00"), moved),
            (unix("2026-03-06 14:30"), master),
        ]
    );
    assert_eq!(found[2].end - found[2].start, 30 * 60);
}

#[test]
fn all_day_events_cover_the_viewers_days_and_a_floating_time_is_the_viewers() {
    let ics = event(&[
        "BEGIN:VEVENT",
        "UID:holiday@plico.test",
        "DTSTART;VALUE=DATE:20261224",
        "DTEND;VALUE=DATE:20261227",
        "END:VEVENT",
    ]);
    let tokyo: chrono_tz::Tz = "Asia/Tokyo".parse().expect("zone");
    let series = parse_series(&ics).expect("parses");
    let (found, _) = occurrences(&series, tokyo, unix("2026-12-01 00:00"), unix("2027-01-01 00:00"));
    assert_eq!(found.len(), 1);
    assert!(found[0].all_day);
    // Midnight in Tokyo is 15:00 UTC the day before; three days long.
    assert_eq!(found[0].start, unix("2026-12-23 15:00"));
    assert_eq!(found[0].end - found[0].start, 3 * 24 * HOUR);

    let floating = event(&["BEGIN:VEVENT", "UID:alarm@plico.test", "DTSTART:20261201T070000", "END:VEVENT"]);
    assert_eq!(starts(&floating, tokyo, "2026-11-30 00:00", "2026-12-02 00:00"), vec![unix("2026-11-30 22:00")]);
}

#[test]
fn a_rule_without_end_stops_at_the_window_and_a_huge_count_at_the_cap() {
    let ics = event(&[
        "BEGIN:VEVENT",
        "UID:forever@plico.test",
        "DTSTART:20000101T120000Z",
        "RRULE:FREQ=DAILY",
        "END:VEVENT",
    ]);
    let viewer: chrono_tz::Tz = "UTC".parse().expect("zone");
    assert_eq!(starts(&ics, viewer, "2026-12-01 00:00", "2026-12-08 00:00").len(), 7);
    let minutely = event(&[
        "BEGIN:VEVENT",
        "UID:minutely@plico.test",
        "DTSTART:20260101T000000Z",
        "RRULE:FREQ=MINUTELY;COUNT=1000000",
        "END:VEVENT",
    ]);
    assert_eq!(
        starts(&minutely, viewer, "2026-01-01 00:00", "2027-01-01 00:00").len(),
        plico_calendar::expand::MAX_OCCURRENCES
    );
}
