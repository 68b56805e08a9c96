//! When a series happens: its occurrences in a window, in the viewer's time zone.
//!
//! calcard does the recurrence rule's arithmetic (RFC 5545's RRULE, in local wall time); this
//! module does the rest, so that every time-zone question is answered one way:
//! - A series recurs in the wall time of its DTSTART's zone (an IANA name, or a VTIMEZONE that
//!   calcard maps to one): a meeting at 09:00 Paris stays at 09:00 Paris across the change to
//!   summer time, and so moves for a viewer in New York.
//! - UNTIL, EXDATE, RDATE and RECURRENCE-ID may be written in UTC or in another zone (Google
//!   and Outlook do both); each is turned into the series' wall time before it is compared.
//! - A wall time that does not exist (the hour skipped in spring) is read with the offset before
//!   the gap, so 02:30 becomes 03:30; one that exists twice (autumn) is the first of the two.
//!   RFC 5545 §3.3.5 says so, and Python's zoneinfo does the same (the reference of the tests).
//! - A floating time (no zone) is the viewer's wall time; an all-day event covers whole days
//!   of the viewer's calendar.
//!
//! An override (a VEVENT with RECURRENCE-ID) replaces the occurrence it names whatever its
//! SEQUENCE; RANGE=THISANDFUTURE is not written by the clients Plico meets (Google, Outlook,
//! Thunderbird, Apple split the series instead, as Plico does) and is read as this occurrence
//! only.

use calcard::common::timezone::Tz;
use calcard::common::PartialDateTime;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarPeriod, ICalendarProperty,
    ICalendarValue,
};
use chrono::{Duration, NaiveDateTime, Offset, TimeZone};
use std::collections::HashMap;

/// The most occurrences one series yields in one expansion, however far its rule runs: a rule
/// every minute for a year stops here instead of filling the device's memory.
pub const MAX_OCCURRENCES: usize = 20_000;

/// 1900-01-01 and 2200-01-01, the earliest and latest instants a window reaches.
const FIRST_INSTANT: i64 = -2_208_988_800;
const LAST_INSTANT: i64 = 7_258_118_400;

/// One occurrence of a series, placed in the viewer's time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// Unix seconds. For an all-day event, midnight of its first day in the viewer's zone.
    pub start: i64,
    /// Unix seconds, after `start` (or equal, for an event without length). For an all-day
    /// event, midnight after its last day.
    pub end: i64,
    pub all_day: bool,
    /// For an occurrence of a recurring series: the wall time in the series' zone it was
    /// planned at, which names it in RECURRENCE-ID (even when an override moved it).
    pub recurrence_id: Option<NaiveDateTime>,
    /// The index in the calendar's components of the VEVENT that describes this occurrence:
    /// the master, or the override that changed it.
    pub component: usize,
}

/// Where a series' times live.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// No zone: the viewer's wall time.
    Floating,
    /// A fixed offset or a zone of the IANA database (UTC is one).
    Tz(Tz),
}

/// A DATE or DATE-TIME property read: its wall time, whether it has a time of day, and the zone
/// it is in (its TZID resolved, UTC for a `Z` value, floating without either).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stamp {
    pub local: NaiveDateTime,
    pub has_time: bool,
    pub zone: Zone,
}

impl Stamp {
    /// The instant, in unix seconds; a floating stamp in `viewer`'s zone.
    pub fn instant(&self, viewer: chrono_tz::Tz) -> i64 {
        match self.zone {
            Zone::Floating => resolve_local(&viewer, self.local),
            Zone::Tz(tz) => resolve_local(&tz, self.local),
        }
    }

    /// This stamp's wall time in `zone` (the same instant; a floating stamp stays as written).
    pub fn local_in(&self, zone: Zone, viewer: chrono_tz::Tz) -> NaiveDateTime {
        match (self.zone, zone) {
            (Zone::Floating, _) | (_, Zone::Floating) => self.local,
            (from, Zone::Tz(to)) if from == Zone::Tz(to) => self.local,
            (_, Zone::Tz(to)) => {
                let utc = chrono::DateTime::from_timestamp(self.instant(viewer), 0).unwrap_or_default();
                utc.with_timezone(&to).naive_local()
            }
        }
    }
}

