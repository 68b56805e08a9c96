//! Days in the viewer's time zone, by the browser's `Date` (so the app carries no time-zone
//! database: the calendar worker places events, this app lays out days).

use js_sys::Date;
use wasm_bindgen::JsValue;

/// A calendar day: year, month (1–12), day of the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

fn date_of(day: Day, hour: f64, minute: f64) -> Date {
    Date::new_with_year_month_day_hr_min_sec(
        day.year as u32,
        day.month as i32 - 1,
        day.day as i32,
        hour as i32,
        minute as i32,
        0,
    )
}

impl Day {
    pub fn today() -> Day {
        Day::of_date(&Date::new_0())
    }

    fn of_date(date: &Date) -> Day {
        Day { year: date.get_full_year() as i32, month: date.get_month() + 1, day: date.get_date() }
    }

    /// The day an instant (Unix seconds) falls on here.
    pub fn of(unix: i64) -> Day {
        Day::of_date(&Date::new(&JsValue::from_f64(unix as f64 * 1000.0)))
    }

    /// Midnight at the start of this day here, in Unix seconds.
    pub fn start(self) -> i64 {
        (date_of(self, 0.0, 0.0).get_time() / 1000.0) as i64
    }

    /// `minutes` after this day's midnight here (wall time: across a clock change too).
    pub fn at(self, minutes: i64) -> i64 {
        (date_of(self, (minutes / 60) as f64, (minutes % 60) as f64).get_time() / 1000.0) as i64
    }

    pub fn add(self, days: i64) -> Day {
        Day::of_date(&Date::new_with_year_month_day(
            self.year as u32,
            self.month as i32 - 1,
            self.day as i32 + days as i32,
        ))
    }

    pub fn add_months(self, months: i32) -> Day {
        let index = self.year * 12 + self.month as i32 - 1 + months;
        Day { year: index.div_euclid(12), month: index.rem_euclid(12) as u32 + 1, day: 1 }
    }

    /// 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> u32 {
        (date_of(self, 12.0, 0.0).get_day() + 6) % 7
    }

    /// The Monday of this day's week.
    pub fn week_start(self) -> Day {
        self.add(-(self.weekday() as i64))
    }

    pub fn first_of_month(self) -> Day {
        Day { day: 1, ..self }
    }

    /// `YYYY-MM-DD`.
    pub fn iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    pub fn parse(text: &str) -> Option<Day> {
        let mut parts = text.get(..10)?.split('-');
        let year = parts.next()?.parse().ok()?;
        let month = parts.next()?.parse().ok()?;
        let day = parts.next()?.parse().ok()?;
        Some(Day { year, month, day })
    }

    /// The day in words in `lang` (`options`: `Intl.DateTimeFormat`'s, as `[name, value]` pairs).
    pub fn format(self, lang: &str, options: &[(&str, &str)]) -> String {
        format_date(&date_of(self, 12.0, 0.0), lang, options)
    }
}

/// `date` in words in `lang`.
pub fn format_date(date: &Date, lang: &str, options: &[(&str, &str)]) -> String {
    let object = js_sys::Object::new();
    for (name, value) in options {
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(name), &JsValue::from_str(value));
    }
    String::from(date.to_locale_string(lang, &object))
}

/// An instant's time of day here in `lang` (`09:30`, `9:30 AM`).
pub fn time_of(unix: i64, lang: &str) -> String {
    let date = Date::new(&JsValue::from_f64(unix as f64 * 1000.0));
    format_date(&date, lang, &[("hour", "numeric"), ("minute", "2-digit")])
}

/// An instant's hour here in `lang` (`09`, `9 AM`), for the hour lines.
pub fn hour_of(unix: i64, lang: &str) -> String {
    let date = Date::new(&JsValue::from_f64(unix as f64 * 1000.0));
    format_date(&date, lang, &[("hour", "numeric")])
}

/// The locale dates and times are written in: the browser's own when it speaks the app's
/// language (`en-GB` for English: a 24-hour clock), else the app's language.
pub fn format_locale(lang: &str) -> String {
    let lang = if lang.is_empty() { "en" } else { lang };
    let browser = web_sys::window().and_then(|window| window.navigator().language()).unwrap_or_default();
    if browser.split('-').next().is_some_and(|code| code.eq_ignore_ascii_case(lang)) {
        browser
    } else {
        lang.to_owned()
    }
}

/// Minutes since this day's midnight here of an instant.
pub fn minutes_of(unix: i64) -> i64 {
    let date = Date::new(&JsValue::from_f64(unix as f64 * 1000.0));
    i64::from(date.get_hours()) * 60 + i64::from(date.get_minutes())
}

/// `YYYY-MM-DDTHH:MM` of an instant here, as the editor writes times.
pub fn wall_of(unix: i64) -> String {
    let date = Date::new(&JsValue::from_f64(unix as f64 * 1000.0));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// The browser's time zone (an IANA name).
pub fn zone() -> String {
    let options = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new()).resolved_options();
    js_sys::Reflect::get(&options, &JsValue::from_str("timeZone"))
        .ok()
        .and_then(|zone| zone.as_string())
        .unwrap_or_else(|| "UTC".to_owned())
}
