//! What the contact editor shows and changes ([`ContactFields`]), read from and written into a
//! contact's content (the card's lines by property, see the crate's documentation).
//!
//! Writing changes only the properties the editor shows, and of those only the lines whose
//! value changed: a line that still says the same keeps its parameters (`PREF`, `PID`,
//! Apple's groups), and every other property of the card, unknown ones included, stays as it
//! came. What is written is read back with calcard before it is kept, so the editor can never
//! store a card that does not parse.

use calcard::common::IanaString;
use calcard::vcard::{VCard, VCardEntry, VCardParameterName, VCardParameterValue, VCardProperty, VCardValue};
use plico_api::contacts::{ContactFields, Labeled, PostalAddress};
use serde_json::{Map, Value};

use crate::{from_content, summary};

/// The properties the editor owns.
const EDITED: &[&str] = &["FN", "N", "EMAIL", "TEL", "ADR", "ORG", "TITLE", "BDAY", "NOTE", "PHOTO", "CATEGORIES"];

/// Escapes a text value (RFC 6350, 3.4): backslash, comma, semicolon and line ends.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

fn text_of(value: &VCardValue) -> String {
    match value {
        VCardValue::Text(text) => text.trim().to_owned(),
        VCardValue::Component(parts) => parts.join(" ").trim().to_owned(),
        _ => String::new(),
    }
}

/// The entry's values as its components (`N` and `ADR` hold one value per component).
fn components(entry: &VCardEntry) -> Vec<String> {
    entry.values.iter().map(text_of).collect()
}

/// The entry's label: its first `TYPE` that says something (not `internet`, `pref`, `voice`).
fn label(entry: &VCardEntry) -> String {
    entry
        .params
        .iter()
        .filter(|param| param.name == VCardParameterName::Type)
        .filter_map(|param| match &param.value {
            VCardParameterValue::Type(kind) => Some(kind.as_str().to_ascii_lowercase()),
            VCardParameterValue::Text(text) => Some(text.to_ascii_lowercase()),
            _ => None,
        })
        .find(|label| !matches!(label.as_str(), "internet" | "pref" | "voice" | "x400"))
        .unwrap_or_default()
}

fn lines_of<'a>(properties: &'a Map<String, Value>, name: &str) -> Vec<&'a str> {
    properties.get(name).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
}

/// A line's value: what follows the first colon outside a quoted parameter.
fn raw_value(line: &str) -> &str {
    let mut quoted = false;
    for (index, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return &line[index + 1..],
            _ => {}
        }
    }
    ""
}

/// The editor's fields of a contact's content.
pub fn fields(content: &Value) -> Result<ContactFields, String> {
    let card = from_content(content)?;
    let mut fields = ContactFields { name: summary(&card).name, ..ContactFields::default() };
    for entry in &card.entries {
        match entry.name {
            VCardProperty::N if fields.given.is_empty() && fields.family.is_empty() => {
                let parts = components(entry);
                fields.family = parts.first().cloned().unwrap_or_default();
                fields.given = parts.get(1).cloned().unwrap_or_default();
            }
            VCardProperty::Email => {
                for value in &entry.values {
                    fields.emails.push(Labeled { label: label(entry), value: text_of(value) });
                }
            }
            VCardProperty::Tel => {
                for value in &entry.values {
                    fields.phones.push(Labeled { label: label(entry), value: text_of(value) });
                }
            }
            VCardProperty::Adr => {
                let parts = components(entry);
                let part = |index: usize| parts.get(index).cloned().unwrap_or_default();
                // ADR is PO box; extended; street; locality; region; postcode; country.
                let street =
                    [part(0), part(1), part(2)].into_iter().filter(|part| !part.is_empty()).collect::<Vec<_>>();
                fields.addresses.push(PostalAddress {
                    label: label(entry),
                    street: street.join("\n"),
                    locality: part(3),
                    region: part(4),
                    postcode: part(5),
                    country: part(6),
                });
            }
            VCardProperty::Org if fields.organization.is_empty() => {
                fields.organization =
                    components(entry).into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(", ")
            }
            VCardProperty::Title if fields.title.is_empty() => fields.title = components(entry).join(" "),
            VCardProperty::Bday if fields.birthday.is_empty() => fields.birthday = birthday_of(entry),
            VCardProperty::Note => {
                let note = components(entry).join(" ");
                if !fields.note.is_empty() && !note.is_empty() {
                    fields.note.push('\n');
                }
                fields.note.push_str(&note);
            }
            VCardProperty::Categories => fields.groups.extend(components(entry).into_iter().filter(|g| !g.is_empty())),
            _ => {}
        }
    }
    // The photo as it was written: calcard decodes embedded data, and the editor wants the URL.
    if let Some(properties) = content.get("vcard").and_then(Value::as_object) {
        if let Some(line) = lines_of(properties, "PHOTO").first() {
            let value = raw_value(line);
            if value.starts_with("data:image/") {
                fields.photo = value.to_owned();
            } else if let Some(encoded) = photo_v3(line, value) {
                fields.photo = encoded;
            }
        }
    }
    fields.groups.dedup();
    Ok(fields)
}

