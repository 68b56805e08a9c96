//! Import and export, the editor's fields, and edits of one occurrence, this and following, or
//! all, on files in the shapes Google, Apple, Outlook and Thunderbird write (`tests/data`).

use chrono::NaiveDateTime;
use plico_calendar::event::{self, EventFields, Scope};
use plico_calendar::{occurrences, parse_series, read_ics, write_ics};

const NOW: i64 = 1_796_000_000;

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).expect("test data")
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("a test time")
}

fn unix(text: &str) -> i64 {
    at(text).and_utc().timestamp()
}

fn utc() -> chrono_tz::Tz {
    chrono_tz::Tz::UTC
}

#[test]
fn an_ics_with_two_calendars_is_read_by_calendar_and_series_and_what_cannot_be_read_is_reported() {
    let import = read_ics(&data("two-calendars.ics"));
    assert_eq!(import.calendars.len(), 2);
    let work = &import.calendars[0];
    assert_eq!(work.name.as_deref(), Some("Work"));
    // New Year's Day and the stand-up (master and its override, one series); the event without
    // a start and the one in an unknown zone are reported by name.
    assert_eq!(work.series.len(), 2);
    let reasons: Vec<String> = import.problems.iter().map(ToString::to_string).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("\"Lost its start\"") && reasons[0].contains("no readable start"), "{}", reasons[0]);
    assert!(reasons[1].contains("\"Somewhere else\"") && reasons[1].contains("Mars/Olympus_Mons"), "{}", reasons[1]);
    let home = &import.calendars[1];
    assert_eq!((home.name.as_deref(), home.color.as_deref()), (Some("Home"), Some("#34AADC")));
    let dinner = event::fields(&home.series[0], event::event_index(&home.series[0]).expect("an event"));
    assert_eq!(dinner.title, "Dinner, with friends");
    assert_eq!(dinner.description, "Bring wine\nand cake");
    assert_eq!(dinner.zone.as_deref(), Some("Europe/London"));

    // The stand-up's override moved the Wednesday to 10:00; the series has no METHOD.
    let standup = &work.series[1];
    assert!(!standup.to_string().contains("METHOD"));
    let (found, _) = occurrences(standup, utc(), unix("2027-01-04 00:00"), unix("2027-01-09 00:00"));
    let starts: Vec<i64> = found.iter().map(|o| o.start).collect();
    assert_eq!(
        starts,
        [
            unix("2027-01-04 08:00"),
            unix("2027-01-05 08:00"),
            unix("2027-01-06 09:00"),
            unix("2027-01-07 08:00"),
            unix("2027-01-08 08:00")
        ]
    );
}

#[test]
fn an_export_reads_back_as_the_same_events_with_each_zone_once() {
    let import = read_ics(&data("two-calendars.ics"));
    let all: Vec<_> = import.calendars.iter().flat_map(|c| c.series.iter().cloned()).collect();
    let text = write_ics("Everything, exported", Some("#ff8800"), &all);
    assert!(text.contains("X-WR-CALNAME:Everything\\, exported\r\n"));
    let back = read_ics(&text);
    assert!(back.problems.is_empty(), "{:?}", back.problems);
    assert_eq!(back.calendars.len(), 1);
    assert_eq!(back.calendars[0].color.as_deref(), Some("#ff8800"));
    assert_eq!(back.series_count(), all.len());
    let window = (unix("2026-12-01 00:00"), unix("2027-03-01 00:00"));
    for (before, after) in all.iter().zip(&back.calendars[0].series) {
        assert_eq!(plico_calendar::uid(before), plico_calendar::uid(after));
        assert_eq!(occurrences(before, utc(), window.0, window.1).0, occurrences(after, utc(), window.0, window.1).0);
    }
    // Lines are folded at 75 octets.
    assert!(text.split("\r\n").all(|line| line.len() <= 75), "{text}");
}

