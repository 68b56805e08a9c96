//! What the event editor shows and changes, read from a VEVENT and written back over it.
//!
//! Writing back changes only the properties whose value changed; every other property and
//! parameter (Google's conference data, Outlook's X- properties, an alarm Plico does not show)
//! stays as it came. Each new property is written as iCalendar text and read back by calcard,
//! so what is stored is always what a parser reads.

use crate::expand::{stamp, Zone, Zones};
use calcard::common::IanaString;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarParameterName, ICalendarProperty,
    ICalendarValue,
};
use chrono::{Duration, NaiveDateTime};

/// An attendee's answer (RFC 5545 PARTSTAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    NeedsAction,
    Accepted,
    Tentative,
    Declined,
    Delegated,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::NeedsAction => "NEEDS-ACTION",
            Answer::Accepted => "ACCEPTED",
            Answer::Tentative => "TENTATIVE",
            Answer::Declined => "DECLINED",
            Answer::Delegated => "DELEGATED",
        }
    }

    pub fn parse(text: &str) -> Option<Answer> {
        Some(match text.to_ascii_uppercase().as_str() {
            "NEEDS-ACTION" => Answer::NeedsAction,
            "ACCEPTED" => Answer::Accepted,
            "TENTATIVE" => Answer::Tentative,
            "DECLINED" => Answer::Declined,
            "DELEGATED" => Answer::Delegated,
            _ => return None,
        })
    }
}

/// An ATTENDEE or the ORGANIZER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The address, without `mailto:`, lowercased.
    pub email: String,
    /// CN.
    pub name: Option<String>,
    pub answer: Answer,
}

/// The event as the editor shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFields {
    pub title: String,
    pub location: String,
    pub description: String,
    pub all_day: bool,
    /// Wall time in `zone`; for an all-day event, midnight of its first day.
    pub start: NaiveDateTime,
    /// Wall time in `zone`; for an all-day event, midnight after its last day.
    pub end: NaiveDateTime,
    /// An IANA zone name; `None` for floating times and all-day events.
    pub zone: Option<String>,
    /// The RRULE as written (`FREQ=WEEKLY;BYDAY=MO`), or `None`.
    pub rule: Option<String>,
    pub organizer: Option<Person>,
    pub attendees: Vec<Person>,
    /// Reminders, in minutes before the start (a VALARM with a relative trigger each).
    pub reminders: Vec<i64>,
    /// RFC 7986 COLOR: a CSS colour name or `#rrggbb`.
    pub color: Option<String>,
    /// TRANSP: opaque (busy) unless TRANSPARENT.
    pub busy: bool,
    /// SEQUENCE: how many times the organiser changed the event in a way attendees must hear of.
    pub sequence: i64,
    /// STATUS:CANCELLED.
    pub cancelled: bool,
}

impl EventFields {
    /// A new timed event in `zone`.
    pub fn new(title: &str, start: NaiveDateTime, end: NaiveDateTime, zone: Option<&str>) -> EventFields {
        EventFields {
            title: title.to_owned(),
            location: String::new(),
            description: String::new(),
            all_day: false,
            start,
            end,
            zone: zone.map(str::to_owned),
            rule: None,
            organizer: None,
            attendees: Vec::new(),
            reminders: Vec::new(),
            color: None,
            busy: true,
            sequence: 0,
            cancelled: false,
        }
    }
}

fn text_of(component: &ICalendarComponent, property: ICalendarProperty) -> String {
    component
        .property(&property)
        .and_then(|entry| entry.values.first())
        .and_then(|value| value.as_text())
        .unwrap_or_default()
        .to_owned()
}

fn person(entry: &ICalendarEntry) -> Option<Person> {
    let address = entry.calendar_address().or_else(|| entry.values.first().and_then(|value| value.as_text()))?;
    let email = calcard::icalendar::utils::strip_mailto_scheme(address).trim().to_ascii_lowercase();
    if email.is_empty() {
        return None;
    }
    let name = entry.parameter(&ICalendarParameterName::Cn).and_then(|value| value.as_text()).map(str::to_owned);
    let answer = entry
        .params
        .iter()
        .find(|param| param.name == ICalendarParameterName::Partstat)
        .and_then(|param| match &param.value {
            calcard::icalendar::ICalendarParameterValue::Partstat(status) => Answer::parse(status.as_str()),
            other => other.as_text().and_then(Answer::parse),
        })
        .unwrap_or(Answer::NeedsAction);
    Some(Person { email, name, answer })
}

