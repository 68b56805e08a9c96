//! The calendar: iCalendar files in and out, a series of events as one sealed item, and when
//! each series happens in the viewer's time zone.
//!
//! A **series** is what one UID names: the master VEVENT (with its RRULE, RDATE and EXDATE), the
//! overrides that change single occurrences (RECURRENCE-ID), their alarms, and the VTIMEZONEs
//! they use, kept as one VCALENDAR text. It is the unit the device seals and syncs (one item of
//! kind `event`), the unit an invitation carries (RFC 6047 sends a whole series), and the unit
//! an import reads and an export writes. Every property is kept as it came, so a file from
//! Google, Outlook or Thunderbird goes out again with what Plico does not show.
//!
//! Parsing and writing are calcard's (Stalwart's iCalendar library); so is the recurrence rule's
//! arithmetic. `expand` places occurrences in time. Architecture Invariant: no IO here.

pub mod event;
pub mod expand;
pub mod imip;
pub mod view;
#[cfg(target_arch = "wasm32")]
pub mod worker;

use calcard::icalendar::{ICalendar, ICalendarComponentType, ICalendarProperty, ICalendarValue};

pub use calcard::icalendar::ICalendar as Calendar;
pub use expand::{occurrences, Occurrence};

/// A part of an `.ics` file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Which calendar of the file (from 1) and, when known, which event (its SUMMARY or UID).
    pub place: String,
    /// Why, in a sentence.
    pub why: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.why)
    }
}

/// One VCALENDAR of an imported file: its name and colour when it says them, and its series.
#[derive(Debug, Default)]
pub struct ImportedCalendar {
    /// `X-WR-CALNAME` (Google, Apple, Outlook) or `NAME` (RFC 7986).
    pub name: Option<String>,
    /// `COLOR` (RFC 7986) or Apple's `X-APPLE-CALENDAR-COLOR`.
    pub color: Option<String>,
    pub series: Vec<ICalendar>,
}

/// What an `.ics` file held.
#[derive(Debug, Default)]
pub struct Import {
    pub calendars: Vec<ImportedCalendar>,
    pub problems: Vec<Problem>,
}

impl Import {
    /// How many series were read, in every calendar.
    pub fn series_count(&self) -> usize {
        self.calendars.iter().map(|calendar| calendar.series.len()).sum()
    }
}

/// The most bytes one series may take as text: what fits a sealed item
/// (`plico_api::items::MAX_ITEM_BYTES`) with room for its sealing and the item's own fields.
pub const MAX_SERIES_BYTES: usize = 400 * 1024;

/// Reads an `.ics` file: one VCALENDAR or several, each split into its series (one per UID),
/// each series with the VTIMEZONEs it uses. A series that cannot be placed in time (no start, a
/// rule that cannot be followed, a zone that is not known) or is too large is reported with its
/// calendar and name, and the others are kept.
pub fn read_ics(text: &str) -> Import {
    let mut import = Import::default();
    let mut parser = calcard::Parser::new(text.trim_start_matches('\u{feff}'));
    let mut position = 0;
    loop {
        let entry = parser.entry();
        position += 1;
        let place = format!("Calendar {position}");
        match entry {
            calcard::Entry::ICalendar(ical) => {
                let calendar = split(&ical, &place, &mut import.problems);
                import.calendars.push(calendar);
            }
            calcard::Entry::Eof => break,
            calcard::Entry::InvalidLine(line) => {
                import.problems.push(Problem {
                    place,
                    why: format!("this line is not an iCalendar property: {:?}.", clip(&line)),
                });
                break;
            }
            calcard::Entry::UnterminatedComponent(what) => {
                import
                    .problems
                    .push(Problem { place, why: format!("its {what} does not end, so it may be cut short.") });
                break;
            }
            calcard::Entry::UnexpectedComponentEnd { expected, found } => {
                import.problems.push(Problem {
                    place,
                    why: format!("{} ends where {} should.", found.as_str(), expected.as_str()),
                });
                break;
            }
            calcard::Entry::TooManyComponents => {
                import.problems.push(Problem { place, why: "it has more components than Plico reads.".into() });
                break;
            }
            calcard::Entry::VCard(_) => {
                import.problems.push(Problem {
                    place,
                    why: "it is a contact (vCard), not a calendar; import it in Contacts.".into(),
                });
            }
            _ => {
                import.problems.push(Problem { place, why: "it is not an iCalendar object.".into() });
                break;
            }
        }
    }
    if import.calendars.is_empty() && import.problems.is_empty() {
        import
            .problems
            .push(Problem { place: "The file".into(), why: "it holds no calendar (BEGIN:VCALENDAR).".into() });
    }
    import
}

