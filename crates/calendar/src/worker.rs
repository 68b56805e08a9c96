//! The calendar worker's loop (wasm only): it holds the account's item key, every calendar and
//! event opened, and a copy of them on this device; it syncs with the server's item store
//! itself and answers [`CalendarCommand`]s, which come through the crypto worker unread.
//!
//! The server keeps calendars (kind `calendar`: name, colour, visibility) and events (kind
//! `event`: one series each, `{"calendar": id, "ics": text}`) sealed; it never learns when an
//! event happens. This worker is the time index: it parses each series once when it is opened,
//! and places occurrences for the window the app asks for (`expand`), keeping the last window's
//! occurrences per series so that moving between weeks of one month costs no expansion.
//!
//! As the contacts worker does: the key arrives first (a message that leads with id 0), with
//! this device's key for a copy in IndexedDB (`calendar/book`, written 1.5 s after a change),
//! which is read before the first sync, makes an older copy from the server a rollback, and lets
//! the calendar open without the network.

use std::cell::RefCell;
use std::collections::BTreeMap;

use calcard::icalendar::ICalendar;
use js_sys::{Array, Uint8Array};
use plico_api::calendar::{
    CalendarCommand, CalendarOutcome, CalendarReply, CalendarRequest, CalendarView, OccurrenceView, Scope,
};
use plico_api::contacts::ContactsKey;
use plico_client::flows::{Transport, TransportBody, TransportResponse};
use plico_client::items::{self, ItemKey, Opened};
use plico_client::FlowError;
use plico_local::idb::{Database, Durability};
use plico_local::LocalKey;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::event::{self, Scope as EditScope};
use crate::expand::{self, Occurrence};
use crate::view;

const EVENT: &str = "event";
const CALENDAR: &str = "calendar";
const DATABASE: &str = "plico-local";
const RECORD: &str = "calendar/book";
/// The colour of a calendar made without one.
const DEFAULT_COLOR: &str = "#2f4ac0";

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// An event held: its item, and its series parsed once (or why it cannot be).
struct Held {
    item: Opened<Value>,
    series: Result<ICalendar, String>,
}

struct Book {
    key: ItemKey,
    events: BTreeMap<String, Held>,
    calendars: BTreeMap<String, Opened<Value>>,
    refused: BTreeMap<String, String>,
    cursors: (i64, i64),
    synced_at: f64,
    local: Option<LocalKey>,
    loaded: bool,
    persist_due: bool,
    /// The last window placed.
    placed: Option<Placed>,
}

/// A window of time placed in a zone, and each event's occurrences in it.
struct Placed {
    zone: String,
    from: i64,
    to: i64,
    by_event: BTreeMap<String, Vec<Occurrence>>,
}

thread_local! {
    static BOOK: RefCell<Option<Book>> = const { RefCell::new(None) };
    static SYNCING: std::rc::Rc<futures_util::lock::Mutex<()>> = std::rc::Rc::new(futures_util::lock::Mutex::new(()));
}

struct Fetch;

impl Transport for Fetch {
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<TransportBody>,
    ) -> Result<TransportResponse, String> {
        plico_client::web::fetch(method, path, body).await.map_err(|_| "The server cannot be reached.".to_owned())
    }
}

fn with_book<R>(f: impl FnOnce(&mut Book) -> R) -> Result<R, String> {
    BOOK.with(|book| book.borrow_mut().as_mut().map(f))
        .ok_or_else(|| "The calendar is locked: sign in again.".to_owned())
}

fn parse(item: &Opened<Value>) -> Result<ICalendar, String> {
    let ics = item.content.get("ics").and_then(Value::as_str).ok_or("it holds no calendar data")?;
    crate::parse_series(ics)
}

fn hold_event(book: &mut Book, item: Opened<Value>) {
    let series = parse(&item);
    if let Some(placed) = book.placed.as_mut() {
        placed.by_event.remove(&item.id);
    }
    book.events.insert(item.id.clone(), Held { item, series });
}