/// The editor's fields of the VEVENT at `index`.
pub fn fields(series: &ICalendar, index: usize) -> EventFields {
    let zones = Zones::of(series);
    let component = &series.components[index];
    let start = component.property(&ICalendarProperty::Dtstart).and_then(|entry| stamp(entry, &zones));
    let end = component.property(&ICalendarProperty::Dtend).and_then(|entry| stamp(entry, &zones));
    let all_day = start.is_some_and(|start| !start.has_time);
    let zone = match start.map(|start| start.zone) {
        Some(Zone::Tz(tz)) if !all_day => tz.name().map(|name| name.into_owned()),
        _ => None,
    };
    let start_local = start.map(|start| start.local).unwrap_or_default();
    let end_local = match (end, start) {
        (Some(end), Some(start)) => end.local_in(start.zone, chrono_tz::Tz::UTC),
        _ => {
            let duration = component
                .property(&ICalendarProperty::Duration)
                .and_then(|entry| match entry.values.first() {
                    Some(ICalendarValue::Duration(duration)) => duration.to_time_delta(),
                    _ => None,
                })
                .unwrap_or_else(|| if all_day { Duration::days(1) } else { Duration::zero() });
            start_local + duration
        }
    };
    let rule = component.property(&ICalendarProperty::Rrule).and_then(|entry| match entry.values.first() {
        Some(ICalendarValue::RecurrenceRule(rule)) => Some(rule.to_string()),
        _ => None,
    });
    let organizer = component.property(&ICalendarProperty::Organizer).and_then(person);
    let attendees = component.properties(&ICalendarProperty::Attendee).filter_map(person).collect();
    let reminders =
        alarms(series, index).iter().filter_map(|&alarm| reminder_minutes(&series.components[alarm])).collect();
    let busy = !matches!(component.transparency(), Some(calcard::icalendar::ICalendarTransparency::Transparent));
    let cancelled = matches!(component.status(), Some(calcard::icalendar::ICalendarStatus::Cancelled));
    let sequence = component
        .property(&ICalendarProperty::Sequence)
        .and_then(|entry| entry.values.first())
        .and_then(|value| value.as_integer())
        .unwrap_or(0);
    let color = Some(text_of(component, ICalendarProperty::Color)).filter(|color| !color.is_empty());
    EventFields {
        title: text_of(component, ICalendarProperty::Summary),
        location: text_of(component, ICalendarProperty::Location),
        description: text_of(component, ICalendarProperty::Description),
        all_day,
        start: start_local,
        end: end_local,
        zone,
        rule,
        organizer,
        attendees,
        reminders,
        color,
        busy,
        sequence,
        cancelled,
    }
}

/// The VALARMs of the VEVENT at `index`.
fn alarms(series: &ICalendar, index: usize) -> Vec<usize> {
    series.components[index]
        .component_ids
        .iter()
        .map(|&id| id as usize)
        .filter(|&id| series.components.get(id).is_some_and(|c| c.component_type == ICalendarComponentType::VAlarm))
        .collect()
}

/// A VALARM's trigger as minutes before the start, when it is relative to the start.
fn reminder_minutes(alarm: &ICalendarComponent) -> Option<i64> {
    let entry = alarm.property(&ICalendarProperty::Trigger)?;
    if entry.parameter(&ICalendarParameterName::Related).is_some_and(|related| {
        matches!(
            related,
            calcard::icalendar::ICalendarParameterValue::Related(calcard::icalendar::ICalendarRelated::End)
        )
    }) {
        return None;
    }
    match entry.values.first()? {
        ICalendarValue::Duration(duration) => Some(-duration.to_time_delta()?.num_minutes()),
        _ => None,
    }
}

/// One property line parsed by calcard, as the entry of a VEVENT.
pub(crate) fn entry_from(line: &str) -> Option<ICalendarEntry> {
    let text = format!("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n{line}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    match calcard::Parser::new(&text).entry() {
        calcard::Entry::ICalendar(mut ical) => {
            let event = ical.components.iter_mut().find(|c| c.component_type == ICalendarComponentType::VEvent)?;
            event.entries.pop()
        }
        _ => None,
    }
}

fn stamp_text(local: NaiveDateTime, all_day: bool) -> String {
    if all_day {
        local.format("%Y%m%d").to_string()
    } else {
        local.format("%Y%m%dT%H%M%S").to_string()
    }
}