/// One VCALENDAR into its series.
fn split(ical: &ICalendar, place: &str, problems: &mut Vec<Problem>) -> ImportedCalendar {
    let mut calendar = ImportedCalendar::default();
    if let Some(root) = ical.components.first() {
        for entry in &root.entries {
            let text = entry.values.first().and_then(|value| value.as_text()).map(str::to_owned);
            match &entry.name {
                ICalendarProperty::Name => calendar.name = calendar.name.take().or(text),
                ICalendarProperty::Color => calendar.color = calendar.color.take().or(text),
                ICalendarProperty::Other(name) if name.eq_ignore_ascii_case("X-WR-CALNAME") => {
                    calendar.name = text.or(calendar.name.take())
                }
                ICalendarProperty::Other(name) if name.eq_ignore_ascii_case("X-APPLE-CALENDAR-COLOR") => {
                    calendar.color = calendar.color.take().or(text)
                }
                _ => {}
            }
        }
    }
    let viewer = chrono_tz::Tz::UTC;
    for (uid, master, overrides) in expand::series_of(ical) {
        let members: Vec<usize> = master.into_iter().chain(overrides.iter().copied()).collect();
        let name = members
            .iter()
            .find_map(|&index| ical.components[index].property(&ICalendarProperty::Summary))
            .and_then(|entry| entry.values.first())
            .and_then(|value| value.as_text())
            .map(str::to_owned);
        let event_place = match (&name, uid.is_empty()) {
            (Some(name), _) => format!("{place}, event {:?}", clip(name)),
            (None, false) => format!("{place}, event {:?}", clip(&uid)),
            (None, true) => format!("{place}, an event without UID"),
        };
        if uid.is_empty() {
            problems.push(Problem {
                place: event_place,
                why: "it has no UID, so replies and changes could not find it.".into(),
            });
            continue;
        }
        let series = series_only(ical, &members);
        // A series Plico cannot place in time is reported, not kept and shown at a wrong time.
        // A window of one day checks the start and the rule without following it for years.
        let (_, trouble) = expand::occurrences(&series, viewer, 0, 86_400);
        if let Some(why) = trouble.first() {
            problems.push(Problem {
                place: event_place,
                why: format!("{}.", why.split_once(": ").map_or(why.as_str(), |(_, why)| why)),
            });
            continue;
        }
        if let Some(zone) = unknown_zone(&series) {
            problems.push(Problem {
                place: event_place,
                why: format!("its time zone {zone:?} is neither in the file nor in the IANA database."),
            });
            continue;
        }
        if series.to_string().len() > MAX_SERIES_BYTES {
            problems.push(Problem {
                place: event_place,
                why: format!("it is larger than {} KiB, the most one event may take.", MAX_SERIES_BYTES / 1024),
            });
            continue;
        }
        calendar.series.push(series);
    }
    calendar
}

/// A copy of `ical` with only the components `members` (and their alarms) and the VTIMEZONEs
/// they name.
pub fn series_only(ical: &ICalendar, members: &[usize]) -> ICalendar {
    let mut used_zones = std::collections::HashSet::new();
    for &index in members {
        for entry in &ical.components[index].entries {
            if let Some(id) = entry.tz_id() {
                used_zones.insert(id.to_owned());
            }
        }
    }
    let drop: Vec<u32> = ical
        .components
        .iter()
        .enumerate()
        .filter(|(index, component)| match component.component_type {
            ICalendarComponentType::VCalendar => false,
            ICalendarComponentType::VTimezone => {
                !component.timezone().is_some_and(|(name, _)| used_zones.contains(name))
                    && !component
                        .property(&ICalendarProperty::Tzid)
                        .and_then(|entry| entry.values.first())
                        .and_then(|value| value.as_text())
                        .is_some_and(|name| used_zones.contains(name))
            }
            ICalendarComponentType::VEvent | ICalendarComponentType::VTodo | ICalendarComponentType::VJournal => {
                !members.contains(index)
            }
            // Alarms and zone rules go with their parent; anything else at the top level
            // (VFREEBUSY, VAVAILABILITY) is not an event.
            _ => ical.components[0].component_ids.contains(&(*index as u32)),
        })
        .map(|(index, _)| index as u32)
        .collect();
    let mut series = ical.clone();
    series.remove_component_ids(&drop);
    // A series read from a method-carrying message is stored without the method: it is an event
    // of the calendar now, not a request.
    if let Some(root) = series.components.first_mut() {
        root.entries.retain(|entry| entry.name != ICalendarProperty::Method);
    }
    series
}