async fn load_local() {
    let Ok(Some(local)) = with_book(|book| {
        if book.loaded {
            None
        } else {
            book.loaded = true;
            book.local.clone()
        }
    }) else {
        return;
    };
    let Ok(db) = Database::open(DATABASE).await else { return };
    let found = db.get(&[local.name(RECORD)]).await;
    db.close();
    let Some(sealed) = found.ok().and_then(|found| found.into_iter().next().flatten()) else { return };
    let Ok(Ok(saved)) = local.open(RECORD, &sealed).map(|plain| serde_json::from_slice::<Value>(&plain)) else {
        web_sys::console::warn_1(
            &"calendar: this device's copy does not open; it is read again from the server".into(),
        );
        return;
    };
    let _ = with_book(|book| {
        if book.cursors != (0, 0) {
            return;
        }
        let opened = |item: &Value| -> Option<Opened<Value>> {
            Some(Opened {
                id: item["id"].as_str()?.to_owned(),
                version: item["version"].as_i64()?,
                updated_at: item["updated_at"].as_i64().unwrap_or(0),
                deleted_at: item["deleted_at"].as_i64(),
                content: item["content"].clone(),
            })
        };
        for item in saved["calendars"].as_array().into_iter().flatten().filter_map(opened) {
            book.calendars.insert(item.id.clone(), item);
        }
        for item in saved["events"].as_array().into_iter().flatten().filter_map(opened) {
            hold_event(book, item);
        }
        book.cursors = (saved["cursors"][0].as_i64().unwrap_or(0), saved["cursors"][1].as_i64().unwrap_or(0));
    });
}

fn persist_later() {
    let due = with_book(|book| {
        let first = book.local.is_some() && !book.persist_due;
        book.persist_due = true;
        first
    });
    if due != Ok(true) {
        return;
    }
    let write = Closure::once_into_js(|| wasm_bindgen_futures::spawn_local(persist()));
    let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(write.unchecked_ref(), 1500);
}

async fn persist() {
    let Ok(Some((local, json))) = with_book(|book| {
        book.persist_due = false;
        let item = |item: &Opened<Value>| {
            json!({"id": item.id, "version": item.version, "updated_at": item.updated_at,
                   "deleted_at": item.deleted_at, "content": item.content})
        };
        let calendars: Vec<Value> = book.calendars.values().map(item).collect();
        let events: Vec<Value> = book.events.values().map(|held| item(&held.item)).collect();
        let json = serde_json::to_vec(
            &json!({"cursors": [book.cursors.0, book.cursors.1], "calendars": calendars, "events": events}),
        )
        .ok()?;
        Some((book.local.clone()?, json))
    }) else {
        return;
    };
    let sealed = local.seal(RECORD, &json);
    drop(json);
    if let Ok(db) = Database::open(DATABASE).await {
        if let Err(error) = db.put(vec![(local.name(RECORD), sealed)], Durability::Relaxed).await {
            web_sys::console::warn_1(&format!("calendar: the copy on this device was not written: {error}").into());
        }
        db.close();
    }
}

/// Brings calendars and events up to date. Without the network, this device's copy is what
/// there is.
async fn sync() -> Result<(), String> {
    let lock = SYNCING.with(std::rc::Rc::clone);
    let _one_at_a_time = lock.lock().await;
    load_local().await;
    match sync_network().await {
        Err(FlowError::Network(_)) if with_book(|book| !book.calendars.is_empty()).unwrap_or(false) => Ok(()),
        other => other.map_err(|error| error.to_string()),
    }
}