/// The instant of wall time `local` in `tz`: the first of two in an overlap; in a gap, read with
/// the offset before the gap (RFC 5545 §3.3.5).
pub fn resolve_local<Z: TimeZone>(tz: &Z, local: NaiveDateTime) -> i64 {
    use chrono::LocalResult;
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => at.timestamp(),
        LocalResult::Ambiguous(first, second) => first.timestamp().min(second.timestamp()),
        LocalResult::None => {
            // The offset a day before the gap is the one before it: no zone changes twice a day.
            let before = tz.offset_from_utc_datetime(&(local - Duration::days(1))).fix();
            (local - Duration::seconds(i64::from(before.local_minus_utc()))).and_utc().timestamp()
        }
    }
}

/// Reads a DATE or DATE-TIME property, its TZID resolved by `zones`.
pub fn stamp(entry: &ICalendarEntry, zones: &Zones) -> Option<Stamp> {
    let ICalendarValue::PartialDateTime(value) = entry.values.first()? else {
        return None;
    };
    stamp_of(value, entry.tz_id(), zones)
}

fn stamp_of(value: &PartialDateTime, tz_id: Option<&str>, zones: &Zones) -> Option<Stamp> {
    let result = value.to_date_time()?;
    let has_time = value.has_time();
    let zone = match (result.offset, tz_id) {
        (Some(offset), _) if offset.local_minus_utc() == 0 => Zone::Tz(Tz::UTC),
        (Some(offset), _) => Zone::Tz(Tz::Fixed(offset)),
        (None, _) if !has_time => Zone::Floating,
        (None, Some(id)) => zones.resolve(id),
        (None, None) => Zone::Floating,
    };
    Some(Stamp { local: result.date_time, has_time, zone })
}

/// The time zones a calendar names: its VTIMEZONEs (calcard maps each to the IANA zone it
/// describes, by name, X-LIC-LOCATION, Outlook's ids or its rules) and IANA names.
pub struct Zones {
    named: HashMap<String, Tz>,
}

impl Zones {
    pub fn of(ical: &ICalendar) -> Zones {
        let named = ical.timezones().filter_map(|tz| tz.timezone()).map(|(name, tz)| (name.to_owned(), tz)).collect();
        Zones { named }
    }

    /// A TZID: a VTIMEZONE of the calendar, else an IANA name; one that is neither is read as
    /// floating (the viewer's wall time), which is what the sender's own client would show.
    pub fn resolve(&self, id: &str) -> Zone {
        self.named
            .get(id)
            .copied()
            .or_else(|| id.parse::<Tz>().ok())
            .or_else(|| id.trim_start_matches('/').parse::<Tz>().ok())
            .map(Zone::Tz)
            .unwrap_or(Zone::Floating)
    }
}

/// The VEVENTs of a calendar, by UID: each series' master (the one without RECURRENCE-ID) and its
/// overrides. A series that came with overrides only (an invitation to one occurrence) has none.
pub fn series_of(ical: &ICalendar) -> Vec<(String, Option<usize>, Vec<usize>)> {
    let mut order: Vec<String> = Vec::new();
    let mut by_uid: HashMap<String, (Option<usize>, Vec<usize>)> = HashMap::new();
    for (index, component) in ical.components.iter().enumerate() {
        if component.component_type != ICalendarComponentType::VEvent {
            continue;
        }
        let uid = component.uid().unwrap_or_default().to_owned();
        let entry = by_uid.entry(uid.clone()).or_insert_with(|| {
            order.push(uid.clone());
            (None, Vec::new())
        });
        if component.is_recurrence_override() {
            entry.1.push(index);
        } else if entry.0.is_none() {
            entry.0 = Some(index);
        } else {
            // A second master with the same UID: a broken file; show it as its own event.
            entry.1.push(index);
        }
    }
    order
        .into_iter()
        .map(|uid| {
            let (master, overrides) = by_uid.remove(&uid).unwrap_or_default();
            (uid, master, overrides)
        })
        .collect()
}

/// The occurrences of every VEVENT of `ical` that overlap `[from, to)` (unix seconds), in
/// `viewer`'s zone, sorted by start. Problems (a VEVENT without DTSTART, a rule calcard refuses)
/// are returned beside them, each naming the component.
pub fn occurrences(ical: &ICalendar, viewer: chrono_tz::Tz, from: i64, to: i64) -> (Vec<Occurrence>, Vec<String>) {
    // Calendars live between 1900 and 2200; outside, chrono's arithmetic would overflow.
    let (from, to) = (from.clamp(FIRST_INSTANT, LAST_INSTANT), to.clamp(FIRST_INSTANT, LAST_INSTANT));
    let zones = Zones::of(ical);
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for (uid, master, overrides) in series_of(ical) {
        if let Err(problem) = expand_series(ical, &zones, master, &overrides, viewer, from, to, &mut found) {
            problems.push(format!("event {uid:?}: {problem}"));
        }
    }
    found.sort_by_key(|o| (o.start, o.end, o.component));
    (found, problems)
}

