//! Contacts: vCard files in and out, a contact as the content of a sealed item, and what the
//! contact list and the composer's autocomplete read from it.
//!
//! vCard 4 (RFC 6350) is the model. A contact's item content is
//! `{"vcard": {"EMAIL": ["EMAIL;TYPE=work:ada@example.org", …], "FN": […], …}}`: each property
//! name holds the card's lines of that property as vCard 4 writes them. So every property is kept
//! as it came, unknown ones (`X-…`) and Apple's grouped labels (`item1.X-ABLabel`) included, and
//! two devices that change different properties of one contact both keep their change (the
//! sealed items' merge works field by field, `plico_client::items::merge`).
//!
//! Parsing and writing are calcard's (Stalwart's vCard library), which reads vCard 3 and 4 as
//! Google, Apple and Thunderbird write them. Architecture Invariant: no IO here.

#[cfg(target_arch = "wasm32")]
mod calendar;
pub mod complete;
pub mod edit;
#[cfg(target_arch = "wasm32")]
mod lookup;
pub mod trust;
#[cfg(target_arch = "wasm32")]
pub mod worker;

use calcard::vcard::{VCard, VCardEntry, VCardProperty, VCardValue, VCardVersion};
use serde_json::{Map, Value};

pub use calcard::vcard::VCard as Card;

/// A card of a `.vcf` file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Its place in the file, from 1.
    pub position: usize,
    /// Its name (`FN`), when that much could be read.
    pub name: Option<String>,
    /// Why, in a sentence.
    pub why: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "Card {} ({name}): {}", self.position, self.why),
            None => write!(f, "Card {}: {}", self.position, self.why),
        }
    }
}

/// What a `.vcf` file held: the cards read, and a problem for each card that was not.
#[derive(Debug, Default)]
pub struct Import {
    pub cards: Vec<VCard>,
    pub problems: Vec<Problem>,
}

/// The cards of a `.vcf` file (vCard 2.1, 3 or 4; one card or many). Each card is read on its
/// own, so one broken card is reported and the others are kept.
pub fn read_vcf(text: &str) -> Import {
    let mut import = Import::default();
    for (index, chunk) in split_cards(text).into_iter().enumerate() {
        let position = index + 1;
        let name = chunk.lines().find_map(|line| {
            let (property, value) = line.split_once(':')?;
            let property = property.rsplit('.').next()?.split(';').next()?;
            property.eq_ignore_ascii_case("FN").then(|| value.trim().to_owned()).filter(|name| !name.is_empty())
        });
        match read_card(&chunk) {
            Ok(card) => import.cards.push(card),
            Err(why) => import.problems.push(Problem { position, name, why }),
        }
    }
    import
}

/// The text of each card, from its `BEGIN:VCARD` to its `END:VCARD` (or to the next card or
/// the file's end when that is missing). Text outside cards is ignored.
fn split_cards(text: &str) -> Vec<String> {
    let mut cards = Vec::new();
    let mut current: Option<String> = None;
    for line in text.trim_start_matches('\u{feff}').split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']).trim();
        if bare.eq_ignore_ascii_case("BEGIN:VCARD") {
            if let Some(unended) = current.take() {
                cards.push(unended);
            }
            current = Some(String::new());
        }
        if let Some(card) = current.as_mut() {
            card.push_str(line);
            if !line.ends_with('\n') {
                card.push_str("\r\n");
            }
            if bare.eq_ignore_ascii_case("END:VCARD") {
                cards.extend(current.take());
            }
        }
    }
    cards.extend(current);
    cards
}

fn read_card(chunk: &str) -> Result<VCard, String> {
    let ended = chunk.lines().any(|line| line.trim().eq_ignore_ascii_case("END:VCARD"));
    if !ended {
        return Err("it does not end (END:VCARD is missing), so it may be cut short.".into());
    }
    if let Some(line) = chunk.lines().find(|line| is_broken_line(line)) {
        return Err(format!("this line is not a vCard property: {:?}.", clip(line)));
    }
    let card = match calcard::Parser::new(chunk).entry() {
        calcard::Entry::VCard(card) => card,
        calcard::Entry::InvalidLine(line) => {
            return Err(format!("this line is not a vCard property: {:?}.", clip(&line)))
        }
        calcard::Entry::UnterminatedComponent(what) => return Err(format!("its {what} does not end.")),
        other => return Err(format!("it is not a contact ({}).", clip(&format!("{other:?}")))),
    };
    let summary = summary(&card);
    if summary.name.is_empty() && summary.emails.is_empty() {
        return Err("it has neither a name (FN or N) nor an email address.".into());
    }
    Ok(card)
}

