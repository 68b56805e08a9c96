//! The Calendar app's screens: calendars on the side, then a month, week, day or agenda view of
//! their events, an event's details, and the editor. Times are laid out in the browser's zone;
//! the calendar worker placed each occurrence there.

use leptos::prelude::*;
use plico_api::calendar::{CalendarCommand, CalendarOutcome, CalendarView, EventFields, OccurrenceView, Person, Scope};
use wasm_bindgen::JsCast;

use crate::backend::Backend;
use crate::days::{self, Day};
use crate::i18n::{n, t, tf, tp};

const UNEXPECTED: &str = n("The calendar worker answered something unexpected.");
/// Moves and new events snap to a quarter of an hour.
const SNAP: i64 = 15;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Day,
    Week,
    Month,
    Agenda,
}

/// The editor, open: which event (none for a new one), which occurrence, and the fields.
#[derive(Clone, PartialEq)]
struct Editor {
    event: Option<String>,
    calendar: String,
    recurrence_id: Option<String>,
    recurring: bool,
    fields: EventFields,
}

/// A change waiting for "this event, this and following, all".
#[derive(Clone)]
enum Pending {
    Save(Box<Editor>),
    Delete { event: String, recurrence_id: String },
}

#[derive(Clone, Copy)]
struct State {
    backend: StoredValue<Backend, LocalStorage>,
    lang: StoredValue<String>,
    zone: StoredValue<String>,
    mode: RwSignal<Mode>,
    anchor: RwSignal<Day>,
    calendars: RwSignal<Vec<CalendarView>>,
    occurrences: RwSignal<Vec<OccurrenceView>>,
    refused: RwSignal<Vec<String>>,
    editor: RwSignal<Option<Editor>>,
    detail: RwSignal<Option<OccurrenceView>>,
    pending: RwSignal<Option<Pending>>,
    notice: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
    report: RwSignal<Option<Vec<String>>>,
    loaded: RwSignal<bool>,
    /// Bumped by each reload, so an older answer arriving late is dropped.
    generation: RwSignal<u32>,
    /// The event being dragged: its occurrence, minutes moved, days moved, and whether only its
    /// end moves (resize).
    drag: RwSignal<Option<(OccurrenceView, i64, i64, bool)>>,
}

impl State {
    fn backend(&self) -> Backend {
        self.backend.get_value()
    }

    fn lang(&self) -> String {
        self.lang.get_value()
    }

    /// The days the current view covers.
    fn span(&self) -> (Day, usize) {
        let anchor = self.anchor.get_untracked();
        match self.mode.get_untracked() {
            Mode::Day => (anchor, 1),
            Mode::Week => (anchor.week_start(), 7),
            Mode::Month => (anchor.first_of_month().week_start(), 42),
            Mode::Agenda => (anchor, 30),
        }
    }

    fn reload(self) {
        let (first, count) = self.span();
        let from = first.start();
        let to = first.add(count as i64).start();
        let generation = self.generation.get_untracked().wrapping_add(1);
        self.generation.set(generation);
        let zone = self.zone.get_value();
        leptos::task::spawn_local(async move {
            let answer = self.backend().ask(CalendarCommand::Range { from, to, zone }).await;
            if self.generation.get_untracked() != generation {
                return;
            }
            match answer {
                Ok(CalendarOutcome::Occurrences { occurrences, refused }) => {
                    self.occurrences.set(occurrences);
                    self.refused.set(refused);
                }
                Ok(_) => self.error.set(Some(t(UNEXPECTED))),
                Err(message) => self.error.set(Some(message)),
            }
            self.loaded.set(true);
        });
    }

    fn load_calendars(self) {
        leptos::task::spawn_local(async move {
            match self.backend().ask(CalendarCommand::Calendars { default_name: t("My calendar") }).await {
                Ok(CalendarOutcome::Calendars(list)) => {
                    self.calendars.set(list);
                    self.reload();
                }
                Ok(_) => self.error.set(Some(t(UNEXPECTED))),
                Err(message) => {
                    self.loaded.set(true);
                    self.error.set(Some(message));
                }
            }
        });
    }

    fn step(self, forward: bool) {
        let sign = if forward { 1 } else { -1 };
        let anchor = self.anchor.get_untracked();
        self.anchor.set(match self.mode.get_untracked() {
            Mode::Day => anchor.add(sign),
            Mode::Week => anchor.add(7 * sign),
            Mode::Month => anchor.add_months(sign as i32),
            Mode::Agenda => anchor.add(30 * sign),
        });
        self.reload();
    }

    fn show(self, mode: Mode) {
        self.mode.set(mode);
        self.reload();
    }

    /// Opens the editor for a new event from `start` to `end` (Unix seconds).
    fn create(self, start: i64, end: i64, all_day: bool) {
        let Some(calendar) = self
            .calendars
            .with_untracked(|list| list.iter().find(|c| c.visible).or(list.first()).map(|c| c.id.clone()))
        else {
            self.error.set(Some(t("Make a calendar first.")));
            return;
        };
        let (start, end) = if all_day {
            (Day::of(start).iso(), Day::of(end - 1).iso())
        } else {
            (days::wall_of(start), days::wall_of(end))
        };
        let fields = EventFields {
            start,
            end,
            all_day,
            zone: if all_day { String::new() } else { self.zone.get_value() },
            busy: true,
            ..EventFields::default()
        };
        self.detail.set(None);
        self.editor.set(Some(Editor { event: None, calendar, recurrence_id: None, recurring: false, fields }));
    }