async fn sync_network() -> Result<(), FlowError> {
    let (key, cursors, held_calendars, held_events) = with_book(|book| {
        let calendars: BTreeMap<String, i64> =
            book.calendars.iter().map(|(id, item)| (id.clone(), item.version)).collect();
        let events: BTreeMap<String, i64> =
            book.events.iter().map(|(id, held)| (id.clone(), held.item.version)).collect();
        (book.key.clone(), book.cursors, calendars, events)
    })
    .map_err(FlowError::Protocol)?;
    let calendars =
        items::sync(&Fetch, &key, CALENDAR, cursors.0, |id| held_calendars.get(id).copied().unwrap_or(0)).await?;
    let events = items::sync(&Fetch, &key, EVENT, cursors.1, |id| held_events.get(id).copied().unwrap_or(0)).await?;
    let changed = with_book(|book| {
        let changed = !calendars.opened.is_empty()
            || !calendars.removed.is_empty()
            || !events.opened.is_empty()
            || !events.removed.is_empty();
        for item in calendars.opened {
            book.calendars.insert(item.id.clone(), item);
        }
        for id in calendars.removed {
            book.calendars.remove(&id);
        }
        for item in events.opened {
            book.refused.remove(&item.id);
            hold_event(book, item);
        }
        for (id, why) in calendars.refused.into_iter().chain(events.refused) {
            book.refused.insert(id, why.to_string());
        }
        for id in events.removed {
            book.events.remove(&id);
            if let Some(placed) = book.placed.as_mut() {
                placed.by_event.remove(&id);
            }
        }
        book.cursors = (calendars.cursor, events.cursor);
        book.synced_at = js_sys::Date::now();
        changed
    })
    .map_err(FlowError::Protocol)?;
    if changed {
        persist_later();
    }
    Ok(())
}

async fn sync_within(fresh_ms: f64) -> Result<(), String> {
    if with_book(|book| js_sys::Date::now() - book.synced_at > fresh_ms)? {
        sync().await?;
    }
    Ok(())
}

fn calendar_view(item: &Opened<Value>) -> CalendarView {
    let text = |name: &str, default: &str| item.content.get(name).and_then(Value::as_str).unwrap_or(default).to_owned();
    CalendarView {
        id: item.id.clone(),
        name: text("name", "Calendar"),
        color: text("color", DEFAULT_COLOR),
        visible: item.content.get("visible").and_then(Value::as_bool).unwrap_or(true),
    }
}

async fn save_item(kind: &str, id: &str, content: &Value) -> Result<Opened<Value>, String> {
    let (key, base) = with_book(|book| {
        let base = match kind {
            CALENDAR => book.calendars.get(id).map(|item| (item.version, item.content.clone())),
            _ => book.events.get(id).map(|held| (held.item.version, held.item.content.clone())),
        };
        (book.key.clone(), base)
    })?;
    let saved =
        items::save(&Fetch, &key, kind, id, base.as_ref().map(|(version, content)| (*version, content)), content)
            .await
            .map_err(|error| error.to_string())?;
    with_book(|book| match kind {
        CALENDAR => {
            book.calendars.insert(saved.id.clone(), saved.clone());
        }
        _ => hold_event(book, saved.clone()),
    })?;
    persist_later();
    Ok(saved)
}

async fn save_series(id: &str, calendar: &str, series: &ICalendar) -> Result<(), String> {
    let text = series.to_string();
    if text.len() > crate::MAX_SERIES_BYTES {
        return Err(format!(
            "This event is larger than {} KiB, the most one event may take.",
            crate::MAX_SERIES_BYTES / 1024
        ));
    }
    save_item(EVENT, id, &json!({"calendar": calendar, "ics": text})).await.map(|_| ())
}

fn series_of(id: &str) -> Result<(ICalendar, String), String> {
    with_book(|book| {
        let held =
            book.events.get(id).filter(|held| held.item.deleted_at.is_none()).ok_or("This event no longer exists.")?;
        let series = held.series.clone().map_err(|why| format!("This event cannot be read: {why}."))?;
        let calendar = held.item.content.get("calendar").and_then(Value::as_str).unwrap_or_default().to_owned();
        Ok((series, calendar))
    })?
}

fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn scope_of(scope: Scope) -> EditScope {
    match scope {
        Scope::This => EditScope::This,
        Scope::ThisAndFollowing => EditScope::ThisAndFollowing,
        Scope::All => EditScope::All,
    }
}