/// vCard 3's embedded photo (`PHOTO;ENCODING=b;TYPE=JPEG:<base64>`) as a `data:` URL.
fn photo_v3(line: &str, value: &str) -> Option<String> {
    let params = line.split(':').next()?.to_ascii_uppercase();
    if !(params.contains("ENCODING=B") || params.contains("ENCODING=BASE64")) {
        return None;
    }
    let kind = if params.contains("PNG") { "png" } else { "jpeg" };
    Some(format!("data:image/{kind};base64,{}", value.trim()))
}

fn birthday_of(entry: &VCardEntry) -> String {
    match entry.values.first() {
        Some(VCardValue::PartialDateTime(date)) => match (date.year, date.month, date.day) {
            (Some(year), Some(month), Some(day)) => format!("{year:04}-{month:02}-{day:02}"),
            (None, Some(month), Some(day)) => format!("--{month:02}-{day:02}"),
            _ => String::new(),
        },
        Some(value) => text_of(value),
        None => String::new(),
    }
}

/// Checks what the user typed, naming the first field that is wrong.
pub fn check(fields: &ContactFields) -> Result<(), String> {
    let named = !fields.name.trim().is_empty() || !fields.given.trim().is_empty() || !fields.family.trim().is_empty();
    let addressed = fields.emails.iter().any(|email| !email.value.trim().is_empty());
    if !named && !addressed {
        return Err("A contact needs a name or an email address.".into());
    }
    for email in fields.emails.iter().map(|email| email.value.trim()).filter(|value| !value.is_empty()) {
        if let Err(why) = plico_api::address::check_mail_address(email) {
            return Err(format!("\"{email}\" is not an email address: {why}."));
        }
    }
    let birthday = fields.birthday.trim();
    if !birthday.is_empty() && birthday_line(birthday).is_none() {
        return Err(format!(
            "The birthday \"{birthday}\" is not a date: write it as 1815-12-10, or --12-10 without the year."
        ));
    }
    if !fields.photo.is_empty() && !fields.photo.starts_with("data:image/") {
        return Err("The photo is not an image.".into());
    }
    if fields.photo.len() > 200_000 {
        return Err("The photo is too large; pick a smaller picture.".into());
    }
    for label in fields.emails.iter().chain(&fields.phones).map(|labeled| labeled.label.as_str()) {
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("\"{label}\" is not a label (letters, digits and hyphens)."));
        }
    }
    Ok(())
}