    /// Opens an occurrence's event in the editor.
    fn edit(self, occurrence: OccurrenceView) {
        leptos::task::spawn_local(async move {
            let command = CalendarCommand::Get {
                event: occurrence.event.clone(),
                recurrence_id: occurrence.recurrence_id.clone(),
            };
            match self.backend().ask(command).await {
                Ok(CalendarOutcome::Event { event, calendar, recurrence_id, recurring, fields }) => {
                    self.detail.set(None);
                    self.editor.set(Some(Editor {
                        event: Some(event),
                        calendar,
                        recurrence_id,
                        recurring,
                        fields: *fields,
                    }));
                }
                Ok(_) => self.error.set(Some(t(UNEXPECTED))),
                Err(message) => self.error.set(Some(message)),
            }
        });
    }

    /// Saves the editor's event; a change to one occurrence of a recurring event asks first
    /// which occurrences it is for.
    fn save(self, editor: Editor, scope: Option<Scope>) {
        if editor.recurring && editor.recurrence_id.is_some() && scope.is_none() {
            self.pending.set(Some(Pending::Save(Box::new(editor))));
            return;
        }
        leptos::task::spawn_local(async move {
            let command = CalendarCommand::Save {
                event: editor.event.clone(),
                calendar: editor.calendar.clone(),
                recurrence_id: editor.recurrence_id.clone(),
                scope: scope.unwrap_or(Scope::All),
                fields: Box::new(editor.fields.clone()),
            };
            match self.backend().ask(command).await {
                Ok(CalendarOutcome::Saved { .. }) => {
                    self.editor.set(None);
                    self.pending.set(None);
                    self.error.set(None);
                    self.notice.set(Some(t("Event saved.")));
                    self.reload();
                }
                Ok(_) => self.error.set(Some(t(UNEXPECTED))),
                Err(message) => {
                    self.pending.set(None);
                    self.error.set(Some(message));
                }
            }
        });
    }

    fn delete(self, event: String, recurrence_id: Option<String>, recurring: bool, scope: Option<Scope>) {
        if let (true, Some(rid), None) = (recurring, recurrence_id.clone(), scope) {
            self.pending.set(Some(Pending::Delete { event, recurrence_id: rid }));
            return;
        }
        leptos::task::spawn_local(async move {
            let scope = scope.unwrap_or(Scope::All);
            match self.backend().ask(CalendarCommand::Delete { event, recurrence_id, scope }).await {
                Ok(_) => {
                    self.editor.set(None);
                    self.detail.set(None);
                    self.pending.set(None);
                    self.notice.set(Some(t("Event deleted.")));
                    self.reload();
                }
                Err(message) => {
                    self.pending.set(None);
                    self.error.set(Some(message));
                }
            }
        });
    }

    /// Ends a drag: the event moves by the minutes and days dragged (or its end, for a resize).
    fn drop_drag(self) {
        let Some((occurrence, minutes, days_moved, resize)) = self.drag.get_untracked() else { return };
        self.drag.set(None);
        if minutes == 0 && days_moved == 0 {
            self.detail.set(Some(occurrence));
            return;
        }
        leptos::task::spawn_local(async move {
            let command = CalendarCommand::Get {
                event: occurrence.event.clone(),
                recurrence_id: occurrence.recurrence_id.clone(),
            };
            let Ok(CalendarOutcome::Event { event, calendar, recurrence_id, recurring, fields }) =
                self.backend().ask(command).await
            else {
                self.error.set(Some(t("The event could not be moved.")));
                return;
            };
            let shift = minutes * 60 + days_moved * 86_400;
            let mut fields = *fields;
            let end = occurrence.end + shift;
            if !resize {
                fields.start = days::wall_of(occurrence.start + shift);
            }
            fields.end = days::wall_of(end.max(occurrence.start + SNAP * 60));
            fields.zone = if fields.zone.is_empty() { self.zone.get_value() } else { fields.zone };
            // Times are now the viewer's wall times: the zone they are written in.
            fields.zone = self.zone.get_value();
            self.save(Editor { event: Some(event), calendar, recurrence_id, recurring, fields }, None);
        });
    }
}

/// The app.
#[component]
pub fn CalendarApp(backend: Backend, lang: String) -> impl IntoView {
    let state = State {
        backend: StoredValue::new_local(backend),
        lang: StoredValue::new(days::format_locale(&lang)),
        zone: StoredValue::new(days::zone()),
        mode: RwSignal::new(Mode::Month),
        anchor: RwSignal::new(Day::today()),
        calendars: RwSignal::new(Vec::new()),
        occurrences: RwSignal::new(Vec::new()),
        refused: RwSignal::new(Vec::new()),
        editor: RwSignal::new(None),
        detail: RwSignal::new(None),
        pending: RwSignal::new(None),
        notice: RwSignal::new(None),
        error: RwSignal::new(None),
        report: RwSignal::new(None),
        loaded: RwSignal::new(false),
        generation: RwSignal::new(0),
        drag: RwSignal::new(None),
    };
    state.load_calendars();
    let on_key = move |event: leptos::ev::KeyboardEvent| {
        let typing = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|element| matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if typing
            || event.ctrl_key()
            || event.meta_key()
            || event.alt_key()
            || state.editor.with_untracked(Option::is_some)
        {
            if event.key() == "Escape" {
                state.editor.set(None);
                state.pending.set(None);
            }
            return;
        }
        match event.key().as_str() {
            "t" => {
                state.anchor.set(Day::today());
                state.reload();
            }
            "ArrowLeft" | "p" | "k" => state.step(false),
            "ArrowRight" | "n" | "j" => state.step(true),
            "d" => state.show(Mode::Day),
            "w" => state.show(Mode::Week),
            "m" => state.show(Mode::Month),
            "a" => state.show(Mode::Agenda),
            "c" => {
                let start = Day::today().at(days::minutes_of((js_sys::Date::now() / 1000.0) as i64) / 60 * 60 + 60);
                state.create(start, start + 3600, false);
            }
            "Escape" => state.detail.set(None),
            _ => return,
        }
        event.prevent_default();
    };
    view! {
        <div class="calendar-app" tabindex="0" on:keydown=on_key>
            <Side state/>
            <section class="calendar-main" aria-label=t("Calendar")>
                <Toolbar state/>
                {move || state.notice.get().map(|notice| view! { <p class="notice" role="status">{notice}</p> })}
                {move || state.error.get().map(|error| view! { <p class="error" role="alert">{error}</p> })}
                {move || state.report.get().map(|problems| view! {
                    <div class="import-report" role="status">
                        <p>{t("What could not be read:")}</p>
                        <ul>{problems.into_iter().map(|problem| view! { <li>{problem}</li> }).collect_view()}</ul>
                        <button type="button" class="button ghost" on:click=move |_| state.report.set(None)>{t("Close")}</button>
                    </div>
                })}
                {move || (!state.refused.with(Vec::is_empty)).then(|| view! {
                    <details class="refused"><summary>{move || tp(state.refused.with(Vec::len), "{count} event was not shown", "{count} events were not shown")}</summary>
                        <ul>{move || state.refused.get().into_iter().map(|why| view! { <li>{why}</li> }).collect_view()}</ul>
                    </details>
                })}
                {move || match state.mode.get() {
                    Mode::Month => view! { <MonthView state/> }.into_any(),
                    Mode::Week => view! { <TimeGrid state days=7/> }.into_any(),
                    Mode::Day => view! { <TimeGrid state days=1/> }.into_any(),
                    Mode::Agenda => view! { <AgendaView state/> }.into_any(),
                }}
            </section>
            {move || state.detail.get().map(|occurrence| view! { <Detail state occurrence/> })}
            {move || state.editor.get().map(|editor| view! { <EditorView state editor/> })}
            {move || state.pending.get().map(|pending| view! { <ScopeChooser state pending/> })}
        </div>
    }
}