/// The occurrences of visible calendars' events in `[from, to)`, placed in `zone`.
fn range(book: &mut Book, from: i64, to: i64, zone: &str) -> Result<CalendarOutcome, String> {
    let viewer: chrono_tz::Tz = zone.parse().map_err(|_| format!("{zone:?} is not a time zone Plico knows."))?;
    // The window kept: the asked one widened to whole 6-week pages around it.
    let same_window =
        book.placed.as_ref().is_some_and(|placed| placed.zone == zone && placed.from <= from && to <= placed.to);
    if !same_window {
        book.placed = None;
    }
    let margin = 42 * 86_400;
    let Placed { from: window_from, to: window_to, by_event: placed, .. } = book.placed.get_or_insert_with(|| Placed {
        zone: zone.to_owned(),
        from: from - margin,
        to: to + margin,
        by_event: BTreeMap::new(),
    });
    let (window_from, window_to) = (*window_from, *window_to);
    let visible: BTreeMap<&String, CalendarView> = book
        .calendars
        .iter()
        .filter(|(_, item)| item.deleted_at.is_none())
        .map(|(id, item)| (id, calendar_view(item)))
        .filter(|(_, view)| view.visible)
        .collect();
    let mut occurrences: Vec<OccurrenceView> = Vec::new();
    let mut refused: Vec<String> =
        book.refused.iter().map(|(id, why)| format!("Event {id} was not shown: {why}.")).collect();
    for (id, held) in &book.events {
        if held.item.deleted_at.is_some() {
            continue;
        }
        let calendar = held.item.content.get("calendar").and_then(Value::as_str).unwrap_or_default();
        let Some(calendar_view) = visible.get(&calendar.to_owned()) else { continue };
        let series = match &held.series {
            Ok(series) => series,
            Err(why) => {
                refused.push(format!("Event {id} was not shown: {why}."));
                continue;
            }
        };
        let found = placed.entry(id.clone()).or_insert_with(|| {
            let (found, problems) = expand::occurrences(series, viewer, window_from, window_to);
            if let Some(problem) = problems.first() {
                web_sys::console::warn_1(&format!("calendar: {problem}").into());
            }
            found
        });
        let recurring = view::is_recurring(series);
        for occurrence in found.iter().filter(|o| o.end.max(o.start + 1) > from && o.start < to) {
            occurrences.push(view::occurrence_view(id, calendar, &calendar_view.color, series, occurrence, recurring));
        }
    }
    occurrences.sort_by(|a, b| (a.start, !a.all_day, a.end, &a.title).cmp(&(b.start, !b.all_day, b.end, &b.title)));
    Ok(CalendarOutcome::Occurrences { occurrences, refused })
}

async fn ensure_default_calendar(name: &str) -> Result<(), String> {
    let empty = with_book(|book| book.calendars.values().all(|item| item.deleted_at.is_some()))?;
    if empty {
        let id = items::new_id();
        save_item(CALENDAR, &id, &json!({"name": name, "color": DEFAULT_COLOR, "visible": true})).await?;
    }
    Ok(())
}

