//! Invitations by mail (iTIP, RFC 5546, carried as iMIP, RFC 6047): the organiser's REQUEST and
//! CANCEL, an attendee's REPLY, and what each does to the copy of the event a calendar keeps.
//!
//! Trust: an answer changes only the attendee whose address the message came from, and only
//! when the caller says the sender was verified (a valid signature by a key of that address, or
//! DMARC's pass); anything else is refused with a reason, never applied.

use crate::event::{self, Answer, EventFields};
use calcard::icalendar::{ICalendar, ICalendarComponentType, ICalendarMethod, ICalendarProperty, ICalendarValue};
use chrono::NaiveDateTime;

/// The iTIP methods Plico acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// An invitation, or an update of one.
    Request,
    /// An attendee's answer.
    Reply,
    /// The organiser called the event (or one occurrence) off.
    Cancel,
    /// A calendar published to read, without invitation.
    Publish,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Reply => "REPLY",
            Method::Cancel => "CANCEL",
            Method::Publish => "PUBLISH",
        }
    }
}

/// An iTIP message read.
#[derive(Debug, Clone)]
pub struct Itip {
    pub method: Method,
    /// The events it carries (one series), without METHOD.
    pub series: ICalendar,
    pub uid: String,
    pub sequence: i64,
    /// The occurrence it is about, when it is about one.
    pub recurrence_id: Option<NaiveDateTime>,
}

/// Reads a `text/calendar` part of a message. Refuses what is not one series with a method
/// Plico acts on, naming what is wrong.
pub fn read_itip(text: &str) -> Result<Itip, String> {
    let ical = crate::parse_series(text.trim_start_matches('\u{feff}'))?;
    let method = ical
        .components
        .first()
        .and_then(|root| root.property(&ICalendarProperty::Method))
        .and_then(|entry| entry.values.first())
        .ok_or("it has no METHOD, so it is not an invitation or an answer")?;
    let method = match method {
        ICalendarValue::Method(ICalendarMethod::Request) => Method::Request,
        ICalendarValue::Method(ICalendarMethod::Reply) => Method::Reply,
        ICalendarValue::Method(ICalendarMethod::Cancel) => Method::Cancel,
        ICalendarValue::Method(ICalendarMethod::Publish) => Method::Publish,
        other => return Err(format!("its METHOD ({other:?}) is not one Plico answers")),
    };
    let series_list = crate::expand::series_of(&ical);
    let [(uid, master, overrides)] = series_list.as_slice() else {
        return Err(format!("it carries {} events; an invitation carries one", series_list.len()));
    };
    if uid.is_empty() {
        return Err("its event has no UID".into());
    }
    let members: Vec<usize> = master.iter().chain(overrides.iter()).copied().collect();
    let series = crate::series_only(&ical, &members);
    let first = event::event_index(&series).ok_or("it has no event")?;
    let fields = event::fields(&series, first);
    let recurrence_id = if master.is_none() { recurrence_id(&series, first) } else { None };
    if method != Method::Cancel && method != Method::Reply {
        let (_, problems) = crate::expand::occurrences(&series, chrono_tz::Tz::UTC, 0, 86_400);
        if let Some(problem) = problems.first() {
            return Err(problem.clone());
        }
    }
    Ok(Itip { method, series, uid: uid.clone(), sequence: fields.sequence, recurrence_id })
}

/// The RECURRENCE-ID of the VEVENT at `index`, as wall time in its own zone.
fn recurrence_id(series: &ICalendar, index: usize) -> Option<NaiveDateTime> {
    let zones = crate::expand::Zones::of(series);
    let entry = series.components[index].property(&ICalendarProperty::RecurrenceId)?;
    Some(crate::expand::stamp(entry, &zones)?.local)
}

/// `series` as an iTIP message with `method`: METHOD on the calendar, every zone it names.
fn with_method(series: &ICalendar, method: Method) -> String {
    let mut copy = series.clone();
    copy.add_missing_timezones();
    let text = copy.to_string();
    // METHOD goes right after BEGIN:VCALENDAR.
    match text.split_once("\r\n") {
        Some((begin, rest)) => format!("{begin}\r\nMETHOD:{}\r\n{rest}", method.as_str()),
        None => text,
    }
}

/// The organiser's invitation (or update) for `series`.
pub fn request(series: &ICalendar) -> String {
    with_method(series, Method::Request)
}