/// `NAME;params:value` for a date or date-time in the fields' zone.
pub(crate) fn time_line(name: &str, local: NaiveDateTime, all_day: bool, zone: Option<&str>) -> String {
    match (all_day, zone) {
        (true, _) => format!("{name};VALUE=DATE:{}", stamp_text(local, true)),
        (false, Some("UTC")) => format!("{name}:{}Z", stamp_text(local, false)),
        (false, Some(zone)) => format!("{name};TZID={zone}:{}", stamp_text(local, false)),
        (false, None) => format!("{name}:{}", stamp_text(local, false)),
    }
}

/// Replaces (or removes, with `None`) every `property` of the component with one line.
fn set_line(component: &mut ICalendarComponent, property: ICalendarProperty, line: Option<String>) {
    let new = line.and_then(|line| entry_from(&line));
    let position = component.entries.iter().position(|entry| entry.name == property);
    component.entries.retain(|entry| entry.name != property);
    if let Some(new) = new {
        let at = position.unwrap_or(component.entries.len()).min(component.entries.len());
        component.entries.insert(at, new);
    }
}

fn person_line(name: &str, person: &Person, with_answer: bool) -> String {
    let mut line = String::from(name);
    if let Some(cn) = &person.name {
        let cn = cn.replace('"', "'");
        line.push_str(&format!(";CN=\"{cn}\""));
    }
    if with_answer {
        line.push_str(&format!(";PARTSTAT={}", person.answer.as_str()));
        if person.answer == Answer::NeedsAction {
            line.push_str(";RSVP=TRUE");
        }
    }
    line.push_str(&format!(":mailto:{}", person.email));
    line
}

/// Writes `fields` over the VEVENT at `index`: only the properties whose value differs from
/// what [`fields`] reads are replaced. Returns whether the change is one attendees must be told
/// of (time, place, rule or attendees), for which SEQUENCE is raised.
pub fn set_fields(series: &mut ICalendar, index: usize, new: &EventFields, now: i64) -> bool {
    let old = fields(series, index);
    let component = &mut series.components[index];
    let text = |value: &str| Some(value.to_owned()).filter(|value| !value.is_empty());
    if old.title != new.title {
        set_line(
            component,
            ICalendarProperty::Summary,
            text(&new.title).map(|t| format!("SUMMARY:{}", crate::escape_text(&t))),
        );
    }
    if old.location != new.location {
        set_line(
            component,
            ICalendarProperty::Location,
            text(&new.location).map(|t| format!("LOCATION:{}", crate::escape_text(&t))),
        );
    }
    if old.description != new.description {
        set_line(
            component,
            ICalendarProperty::Description,
            text(&new.description).map(|t| format!("DESCRIPTION:{}", crate::escape_text(&t))),
        );
    }
    let timing_changed =
        old.start != new.start || old.end != new.end || old.all_day != new.all_day || old.zone != new.zone;
    if timing_changed {
        let zone = if new.all_day { None } else { new.zone.as_deref() };
        set_line(component, ICalendarProperty::Dtstart, Some(time_line("DTSTART", new.start, new.all_day, zone)));
        set_line(component, ICalendarProperty::Duration, None);
        set_line(component, ICalendarProperty::Dtend, Some(time_line("DTEND", new.end, new.all_day, zone)));
    }
    if old.rule != new.rule {
        set_line(component, ICalendarProperty::Rrule, new.rule.as_ref().map(|rule| format!("RRULE:{rule}")));
    }
    let people_changed = old.attendees != new.attendees || old.organizer != new.organizer;
    if people_changed {
        component
            .entries
            .retain(|entry| !matches!(entry.name, ICalendarProperty::Attendee | ICalendarProperty::Organizer));
        if !new.attendees.is_empty() {
            if let Some(organizer) = &new.organizer {
                component.entries.extend(entry_from(&person_line("ORGANIZER", organizer, false)));
            }
        }
        for attendee in &new.attendees {
            component.entries.extend(entry_from(&person_line("ATTENDEE", attendee, true)));
        }
    }
    if old.color != new.color {
        set_line(
            component,
            ICalendarProperty::Color,
            new.color.as_ref().map(|color| format!("COLOR:{}", crate::escape_text(color))),
        );
    }
    if old.busy != new.busy {
        set_line(
            component,
            ICalendarProperty::Transp,
            Some(if new.busy { "TRANSP:OPAQUE" } else { "TRANSP:TRANSPARENT" }.into()),
        );
    }
    if old.cancelled != new.cancelled {
        set_line(component, ICalendarProperty::Status, new.cancelled.then(|| "STATUS:CANCELLED".to_owned()));
    }
    let significant = timing_changed
        || old.rule != new.rule
        || old.location != new.location
        || people_changed
        || old.cancelled != new.cancelled;
    let sequence = if significant && !old.attendees.is_empty() {
        old.sequence.max(new.sequence) + 1
    } else {
        new.sequence.max(old.sequence)
    };
    if sequence != old.sequence {
        set_line(component, ICalendarProperty::Sequence, Some(format!("SEQUENCE:{sequence}")));
    }
    let stamp = utc_text(now);
    set_line(component, ICalendarProperty::Dtstamp, Some(format!("DTSTAMP:{stamp}")));
    set_line(component, ICalendarProperty::LastModified, Some(format!("LAST-MODIFIED:{stamp}")));
    if old.reminders != new.reminders {
        set_reminders(series, index, &new.reminders);
    }
    significant
}