#[test]
fn the_editor_changes_only_what_changed_and_keeps_what_it_does_not_show() {
    let mut import = read_ics(&data("outlook-request.ics"));
    let mut series = import.calendars.remove(0).series.remove(0);
    let index = event::event_index(&series).expect("an event");
    let fields = event::fields(&series, index);
    assert_eq!(fields.title, "Quarterly review");
    assert_eq!(fields.zone.as_deref(), Some("Europe/Berlin"), "Outlook's zone name is read as its IANA zone");
    assert_eq!((fields.start, fields.end), (at("2027-03-15 14:00"), at("2027-03-15 15:30")));
    assert_eq!(fields.reminders, [15]);
    assert_eq!(fields.attendees.len(), 2);
    assert_eq!(fields.organizer.as_ref().map(|o| o.email.as_str()), Some("ada@contoso.example"));

    let mut changed = fields.clone();
    changed.title = "Quarterly review; with cake".into();
    changed.reminders = vec![5, 60];
    let significant = event::set_fields(&mut series, index, &changed, NOW);
    assert!(!significant, "a new title is not a change attendees must answer again");
    let text = series.to_string();
    assert!(text.contains("SUMMARY:Quarterly review\\; with cake"), "{text}");
    assert!(text.contains("X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE"), "what Plico does not show stays");
    // calcard quotes a parameter with spaces.
    assert!(
        text.contains("DTSTART;TZID=\"W. Europe Standard Time\":20270315T140000"),
        "the time did not change, nor its zone's name"
    );
    let reread = event::fields(&series, index);
    assert_eq!(reread.reminders, [5, 60]);
    assert_eq!(reread.title, changed.title);
    assert_eq!(reread.sequence, 0);

    let mut moved = reread.clone();
    moved.start = at("2027-03-16 09:00");
    moved.end = at("2027-03-16 10:00");
    assert!(event::set_fields(&mut series, index, &moved, NOW), "a new time is");
    let reread = event::fields(&series, index);
    assert_eq!((reread.start, reread.end, reread.sequence), (moved.start, moved.end, 1));
    assert_eq!(reread.zone.as_deref(), Some("Europe/Berlin"));
}

fn weekly() -> plico_calendar::Calendar {
    let fields = EventFields {
        rule: Some("FREQ=WEEKLY;COUNT=6".into()),
        ..EventFields::new("Piano lesson", at("2027-03-01 17:00"), at("2027-03-01 18:00"), Some("Europe/Paris"))
    };
    event::new_series("lesson@plico.test", &fields, NOW)
}

fn paris_starts(series: &plico_calendar::Calendar) -> Vec<String> {
    let paris: chrono_tz::Tz = "Europe/Paris".parse().expect("zone");
    let (found, problems) = occurrences(series, paris, unix("2027-01-01 00:00"), unix("2028-01-01 00:00"));
    assert!(problems.is_empty(), "{problems:?}");
    found
        .iter()
        .map(|o| {
            chrono::DateTime::from_timestamp(o.start, 0)
                .expect("time")
                .with_timezone(&paris)
                .format("%m-%d %H:%M")
                .to_string()
        })
        .collect()
}