/// One VEVENT's own placement: start and end as instants, all-day or not.
struct Placed {
    start: Stamp,
    /// The length: from DTEND (in its own zone) or DURATION, else a day for an all-day event
    /// and nothing for a timed one (RFC 5545 §3.6.1).
    length: Length,
}

#[derive(Clone, Copy)]
enum Length {
    /// Whole days (all-day events, and DURATION in days and weeks: wall-clock days).
    Days(i64),
    /// Exact seconds.
    Seconds(i64),
    /// Up to a DTEND in another zone than DTSTART: the end's own stamp.
    Until(Stamp),
}

fn placed(component: &ICalendarComponent, zones: &Zones) -> Result<Placed, String> {
    let start = component
        .property(&ICalendarProperty::Dtstart)
        .and_then(|entry| stamp(entry, zones))
        .ok_or("it has no readable start (DTSTART)")?;
    let end = component.property(&ICalendarProperty::Dtend).and_then(|entry| stamp(entry, zones));
    let duration = component.property(&ICalendarProperty::Duration).and_then(|entry| match entry.values.first() {
        Some(ICalendarValue::Duration(duration)) => Some(duration),
        _ => None,
    });
    let length = match (end, duration) {
        (Some(end), _) if !start.has_time => Length::Days((end.local.date() - start.local.date()).num_days().max(1)),
        (Some(end), _) if end.zone == start.zone => Length::Seconds((end.local - start.local).num_seconds().max(0)),
        (Some(end), _) => Length::Until(end),
        (None, Some(duration)) => {
            let delta = duration.to_time_delta().ok_or("its DURATION cannot be read")?;
            if !start.has_time || (delta.num_seconds() % 86_400 == 0 && duration.hours == 0 && duration.minutes == 0) {
                if start.has_time {
                    Length::Seconds(delta.num_seconds().max(0))
                } else {
                    Length::Days((delta.num_seconds() / 86_400).max(1))
                }
            } else {
                Length::Seconds(delta.num_seconds().max(0))
            }
        }
        (None, None) if !start.has_time => Length::Days(1),
        (None, None) => Length::Seconds(0),
    };
    Ok(Placed { start, length })
}

/// The occurrence that starts at wall time `local` in the series' zone.
fn occurrence_at(placed: &Placed, local: NaiveDateTime, viewer: chrono_tz::Tz) -> (i64, i64) {
    let start_stamp = Stamp { local, ..placed.start };
    if !placed.start.has_time {
        let start = resolve_local(&viewer, local.date().and_hms_opt(0, 0, 0).unwrap_or(local));
        let days = match placed.length {
            Length::Days(days) => days,
            Length::Seconds(seconds) => (seconds / 86_400).max(1),
            Length::Until(_) => 1,
        };
        let end_day = local.date() + Duration::days(days);
        let end = resolve_local(&viewer, end_day.and_hms_opt(0, 0, 0).unwrap_or(local));
        return (start, end);
    }
    let start = start_stamp.instant(viewer);
    let end = match placed.length {
        // Wall-clock days: a one-day event across the spring change is 23 hours long.
        Length::Days(days) => Stamp { local: local + Duration::days(days), ..placed.start }.instant(viewer),
        Length::Seconds(seconds) => start + seconds,
        Length::Until(end) => start + (end.instant(viewer) - placed.start.instant(viewer)).max(0),
    };
    (start, end)
}