#[component]
fn Toolbar(state: State) -> impl IntoView {
    let title = move || {
        let anchor = state.anchor.get();
        let lang = state.lang();
        match state.mode.get() {
            Mode::Month => anchor.format(&lang, &[("month", "long"), ("year", "numeric")]),
            Mode::Day => {
                anchor.format(&lang, &[("weekday", "long"), ("day", "numeric"), ("month", "long"), ("year", "numeric")])
            }
            Mode::Week | Mode::Agenda => {
                let first = if state.mode.get() == Mode::Week { anchor.week_start() } else { anchor };
                let last = first.add(if state.mode.get() == Mode::Week { 6 } else { 29 });
                format!(
                    "{} – {}",
                    first.format(&lang, &[("day", "numeric"), ("month", "short")]),
                    last.format(&lang, &[("day", "numeric"), ("month", "short"), ("year", "numeric")])
                )
            }
        }
    };
    let mode_button = move |mode: Mode, label: &'static str| {
        view! {
            <button type="button" class="segment" aria-pressed=move || (state.mode.get() == mode).to_string() on:click=move |_| state.show(mode)>{t(label)}</button>
        }
    };
    view! {
        <div class="calendar-toolbar">
            <button type="button" class="button ghost" on:click=move |_| { state.anchor.set(Day::today()); state.reload(); }>{t("Today")}</button>
            <button type="button" class="button ghost icon" aria-label=t("Previous") on:click=move |_| state.step(false)>"‹"</button>
            <button type="button" class="button ghost icon" aria-label=t("Next") on:click=move |_| state.step(true)>"›"</button>
            <h1 class="calendar-title">{title}</h1>
            <div class="segments" role="group" aria-label=t("View")>
                {mode_button(Mode::Day, n("Day"))}
                {mode_button(Mode::Week, n("Week"))}
                {mode_button(Mode::Month, n("Month"))}
                {mode_button(Mode::Agenda, n("Agenda"))}
            </div>
            <button type="button" class="button primary" on:click=move |_| {
                let start = state.anchor.get_untracked().at(9 * 60);
                state.create(start, start + 3600, false);
            }>{t("New event")}</button>
        </div>
    }
}

