//! The query language: words (all must match), a prefix on the last word while typing,
//! "quoted phrases", -exclusions and fields.
//!
//! ```text
//! invoice "march figures" -draft from:alice to:bob subject:budget has:attachment
//! in:inbox is:unread is:starred before:2026-12-31 after:2026-01-01
//! ```
//!
//! Every operator can be negated (`-from:alice`, `-is:unread`); a field takes a quoted value
//! (`from:"Alice Martin"`). Anything that is not an operator is words: `foo:bar` searches for
//! "foo" and "bar".

use crate::text;

/// Which part of a message a clause looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    From,
    /// To and Cc.
    To,
    Subject,
}

/// A condition on what a message is rather than what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    HasAttachment,
    /// A folder, by the name the user sees (matched case-insensitively by the caller's list).
    In(String),
    Unread,
    Starred,
    /// Received before the start of this UTC day (seconds since the epoch).
    Before(i64),
    /// Received on or after the start of this UTC day.
    After(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// Words: one word, or several in a row (a "phrase", or one written word that splits into
    /// several, like an address). `prefix` lets the last one match any word it begins.
    Words {
        terms: Vec<String>,
        field: Option<Field>,
        phrase: bool,
        prefix: bool,
        negated: bool,
    },
    Filter {
        filter: Filter,
        negated: bool,
    },
}

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub clauses: Vec<Clause>,
}

impl Query {
    /// Leaves out the folders in `hidden` (Trash, Spam) unless the query names a folder itself,
    /// as mail clients do: `in:trash` still searches Trash.
    pub fn hide_unless_named(&mut self, hidden: &[String]) {
        let names_folder = self
            .clauses
            .iter()
            .any(|clause| matches!(clause, Clause::Filter { filter: Filter::In(_), negated: false }));
        if !names_folder {
            for folder in hidden {
                self.clauses.push(Clause::Filter { filter: Filter::In(folder.clone()), negated: true });
            }
        }
    }
}

/// Why a query could not be read: a sentence naming the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QueryError {}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DD` (or with slashes) as the UTC midnight that starts it, in seconds.
pub fn parse_day(value: &str) -> Option<i64> {
    let mut parts = value.split(['-', '/']);
    let year: i64 = parts.next().filter(|part| part.len() == 4)?.parse().ok()?;
    let month: i64 = parts.next().filter(|part| (1..=2).contains(&part.len()))?.parse().ok()?;
    let day: i64 = parts.next().filter(|part| (1..=2).contains(&part.len()))?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400)
}

/// One piece of a query as typed.
struct Piece {
    /// What stood before a quote: "", "-", "from:", "-from:".
    operator: String,
    text: String,
    quoted: bool,
    /// Followed by whitespace or a closing quote: not still being typed.
    closed: bool,
}