/// The organiser calls off the whole series, or the occurrence `rid` names.
pub fn cancel(series: &ICalendar, rid: Option<NaiveDateTime>, now: i64) -> String {
    let mut copy = series.clone();
    let Some(master) = event::event_index(&copy) else { return with_method(&copy, Method::Cancel) };
    let mut fields = event::fields(&copy, master);
    match rid {
        None => {
            fields.cancelled = true;
            // SEQUENCE rises with the cancellation, so clients take it over the last request.
            event::set_fields(&mut copy, master, &fields, now);
            // Overrides are cancelled with their series.
            let overrides: Vec<u32> = copy
                .components
                .iter()
                .enumerate()
                .filter(|(_, c)| c.component_type == ICalendarComponentType::VEvent && c.is_recurrence_override())
                .map(|(i, _)| i as u32)
                .collect();
            copy.remove_component_ids(&overrides);
        }
        Some(rid) => {
            // One VEVENT: the occurrence, cancelled.
            let index = match event::override_index(&copy, rid) {
                Some(index) => index,
                None => {
                    let mut this = fields.clone();
                    this.start = rid;
                    this.end = rid + (fields.end - fields.start);
                    event::edit_occurrence(&mut copy, rid, event::Scope::This, &this, "", now);
                    event::override_index(&copy, rid).unwrap_or(master)
                }
            };
            let mut this = event::fields(&copy, index);
            this.cancelled = true;
            this.sequence = fields.sequence;
            event::set_fields(&mut copy, index, &this, now);
            let others: Vec<u32> = copy
                .components
                .iter()
                .enumerate()
                .filter(|(i, c)| c.component_type == ICalendarComponentType::VEvent && *i != index)
                .map(|(i, _)| i as u32)
                .collect();
            copy.remove_component_ids(&others);
        }
    }
    with_method(&copy, Method::Cancel)
}

/// An attendee's answer to `request`: the event with only this attendee, with `answer`, at the
/// request's SEQUENCE. Refused when `attendee` is not invited.
pub fn reply(
    request: &Itip,
    attendee: &str,
    answer: Answer,
    comment: Option<&str>,
    now: i64,
) -> Result<String, String> {
    let mut copy = request.series.clone();
    let indexes: Vec<usize> = copy
        .components
        .iter()
        .enumerate()
        .filter(|(_, c)| c.component_type == ICalendarComponentType::VEvent)
        .map(|(i, _)| i)
        .collect();
    let mut invited = false;
    for &index in &indexes {
        let mut fields = event::fields(&copy, index);
        let me = fields.attendees.iter().find(|a| a.email.eq_ignore_ascii_case(attendee)).cloned();
        let Some(mut me) = me else { continue };
        invited = true;
        me.answer = answer;
        let sequence = fields.sequence;
        fields.attendees = vec![me];
        event::set_fields(&mut copy, index, &fields, now);
        let component = &mut copy.components[index];
        component.entries.retain(|entry| {
            !matches!(
                entry.name,
                ICalendarProperty::Sequence | ICalendarProperty::Description | ICalendarProperty::Comment
            )
        });
        component.entries.extend(event::entry_from(&format!("SEQUENCE:{sequence}")));
        if let Some(comment) = comment.filter(|c| !c.trim().is_empty()) {
            component.entries.extend(event::entry_from(&format!("COMMENT:{}", crate::escape_text(comment))));
        }
        // Alarms are the attendee's own.
        let alarms: Vec<u32> = component.component_ids.clone();
        copy.remove_component_ids(&alarms);
    }
    if !invited {
        return Err(format!("{attendee} is not among the invitation's attendees"));
    }
    Ok(with_method(&copy, Method::Reply))
}

/// What an answer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub attendee: String,
    pub answer: Answer,
    /// The occurrence answered for, or `None` for the whole series.
    pub recurrence_id: Option<NaiveDateTime>,
}