/// Replaces the VEVENT's display alarms relative to its start with one per reminder; other
/// alarms (at an absolute time, relative to the end, e-mail ones) stay.
fn set_reminders(series: &mut ICalendar, index: usize, minutes: &[i64]) {
    let drop: Vec<u32> = alarms(series, index)
        .into_iter()
        .filter(|&alarm| reminder_minutes(&series.components[alarm]).is_some())
        .map(|alarm| alarm as u32)
        .collect();
    series.remove_component_ids(&drop);
    // The VEVENT keeps its index: removing components after it does not move it, and alarms
    // come after their event.
    for &minutes in minutes {
        let mut alarm = ICalendarComponent::new(ICalendarComponentType::VAlarm);
        alarm.entries.extend(entry_from("ACTION:DISPLAY"));
        alarm.entries.extend(entry_from(&format!("TRIGGER:-PT{}M", minutes.max(0))));
        alarm.entries.extend(entry_from("DESCRIPTION:Reminder"));
        let id = series.components.len() as u32;
        series.components.push(alarm);
        series.components[index].component_ids.push(id);
    }
}

/// Unix seconds as an iCalendar UTC date-time.
pub fn utc_text(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default().format("%Y%m%dT%H%M%SZ").to_string()
}

/// A new series with one VEVENT made of `fields`.
pub fn new_series(uid: &str, fields: &EventFields, now: i64) -> ICalendar {
    let text = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Plico//Calendar//EN\r\nBEGIN:VEVENT\r\nUID:{}\r\nDTSTAMP:{}\r\nCREATED:{}\r\n{}\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        crate::escape_text(uid),
        utc_text(now),
        utc_text(now),
        time_line("DTSTART", fields.start, fields.all_day, if fields.all_day { None } else { fields.zone.as_deref() }),
    );
    let mut series = crate::parse_series(&text).unwrap_or_else(|_| ICalendar { components: Vec::new() });
    let index = event_index(&series).unwrap_or(1);
    // Written over the placeholder: each field that differs from it is set.
    set_fields(&mut series, index, fields, now);
    series
}

/// The index of the series' master VEVENT (or its first VEVENT).
pub fn event_index(series: &ICalendar) -> Option<usize> {
    let events =
        || series.components.iter().enumerate().filter(|(_, c)| c.component_type == ICalendarComponentType::VEvent);
    events().find(|(_, c)| !c.is_recurrence_override()).or_else(|| events().next()).map(|(index, _)| index)
}

/// The index of the override of the occurrence `rid` names, if there is one.
pub fn override_index(series: &ICalendar, rid: NaiveDateTime) -> Option<usize> {
    let zones = Zones::of(series);
    let master = event_index(series)?;
    let zone = series.components[master]
        .property(&ICalendarProperty::Dtstart)
        .and_then(|entry| stamp(entry, &zones))
        .map(|start| start.zone)
        .unwrap_or(Zone::Floating);
    series.components.iter().enumerate().find_map(|(index, component)| {
        let entry = component.property(&ICalendarProperty::RecurrenceId)?;
        let at = stamp(entry, &zones)?;
        (at.local_in(zone, chrono_tz::Tz::UTC) == rid).then_some(index)
    })
}

/// Which occurrences an edit or a deletion of one occurrence of a recurring series touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// This occurrence only (an override, or an EXDATE).
    This,
    /// This occurrence and the ones after it (the series is split in two).
    ThisAndFollowing,
    /// Every occurrence (the master).
    All,
}