async fn run(command: CalendarCommand) -> Result<CalendarOutcome, String> {
    match command {
        CalendarCommand::Calendars { default_name } => {
            sync().await?;
            ensure_default_calendar(&default_name).await?;
            with_book(|book| {
                let mut list: Vec<CalendarView> =
                    book.calendars.values().filter(|item| item.deleted_at.is_none()).map(calendar_view).collect();
                list.sort_by_cached_key(|view| (view.name.to_lowercase(), view.id.clone()));
                CalendarOutcome::Calendars(list)
            })
        }
        CalendarCommand::SaveCalendar { id, name, color, visible } => {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 100 {
                return Err("A calendar's name is 1 to 100 characters.".into());
            }
            let hex = color.strip_prefix('#').unwrap_or("");
            if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!("{color:?} is not a colour (#rrggbb)."));
            }
            let id = id.unwrap_or_else(items::new_id);
            save_item(CALENDAR, &id, &json!({"name": name, "color": color, "visible": visible})).await?;
            with_book(|book| book.placed = None)?;
            Ok(CalendarOutcome::Done)
        }
        CalendarCommand::DeleteCalendar { id } => {
            sync().await?;
            let events: Vec<String> = with_book(|book| {
                book.events
                    .iter()
                    .filter(|(_, held)| {
                        held.item.deleted_at.is_none()
                            && held.item.content.get("calendar").and_then(Value::as_str) == Some(id.as_str())
                    })
                    .map(|(id, _)| id.clone())
                    .collect()
            })?;
            items::set_deleted(&Fetch, EVENT, &events, false).await.map_err(|error| error.to_string())?;
            items::set_deleted(&Fetch, CALENDAR, std::slice::from_ref(&id), false)
                .await
                .map_err(|error| error.to_string())?;
            sync().await?;
            Ok(CalendarOutcome::Done)
        }
        CalendarCommand::Range { from, to, zone } => {
            // Moving between weeks asks often: the server is asked at most every 20 seconds.
            sync_within(20_000.0).await?;
            with_book(|book| range(book, from, to, &zone))?
        }
        CalendarCommand::Get { event, recurrence_id } => {
            if with_book(|book| !book.events.contains_key(&event))? {
                sync().await?;
            }
            let (series, calendar) = series_of(&event)?;
            let master = event::event_index(&series).ok_or("This event has no VEVENT.")?;
            let (index, rid) = match &recurrence_id {
                Some(rid) => {
                    let rid = view::parse_rid(rid)?;
                    (event::override_index(&series, rid).unwrap_or(master), Some(rid))
                }
                None => (master, None),
            };
            let mut fields = event::fields(&series, index);
            if let (Some(rid), true) = (rid, index == master) {
                // An occurrence the rule places: the master's fields at its own time.
                let length = fields.end - fields.start;
                fields.start = rid;
                fields.end = rid + length;
            }
            Ok(CalendarOutcome::Event {
                event,
                calendar,
                recurrence_id,
                recurring: view::is_recurring(&series),
                fields: Box::new(view::to_view(&fields)),
            })
        }
        CalendarCommand::Save { event, calendar, recurrence_id, scope, fields } => {
            let known = with_book(|book| book.calendars.get(&calendar).is_some_and(|item| item.deleted_at.is_none()))?;
            if !known {
                return Err("Choose a calendar for this event.".into());
            }
            let now = now();
            match event {
                None => {
                    let new = view::from_view(&fields, 0)?;
                    let id = items::new_id();
                    let uid = format!("{id}@plico");
                    let mut series = event::new_series(&uid, &new, now);
                    series.add_missing_timezones();
                    save_series(&id, &calendar, &series).await?;
                    Ok(CalendarOutcome::Saved { event: id })
                }
                Some(id) => {
                    let (mut series, _) = series_of(&id)?;
                    let master = event::event_index(&series).ok_or("This event has no VEVENT.")?;
                    let sequence = event::fields(&series, master).sequence;
                    let new = view::from_view(&fields, sequence)?;
                    let carried = match recurrence_id {
                        Some(rid) if view::is_recurring(&series) => {
                            let rid = view::parse_rid(&rid)?;
                            let new_id = items::new_id();
                            let next = event::edit_occurrence(
                                &mut series,
                                rid,
                                scope_of(scope),
                                &new,
                                &format!("{new_id}@plico"),
                                now,
                            );
                            next.map(|next| (new_id, next))
                        }
                        _ => {
                            event::set_fields(&mut series, master, &new, now);
                            None
                        }
                    };
                    series.add_missing_timezones();
                    save_series(&id, &calendar, &series).await?;
                    if let Some((new_id, next)) = carried {
                        save_series(&new_id, &calendar, &next).await?;
                    }
                    Ok(CalendarOutcome::Saved { event: id })
                }
            }
        }
        CalendarCommand::Delete { event, recurrence_id, scope } => {
            let (mut series, calendar) = series_of(&event)?;
            let keep = match recurrence_id {
                Some(rid) if view::is_recurring(&series) => {
                    event::delete_occurrence(&mut series, view::parse_rid(&rid)?, scope_of(scope), now())
                }
                _ => false,
            };
            if keep {
                save_series(&event, &calendar, &series).await?;
            } else {
                items::set_deleted(&Fetch, EVENT, std::slice::from_ref(&event), false)
                    .await
                    .map_err(|error| error.to_string())?;
                sync().await?;
            }
            Ok(CalendarOutcome::Done)
        }
        CalendarCommand::Import { ics, calendar } => {
            sync().await?;
            let import = crate::read_ics(&ics);
            let mut problems: Vec<String> = import.problems.iter().map(ToString::to_string).collect();
            let mut saved = 0;
            let mut calendars = 0;
            for imported in &import.calendars {
                if imported.series.is_empty() {
                    continue;
                }
                let target = match &calendar {
                    Some(calendar) => calendar.clone(),
                    None => {
                        let id = items::new_id();
                        let name = imported.name.clone().unwrap_or_else(|| "Imported".to_owned());
                        let color = imported
                            .color
                            .as_deref()
                            .map(|c| c.get(..7).unwrap_or(c).to_owned())
                            .filter(|c| c.len() == 7 && c.starts_with('#'))
                            .unwrap_or_else(|| DEFAULT_COLOR.to_owned());
                        save_item(CALENDAR, &id, &json!({"name": name, "color": color, "visible": true})).await?;
                        calendars += 1;
                        id
                    }
                };
                for batch in imported.series.chunks(8) {
                    let results = futures_util::future::join_all(batch.iter().map(|series| {
                        let target = target.clone();
                        async move { save_series(&items::new_id(), &target, series).await }
                    }))
                    .await;
                    for (series, result) in batch.iter().zip(results) {
                        match result {
                            Ok(()) => saved += 1,
                            Err(why) => problems.push(format!(
                                "{} was not saved: {why}",
                                crate::text_property(series, &calcard::icalendar::ICalendarProperty::Summary)
                                    .unwrap_or_else(|| crate::uid(series).unwrap_or_default().to_owned())
                            )),
                        }
                    }
                }
            }
            with_book(|book| book.placed = None)?;
            Ok(CalendarOutcome::Imported { saved, calendars, problems })
        }
        CalendarCommand::Export { calendar } => {
            sync().await?;
            let (name, color, series) = with_book(|book| {
                let view = book.calendars.get(&calendar).map(calendar_view);
                let series: Vec<ICalendar> = book
                    .events
                    .values()
                    .filter(|held| {
                        held.item.deleted_at.is_none()
                            && held.item.content.get("calendar").and_then(Value::as_str) == Some(calendar.as_str())
                    })
                    .filter_map(|held| held.series.clone().ok())
                    .collect();
                view.map(|view| (view.name, view.color, series))
            })?
            .ok_or("This calendar no longer exists.")?;
            let count = series.len() as u32;
            Ok(CalendarOutcome::Exported { ics: crate::write_ics(&name, Some(&color), &series), name, count })
        }
    }
}