/// Splits the query at whitespace outside quotes.
fn pieces(input: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut operator = String::new();
    let mut quoted = false;
    for c in input.chars() {
        if c == '"' {
            if quoted {
                out.push(Piece {
                    operator: std::mem::take(&mut operator),
                    text: std::mem::take(&mut current),
                    quoted,
                    closed: true,
                });
                quoted = false;
            } else {
                if current.is_empty() || current.ends_with(':') || current == "-" {
                    operator = std::mem::take(&mut current);
                } else {
                    out.push(Piece {
                        operator: String::new(),
                        text: std::mem::take(&mut current),
                        quoted: false,
                        closed: true,
                    });
                }
                quoted = true;
            }
        } else if c.is_whitespace() && !quoted {
            if !current.is_empty() {
                out.push(Piece {
                    operator: String::new(),
                    text: std::mem::take(&mut current),
                    quoted: false,
                    closed: true,
                });
            }
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() || quoted {
        out.push(Piece { operator, text: current, quoted, closed: false });
    }
    out
}

/// Parses a query. The empty query is the empty [`Query`].
pub fn parse(input: &str) -> Result<Query, QueryError> {
    let mut query = Query::default();
    for piece in pieces(input) {
        let (negated, name, value) = if piece.quoted {
            let operator = piece.operator.as_str();
            let (negated, operator) = match operator.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, operator),
            };
            (negated, operator.strip_suffix(':').map(str::to_ascii_lowercase), piece.text.as_str())
        } else {
            let (negated, rest) = match piece.text.strip_prefix('-') {
                Some(rest) if !rest.is_empty() => (true, rest),
                _ => (false, piece.text.as_str()),
            };
            match rest.split_once(':') {
                Some((name, value)) if !name.is_empty() => (negated, Some(name.to_ascii_lowercase()), value),
                _ => (negated, None, rest),
            }
        };
        let closed = piece.closed;
        let field = match name.as_deref() {
            None => None,
            Some("from") => Some(Field::From),
            Some("to") | Some("cc") => Some(Field::To),
            Some("subject") => Some(Field::Subject),
            Some("has") => {
                let filter = match value.to_ascii_lowercase().as_str() {
                    "attachment" | "attachments" => Filter::HasAttachment,
                    _ if !closed => continue,
                    other => return Err(QueryError(format!("has: knows only \"attachment\", not \"{other}\"."))),
                };
                query.clauses.push(Clause::Filter { filter, negated });
                continue;
            }
            Some("is") => {
                let filter = match value.to_ascii_lowercase().as_str() {
                    "unread" => Filter::Unread,
                    "starred" => Filter::Starred,
                    _ if !closed => continue,
                    other => return Err(QueryError(format!("is: knows \"unread\" and \"starred\", not \"{other}\"."))),
                };
                query.clauses.push(Clause::Filter { filter, negated });
                continue;
            }
            Some("in") => {
                if !value.is_empty() {
                    query.clauses.push(Clause::Filter { filter: Filter::In(value.to_owned()), negated });
                }
                continue;
            }
            Some(kind @ ("before" | "after")) => {
                let Some(day) = parse_day(value) else {
                    if !closed {
                        continue;
                    }
                    return Err(QueryError(format!(
                        "{kind}: needs a date written YYYY-MM-DD, like {kind}:2026-01-31, not \"{value}\"."
                    )));
                };
                let filter = if kind == "before" { Filter::Before(day) } else { Filter::After(day) };
                query.clauses.push(Clause::Filter { filter, negated });
                continue;
            }
            // Not an operator: all of it is words.
            Some(_) => {
                let terms = text::terms(&piece.text);
                if !terms.is_empty() {
                    let phrase = terms.len() > 1;
                    query.clauses.push(Clause::Words { terms, field: None, phrase, prefix: !closed, negated: false });
                }
                continue;
            }
        };
        let terms = text::terms(value);
        if terms.is_empty() {
            continue;
        }
        let phrase = piece.quoted || terms.len() > 1;
        query.clauses.push(Clause::Words { terms, field, phrase, prefix: !closed && !piece.quoted, negated });
    }
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(terms: &[&str], field: Option<Field>, phrase: bool, prefix: bool, negated: bool) -> Clause {
        Clause::Words { terms: terms.iter().map(|term| term.to_string()).collect(), field, phrase, prefix, negated }
    }

    #[test]
    fn words_phrases_exclusions_and_the_prefix_being_typed() {
        let query = parse("Quarterly \"March figures\" -draft budg").expect("parses");
        assert_eq!(
            query.clauses,
            [
                words(&["quarterly"], None, false, false, false),
                words(&["march", "figures"], None, true, false, false),
                words(&["draft"], None, false, false, true),
                words(&["budg"], None, false, true, false),
            ]
        );
        let query = parse("budget ").expect("parses");
        assert_eq!(query.clauses, [words(&["budget"], None, false, false, false)], "a space ends the prefix");
        assert_eq!(parse("").expect("parses"), Query::default());
        assert_eq!(parse("   ").expect("parses"), Query::default());
        assert_eq!(parse("- \"\"").expect("parses"), Query::default());
    }

    #[test]
    fn fields_and_filters() {
        let query = parse(
            "from:alice to:bob@plico.test subject:Budget has:attachment in:Work is:unread -is:starred \
             before:2026-12-31 after:2026-01-01 ",
        )
        .expect("parses");
        assert_eq!(
            query.clauses,
            [
                words(&["alice"], Some(Field::From), false, false, false),
                words(&["bob", "plico", "test"], Some(Field::To), true, false, false),
                words(&["budget"], Some(Field::Subject), false, false, false),
                Clause::Filter { filter: Filter::HasAttachment, negated: false },
                Clause::Filter { filter: Filter::In("Work".into()), negated: false },
                Clause::Filter { filter: Filter::Unread, negated: false },
                Clause::Filter { filter: Filter::Starred, negated: true },
                Clause::Filter { filter: Filter::Before(parse_day("2026-12-31").expect("a day")), negated: false },
                Clause::Filter { filter: Filter::After(1_767_225_600), negated: false },
            ]
        );
        let query = parse("from:\"Alice Martin\" -\"out of office\"").expect("parses");
        assert_eq!(
            query.clauses,
            [
                words(&["alice", "martin"], Some(Field::From), true, false, false),
                words(&["out", "of", "office"], None, true, false, true),
            ]
        );
        assert_eq!(
            parse("from:ali").expect("parses").clauses,
            [words(&["ali"], Some(Field::From), false, true, false)]
        );
        assert_eq!(
            parse("foo:bar").expect("parses").clauses,
            [words(&["foo", "bar"], None, true, true, false)],
            "not an operator: words"
        );
    }

    #[test]
    fn bad_operators_say_what_is_wrong_but_not_while_typing() {
        let error = parse("before:yesterday ").expect_err("not a date");
        assert!(error.0.contains("YYYY-MM-DD") && error.0.contains("yesterday"), "{error}");
        assert!(parse("after:2026-02-30 ").expect_err("no such day").0.contains("2026-02-30"));
        assert!(parse("is:important ").expect_err("unknown").0.contains("important"));
        assert!(parse("has:photos ").expect_err("unknown").0.contains("photos"));
        // Half-typed operators at the end are not errors yet.
        assert_eq!(parse("invoice before:2026-0").expect("parses").clauses.len(), 1);
        assert_eq!(parse("invoice is:unr").expect("parses").clauses.len(), 1);
    }

    #[test]
    fn trash_and_spam_are_left_out_unless_a_folder_is_named() {
        let hidden = ["trash-id".to_owned()];
        let mut query = parse("budget").expect("parses");
        query.hide_unless_named(&hidden);
        assert_eq!(
            query.clauses.last(),
            Some(&Clause::Filter { filter: Filter::In("trash-id".into()), negated: true })
        );
        let mut query = parse("budget in:trash").expect("parses");
        query.hide_unless_named(&hidden);
        assert_eq!(query.clauses.len(), 2);
    }

    #[test]
    fn days() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2026-01-01"), Some(1_767_225_600));
        assert_eq!(parse_day("2024/02/29"), Some(1_709_164_800));
        assert_eq!(parse_day("2023-02-29"), None);
        assert_eq!(parse_day("2026-13-01"), None);
        assert_eq!(parse_day("26-01-01"), None);
        assert_eq!(parse_day("2026-01-01-01"), None);
    }
}