#[test]
fn a_new_series_recurs_and_one_occurrence_is_moved_deleted_or_the_rest_changed() {
    let mut series = weekly();
    assert_eq!(
        paris_starts(&series),
        ["03-01 17:00", "03-08 17:00", "03-15 17:00", "03-22 17:00", "03-29 17:00", "04-05 17:00"]
    );
    let text = series.to_string();
    assert!(text.contains("DTSTART;TZID=Europe/Paris:20270301T170000"), "{text}");
    assert!(text.contains("RRULE:FREQ=WEEKLY;COUNT=6"), "{text}");

    // This event: the lesson of 8 March moves to the 9th at 18:00.
    let mut this = event::fields(&series, 1);
    this.start = at("2027-03-09 18:00");
    this.end = at("2027-03-09 19:00");
    this.title = "Piano lesson (moved)".into();
    assert!(event::edit_occurrence(&mut series, at("2027-03-08 17:00"), Scope::This, &this, "", NOW).is_none());
    assert_eq!(
        paris_starts(&series),
        ["03-01 17:00", "03-09 18:00", "03-15 17:00", "03-22 17:00", "03-29 17:00", "04-05 17:00"]
    );
    // Moving it again rewrites the same override.
    this.start = at("2027-03-10 18:00");
    this.end = at("2027-03-10 19:00");
    event::edit_occurrence(&mut series, at("2027-03-08 17:00"), Scope::This, &this, "", NOW);
    assert_eq!(paris_starts(&series)[1], "03-10 18:00");
    assert_eq!(series.to_string().matches("RECURRENCE-ID").count(), 1);

    // Delete this event: the 15th.
    assert!(event::delete_occurrence(&mut series, at("2027-03-15 17:00"), Scope::This, NOW));
    assert_eq!(paris_starts(&series), ["03-01 17:00", "03-10 18:00", "03-22 17:00", "03-29 17:00", "04-05 17:00"]);

    // This and following: from the 29th (the clocks changed on the 28th) at 16:00; the
    // series splits, and COUNT is shared between the two.
    let mut following = event::fields(&series, event::event_index(&series).expect("master"));
    following.start = at("2027-03-29 16:00");
    following.end = at("2027-03-29 17:00");
    let next = event::edit_occurrence(
        &mut series,
        at("2027-03-29 17:00"),
        Scope::ThisAndFollowing,
        &following,
        "lesson-2@plico.test",
        NOW,
    )
    .expect("a new series");
    assert_eq!(paris_starts(&series), ["03-01 17:00", "03-10 18:00", "03-22 17:00"]);
    assert_eq!(paris_starts(&next), ["03-29 16:00", "04-05 16:00"]);
    assert_eq!(plico_calendar::uid(&next), Some("lesson-2@plico.test"));

    // All: the remaining series moves by an hour, keeping its rule.
    let mut all = event::fields(&next, event::event_index(&next).expect("master"));
    all.start = at("2027-04-05 17:00");
    all.end = at("2027-04-05 18:00");
    let mut next = next;
    event::edit_occurrence(&mut next, at("2027-04-05 16:00"), Scope::All, &all, "", NOW);
    assert_eq!(paris_starts(&next), ["03-29 17:00", "04-05 17:00"]);

    // Deleting this and following from the first occurrence leaves nothing.
    assert!(!event::delete_occurrence(&mut next, at("2027-03-29 17:00"), Scope::ThisAndFollowing, NOW));
}

#[test]
fn a_series_without_count_ends_with_an_until_before_the_split() {
    let fields = EventFields {
        rule: Some("FREQ=DAILY".into()),
        ..EventFields::new("Run", at("2027-05-01 07:00"), at("2027-05-01 07:30"), Some("America/New_York"))
    };
    let mut series = event::new_series("run@plico.test", &fields, NOW);
    assert!(event::delete_occurrence(&mut series, at("2027-05-04 07:00"), Scope::ThisAndFollowing, NOW));
    let text = series.to_string();
    // 07:00 EDT on 4 May is 11:00 UTC; UNTIL is a second before.
    assert!(text.contains("RRULE:FREQ=DAILY;UNTIL=20270504T105959Z"), "{text}");
    let (found, _) = occurrences(&series, utc(), unix("2027-04-01 00:00"), unix("2027-06-01 00:00"));
    assert_eq!(found.len(), 3);
}

#[test]
fn all_day_events_and_floating_times_are_written_as_such() {
    let fields = EventFields {
        all_day: true,
        zone: None,
        ..EventFields::new("Holiday", at("2027-08-02 00:00"), at("2027-08-07 00:00"), None)
    };
    let series = event::new_series("holiday@plico.test", &fields, NOW);
    let text = series.to_string();
    assert!(text.contains("DTSTART;VALUE=DATE:20270802") && text.contains("DTEND;VALUE=DATE:20270807"), "{text}");
    let back = event::fields(&parse_series(&text).expect("parses"), 1);
    assert!(back.all_day);
    assert_eq!((back.start, back.end), (fields.start, fields.end));
}
