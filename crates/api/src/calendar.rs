//! The calendar worker's protocol (`plico-calendar`). The Calendar app's commands travel as
//! postcard bytes inside `ContactsCommand::Calendar`, through the crypto worker (which hands
//! contacts commands on unread) to the contacts worker, which keeps the account's item key: it
//! starts the calendar worker the first time, as a worker of its own, hands it the key, and
//! passes each command on as a [`CalendarRequest`] under the request's id; the calendar worker's
//! [`CalendarReply`] bytes come back the same way. So the calendar costs the crypto worker,
//! whose size budget is spent, nothing.
//!
//! The server sees calendars and events only as sealed items of kinds `calendar` and `event`
//! (`crate::items`): their sizes and when they were written, never a title, a place, an attendee
//! or when an event happens. Finding the events of a month is the worker's: it holds every event
//! of the account opened and places their occurrences itself.

use serde::{Deserialize, Serialize};

/// Where trunk writes the calendar worker's loader (under its binary's name).
pub const WORKER_URL: &str = "/plico-calendar_loader.js";

/// A command, with the id its reply carries first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CalendarRequest {
    pub id: u32,
    pub command: CalendarCommand,
}

/// Which occurrences of a recurring event a change or a deletion touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    This,
    ThisAndFollowing,
    All,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CalendarCommand {
    /// The account's calendars, after a sync. The first use makes one named `default_name`.
    Calendars { default_name: String },
    /// Creates (`id` None) or changes a calendar's name, colour and visibility.
    SaveCalendar { id: Option<String>, name: String, color: String, visible: bool },
    /// Moves a calendar and its events to the recovery area (45 days).
    DeleteCalendar { id: String },
    /// The occurrences that overlap `[from, to)` (Unix seconds) of the visible calendars' events,
    /// placed in time zone `zone` (an IANA name), sorted by start, after a sync.
    Range { from: i64, to: i64, zone: String },
    /// One event (an occurrence, when `recurrence_id` names one) for its page and the editor.
    Get { event: String, recurrence_id: Option<String> },
    /// Creates (`event` None) or changes an event. For an occurrence of a recurring event,
    /// `recurrence_id` names it and `scope` says which occurrences change.
    Save {
        event: Option<String>,
        calendar: String,
        recurrence_id: Option<String>,
        scope: Scope,
        fields: Box<EventFields>,
    },
    /// Deletes an event, or occurrences of it (`scope`); a whole event goes to the recovery area.
    Delete { event: String, recurrence_id: Option<String>, scope: Scope },
    /// Reads an .ics file (one calendar or several) into `calendar`, or into new calendars named
    /// as in the file when `calendar` is None.
    Import { ics: String, calendar: Option<String> },
    /// One calendar as an .ics file.
    Export { calendar: String },
}

/// A date-time as the editor writes it: `YYYY-MM-DDTHH:MM` (wall time in the event's zone), or
/// `YYYY-MM-DD` for an all-day event.
pub type WallTime = String;

/// An attendee or the organiser.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub email: String,
    pub name: String,
    /// `NEEDS-ACTION`, `ACCEPTED`, `TENTATIVE`, `DECLINED` or `DELEGATED`.
    pub answer: String,
}

/// What the event editor shows and changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFields {
    pub title: String,
    pub location: String,
    pub description: String,
    pub all_day: bool,
    pub start: WallTime,
    /// For an all-day event, the last day (inclusive, as people say it).
    pub end: WallTime,
    /// An IANA zone; empty for floating times and all-day events.
    pub zone: String,
    /// The RRULE (`FREQ=WEEKLY;BYDAY=MO`), empty for none.
    pub rule: String,
    pub organizer: Option<Person>,
    pub attendees: Vec<Person>,
    /// Minutes before the start.
    pub reminders: Vec<i64>,
    /// `#rrggbb`, empty for the calendar's.
    pub color: String,
    pub busy: bool,
}

/// A calendar in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarView {
    pub id: String,
    pub name: String,
    pub color: String,
    pub visible: bool,
}

/// One occurrence placed in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OccurrenceView {
    pub event: String,
    pub calendar: String,
    /// The occurrence's name among its event's (RECURRENCE-ID as `YYYYMMDDTHHMMSS` in the event's
    /// zone), for a recurring event.
    pub recurrence_id: Option<String>,
    pub title: String,
    pub location: String,
    /// Unix seconds.
    pub start: i64,
    pub end: i64,
    pub all_day: bool,
    /// The event's colour, or its calendar's.
    pub color: String,
    pub busy: bool,
    pub recurring: bool,
    pub cancelled: bool,
    /// Whether others are invited.
    pub invitation: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CalendarOutcome {
    Calendars(Vec<CalendarView>),
    Occurrences {
        occurrences: Vec<OccurrenceView>,
        /// Events that were not shown, with why (they did not open as the account's own, or
        /// cannot be placed in time).
        refused: Vec<String>,
    },
    Event {
        event: String,
        calendar: String,
        recurrence_id: Option<String>,
        recurring: bool,
        fields: Box<EventFields>,
    },
    Saved {
        event: String,
    },
    Done,
    Imported {
        saved: u32,
        calendars: u32,
        problems: Vec<String>,
    },
    Exported {
        name: String,
        ics: String,
        count: u32,
    },
}

/// The reply to [`CalendarRequest`] `id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CalendarReply {
    pub id: u32,
    pub result: Result<CalendarOutcome, String>,
}