fn send(reply: &CalendarReply) {
    let Ok(bytes) = postcard::to_allocvec(reply) else { return };
    let array = Uint8Array::from(bytes.as_slice());
    let transfer = Array::of1(&array.buffer());
    let _ = scope().post_message_with_transfer(&array, &transfer);
}

pub fn start() {
    console_error_panic_hook::set_once();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(|event: MessageEvent| {
        let Ok(array) = event.data().dyn_into::<Uint8Array>() else { return };
        let bytes = array.to_vec();
        if bytes.first() == Some(&0) {
            match postcard::from_bytes::<ContactsKey>(&bytes) {
                Ok(key) => BOOK.with(|book| {
                    *book.borrow_mut() = Some(Book {
                        // Not the contacts' copy's key: one of its own from the same device key.
                        local: key
                            .device
                            .as_ref()
                            .map(|device| LocalKey::derive(device, &format!("calendar {}", key.account))),
                        key: ItemKey::new(&key.secret, &key.account),
                        events: BTreeMap::new(),
                        calendars: BTreeMap::new(),
                        refused: BTreeMap::new(),
                        cursors: (0, 0),
                        synced_at: 0.0,
                        loaded: false,
                        persist_due: false,
                        placed: None,
                    })
                }),
                Err(error) => web_sys::console::error_1(&format!("calendar: unreadable key: {error}").into()),
            }
            return;
        }
        match postcard::from_bytes::<CalendarRequest>(&bytes) {
            Ok(CalendarRequest { id, command }) => wasm_bindgen_futures::spawn_local(async move {
                send(&CalendarReply { id, result: run(command).await });
            }),
            Err(error) => web_sys::console::error_1(&format!("calendar: unreadable request: {error}").into()),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let _ = scope().post_message(&Uint8Array::new_with_length(0));
}