#[allow(clippy::too_many_arguments)]
fn expand_series(
    ical: &ICalendar,
    zones: &Zones,
    master: Option<usize>,
    overrides: &[usize],
    viewer: chrono_tz::Tz,
    from: i64,
    to: i64,
    found: &mut Vec<Occurrence>,
) -> Result<(), String> {
    let mut push = |start: i64, end: i64, all_day: bool, recurrence_id, component| {
        if end.max(start + 1) > from && start < to {
            found.push(Occurrence { start, end, all_day, recurrence_id, component });
        }
    };
    let Some(master_index) = master else {
        // Overrides only: each is an event of its own.
        for &index in overrides {
            let placed = placed(&ical.components[index], zones)?;
            let (start, end) = occurrence_at(&placed, placed.start.local, viewer);
            let rid = recurrence_id(&ical.components[index], zones, placed.start.zone, viewer);
            push(start, end, !placed.start.has_time, rid, index);
        }
        return Ok(());
    };
    let component = &ical.components[master_index];
    let placed_master = placed(component, zones)?;
    let zone = placed_master.start.zone;
    let rule = component.property(&ICalendarProperty::Rrule).and_then(|entry| match entry.values.first() {
        Some(ICalendarValue::RecurrenceRule(rule)) => Some(rule.as_ref()),
        _ => None,
    });
    let rdates: Vec<(NaiveDateTime, Option<Stamp>)> = component
        .properties(&ICalendarProperty::Rdate)
        .flat_map(|entry| {
            let tz_id = entry.tz_id();
            entry.values.iter().filter_map(move |value| match value {
                ICalendarValue::PartialDateTime(at) => {
                    stamp_of(at, tz_id, zones).map(|at| (at.local_in(zone, viewer), None))
                }
                ICalendarValue::Period(ICalendarPeriod::Range { start, end }) => {
                    let start = stamp_of(start, tz_id, zones)?;
                    let end = stamp_of(end, tz_id, zones)?;
                    Some((start.local_in(zone, viewer), Some(end)))
                }
                ICalendarValue::Period(ICalendarPeriod::Duration { start, duration }) => {
                    let start = stamp_of(start, tz_id, zones)?;
                    let length = duration.to_time_delta()?;
                    let end = Stamp { local: start.local + length, ..start };
                    Some((start.local_in(zone, viewer), Some(end)))
                }
                _ => None,
            })
        })
        .collect();
    if rule.is_none() && rdates.is_empty() {
        let (start, end) = occurrence_at(&placed_master, placed_master.start.local, viewer);
        push(start, end, !placed_master.start.has_time, None, master_index);
        // An override of an event that does not recur: shown as itself.
        for &index in overrides {
            let placed = placed(&ical.components[index], zones)?;
            let (start, end) = occurrence_at(&placed, placed.start.local, viewer);
            push(
                start,
                end,
                !placed.start.has_time,
                recurrence_id(&ical.components[index], zones, zone, viewer),
                index,
            );
        }
        return Ok(());
    }

    let exdates: std::collections::HashSet<NaiveDateTime> = component
        .properties(&ICalendarProperty::Exdate)
        .flat_map(|entry| {
            let tz_id = entry.tz_id();
            entry.values.iter().filter_map(move |value| match value {
                ICalendarValue::PartialDateTime(at) => stamp_of(at, tz_id, zones).map(|at| {
                    // An EXDATE given as a DATE for a timed series removes that day's occurrence.
                    if placed_master.start.has_time && !at.has_time {
                        at.local.date().and_time(placed_master.start.local.time())
                    } else {
                        at.local_in(zone, viewer)
                    }
                }),
                _ => None,
            })
        })
        .collect();
    let mut moved: HashMap<NaiveDateTime, usize> = HashMap::new();
    for &index in overrides {
        if let Some(rid) = recurrence_id(&ical.components[index], zones, zone, viewer) {
            moved.insert(rid, index);
        }
    }

    // The wall times the rule yields, then the RDATEs; the DTSTART counts as the first (RFC
    // 5545 §3.8.5.3), whether or not the rule matches it.
    let mut planned: Vec<(NaiveDateTime, Option<Stamp>)> = Vec::new();
    if let Some(rule) = rule {
        // Up to the window's end: a day past it in the series' wall time, so a later end is
        // not cut; a rule with COUNT counts from its start and is never cut.
        let window_end = match zone {
            Zone::Tz(tz) => {
                chrono::DateTime::from_timestamp(to, 0).unwrap_or_default().with_timezone(&tz).naive_local()
            }
            Zone::Floating => {
                chrono::DateTime::from_timestamp(to, 0).unwrap_or_default().with_timezone(&viewer).naive_local()
            }
        } + Duration::days(2);
        for local in rule_times(rule, &placed_master.start, zone, viewer, window_end)? {
            planned.push((local, None));
        }
    } else {
        planned.push((placed_master.start.local, None));
    }
    planned.extend(rdates);
    planned.sort_by_key(|(local, _)| *local);
    planned.dedup_by_key(|(local, _)| *local);

    for (local, period_end) in planned {
        if exdates.contains(&local) {
            continue;
        }
        if let Some(&index) = moved.get(&local) {
            let placed = placed(&ical.components[index], zones)?;
            let (start, end) = occurrence_at(&placed, placed.start.local, viewer);
            moved.remove(&local);
            push(start, end, !placed.start.has_time, Some(local), index);
            continue;
        }
        let (start, end) = match period_end {
            Some(end_stamp) => {
                let (start, _) = occurrence_at(&placed_master, local, viewer);
                (start, end_stamp.instant(viewer).max(start))
            }
            None => occurrence_at(&placed_master, local, viewer),
        };
        push(start, end, !placed_master.start.has_time, Some(local), master_index);
    }
    // Overrides whose RECURRENCE-ID the series does not yield (an occurrence moved by a client
    // whose rule differs): shown where they say, rather than lost.
    for (rid, index) in moved {
        let placed = placed(&ical.components[index], zones)?;
        let (start, end) = occurrence_at(&placed, placed.start.local, viewer);
        push(start, end, !placed.start.has_time, Some(rid), index);
    }
    Ok(())
}