/// Applies an attendee's REPLY to the organiser's copy of the event. `sender` is the address the
/// message came from and `verified` whether that is known to be true (its signature, or DMARC);
/// the answer must be that sender's own, for this event, at its current SEQUENCE or later.
pub fn apply_reply(
    copy: &mut ICalendar,
    reply: &Itip,
    sender: &str,
    verified: bool,
    now: i64,
) -> Result<Answered, String> {
    if reply.method != Method::Reply {
        return Err("it is not an answer (METHOD:REPLY)".into());
    }
    if crate::uid(copy) != Some(reply.uid.as_str()) {
        return Err("it answers another event".into());
    }
    if !verified {
        return Err(format!("the message does not prove it came from {sender}, so its answer is not applied"));
    }
    let replied = event::event_index(&reply.series).ok_or("it has no event")?;
    let fields = event::fields(&reply.series, replied);
    let [attendee] = fields.attendees.as_slice() else {
        return Err(format!("it names {} attendees; an answer names the one who answers", fields.attendees.len()));
    };
    if !attendee.email.eq_ignore_ascii_case(sender) {
        return Err(format!("it answers for {}, but came from {sender}", attendee.email));
    }
    let master = event::event_index(copy).ok_or("the event has no VEVENT")?;
    let current = event::fields(copy, master).sequence;
    if reply.sequence < current {
        return Err(format!("it answers an older version of the event (sequence {} before {current})", reply.sequence));
    }
    let rid = recurrence_id(&reply.series, replied);
    let index = match rid {
        None => master,
        Some(rid) => match event::override_index(copy, rid) {
            Some(index) => index,
            None => {
                let master_fields = event::fields(copy, master);
                let mut this = master_fields.clone();
                this.start = rid;
                this.end = rid + (master_fields.end - master_fields.start);
                event::edit_occurrence(copy, rid, event::Scope::This, &this, "", now);
                event::override_index(copy, rid).ok_or("the occurrence it answers is not in the event")?
            }
        },
    };
    if !event::set_answer(copy, index, &attendee.email, attendee.answer, now) {
        return Err(format!("{} is not invited to this event", attendee.email));
    }
    Ok(Answered { attendee: attendee.email.clone(), answer: attendee.answer, recurrence_id: rid })
}

/// What an incoming REQUEST makes of the attendee's copy: the new version of the event (an
/// update keeps the attendee's own answer and alarms when its SEQUENCE did not rise), or a
/// reason it is ignored (an older version than the one kept).
pub fn apply_request(existing: Option<&ICalendar>, request: &Itip, me: &str, now: i64) -> Result<ICalendar, String> {
    if request.method != Method::Request {
        return Err("it is not an invitation (METHOD:REQUEST)".into());
    }
    let Some(existing) = existing else {
        return Ok(request.series.clone());
    };
    if crate::uid(existing) != Some(request.uid.as_str()) {
        return Err("it is about another event".into());
    }
    let kept = event::event_index(existing).map(|index| event::fields(existing, index));
    let kept_sequence = kept.as_ref().map_or(0, |fields| fields.sequence);
    if request.sequence < kept_sequence {
        return Err(format!(
            "it is an older version of the event (sequence {} before {kept_sequence})",
            request.sequence
        ));
    }
    let mut updated = request.series.clone();
    if request.sequence == kept_sequence {
        // The same version again (an attendee added, a resend): keep my answer and reminders.
        if let (Some(kept), Some(index)) = (kept, event::event_index(&updated)) {
            if let Some(mine) = kept.attendees.iter().find(|a| a.email.eq_ignore_ascii_case(me)) {
                event::set_answer(&mut updated, index, me, mine.answer, now);
            }
            let mut fields: EventFields = event::fields(&updated, index);
            if fields.reminders != kept.reminders {
                fields.reminders = kept.reminders.clone();
                event::set_fields(&mut updated, index, &fields, now);
            }
        }
    }
    Ok(updated)
}

/// What an incoming CANCEL does to the attendee's copy: `None` when the whole event is called
/// off (the caller deletes it), else the copy without the cancelled occurrence.
pub fn apply_cancel(existing: &ICalendar, cancel: &Itip, now: i64) -> Result<Option<ICalendar>, String> {
    if cancel.method != Method::Cancel {
        return Err("it is not a cancellation (METHOD:CANCEL)".into());
    }
    if crate::uid(existing) != Some(cancel.uid.as_str()) {
        return Err("it is about another event".into());
    }
    match cancel.recurrence_id {
        None => Ok(None),
        Some(_) => {
            let mut copy = existing.clone();
            let master = event::event_index(&copy).ok_or("the event has no VEVENT")?;
            let zone_rid = {
                // The cancelled occurrence's RECURRENCE-ID in the kept series' zone.
                let zones = crate::expand::Zones::of(&cancel.series);
                let index = event::event_index(&cancel.series).ok_or("it has no event")?;
                let entry = cancel.series.components[index]
                    .property(&ICalendarProperty::RecurrenceId)
                    .ok_or("it names no occurrence")?;
                let stamp = crate::expand::stamp(entry, &zones).ok_or("its RECURRENCE-ID cannot be read")?;
                let kept_zones = crate::expand::Zones::of(&copy);
                let kept_zone = copy.components[master]
                    .property(&ICalendarProperty::Dtstart)
                    .and_then(|entry| crate::expand::stamp(entry, &kept_zones))
                    .map(|start| start.zone)
                    .unwrap_or(crate::expand::Zone::Floating);
                stamp.local_in(kept_zone, chrono_tz::Tz::UTC)
            };
            if event::delete_occurrence(&mut copy, zone_rid, event::Scope::This, now) {
                Ok(Some(copy))
            } else {
                Ok(None)
            }
        }
    }
}