/// A TZID the series uses that is neither one of its VTIMEZONEs nor an IANA name.
fn unknown_zone(series: &ICalendar) -> Option<String> {
    let zones = expand::Zones::of(series);
    series.components.iter().flat_map(|component| &component.entries).find_map(|entry| {
        let id = entry.tz_id()?;
        (zones.resolve(id) == expand::Zone::Floating).then(|| id.to_owned())
    })
}

/// Writes calendars as one `.ics` file: a VCALENDAR named `name` holding every series' events,
/// each VTIMEZONE once.
pub fn write_ics(name: &str, color: Option<&str>, series: &[ICalendar]) -> String {
    let mut out =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Plico//Calendar//EN\r\nCALSCALE:GREGORIAN\r\n");
    out.push_str(&fold(&format!("X-WR-CALNAME:{}", escape_text(name))));
    out.push_str(&fold(&format!("NAME:{}", escape_text(name))));
    if let Some(color) = color {
        out.push_str(&fold(&format!("COLOR:{}", escape_text(color))));
    }
    let mut zones_written = std::collections::HashSet::new();
    let mut events = String::new();
    for one in series {
        let text = one.to_string();
        for block in top_level_blocks(&text) {
            if block.starts_with("BEGIN:VTIMEZONE") {
                let id = block.lines().find_map(|line| line.strip_prefix("TZID:")).unwrap_or_default().to_owned();
                if zones_written.insert(id) {
                    out.push_str(block);
                }
            } else {
                events.push_str(block);
            }
        }
    }
    out.push_str(&events);
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// The components directly inside a written VCALENDAR, each from its BEGIN to its END line.
fn top_level_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut depth = 0usize;
    let mut start = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare.starts_with("BEGIN:") {
            depth += 1;
            if depth == 2 {
                start = Some(offset);
            }
        } else if bare.starts_with("END:") {
            if depth == 2 {
                if let Some(begin) = start.take() {
                    blocks.push(&text[begin..offset + line.len()]);
                }
            }
            depth = depth.saturating_sub(1);
        }
        offset += line.len();
    }
    blocks
}

/// RFC 5545 §3.3.11's TEXT escaping.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A content line folded at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character, with
/// its CRLF.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
    out
}

/// A stored series read back: exactly one VCALENDAR.
pub fn parse_series(text: &str) -> Result<ICalendar, String> {
    match calcard::Parser::new(text).entry() {
        calcard::Entry::ICalendar(ical) => Ok(ical),
        calcard::Entry::InvalidLine(line) => Err(format!("this line is not an iCalendar property: {:?}", clip(&line))),
        calcard::Entry::UnterminatedComponent(what) => Err(format!("its {what} does not end")),
        other => Err(format!("it is not a calendar ({})", clip(&format!("{other:?}")))),
    }
}

/// The UID of a series.
pub fn uid(series: &ICalendar) -> Option<&str> {
    series.components.iter().find(|c| c.component_type == ICalendarComponentType::VEvent)?.uid()
}

/// A text value of a property of the first VEVENT.
pub fn text_property(series: &ICalendar, property: &ICalendarProperty) -> Option<String> {
    let event = series.components.iter().find(|c| c.component_type == ICalendarComponentType::VEvent)?;
    match event.property(property)?.values.first()? {
        ICalendarValue::Text(text) => Some(text.clone()),
        _ => None,
    }
}

fn clip(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