/// Changes the occurrence of `series` that `rid` names (its planned wall time in the series'
/// zone) to `new`. With [`Scope::This`], an override is written (or rewritten); with
/// [`Scope::ThisAndFollowing`], the series ends before `rid` and the returned new series (with
/// `new_uid`) carries on from it; with [`Scope::All`], the master changes, moved by as much as
/// this occurrence moved.
pub fn edit_occurrence(
    series: &mut ICalendar,
    rid: NaiveDateTime,
    scope: Scope,
    new: &EventFields,
    new_uid: &str,
    now: i64,
) -> Option<ICalendar> {
    let master = event_index(series)?;
    let master_fields = fields(series, master);
    match scope {
        Scope::All => {
            let shift = new.start - rid;
            let length = new.end - new.start;
            let mut all = new.clone();
            all.start = master_fields.start + shift;
            all.end = all.start + length;
            all.rule = new.rule.clone().or(master_fields.rule.clone());
            set_fields(series, master, &all, now);
            None
        }
        Scope::This => {
            let index = match override_index(series, rid) {
                Some(index) => index,
                None => add_override(series, master, rid, &master_fields),
            };
            let mut this = new.clone();
            this.rule = None;
            set_fields(series, index, &this, now);
            None
        }
        Scope::ThisAndFollowing => {
            let mut following = end_before(series, rid, now);
            let mut fields_after = new.clone();
            fields_after.sequence = 0;
            let mut next = new_series(new_uid, &fields_after, now);
            // The rule carries on, with what is left of a COUNT.
            if let Some(rule) = &fields_after.rule {
                let index = event_index(&next).unwrap_or(1);
                let mut with_rule = fields(&next, index);
                with_rule.rule = Some(remaining_rule(rule, following.take().unwrap_or(0)));
                set_fields(&mut next, index, &with_rule, now);
            }
            next.add_missing_timezones();
            Some(next)
        }
    }
}

/// Adds an override for `rid`, a copy of the master's properties without its recurrence.
fn add_override(series: &mut ICalendar, master: usize, rid: NaiveDateTime, master_fields: &EventFields) -> usize {
    let mut copy = series.components[master].clone();
    copy.component_ids.clear();
    copy.entries.retain(|entry| {
        !matches!(
            entry.name,
            ICalendarProperty::Rrule | ICalendarProperty::Rdate | ICalendarProperty::Exdate | ICalendarProperty::Exrule
        )
    });
    let zone = if master_fields.all_day { None } else { master_fields.zone.as_deref() };
    copy.entries.extend(entry_from(&time_line("RECURRENCE-ID", rid, master_fields.all_day, zone)));
    let length = master_fields.end - master_fields.start;
    let index = series.components.len();
    series.components.push(copy);
    series.components[0].component_ids.push(index as u32);
    let mut placed = master_fields.clone();
    placed.start = rid;
    placed.end = rid + length;
    placed.rule = None;
    set_fields(series, index, &placed, 0);
    index
}

