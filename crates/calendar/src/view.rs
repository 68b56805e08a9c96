//! Between the library's types and the protocol's (`plico_api::calendar`): the editor's fields
//! as text, and an occurrence as the app draws it. No IO; the worker and the tests share it.

use crate::event::{self, Answer, EventFields, Person};
use crate::expand::Occurrence;
use calcard::icalendar::ICalendar;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use plico_api::calendar as api;

/// `YYYYMMDDTHHMMSS`, a RECURRENCE-ID's wall time as the protocol names an occurrence.
pub fn rid_text(rid: NaiveDateTime) -> String {
    rid.format("%Y%m%dT%H%M%S").to_string()
}

pub fn parse_rid(text: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S").map_err(|_| format!("{text:?} does not name an occurrence"))
}

fn wall(time: NaiveDateTime, all_day: bool) -> String {
    if all_day {
        time.format("%Y-%m-%d").to_string()
    } else {
        time.format("%Y-%m-%dT%H:%M").to_string()
    }
}

fn parse_wall(text: &str, what: &str) -> Result<NaiveDateTime, String> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).unwrap_or_default());
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("The {what} {text:?} is not a date and time (YYYY-MM-DD HH:MM)."))
}

fn person_view(person: &Person) -> api::Person {
    api::Person {
        email: person.email.clone(),
        name: person.name.clone().unwrap_or_default(),
        answer: person.answer.as_str().to_owned(),
    }
}

fn person_of(view: &api::Person) -> Result<Person, String> {
    let email = view.email.trim().to_ascii_lowercase();
    let valid = email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.contains(char::is_whitespace);
    if !valid {
        return Err(format!("{:?} is not an email address.", view.email));
    }
    Ok(Person {
        email,
        name: Some(view.name.trim().to_owned()).filter(|name| !name.is_empty()),
        answer: Answer::parse(&view.answer).unwrap_or(Answer::NeedsAction),
    })
}

/// The editor's fields of an event as the protocol carries them.
pub fn to_view(fields: &EventFields) -> api::EventFields {
    // An all-day event's end is exclusive in iCalendar and inclusive as people say it.
    let end = if fields.all_day { fields.end - Duration::days(1) } else { fields.end };
    api::EventFields {
        title: fields.title.clone(),
        location: fields.location.clone(),
        description: fields.description.clone(),
        all_day: fields.all_day,
        start: wall(fields.start, fields.all_day),
        end: wall(end.max(fields.start), fields.all_day),
        zone: fields.zone.clone().unwrap_or_default(),
        rule: fields.rule.clone().unwrap_or_default(),
        organizer: fields.organizer.as_ref().map(person_view),
        attendees: fields.attendees.iter().map(person_view).collect(),
        reminders: fields.reminders.clone(),
        color: fields.color.clone().unwrap_or_default(),
        busy: fields.busy,
    }
}

/// The protocol's fields read back, checked: times that read, an end after the start, a zone of
/// the IANA database, a rule calcard follows, addresses that are addresses.
pub fn from_view(view: &api::EventFields, sequence: i64) -> Result<EventFields, String> {
    let title = view.title.trim();
    if title.chars().count() > 500 {
        return Err("The title is longer than 500 characters.".into());
    }
    let start = parse_wall(&view.start, "start")?;
    let mut end = parse_wall(&view.end, "end")?;
    if view.all_day {
        end += Duration::days(1);
    }
    if end < start {
        return Err("The event ends before it starts.".into());
    }
    let zone = Some(view.zone.trim().to_owned()).filter(|zone| !zone.is_empty() && !view.all_day);
    if let Some(zone) = &zone {
        zone.parse::<chrono_tz::Tz>().map_err(|_| format!("{zone:?} is not a time zone Plico knows."))?;
    }
    let rule = Some(view.rule.trim().trim_start_matches("RRULE:").to_owned()).filter(|rule| !rule.is_empty());
    if let Some(rule) = &rule {
        check_rule(rule, start, view.all_day)?;
    }
    let color = Some(view.color.trim().to_owned()).filter(|color| !color.is_empty());
    if let Some(color) = &color {
        let hex = color.strip_prefix('#').unwrap_or("");
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("{color:?} is not a colour (#rrggbb)."));
        }
    }
    if view.reminders.iter().any(|&minutes| !(0..=40_320).contains(&minutes)) {
        return Err("A reminder is between 0 minutes and 4 weeks before the start.".into());
    }
    let attendees = view.attendees.iter().map(person_of).collect::<Result<Vec<_>, _>>()?;
    let organizer = view.organizer.as_ref().map(person_of).transpose()?;
    Ok(EventFields {
        title: title.to_owned(),
        location: view.location.trim().to_owned(),
        description: view.description.clone(),
        all_day: view.all_day,
        start,
        end,
        zone,
        rule,
        organizer,
        attendees,
        reminders: view.reminders.clone(),
        color,
        busy: view.busy,
        sequence,
        cancelled: false,
    })
}

