//! The composer's autocomplete over generated contacts (`plico_contacts::complete`), timed in
//! the browser against the named anchor: a linear scan that lowercases and tests every name and
//! address for each query, which is what a list filter without an index does
//! (`tests/e2e/bench-contacts.mjs`).

use plico_contacts::complete::Completer;
use plico_contacts::Summary;
use wasm_bindgen::prelude::*;

const GIVEN: &[&str] = &[
    "Ada", "Alan", "Anna", "Bruno", "Carla", "Chen", "Dmitri", "Elena", "Fatima", "Grace", "Hiro", "Ines", "Jonas",
    "Kofi", "Lena", "Marta", "Nils", "Olga", "Priya", "Quentin", "Rosa", "Sven", "Tomás", "Ulla", "Vera", "Wei",
    "Xavier", "Yusuf", "Zoë",
];
const FAMILY: &[&str] = &[
    "Andersson",
    "Babbage",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Hopper",
    "Ivanova",
    "Jansen",
    "Kowalski",
    "Lovelace",
    "Müller",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Turing",
    "Ueda",
    "Virtanen",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
];
const DOMAINS: &[&str] = &["plico.example", "mail.example", "uni.example", "work.example", "family.example"];
const GROUPS: &[&str] = &["Family", "Work", "Book club", "Neighbours", "Football"];

/// A small deterministic generator, so every run times the same contacts and queries.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

fn contacts(count: u32) -> Vec<Summary> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..count)
        .map(|n| {
            let (given, family) = (rng.pick(GIVEN), rng.pick(FAMILY));
            let local = format!("{}.{}{n}", given.to_lowercase(), family.to_lowercase());
            let mut emails = vec![format!("{local}@{}", rng.pick(DOMAINS))];
            if n % 3 == 0 {
                emails.push(format!("{}{n}@{}", given.to_lowercase(), rng.pick(DOMAINS)));
            }
            let groups = if n % 4 == 0 { vec![rng.pick(GROUPS).to_owned()] } else { Vec::new() };
            Summary { name: format!("{given} {family}"), emails, groups, ..Summary::default() }
        })
        .collect()
}

fn now() -> f64 {
    let performance = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).ok();
    performance
        .and_then(|performance| {
            let now = js_sys::Reflect::get(&performance, &"now".into()).ok()?;
            js_sys::Function::from(now).call0(&performance).ok()?.as_f64()
        })
        .unwrap_or_else(js_sys::Date::now)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Builds the index over `count` contacts and times `queries` completions (what a person types:
/// 1 to 4 letters of a name or an address), then the anchor on the same queries. JSON: build
/// time, p50/p95/max of each, and the average number of suggestions.
#[wasm_bindgen]
pub fn autocomplete_bench(count: u32, queries: u32) -> String {
    let contacts = contacts(count);
    let mut rng = Rng(42);
    let typed: Vec<String> = (0..queries)
        .map(|_| {
            let contact = &contacts[(rng.next() % contacts.len() as u64) as usize];
            let source = if rng.next() % 2 == 0 { contact.name.clone() } else { contact.emails[0].clone() };
            let word = source.split_whitespace().nth((rng.next() % 2) as usize).unwrap_or(&source).to_owned();
            let take = 1 + (rng.next() % 4) as usize;
            word.chars().take(take).collect()
        })
        .collect();

    let started = now();
    let completer = Completer::new(contacts.clone());
    let build_ms = now() - started;
    let mut found = 0usize;
    let mut times: Vec<f64> = typed
        .iter()
        .map(|query| {
            let started = now();
            found += completer.complete(query, 8).len();
            now() - started
        })
        .collect();
    times.sort_by(f64::total_cmp);

    let mut anchor: Vec<f64> = typed
        .iter()
        .map(|query| {
            let started = now();
            let query = query.to_lowercase();
            // The same answer as the index: every matching address, ranked, the best eight.
            let mut hits: Vec<(u8, String, &str)> = contacts
                .iter()
                .filter(|contact| {
                    contact.name.to_lowercase().split_whitespace().any(|word| word.starts_with(&query))
                        || contact.emails.iter().any(|email| email.to_lowercase().starts_with(&query))
                })
                .flat_map(|contact| {
                    let name = contact.name.to_lowercase();
                    let rank = if name.starts_with(&query) { 1 } else { 2 };
                    contact.emails.iter().map(move |email| (rank, name.clone(), email.as_str()))
                })
                .collect();
            hits.sort();
            hits.truncate(8);
            std::hint::black_box(hits);
            now() - started
        })
        .collect();
    anchor.sort_by(f64::total_cmp);
    format!(
        r#"{{"contacts":{count},"queries":{queries},"build_ms":{build_ms:.2},"p50_ms":{:.3},"p95_ms":{:.3},"max_ms":{:.3},"suggestions_per_query":{:.2},"anchor":{{"name":"linear scan","p50_ms":{:.3},"p95_ms":{:.3},"max_ms":{:.3}}}}}"#,
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times.last().copied().unwrap_or(0.0),
        found as f64 / f64::from(queries.max(1)),
        percentile(&anchor, 0.5),
        percentile(&anchor, 0.95),
        anchor.last().copied().unwrap_or(0.0),
    )
}