#[component]
fn Side(state: State) -> impl IntoView {
    let new_name = RwSignal::new(String::new());
    let new_color = RwSignal::new("#2f9e6e".to_owned());
    let add = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let name = new_name.get_untracked();
        let color = new_color.get_untracked();
        leptos::task::spawn_local(async move {
            match state.backend().ask(CalendarCommand::SaveCalendar { id: None, name, color, visible: true }).await {
                Ok(_) => {
                    new_name.set(String::new());
                    state.load_calendars();
                }
                Err(message) => state.error.set(Some(message)),
            }
        });
    };
    let import = move |event: leptos::ev::Event| {
        let Some(input) = event.target().and_then(|target| target.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
        input.set_value("");
        leptos::task::spawn_local(async move {
            let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await else {
                state.error.set(Some(t("The file could not be read.")));
                return;
            };
            let ics = text.as_string().unwrap_or_default();
            state.notice.set(Some(t("Importing…")));
            match state.backend().ask(CalendarCommand::Import { ics, calendar: None }).await {
                Ok(CalendarOutcome::Imported { saved, calendars, problems }) => {
                    state.notice.set(Some(tf(
                        "{saved} events imported into {calendars} new calendars.",
                        &[("saved", &saved.to_string()), ("calendars", &calendars.to_string())],
                    )));
                    state.report.set((!problems.is_empty()).then_some(problems));
                    state.load_calendars();
                }
                Ok(_) => state.error.set(Some(t(UNEXPECTED))),
                Err(message) => state.error.set(Some(message)),
            }
        });
    };
    view! {
        <aside class="calendar-side">
            <h2>{t("Calendars")}</h2>
            <ul class="calendar-list">
                {move || state.calendars.get().into_iter().map(|calendar| {
                    let toggle = {
                        let calendar = calendar.clone();
                        move |_| {
                            let calendar = calendar.clone();
                            leptos::task::spawn_local(async move {
                                let command = CalendarCommand::SaveCalendar { id: Some(calendar.id), name: calendar.name, color: calendar.color, visible: !calendar.visible };
                                match state.backend().ask(command).await {
                                    Ok(_) => state.load_calendars(),
                                    Err(message) => state.error.set(Some(message)),
                                }
                            });
                        }
                    };
                    let export = {
                        let id = calendar.id.clone();
                        move |_| {
                            let id = id.clone();
                            leptos::task::spawn_local(async move {
                                match state.backend().ask(CalendarCommand::Export { calendar: id }).await {
                                    Ok(CalendarOutcome::Exported { name, ics, .. }) => download(&format!("{name}.ics"), &ics),
                                    Ok(_) => state.error.set(Some(t(UNEXPECTED))),
                                    Err(message) => state.error.set(Some(message)),
                                }
                            });
                        }
                    };
                    let style = ("--swatch", calendar.color.clone());
                    view! {
                        <li>
                            <label class="calendar-toggle" style=style>
                                <input type="checkbox" prop:checked=calendar.visible on:change=toggle/>
                                <span class="swatch" aria-hidden="true"></span>
                                <span class="calendar-name">{calendar.name.clone()}</span>
                            </label>
                            <button type="button" class="button ghost small" title=t("Export as .ics") aria-label=tf("Export {name}", &[("name", &calendar.name)]) on:click=export>"⤓"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <form class="new-calendar" on:submit=add>
                <input type="text" placeholder=t("New calendar") aria-label=t("New calendar's name") prop:value=move || new_name.get() on:input=move |e| new_name.set(event_target_value(&e)) required/>
                <input type="color" aria-label=t("Colour") prop:value=move || new_color.get() on:input=move |e| new_color.set(event_target_value(&e))/>
                <button type="submit" class="button ghost small">{t("Add")}</button>
            </form>
            <label class="button ghost file-button">
                {t("Import .ics")}
                <input type="file" accept=".ics,text/calendar" class="visually-hidden" on:change=import/>
            </label>
            <p class="hint">{move || tf("Times in {zone}", &[("zone", &state.zone.get_value())])}</p>
        </aside>
    }
}

/// Offers `text` as a file download named `name`.
fn download(name: &str, text: &str) {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/calendar");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    if let Some(anchor) = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.create_element("a").ok())
        .and_then(|element| element.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        anchor.set_href(&url);
        anchor.set_download(name);
        anchor.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// The event's colour as the CSS's `--event`. Set through the CSSOM (a tuple, which Leptos
/// writes with `style.setProperty`): the app's Content-Security-Policy (`style-src 'self'`) drops
/// `style` attributes.
fn chip_style(occurrence: &OccurrenceView) -> (&'static str, String) {
    ("--event", occurrence.color.clone())
}

/// The occurrences that touch `day`.
fn on_day(occurrences: &[OccurrenceView], day: Day) -> Vec<OccurrenceView> {
    let (start, end) = (day.start(), day.add(1).start());
    occurrences.iter().filter(|o| o.start < end && o.end.max(o.start + 1) > start).cloned().collect()
}

#[component]
fn MonthView(state: State) -> impl IntoView {
    let lang = state.lang();
    let weekdays: Vec<String> =
        (0..7).map(|i| Day::today().week_start().add(i).format(&lang, &[("weekday", "short")])).collect();
    view! {
        <div class="month" role="grid" aria-label=t("Month")>
            <div class="month-head" role="row">{weekdays.into_iter().map(|name| view! { <div role="columnheader">{name}</div> }).collect_view()}</div>
            <div class="month-grid">
                {move || {
                    let (first, _) = state.span();
                    let month = state.anchor.get().month;
                    let today = Day::today();
                    let all = state.occurrences.get();
                    let lang = state.lang();
                    (0..42).map(|i| {
                        let day = first.add(i);
                        let events = on_day(&all, day);
                        let more = events.len().saturating_sub(3);
                        let open_day = move |event: leptos::ev::MouseEvent| {
                            if event.target() == event.current_target() {
                                let start = day.at(9 * 60);
                                state.create(start, start + 3600, false);
                            }
                        };
                        view! {
                            <div class="month-day" role="gridcell" class:other-month=day.month != month class:today=day == today on:click=open_day>
                                <button type="button" class="day-number" aria-label=day.format(&lang, &[("day", "numeric"), ("month", "long")]) on:click=move |_| { state.anchor.set(day); state.show(Mode::Day); }>{day.day}</button>
                                {events.into_iter().take(3).map(|occurrence| {
                                    let time = (!occurrence.all_day).then(|| days::time_of(occurrence.start, &lang));
                                    let open = occurrence.clone();
                                    view! {
                                        <button type="button" class="chip" class:all-day=occurrence.all_day class:cancelled=occurrence.cancelled style=chip_style(&occurrence) on:click=move |_| state.detail.set(Some(open.clone()))>
                                            {time.map(|time| view! { <span class="chip-time">{time}" "</span> })}
                                            {occurrence.title.clone()}
                                        </button>
                                    }
                                }).collect_view()}
                                {(more > 0).then(|| view! { <button type="button" class="more" on:click=move |_| { state.anchor.set(day); state.show(Mode::Day); }>{tp(more, "{count} more", "{count} more")}</button> })}
                            </div>
                        }
                    }).collect_view()
                }}
            </div>
        </div>
    }
}

/// The week or day view: all-day events on top, then a column per day with 24 hours, events
/// placed by their start and end, which can be moved and resized by dragging.
#[component]
fn TimeGrid(state: State, days: usize) -> impl IntoView {
    let columns = NodeRef::<leptos::html::Div>::new();
    let creating = RwSignal::new(None::<(Day, i64, i64)>);
    let snap = |minutes: f64| ((minutes / SNAP as f64).round() as i64) * SNAP;
    let column_width = move || {
        columns.get_untracked().map(|element| element.get_bounding_client_rect().width() / days as f64).unwrap_or(100.0)
    };
    // An hour's height as drawn (the CSS's `--hour`, smaller on phones).
    let hour_px = move || {
        columns.get_untracked().map(|element| element.get_bounding_client_rect().height() / 24.0).unwrap_or(48.0)
    };
    let on_move = move |event: leptos::ev::PointerEvent| {
        if let Some((occurrence, _, _, resize)) = state.drag.get_untracked() {
            let (x, y) = DRAG_ORIGIN.with(|origin| origin.get());
            let minutes = snap((f64::from(event.client_y()) - y) / hour_px() * 60.0);
            let days_moved =
                if resize { 0 } else { ((f64::from(event.client_x()) - x) / column_width()).round() as i64 };
            state.drag.set(Some((occurrence, minutes, days_moved, resize)));
        } else if let Some((day, from, _)) = creating.get_untracked() {
            let top = columns.get_untracked().map(|element| element.get_bounding_client_rect().top()).unwrap_or(0.0);
            let minutes = snap((f64::from(event.client_y()) - top) / hour_px() * 60.0).clamp(0, 24 * 60);
            creating.set(Some((day, from, minutes)));
        }
    };
    let on_up = move |_: leptos::ev::PointerEvent| {
        if state.drag.with_untracked(Option::is_some) {
            state.drop_drag();
        } else if let Some((day, from, to)) = creating.get_untracked() {
            creating.set(None);
            let (from, to) = (from.min(to), from.max(to));
            let to = if to - from < SNAP * 2 { from + 60 } else { to };
            state.create(day.at(from), day.at(to), false);
        }
    };
    let hours: Vec<i64> = (0..24).collect();
    let lang = state.lang();
    // The working day in sight: the body opens scrolled to a quarter to eight.
    let body = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if let (Some(body), Some(columns)) = (body.get(), columns.get()) {
            body.set_scroll_top((columns.get_bounding_client_rect().height() / 24.0 * 7.75) as i32);
        }
    });
    view! {
        <div class="time-grid" class:single=days == 1>
            <div class="grid-head" style:grid-template-columns=format!("var(--gutter) repeat({days}, minmax(0, 1fr))")>
                <div class="gutter"></div>
                {move || {
                    let (first, _) = state.span();
                    let lang = state.lang();
                    let today = Day::today();
                    let all = state.occurrences.get();
                    (0..days as i64).map(|i| {
                        let day = first.add(i);
                        let all_day: Vec<OccurrenceView> = on_day(&all, day).into_iter().filter(|o| o.all_day).collect();
                        view! {
                            <div class="grid-day-head" class:today=day == today>
                                <span>{day.format(&lang, &[("weekday", "short"), ("day", "numeric")])}</span>
                                {all_day.into_iter().map(|occurrence| {
                                    let open = occurrence.clone();
                                    view! { <button type="button" class="chip all-day" style=chip_style(&occurrence) on:click=move |_| state.detail.set(Some(open.clone()))>{occurrence.title.clone()}</button> }
                                }).collect_view()}
                            </div>
                        }
                    }).collect_view()
                }}
            </div>
            <div class="grid-body" node_ref=body on:pointermove=on_move on:pointerup=on_up on:pointerleave=on_up>
                <div class="gutter">{hours.iter().map(|hour| view! { <div class="hour-label">{days::hour_of(Day::today().at(hour * 60), &lang)}</div> }).collect_view()}</div>
                <div class="grid-columns" node_ref=columns style:grid-template-columns=format!("repeat({days}, minmax(0, 1fr))")>
                    {move || {
                        let (first, _) = state.span();
                        let all = state.occurrences.get();
                        let lang = state.lang();
                        (0..days as i64).map(|i| {
                            let day = first.add(i);
                            let timed: Vec<OccurrenceView> = on_day(&all, day).into_iter().filter(|o| !o.all_day).collect();
                            let lanes = lanes(&timed);
                            let start_create = move |event: leptos::ev::PointerEvent| {
                                if event.target() != event.current_target() || event.button() != 0 {
                                    return;
                                }
                                let top = columns.get_untracked().map(|element| element.get_bounding_client_rect().top()).unwrap_or(0.0);
                                // The quarter of an hour the pointer is in.
                                let minutes = (((f64::from(event.client_y()) - top) / hour_px() * 60.0 / SNAP as f64).floor() as i64 * SNAP).clamp(0, 24 * 60 - 30);
                                creating.set(Some((day, minutes, minutes)));
                            };
                            let lang = lang.clone();
                            view! {
                                <div class="grid-column" on:pointerdown=start_create>
                                    {move || creating.get().filter(|(d, _, _)| *d == day).map(|(_, from, to)| {
                                        let (from, to) = (from.min(to), from.max(to).max(from + SNAP));
                                        view! { <div class="creating" style:top=format!("calc(var(--hour) * {})", from as f64 / 60.0) style:height=format!("calc(var(--hour) * {})", (to - from) as f64 / 60.0)></div> }
                                    })}
                                    {timed.iter().zip(lanes).map(|(occurrence, (lane, lane_count))| {
                                        let begin = (occurrence.start.max(day.start()) - day.start()) as f64 / 60.0;
                                        let finish = (occurrence.end.min(day.add(1).start()) - day.start()) as f64 / 60.0;
                                        let occurrence = occurrence.clone();
                                        let dragged = occurrence.clone();
                                        let resized = occurrence.clone();
                                        let key = (occurrence.event.clone(), occurrence.recurrence_id.clone());
                                        let key_style = key.clone();
                                        let color = occurrence.color.clone();
                                        // Where the event is drawn, moved by a drag in progress.
                                        let placed = Memo::new(move |_| {
                                            let (minutes, days_moved, resize) = state.drag.with(|drag| match drag {
                                                Some((o, m, d, r)) if (o.event.clone(), o.recurrence_id.clone()) == key_style => (*m as f64, *d as f64, *r),
                                                _ => (0.0, 0.0, false),
                                            });
                                            let top = begin + if resize { 0.0 } else { minutes };
                                            let height = (finish - begin + if resize { minutes } else { 0.0 }).max(SNAP as f64);
                                            (top, height, days_moved)
                                        });
                                        let placed = move || placed.get();
                                        let top = move || format!("calc(var(--hour) * {})", placed().0 / 60.0);
                                        let height = move || format!("calc(var(--hour) * {} - 2px)", placed().1 / 60.0);
                                        let left = move || format!("calc({}% + {}%)", lane as f64 * 100.0 / lane_count as f64, placed().2 * 100.0);
                                        let width = format!("{}%", 100.0 / lane_count as f64);
                                        let begin_drag = move |event: leptos::ev::PointerEvent| {
                                            event.stop_propagation();
                                            DRAG_ORIGIN.with(|origin| origin.set((f64::from(event.client_x()), f64::from(event.client_y()))));
                                            state.drag.set(Some((dragged.clone(), 0, 0, false)));
                                        };
                                        let begin_resize = move |event: leptos::ev::PointerEvent| {
                                            event.stop_propagation();
                                            DRAG_ORIGIN.with(|origin| origin.set((f64::from(event.client_x()), f64::from(event.client_y()))));
                                            state.drag.set(Some((resized.clone(), 0, 0, true)));
                                        };
                                        let open = occurrence.clone();
                                        let on_key = move |event: leptos::ev::KeyboardEvent| {
                                            if event.key() == "Enter" {
                                                state.detail.set(Some(open.clone()));
                                            }
                                        };
                                        let time = format!("{} – {}", days::time_of(occurrence.start, &lang), days::time_of(occurrence.end, &lang));
                                        view! {
                                            <div class="event" class:cancelled=occurrence.cancelled class:free=!occurrence.busy tabindex="0" role="button"
                                                aria-label=format!("{}, {}", occurrence.title, time) style=("--event", color) style:top=top style:height=height style:left=left style:width=width
                                                on:pointerdown=begin_drag on:keydown=on_key>
                                                <strong>{occurrence.title.clone()}</strong>
                                                <span>{time.clone()}</span>
                                                {(!occurrence.location.is_empty()).then(|| view! { <span class="place">{occurrence.location.clone()}</span> })}
                                                <span class="resize" aria-hidden="true" on:pointerdown=begin_resize></span>
                                            </div>
                                        }
                                    }).collect_view()}
                                </div>
                            }
                        }).collect_view()
                    }}
                </div>
            </div>
        </div>
    }
}

thread_local! {
    /// Where the pointer went down when a drag began.
    static DRAG_ORIGIN: std::cell::Cell<(f64, f64)> = const { std::cell::Cell::new((0.0, 0.0)) };
}

/// Side-by-side lanes for overlapping events: each event's lane and how many lanes its group of
/// overlapping events needs.
fn lanes(events: &[OccurrenceView]) -> Vec<(usize, usize)> {
    let mut placed: Vec<(usize, usize)> = vec![(0, 1); events.len()];
    let mut group_start = 0;
    let mut lane_ends: Vec<i64> = Vec::new();
    let mut group_end = i64::MIN;
    for (index, event) in events.iter().enumerate() {
        let end = event.end.max(event.start + SNAP * 60);
        if event.start >= group_end && index > 0 {
            let count = lane_ends.len().max(1);
            for slot in &mut placed[group_start..index] {
                slot.1 = count;
            }
            group_start = index;
            lane_ends.clear();
        }
        let lane = lane_ends.iter().position(|&lane_end| lane_end <= event.start).unwrap_or(lane_ends.len());
        if lane == lane_ends.len() {
            lane_ends.push(end);
        } else {
            lane_ends[lane] = end;
        }
        placed[index].0 = lane;
        group_end = group_end.max(end);
    }
    let count = lane_ends.len().max(1);
    for slot in &mut placed[group_start..] {
        slot.1 = count;
    }
    placed
}

#[component]
fn AgendaView(state: State) -> impl IntoView {
    view! {
        <div class="agenda">
            {move || {
                let (first, count) = state.span();
                let all = state.occurrences.get();
                let lang = state.lang();
                let mut any = false;
                let list = (0..count as i64).filter_map(|i| {
                    let day = first.add(i);
                    let events = on_day(&all, day);
                    if events.is_empty() {
                        return None;
                    }
                    any = true;
                    let lang = lang.clone();
                    Some(view! {
                        <section class="agenda-day">
                            <h2>{day.format(&lang, &[("weekday", "long"), ("day", "numeric"), ("month", "long")])}</h2>
                            <ul>{events.into_iter().map(|occurrence| {
                                let open = occurrence.clone();
                                let when = if occurrence.all_day { t("All day") } else { format!("{} – {}", days::time_of(occurrence.start, &lang), days::time_of(occurrence.end, &lang)) };
                                view! {
                                    <li><button type="button" class="agenda-item" style=chip_style(&occurrence) on:click=move |_| state.detail.set(Some(open.clone()))>
                                        <span class="swatch" aria-hidden="true"></span>
                                        <span class="when">{when}</span>
                                        <span class="what">{occurrence.title.clone()}</span>
                                        <span class="place">{occurrence.location.clone()}</span>
                                    </button></li>
                                }
                            }).collect_view()}</ul>
                        </section>
                    })
                }).collect_view();
                view! {
                    {list}
                    {(!any && state.loaded.get()).then(|| view! { <p class="empty">{t("Nothing planned in these 30 days.")}</p> })}
                }
            }}
        </div>
    }
}

#[component]
fn Detail(state: State, occurrence: OccurrenceView) -> impl IntoView {
    let lang = state.lang();
    let when = if occurrence.all_day {
        let last = Day::of(occurrence.end - 1);
        let first = Day::of(occurrence.start);
        if first == last {
            first.format(&lang, &[("weekday", "long"), ("day", "numeric"), ("month", "long")])
        } else {
            format!(
                "{} – {}",
                first.format(&lang, &[("day", "numeric"), ("month", "long")]),
                last.format(&lang, &[("day", "numeric"), ("month", "long")])
            )
        }
    } else {
        format!(
            "{}, {} – {}",
            Day::of(occurrence.start).format(&lang, &[("weekday", "long"), ("day", "numeric"), ("month", "long")]),
            days::time_of(occurrence.start, &lang),
            days::time_of(occurrence.end, &lang)
        )
    };
    let edit = occurrence.clone();
    let remove = occurrence.clone();
    view! {
        <div class="event-detail" role="dialog" aria-label=occurrence.title.clone() style=chip_style(&occurrence)>
            <h2><span class="swatch" aria-hidden="true"></span>{occurrence.title.clone()}</h2>
            <p>{when}</p>
            {(!occurrence.location.is_empty()).then(|| view! { <p class="place">{occurrence.location.clone()}</p> })}
            {occurrence.recurring.then(|| view! { <p class="hint">{t("Repeats")}</p> })}
            {occurrence.cancelled.then(|| view! { <p class="error">{t("Cancelled")}</p> })}
            <div class="actions">
                <button type="button" class="button primary" on:click=move |_| state.edit(edit.clone())>{t("Edit")}</button>
                <button type="button" class="button danger-ghost" on:click=move |_| state.delete(remove.event.clone(), remove.recurrence_id.clone(), remove.recurring, None)>{t("Delete")}</button>
                <button type="button" class="button ghost" on:click=move |_| state.detail.set(None)>{t("Close")}</button>
            </div>
        </div>
    }
}

/// The repetition choices of the editor, and the rule each writes.
fn repeat_rule(choice: &str, start: &str) -> String {
    let weekday =
        Day::parse(start).map(|day| ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][day.weekday() as usize]).unwrap_or("MO");
    match choice {
        "daily" => "FREQ=DAILY".into(),
        "weekdays" => "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR".into(),
        "weekly" => format!("FREQ=WEEKLY;BYDAY={weekday}"),
        "monthly" => "FREQ=MONTHLY".into(),
        "yearly" => "FREQ=YEARLY".into(),
        _ => String::new(),
    }
}

fn repeat_choice(rule: &str) -> &'static str {
    match rule {
        "" => "none",
        "FREQ=DAILY" => "daily",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" => "weekdays",
        rule if rule.starts_with("FREQ=WEEKLY;BYDAY=") && rule.len() == 20 => "weekly",
        "FREQ=MONTHLY" => "monthly",
        "FREQ=YEARLY" => "yearly",
        _ => "custom",
    }
}

#[component]
fn EditorView(state: State, editor: Editor) -> impl IntoView {
    let fields = RwSignal::new(editor.fields.clone());
    let calendar = RwSignal::new(editor.calendar.clone());
    let attendees =
        RwSignal::new(editor.fields.attendees.iter().map(|a| a.email.clone()).collect::<Vec<_>>().join(", "));
    let choice = RwSignal::new(repeat_choice(&editor.fields.rule).to_owned());
    let reminder = RwSignal::new(editor.fields.reminders.first().map(|m| m.to_string()).unwrap_or_default());
    let is_new = editor.event.is_none();
    let base = editor.clone();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let mut edited = base.clone();
        let mut new = fields.get_untracked();
        let rule = match choice.get_untracked().as_str() {
            "custom" => new.rule.clone(),
            other => repeat_rule(other, &new.start),
        };
        new.rule = rule;
        let old: Vec<Person> = base.fields.attendees.clone();
        new.attendees = attendees
            .get_untracked()
            .split([',', ';', ' ', '\n'])
            .map(str::trim)
            .filter(|email| !email.is_empty())
            .map(|email| {
                old.iter().find(|a| a.email.eq_ignore_ascii_case(email)).cloned().unwrap_or(Person {
                    email: email.to_owned(),
                    name: String::new(),
                    answer: "NEEDS-ACTION".into(),
                })
            })
            .collect();
        new.reminders = reminder.get_untracked().parse::<i64>().ok().into_iter().collect();
        if new.all_day {
            new.start = new.start.get(..10).unwrap_or_default().to_owned();
            new.end = new.end.get(..10).unwrap_or_default().to_owned();
            new.zone.clear();
        } else {
            for time in [&mut new.start, &mut new.end] {
                if time.len() == 10 {
                    time.push_str("T09:00");
                }
            }
            if new.zone.is_empty() {
                new.zone = state.zone.get_value();
            }
        }
        edited.fields = new;
        edited.calendar = calendar.get_untracked();
        state.save(edited, None);
    };
    let text_input = move |label: &'static str, get: fn(&EventFields) -> String, set: fn(&mut EventFields, String)| {
        view! {
            <label>{t(label)}
                <input type="text" prop:value=move || fields.with(get) on:input=move |e| fields.update(|f| set(f, event_target_value(&e)))/>
            </label>
        }
    };
    let delete = {
        let editor = editor.clone();
        move |_| {
            if let Some(event) = editor.event.clone() {
                state.delete(event, editor.recurrence_id.clone(), editor.recurring, None);
            }
        }
    };
    view! {
        <div class="editor-backdrop">
            <form class="event-editor" role="dialog" aria-label=if is_new { t("New event") } else { t("Edit event") } on:submit=submit>
                <h2>{if is_new { t("New event") } else { t("Edit event") }}</h2>
                <label>{t("Title")}
                    <input type="text" required autofocus prop:value=move || fields.with(|f| f.title.clone()) on:input=move |e| fields.update(|f| f.title = event_target_value(&e))/>
                </label>
                <label class="inline"><input type="checkbox" prop:checked=move || fields.with(|f| f.all_day) on:change=move |e| fields.update(|f| f.all_day = event_target_checked(&e))/>{t("All day")}</label>
                <div class="row">
                    <label>{t("Starts")}
                        <input type=move || if fields.with(|f| f.all_day) { "date" } else { "datetime-local" }
                            prop:value=move || fields.with(|f| if f.all_day { f.start.get(..10).unwrap_or_default().to_owned() } else { f.start.clone() })
                            on:input=move |e| fields.update(|f| f.start = event_target_value(&e))/>
                    </label>
                    <label>{t("Ends")}
                        <input type=move || if fields.with(|f| f.all_day) { "date" } else { "datetime-local" }
                            prop:value=move || fields.with(|f| if f.all_day { f.end.get(..10).unwrap_or_default().to_owned() } else { f.end.clone() })
                            on:input=move |e| fields.update(|f| f.end = event_target_value(&e))/>
                    </label>
                </div>
                {move || (!fields.with(|f| f.all_day)).then(|| view! { <p class="hint">{tf("Time zone: {zone}", &[("zone", &fields.with(|f| if f.zone.is_empty() { state.zone.get_value() } else { f.zone.clone() }))])}</p> })}
                <div class="row">
                    <label>{t("Repeats")}
                        <select prop:value=move || choice.get() on:change=move |e| choice.set(event_target_value(&e))>
                            <option value="none">{t("Does not repeat")}</option>
                            <option value="daily">{t("Every day")}</option>
                            <option value="weekdays">{t("Every weekday (Monday to Friday)")}</option>
                            <option value="weekly">{t("Every week")}</option>
                            <option value="monthly">{t("Every month")}</option>
                            <option value="yearly">{t("Every year")}</option>
                            <option value="custom">{t("Custom rule")}</option>
                        </select>
                    </label>
                    <label>{t("Calendar")}
                        <select prop:value=move || calendar.get() on:change=move |e| calendar.set(event_target_value(&e))>
                            {move || state.calendars.get().into_iter().map(|c| view! { <option value=c.id.clone()>{c.name.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                </div>
                {move || (choice.get() == "custom").then(|| view! {
                    <label>{t("Rule (RFC 5545 RRULE)")}
                        <input type="text" placeholder="FREQ=MONTHLY;BYDAY=-1FR" prop:value=move || fields.with(|f| f.rule.clone()) on:input=move |e| fields.update(|f| f.rule = event_target_value(&e))/>
                    </label>
                })}
                {text_input(n("Place"), |f| f.location.clone(), |f, v| f.location = v)}
                <label>{t("Invite (addresses, separated by commas)")}
                    <input type="text" prop:value=move || attendees.get() on:input=move |e| attendees.set(event_target_value(&e))/>
                </label>
                <div class="row">
                    <label>{t("Reminder")}
                        <select prop:value=move || reminder.get() on:change=move |e| reminder.set(event_target_value(&e))>
                            <option value="">{t("None")}</option>
                            <option value="0">{t("At the start")}</option>
                            <option value="10">{t("10 minutes before")}</option>
                            <option value="30">{t("30 minutes before")}</option>
                            <option value="60">{t("1 hour before")}</option>
                            <option value="1440">{t("1 day before")}</option>
                        </select>
                    </label>
                    <label>{t("Show as")}
                        <select prop:value=move || if fields.with(|f| f.busy) { "busy" } else { "free" } on:change=move |e| fields.update(|f| f.busy = event_target_value(&e) == "busy")>
                            <option value="busy">{t("Busy")}</option>
                            <option value="free">{t("Free")}</option>
                        </select>
                    </label>
                    <label>{t("Colour")}
                        <input type="color" prop:value=move || fields.with(|f| if f.color.is_empty() { "#2f4ac0".to_owned() } else { f.color.clone() }) on:input=move |e| fields.update(|f| f.color = event_target_value(&e))/>
                    </label>
                </div>
                <label>{t("Description")}
                    <textarea rows="3" prop:value=move || fields.with(|f| f.description.clone()) on:input=move |e| fields.update(|f| f.description = event_target_value(&e))></textarea>
                </label>
                {move || state.error.get().map(|error| view! { <p class="error" role="alert">{error}</p> })}
                <div class="actions">
                    <button type="submit" class="button primary">{t("Save")}</button>
                    {(!is_new).then(|| view! { <button type="button" class="button danger-ghost" on:click=delete.clone()>{t("Delete")}</button> })}
                    <button type="button" class="button ghost" on:click=move |_| { state.editor.set(None); state.error.set(None); }>{t("Cancel")}</button>
                </div>
            </form>
        </div>
    }
}

#[component]
fn ScopeChooser(state: State, pending: Pending) -> impl IntoView {
    let question = match &pending {
        Pending::Save(_) => t("Change which events?"),
        Pending::Delete { .. } => t("Delete which events?"),
    };
    let choose = move |scope: Scope| {
        let pending = pending.clone();
        move |_| match pending.clone() {
            Pending::Save(editor) => state.save(*editor, Some(scope)),
            Pending::Delete { event, recurrence_id } => state.delete(event, Some(recurrence_id), true, Some(scope)),
        }
    };
    view! {
        <div class="editor-backdrop">
            <div class="scope-chooser" role="dialog" aria-label=question.clone()>
                <h2>{question.clone()}</h2>
                <button type="button" class="button ghost" on:click=choose(Scope::This)>{t("This event")}</button>
                <button type="button" class="button ghost" on:click=choose(Scope::ThisAndFollowing)>{t("This and following events")}</button>
                <button type="button" class="button ghost" on:click=choose(Scope::All)>{t("All events")}</button>
                <button type="button" class="button ghost" on:click=move |_| state.pending.set(None)>{t("Cancel")}</button>
            </div>
        </div>
    }
}