/// Ends the series before occurrence `rid`: UNTIL just before it (a COUNT becomes the number of
/// occurrences before it, which is returned so the new series can carry the rest). Overrides
/// at or after `rid` are removed.
fn end_before(series: &mut ICalendar, rid: NaiveDateTime, now: i64) -> Option<u32> {
    let master = event_index(series)?;
    let master_fields = fields(series, master);
    let rule_text = master_fields.rule.clone()?;
    let parts: Vec<&str> =
        rule_text.split(';').filter(|part| !part.starts_with("UNTIL=") && !part.starts_with("COUNT=")).collect();
    let count = rule_text.split(';').find_map(|part| part.strip_prefix("COUNT=")).and_then(|n| n.parse::<u32>().ok());
    let before = if count.is_some() {
        // COUNT counts what the rule yields, deleted occurrences included: counted on the
        // master alone, without its EXDATEs, RDATEs and overrides.
        let mut rule_only = series.clone();
        rule_only.components[master]
            .entries
            .retain(|entry| !matches!(entry.name, ICalendarProperty::Exdate | ICalendarProperty::Rdate));
        let overrides: Vec<u32> = rule_only
            .components
            .iter()
            .enumerate()
            .filter(|(_, c)| c.component_type == ICalendarComponentType::VEvent && c.is_recurrence_override())
            .map(|(index, _)| index as u32)
            .collect();
        rule_only.remove_component_ids(&overrides);
        let (found, _) = crate::expand::occurrences(&rule_only, chrono_tz::Tz::UTC, i64::MIN, i64::MAX);
        Some(found.iter().filter(|o| o.recurrence_id.is_some_and(|at| at < rid)).count() as u32)
    } else {
        None
    };
    let until = match (&master_fields.zone, master_fields.all_day) {
        (_, true) => (rid - Duration::days(1)).format("%Y%m%d").to_string(),
        (Some(zone), false) => {
            let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Tz::UTC);
            let instant = crate::expand::resolve_local(&tz, rid) - 1;
            utc_text(instant)
        }
        (None, false) => (rid - Duration::seconds(1)).format("%Y%m%dT%H%M%S").to_string(),
    };
    let mut ended = master_fields.clone();
    ended.rule = Some(match before {
        Some(before) => format!("{};COUNT={}", parts.join(";"), before.max(1)),
        None => format!("{};UNTIL={until}", parts.join(";")),
    });
    set_fields(series, master, &ended, now);
    // Overrides from `rid` on belong to the new series.
    let zones = Zones::of(series);
    let zone = series.components[master]
        .property(&ICalendarProperty::Dtstart)
        .and_then(|e| stamp(e, &zones))
        .map(|s| s.zone)
        .unwrap_or(Zone::Floating);
    let later: Vec<u32> = series
        .components
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.property(&ICalendarProperty::RecurrenceId)
                .and_then(|entry| stamp(entry, &zones))
                .is_some_and(|at| at.local_in(zone, chrono_tz::Tz::UTC) >= rid)
        })
        .map(|(index, _)| index as u32)
        .collect();
    series.remove_component_ids(&later);
    count.zip(before).map(|(count, before)| count.saturating_sub(before))
}

/// `rule` without UNTIL or COUNT, with `COUNT=left` when some of a COUNT is left.
fn remaining_rule(rule: &str, left: u32) -> String {
    let had_count = rule.split(';').any(|part| part.starts_with("COUNT="));
    let mut parts: Vec<String> =
        rule.split(';').filter(|part| !part.starts_with("COUNT=")).map(str::to_owned).collect();
    if had_count || left > 0 {
        parts.retain(|part| !part.starts_with("UNTIL="));
        parts.push(format!("COUNT={}", left.max(1)));
    }
    parts.join(";")
}

/// Deletes occurrence `rid`: [`Scope::This`] adds an EXDATE (and drops its override);
/// [`Scope::ThisAndFollowing`] ends the series before it. Returns false when nothing is left and
/// the whole series should go ([`Scope::All`], or `rid` is the first occurrence).
pub fn delete_occurrence(series: &mut ICalendar, rid: NaiveDateTime, scope: Scope, now: i64) -> bool {
    let Some(master) = event_index(series) else { return false };
    let master_fields = fields(series, master);
    match scope {
        Scope::All => false,
        Scope::ThisAndFollowing if rid <= master_fields.start => false,
        Scope::ThisAndFollowing => {
            end_before(series, rid, now);
            true
        }
        Scope::This => {
            if let Some(index) = override_index(series, rid) {
                series.remove_component_ids(&[index as u32]);
            }
            let zone = if master_fields.all_day { None } else { master_fields.zone.as_deref() };
            if let Some(exdate) = entry_from(&time_line("EXDATE", rid, master_fields.all_day, zone)) {
                series.components[master].entries.push(exdate);
            }
            let (left, _) = crate::expand::occurrences(series, chrono_tz::Tz::UTC, i64::MIN, i64::MAX);
            !left.is_empty()
        }
    }
}

/// The PARTSTAT of `email` among the attendees of the VEVENT at `index`, changed to `answer`.
/// Returns false when `email` is not an attendee.
pub fn set_answer(series: &mut ICalendar, index: usize, email: &str, answer: Answer, now: i64) -> bool {
    let mut current = fields(series, index);
    let Some(attendee) = current.attendees.iter_mut().find(|a| a.email.eq_ignore_ascii_case(email)) else {
        return false;
    };
    attendee.answer = answer;
    let sequence = current.sequence;
    set_fields(series, index, &current, now);
    // An answer is not a change the organiser made: SEQUENCE stays.
    set_line(&mut series.components[index], ICalendarProperty::Sequence, Some(format!("SEQUENCE:{sequence}")));
    true
}