/// `BDAY:` and its value in vCard 4's form, for `YYYY-MM-DD` or `--MM-DD`.
fn birthday_line(text: &str) -> Option<String> {
    let digits = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    let valid = |month: &str, day: &str| {
        let (month, day) = (month.parse::<u8>().ok()?, day.parse::<u8>().ok()?);
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(())
    };
    if let Some(rest) = text.strip_prefix("--") {
        let (month, day) = rest.split_once('-')?;
        (digits(month, 2) && digits(day, 2)).then_some(())?;
        valid(month, day)?;
        return Some(format!("BDAY:--{month}{day}"));
    }
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    (parts.next().is_none() && digits(year, 4) && digits(month, 2) && digits(day, 2)).then_some(())?;
    valid(month, day)?;
    Some(format!("BDAY:{year}{month}{day}"))
}

fn typed(name: &str, label: &str) -> String {
    let label = label.trim().to_ascii_lowercase();
    if label.is_empty() {
        name.to_owned()
    } else {
        format!("{name};TYPE={label}")
    }
}

/// The lines the fields give for each edited property, keyed as the content keys them.
fn written(fields: &ContactFields) -> Vec<(&'static str, Vec<String>)> {
    let mut name = fields.name.trim().to_owned();
    if name.is_empty() {
        name = [fields.given.trim(), fields.family.trim()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
    }
    if name.is_empty() {
        name =
            fields.emails.iter().map(|email| email.value.trim()).find(|v| !v.is_empty()).unwrap_or_default().to_owned();
    }
    let one = |line: Option<String>| line.into_iter().collect::<Vec<_>>();
    let non_empty = |text: &str| !text.trim().is_empty();
    vec![
        ("FN", vec![format!("FN:{}", escape(&name))]),
        (
            "N",
            one((non_empty(&fields.given) || non_empty(&fields.family))
                .then(|| format!("N:{};{};;;", escape(&fields.family), escape(&fields.given)))),
        ),
        (
            "EMAIL",
            fields
                .emails
                .iter()
                .filter(|email| non_empty(&email.value))
                .map(|email| format!("{}:{}", typed("EMAIL", &email.label), escape(&email.value)))
                .collect(),
        ),
        (
            "TEL",
            fields
                .phones
                .iter()
                .filter(|phone| non_empty(&phone.value))
                .map(|phone| format!("{}:{}", typed("TEL", &phone.label), escape(&phone.value)))
                .collect(),
        ),
        (
            "ADR",
            fields
                .addresses
                .iter()
                .filter(|a| [&a.street, &a.locality, &a.region, &a.postcode, &a.country].iter().any(|p| non_empty(p)))
                .map(|a| {
                    format!(
                        "{}:;;{};{};{};{};{}",
                        typed("ADR", &a.label),
                        escape(&a.street.replace('\n', ", ")),
                        escape(&a.locality),
                        escape(&a.region),
                        escape(&a.postcode),
                        escape(&a.country)
                    )
                })
                .collect(),
        ),
        ("ORG", one(non_empty(&fields.organization).then(|| format!("ORG:{}", escape(&fields.organization))))),
        ("TITLE", one(non_empty(&fields.title).then(|| format!("TITLE:{}", escape(&fields.title))))),
        ("BDAY", one(birthday_line(fields.birthday.trim()))),
        ("NOTE", one(non_empty(&fields.note).then(|| format!("NOTE:{}", escape(&fields.note))))),
        ("PHOTO", one(non_empty(&fields.photo).then(|| format!("PHOTO:{}", fields.photo.trim())))),
        (
            "CATEGORIES",
            one((!fields.groups.iter().all(|g| g.trim().is_empty())).then(|| {
                let groups: Vec<String> =
                    fields.groups.iter().filter(|g| non_empty(g)).map(|group| escape(group)).collect();
                format!("CATEGORIES:{}", groups.join(","))
            })),
        ),
    ]
}

/// What to save when the contact changed since the editor opened it (another device, or this
/// one's sync): each field the user changed (`edited` differs from `original`) takes the edit, and
/// every other field keeps its value now (`current`). So an edit never writes back a value the
/// editor only happened to show: the last writer wins for the fields it wrote, per field.
pub fn rebase(original: &ContactFields, edited: &ContactFields, current: &ContactFields) -> ContactFields {
    fn pick<T: Clone + PartialEq>(original: &T, edited: &T, current: &T) -> T {
        if edited != original {
            edited.clone()
        } else {
            current.clone()
        }
    }
    ContactFields {
        name: pick(&original.name, &edited.name, &current.name),
        given: pick(&original.given, &edited.given, &current.given),
        family: pick(&original.family, &edited.family, &current.family),
        emails: pick(&original.emails, &edited.emails, &current.emails),
        phones: pick(&original.phones, &edited.phones, &current.phones),
        addresses: pick(&original.addresses, &edited.addresses, &current.addresses),
        organization: pick(&original.organization, &edited.organization, &current.organization),
        title: pick(&original.title, &edited.title, &current.title),
        birthday: pick(&original.birthday, &edited.birthday, &current.birthday),
        note: pick(&original.note, &edited.note, &current.note),
        photo: pick(&original.photo, &edited.photo, &current.photo),
        groups: pick(&original.groups, &edited.groups, &current.groups),
    }
}

/// The content with the editor's fields written over `content` (a new contact: `{}`), checked,
/// and read back through calcard.
pub fn apply(content: &Value, fields: &ContactFields) -> Result<Value, String> {
    check(fields)?;
    let before = match content.get("vcard") {
        Some(_) => Some(self::fields(content)?),
        None => None,
    };
    let mut properties = content.get("vcard").and_then(Value::as_object).cloned().unwrap_or_default();
    let new_lines = written(fields);
    let old_lines = before.as_ref().map(written);
    for (name, lines) in new_lines {
        debug_assert!(EDITED.contains(&name));
        // A property whose lines the fields give as before keeps its lines as they came.
        let unchanged = old_lines
            .as_ref()
            .and_then(|old| old.iter().find(|(old_name, _)| *old_name == name))
            .is_some_and(|(_, old)| *old == lines);
        if unchanged {
            continue;
        }
        if lines.is_empty() {
            properties.remove(name);
        } else {
            properties.insert(name.to_owned(), Value::Array(lines.into_iter().map(Value::String).collect()));
        }
    }
    let mut written = Map::new();
    written.insert("vcard".into(), Value::Object(properties));
    let written = Value::Object(written);
    from_content(&written)?;
    Ok(written)
}

/// Several contacts as one: the first's fields, and the addresses, phones, postal addresses,
/// groups and notes of the others added when the first lacks them; properties only the others
/// have (a birthday, a photo, unknown ones) are taken from the first that has them.
pub fn merge(contents: &[Value]) -> Result<Value, String> {
    let (first, others) = contents.split_first().ok_or("There is nothing to merge.")?;
    let mut merged = fields(first)?;
    let mut properties = first.get("vcard").and_then(Value::as_object).cloned().unwrap_or_default();
    for other in others {
        let theirs = fields(other)?;
        for email in theirs.emails {
            if !merged.emails.iter().any(|e| e.value.eq_ignore_ascii_case(&email.value)) {
                merged.emails.push(email);
            }
        }
        for phone in theirs.phones {
            let digits = |text: &str| text.chars().filter(char::is_ascii_digit).collect::<String>();
            if !merged.phones.iter().any(|p| digits(&p.value) == digits(&phone.value)) {
                merged.phones.push(phone);
            }
        }
        for address in theirs.addresses {
            if !merged.addresses.contains(&address) {
                merged.addresses.push(address);
            }
        }
        for group in theirs.groups {
            if !merged.groups.contains(&group) {
                merged.groups.push(group);
            }
        }
        if !theirs.note.is_empty() && !merged.note.contains(&theirs.note) {
            if !merged.note.is_empty() {
                merged.note.push('\n');
            }
            merged.note.push_str(&theirs.note);
        }
        for (field, value) in [
            (&mut merged.organization, theirs.organization),
            (&mut merged.title, theirs.title),
            (&mut merged.birthday, theirs.birthday),
            (&mut merged.photo, theirs.photo),
        ] {
            if field.is_empty() {
                *field = value;
            }
        }
        if let Some(theirs) = other.get("vcard").and_then(Value::as_object) {
            for (name, lines) in theirs {
                if !EDITED.contains(&name.as_str()) && !properties.contains_key(name) {
                    properties.insert(name.clone(), lines.clone());
                }
            }
        }
    }
    let mut base = Map::new();
    base.insert("vcard".into(), Value::Object(properties));
    apply(&Value::Object(base), &merged)
}

/// A contact's card for export, and `None` for content that no longer reads.
pub fn card(content: &Value) -> Option<VCard> {
    from_content(content).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{read_vcf, to_content};

    fn content_of(vcf: &str) -> Value {
        let import = read_vcf(vcf);
        assert!(import.problems.is_empty(), "{:?}", import.problems);
        to_content(&import.cards[0])
    }

    const APPLE: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lovelace;Ada;;;\r\nFN:Ada Lovelace\r\n\
        ORG:Analytical Engines;\r\nitem1.EMAIL;type=INTERNET;type=pref:ada@example.org\r\n\
        item1.X-ABLabel:_$!<Other>!$_\r\nTEL;type=CELL;type=VOICE;type=pref:+44 20 7946 0000\r\n\
        ADR;type=HOME;type=pref:;;12 St James's Square;London;;SW1Y 4JH;United Kingdom\r\n\
        BDAY;value=date:1815-12-10\r\nNOTE:Wrote the first program\\, for the engine.\r\n\
        X-SOCIALPROFILE;type=twitter:x-apple:ada\r\nEND:VCARD\r\n";

    #[test]
    fn an_apple_card_reads_into_the_editors_fields() {
        let fields = fields(&content_of(APPLE)).expect("fields");
        assert_eq!(fields.name, "Ada Lovelace");
        assert_eq!((fields.given.as_str(), fields.family.as_str()), ("Ada", "Lovelace"));
        assert_eq!(fields.emails, [Labeled { label: String::new(), value: "ada@example.org".into() }]);
        assert_eq!(fields.phones, [Labeled { label: "cell".into(), value: "+44 20 7946 0000".into() }]);
        assert_eq!(fields.addresses[0].locality, "London");
        assert_eq!(fields.addresses[0].street, "12 St James's Square");
        assert_eq!(fields.addresses[0].label, "home");
        assert_eq!(fields.organization, "Analytical Engines");
        assert_eq!(fields.birthday, "1815-12-10");
        assert_eq!(fields.note, "Wrote the first program, for the engine.");
    }

    #[test]
    fn editing_one_field_keeps_every_other_line_as_it_came() {
        let content = content_of(APPLE);
        let mut fields = fields(&content).expect("fields");
        fields.phones.push(Labeled { label: "work".into(), value: "+44 20 7946 0001".into() });
        let edited = apply(&content, &fields).expect("applied");
        let before = content["vcard"].as_object().expect("object");
        let after = edited["vcard"].as_object().expect("object");
        for (name, lines) in before {
            if name != "TEL" {
                assert_eq!(after.get(name), Some(lines), "{name} kept as it came");
            }
        }
        assert_eq!(after["TEL"].as_array().map(Vec::len), Some(2));
        assert_eq!(super::fields(&edited).expect("reads").phones[1].value, "+44 20 7946 0001");
        assert!(after.contains_key("X-SOCIALPROFILE"), "unknown properties stay");
    }

    #[test]
    fn a_new_contact_round_trips_through_its_fields() {
        let fields = ContactFields {
            name: "Grace Hopper".into(),
            given: "Grace".into(),
            family: "Hopper".into(),
            emails: vec![Labeled { label: "work".into(), value: "grace@navy.example".into() }],
            phones: vec![Labeled { label: "cell".into(), value: "+1 555 0100".into() }],
            addresses: vec![PostalAddress {
                label: "work".into(),
                street: "1 Compiler Way; Building 2".into(),
                locality: "Arlington".into(),
                region: "VA".into(),
                postcode: "22201".into(),
                country: "USA".into(),
            }],
            organization: "US Navy".into(),
            title: "Rear Admiral".into(),
            birthday: "--12-09".into(),
            note: "Found a moth, line one\nline two, with a comma".into(),
            photo: "data:image/jpeg;base64,/9j/4AAQ".into(),
            groups: vec!["Navy".into(), "Pioneers, computing".into()],
        };
        let content = apply(&json!({}), &fields).expect("written");
        assert_eq!(super::fields(&content).expect("reads"), fields);
        let vcf = crate::write_vcf(&[card(&content).expect("card")]);
        let again = read_vcf(&vcf);
        assert!(again.problems.is_empty(), "{:?}", again.problems);
        assert_eq!(super::fields(&to_content(&again.cards[0])).expect("reads").groups, fields.groups);
    }

    #[test]
    fn what_is_wrong_is_named() {
        let mut fields = ContactFields::default();
        assert_eq!(check(&fields), Err("A contact needs a name or an email address.".into()));
        fields.name = "X".into();
        fields.emails.push(Labeled { label: String::new(), value: "not an address".into() });
        assert!(check(&fields).expect_err("refused").starts_with("\"not an address\" is not an email address"));
        fields.emails.clear();
        fields.birthday = "10/12/1815".into();
        assert!(check(&fields).expect_err("refused").starts_with("The birthday \"10/12/1815\" is not a date"));
        fields.birthday = "1815-13-10".into();
        assert!(check(&fields).is_err());
        fields.birthday = "1815-12-10".into();
        assert_eq!(check(&fields), Ok(()));
    }

    #[test]
    fn merging_adds_the_others_addresses_and_keeps_the_first_name() {
        let first = content_of("BEGIN:VCARD\nVERSION:4.0\nFN:Ada Lovelace\nEMAIL:ada@example.org\nEND:VCARD\n");
        let second = content_of(
            "BEGIN:VCARD\nVERSION:4.0\nFN:A. Lovelace\nEMAIL:ADA@example.org\nEMAIL:countess@example.org\n\
             TEL:+44 1\nBDAY:18151210\nX-CUSTOM:kept\nEND:VCARD\n",
        );
        let merged = merge(&[first, second]).expect("merged");
        let fields = fields(&merged).expect("reads");
        assert_eq!(fields.name, "Ada Lovelace");
        let emails: Vec<&str> = fields.emails.iter().map(|e| e.value.as_str()).collect();
        assert_eq!(emails, ["ada@example.org", "countess@example.org"]);
        assert_eq!(fields.birthday, "1815-12-10");
        assert!(merged["vcard"]["X-CUSTOM"].is_array());
    }

    #[test]
    fn an_edit_rebased_on_a_newer_contact_keeps_the_other_devices_change() {
        let labeled = |value: &str| vec![Labeled { label: "cell".into(), value: value.into() }];
        let original = ContactFields {
            name: "Grace Hopper".into(),
            phones: labeled("+1 555 0100"),
            organization: "Navy".into(),
            note: "Compilers.".into(),
            ..Default::default()
        };
        // Another device changed the phone and the note; this one's editor changes the
        // organisation and the note.
        let current = ContactFields { phones: labeled("+1 555 0199"), note: "COBOL.".into(), ..original.clone() };
        let edited = ContactFields { organization: "US Navy".into(), note: "Nanoseconds.".into(), ..original.clone() };
        let saved = rebase(&original, &edited, &current);
        assert_eq!(saved.phones, labeled("+1 555 0199"), "the field this editor did not touch keeps the newer value");
        assert_eq!(saved.organization, "US Navy", "the field it changed takes its value");
        assert_eq!(saved.note, "Nanoseconds.", "both changed it: the last writer wins");
        assert_eq!(saved.name, "Grace Hopper");
        assert_eq!(rebase(&original, &original, &current), current, "no edit writes nothing back");
    }
}