/// A line that is neither a continuation (folded, starting with a space or tab), nor empty, nor
/// `NAME[;params]:value`: the usual damage of a hand-edited or cut file.
fn is_broken_line(line: &str) -> bool {
    let line = line.trim_end_matches('\r');
    if line.is_empty() || line.starts_with([' ', '\t']) {
        return false;
    }
    let Some(colon) = line.find(':') else {
        // vCard 2.1's quoted-printable soft breaks continue on a line without a colon.
        return !line.ends_with('=') && !line.chars().all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c));
    };
    let name = line[..colon].split(';').next().unwrap_or("");
    let name = name.rsplit('.').next().unwrap_or("");
    name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn clip(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// The properties a card file carries that are not the contact's (the file's frame).
fn is_frame(property: &VCardProperty) -> bool {
    matches!(property, VCardProperty::Begin | VCardProperty::End | VCardProperty::Version)
}

/// One entry as a vCard 4 line, unfolded, without its line end.
fn entry_line(entry: &VCardEntry) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = entry.write_to(&mut out, true);
    out.replace("\r\n ", "").trim_end_matches(['\r', '\n']).to_owned()
}

/// A card as a sealed item's content (see the crate's documentation).
pub fn to_content(card: &VCard) -> Value {
    let mut properties = Map::new();
    for entry in card.entries.iter().filter(|entry| !is_frame(&entry.name)) {
        let lines =
            properties.entry(entry.name.as_str().to_ascii_uppercase()).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(lines) = lines {
            lines.push(Value::String(entry_line(entry)));
        }
    }
    let mut content = Map::new();
    content.insert("vcard".into(), Value::Object(properties));
    Value::Object(content)
}

/// The card a sealed item's content holds.
pub fn from_content(content: &Value) -> Result<VCard, String> {
    let properties = content
        .get("vcard")
        .and_then(Value::as_object)
        .ok_or_else(|| "The contact has no vCard properties.".to_owned())?;
    let mut text = String::from("BEGIN:VCARD\r\nVERSION:4.0\r\n");
    for lines in properties.values() {
        for line in lines.as_array().into_iter().flatten().filter_map(Value::as_str) {
            text.push_str(line);
            text.push_str("\r\n");
        }
    }
    text.push_str("END:VCARD\r\n");
    match calcard::Parser::new(&text).entry() {
        calcard::Entry::VCard(card) => Ok(card),
        other => Err(format!("The contact's vCard does not read back: {}", clip(&format!("{other:?}")))),
    }
}

/// Cards as one vCard 4 file.
pub fn write_vcf(cards: &[VCard]) -> String {
    let mut out = String::new();
    for card in cards {
        let _ = card.write_to(&mut out, VCardVersion::V4_0);
    }
    out
}

/// What the contact list and the autocomplete read of a card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// `FN`, else `N` put together, else empty.
    pub name: String,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub organization: Option<String>,
    /// `CATEGORIES`: the groups it is in.
    pub groups: Vec<String>,
}

fn texts(entry: &VCardEntry) -> Vec<String> {
    entry
        .values
        .iter()
        .flat_map(|value| match value {
            VCardValue::Text(text) => vec![text.clone()],
            VCardValue::Component(parts) => {
                vec![parts.iter().filter(|part| !part.is_empty()).cloned().collect::<Vec<_>>().join(" ")]
            }
            _ => Vec::new(),
        })
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .collect()
}

/// The search index's folder for contacts: searching finds them beside mail, and `in:contacts`
/// finds only them.
pub const SEARCH_FOLDER: &str = "contacts";

/// The search index's id of contact `id` (`contact:` and the id), which a result row carries.
pub fn search_id(id: &str) -> String {
    format!("contact:{id}")
}