/// Whether calcard can follow `rule` from `start`: a series with it, expanded over a day.
fn check_rule(rule: &str, start: NaiveDateTime, all_day: bool) -> Result<(), String> {
    if rule.contains(['\r', '\n', ':']) {
        return Err("The repetition rule is not one rule.".into());
    }
    let parsed = event::entry_from(&format!("RRULE:{rule}"));
    if !parsed
        .is_some_and(|entry| matches!(entry.values.as_slice(), [calcard::icalendar::ICalendarValue::RecurrenceRule(_)]))
    {
        return Err(format!("The repetition rule {rule:?} cannot be read."));
    }
    let fields = EventFields { rule: Some(rule.to_owned()), all_day, ..EventFields::new("", start, start, None) };
    let series = event::new_series("check@plico.invalid", &fields, 0);
    let (_, problems) = crate::expand::occurrences(&series, chrono_tz::Tz::UTC, 0, 86_400);
    match problems.first() {
        Some(problem) => Err(format!(
            "The repetition rule {rule:?} cannot be followed: {}.",
            problem.split_once(": ").map_or(problem.as_str(), |(_, why)| why)
        )),
        None => Ok(()),
    }
}

/// One occurrence of event `id` (in calendar `calendar`, whose colour it takes unless it has its
/// own) as the app draws it.
pub fn occurrence_view(
    id: &str,
    calendar: &str,
    calendar_color: &str,
    series: &ICalendar,
    occurrence: &Occurrence,
    recurring: bool,
) -> api::OccurrenceView {
    let fields = event::fields(series, occurrence.component);
    api::OccurrenceView {
        event: id.to_owned(),
        calendar: calendar.to_owned(),
        recurrence_id: occurrence.recurrence_id.map(rid_text),
        title: fields.title,
        location: fields.location,
        start: occurrence.start,
        end: occurrence.end,
        all_day: occurrence.all_day,
        color: fields.color.unwrap_or_else(|| calendar_color.to_owned()),
        busy: fields.busy,
        recurring,
        cancelled: fields.cancelled,
        invitation: !fields.attendees.is_empty(),
    }
}

/// Whether a series recurs (a rule or extra dates).
pub fn is_recurring(series: &ICalendar) -> bool {
    event::event_index(series).is_some_and(|index| series.components[index].is_recurrent())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> api::EventFields {
        api::EventFields {
            title: "Standup".into(),
            start: "2027-03-01T09:00".into(),
            end: "2027-03-01T09:15".into(),
            zone: "Europe/Paris".into(),
            rule: "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR".into(),
            busy: true,
            ..api::EventFields::default()
        }
    }

    #[test]
    fn fields_go_through_the_protocol_and_back_unchanged() {
        let fields = from_view(&view(), 0).expect("reads");
        assert_eq!(to_view(&fields), view());
        let all_day = api::EventFields {
            all_day: true,
            start: "2027-08-02".into(),
            end: "2027-08-06".into(),
            zone: String::new(),
            rule: String::new(),
            ..view()
        };
        let fields = from_view(&all_day, 0).expect("reads");
        assert_eq!(fields.end - fields.start, Duration::days(5), "the last day is inclusive in the editor");
        assert_eq!(to_view(&fields), all_day);
    }

    #[test]
    fn bad_fields_are_refused_with_what_is_wrong() {
        let refused = |change: &dyn Fn(&mut api::EventFields)| {
            let mut bad = view();
            change(&mut bad);
            from_view(&bad, 0).expect_err("refused")
        };
        assert_eq!(refused(&|v| v.end = "2027-03-01T08:00".into()), "The event ends before it starts.");
        assert!(refused(&|v| v.start = "tomorrow".into()).contains("The start \"tomorrow\" is not a date"));
        assert!(refused(&|v| v.zone = "Mars/Olympus".into()).contains("not a time zone"));
        assert!(refused(&|v| v.rule = "FREQ=SOMETIMES".into()).contains("repetition rule"));
        assert!(refused(&|v| v.rule = "FREQ=DAILY\r\nATTENDEE:mailto:x@y.z".into()).contains("not one rule"));
        assert!(refused(&|v| v.color = "red; background: url(x)".into()).contains("not a colour"));
        assert!(refused(&|v| v.attendees = vec![api::Person { email: "not an address".into(), ..Default::default() }])
            .contains("not an email address"));
        assert!(refused(&|v| v.reminders = vec![-5]).contains("reminder"));
    }
}