/// An override's RECURRENCE-ID as wall time in the series' zone. A DATE value names the
/// occurrence on that day.
fn recurrence_id(
    component: &ICalendarComponent,
    zones: &Zones,
    zone: Zone,
    viewer: chrono_tz::Tz,
) -> Option<NaiveDateTime> {
    let rid = stamp(component.property(&ICalendarProperty::RecurrenceId)?, zones)?;
    Some(rid.local_in(zone, viewer))
}

/// The wall times (in the series' zone) a rule yields from `start` up to `window_end`, at most
/// [`MAX_OCCURRENCES`]: calcard's iterator on a floating copy of the rule, with UNTIL turned into
/// the series' wall time (calcard compares it as written).
fn rule_times(
    rule: &calcard::icalendar::ICalendarRecurrenceRule,
    start: &Stamp,
    zone: Zone,
    viewer: chrono_tz::Tz,
    window_end: NaiveDateTime,
) -> Result<Vec<NaiveDateTime>, String> {
    let mut rule = rule.clone();
    if let Some(until) = rule.until.as_ref() {
        let until = stamp_of(until, None, &Zones { named: HashMap::new() }).ok_or("its rule's UNTIL cannot be read")?;
        let local = if until.has_time {
            until.local_in(zone, viewer)
        } else if start.has_time {
            // A DATE UNTIL for a timed series: through the end of that day.
            until.local.date().and_hms_opt(23, 59, 59).unwrap_or(until.local)
        } else {
            until.local
        };
        rule.until = Some(floating(local.min(window_end), start.has_time));
    } else if rule.count.is_none() {
        // Never before the start: calcard refuses an UNTIL before DTSTART, and a window that
        // ends before the series still checks its rule.
        rule.until = Some(floating(window_end.max(start.local + Duration::days(1)), start.has_time));
    }
    let mut event = ICalendarComponent::new(ICalendarComponentType::VEvent);
    event.add_property(ICalendarProperty::Dtstart, floating(start.local, start.has_time));
    event.add_property(ICalendarProperty::Rrule, ICalendarValue::RecurrenceRule(Box::new(rule)));
    let mut calendar = ICalendarComponent::new(ICalendarComponentType::VCalendar);
    calendar.component_ids.push(1);
    let synthetic = ICalendar { components: vec![calendar, event] };
    let expanded = synthetic.expand_dates(Tz::Floating, MAX_OCCURRENCES);
    if let Some(error) = expanded.errors.first() {
        return Err(format!("its rule cannot be followed ({})", error.error));
    }
    let mut times: Vec<NaiveDateTime> = expanded.events.iter().map(|event| event.start.naive_local()).collect();
    times.sort();
    Ok(times)
}

fn floating(local: NaiveDateTime, has_time: bool) -> PartialDateTime {
    use chrono::{Datelike, Timelike};
    PartialDateTime {
        year: Some(local.year() as u16),
        month: Some(local.month() as u8),
        day: Some(local.day() as u8),
        hour: has_time.then(|| local.hour() as u8),
        minute: has_time.then(|| local.minute() as u8),
        second: has_time.then(|| local.second() as u8),
        tz_hour: None,
        tz_minute: None,
        tz_minus: false,
    }
}