/// Contact `id` as a document of this device's search index: its name as the subject, its
/// addresses as the sender (so `from:` finds them), and the rest (phones, organisation, title,
/// groups, postal addresses, birthday, note) as the text.
pub fn search_document(id: &str, updated_at: i64, content: &Value) -> Option<plico_search::Document> {
    let fields = edit::fields(content).ok()?;
    let name = if fields.name.trim().is_empty() {
        fields.emails.first().map(|email| email.value.clone()).unwrap_or_default()
    } else {
        fields.name.clone()
    };
    let mut body: Vec<String> = Vec::new();
    body.extend(fields.phones.iter().map(|phone| phone.value.clone()));
    body.extend([fields.organization.clone(), fields.title.clone()]);
    body.extend(fields.groups.iter().cloned());
    body.extend(fields.addresses.iter().map(|address| {
        [&address.street, &address.postcode, &address.locality, &address.region, &address.country]
            .into_iter()
            .filter(|part| !part.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    }));
    body.extend([fields.birthday.clone(), fields.note.clone()]);
    body.retain(|text| !text.trim().is_empty());
    Some(plico_search::Document {
        id: search_id(id),
        date: updated_at,
        folder: SEARCH_FOLDER.to_owned(),
        flags: 0,
        subject: name.clone(),
        from: fields.emails.iter().map(|email| format!("{name} <{}>", email.value)).collect(),
        to: Vec::new(),
        body: body.join("\n"),
        attachments: Vec::new(),
    })
}

/// The card's name, addresses, phones, organisation and groups.
pub fn summary(card: &VCard) -> Summary {
    let mut summary = Summary::default();
    let mut structured = None;
    for entry in &card.entries {
        match entry.name {
            VCardProperty::Fn if summary.name.is_empty() => summary.name = texts(entry).join(" "),
            VCardProperty::N if structured.is_none() => {
                // N is family; given; additional; prefixes; suffixes.
                let parts: Vec<String> = entry
                    .values
                    .iter()
                    .map(|value| match value {
                        VCardValue::Text(text) => text.clone(),
                        VCardValue::Component(parts) => parts.join(" "),
                        _ => String::new(),
                    })
                    .collect();
                let order = [3, 1, 2, 0, 4];
                let name: Vec<&str> =
                    order.iter().filter_map(|&i| parts.get(i)).map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
                structured = Some(name.join(" "));
            }
            VCardProperty::Email => summary.emails.extend(texts(entry)),
            VCardProperty::Tel => summary.phones.extend(texts(entry)),
            VCardProperty::Org if summary.organization.is_none() => {
                summary.organization = Some(texts(entry).join(" ")).filter(|org| !org.is_empty())
            }
            VCardProperty::Categories => summary.groups.extend(texts(entry)),
            _ => {}
        }
    }
    if summary.name.is_empty() {
        summary.name = structured.unwrap_or_default();
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_without_its_end_or_with_a_broken_line_is_reported_by_position_and_name() {
        let file = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Good One\r\nEMAIL:good@example.org\r\nEND:VCARD\r\n\
                    BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Broken Line\r\nthis is not a property\r\nEND:VCARD\r\n\
                    BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Cut Short\r\nEMAIL:cut@example.org\r\n";
        let import = read_vcf(file);
        assert_eq!(import.cards.len(), 1);
        assert_eq!(summary(&import.cards[0]).emails, ["good@example.org"]);
        let report: Vec<String> = import.problems.iter().map(ToString::to_string).collect();
        assert_eq!(report.len(), 2, "{report:?}");
        assert!(report[0].starts_with("Card 2 (Broken Line): this line is not a vCard property"), "{report:?}");
        assert!(report[1].starts_with("Card 3 (Cut Short): it does not end"), "{report:?}");
    }

    #[test]
    fn a_card_with_no_name_and_no_address_is_refused() {
        let import = read_vcf("BEGIN:VCARD\nVERSION:4.0\nNOTE:who?\nEND:VCARD\n");
        assert!(import.cards.is_empty());
        assert_eq!(import.problems[0].why, "it has neither a name (FN or N) nor an email address.");
    }

    #[test]
    fn the_name_comes_from_n_when_fn_is_missing() {
        let import = read_vcf("BEGIN:VCARD\nVERSION:3.0\nN:Lovelace;Ada;King;Countess;\nEND:VCARD\n");
        assert_eq!(summary(&import.cards[0]).name, "Countess Ada King Lovelace");
    }

    #[test]
    fn a_contact_is_a_search_document_in_the_contacts_folder() {
        let card = read_vcf(
            "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada Lovelace\r\nEMAIL;TYPE=work:ada@example.org\r\n\
             TEL:+44 20 7946 0000\r\nORG:Analytical Engines\r\nNOTE:Wrote the first program.\r\n\
             CATEGORIES:Pioneers\r\nEND:VCARD\r\n",
        )
        .cards
        .remove(0);
        let document = search_document("c1", 42, &to_content(&card)).expect("a document");
        assert_eq!((document.id.as_str(), document.folder.as_str(), document.date), ("contact:c1", "contacts", 42));
        assert_eq!(document.subject, "Ada Lovelace");
        assert_eq!(document.from, ["Ada Lovelace <ada@example.org>"]);
        for text in ["+44 20 7946 0000", "Analytical Engines", "Wrote the first program.", "Pioneers"] {
            assert!(document.body.contains(text), "{text} in {:?}", document.body);
        }
        assert!(search_document("c2", 0, &serde_json::json!({"not": "a card"})).is_none());
    }
}
