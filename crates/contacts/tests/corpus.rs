//! vCard files in the shapes Google Contacts (3.0), Apple Contacts (3.0, grouped labels, a
//! photo) and Thunderbird (4.0) write: every card is read, and every property (unknown `X-`
//! ones and Apple's `itemN.` groups included) survives the trip through a sealed item's content
//! and out again as a vCard 4 file.

use plico_contacts::{from_content, read_vcf, summary, to_content, write_vcf, Card};

fn corpus(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).expect("sample")
}

/// Each property of a card as vCard 4 writes it, frame left out, sorted.
fn lines(card: &Card) -> Vec<String> {
    let mut out = String::new();
    card.write_to(&mut out, calcard::vcard::VCardVersion::V4_0).expect("writes");
    let mut lines: Vec<String> = out
        .replace("\r\n ", "")
        .lines()
        .filter(|line| !["BEGIN:VCARD", "END:VCARD", "VERSION:4.0"].contains(line))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

#[test]
fn every_property_of_every_vendor_sample_survives_a_round_trip() {
    for (file, cards, must_hold) in [
        ("google.vcf", 2, vec!["X-PHONETIC-LAST-NAME", "ITEM1.X-ABLABEL", "CATEGORIES", "NICKNAME", "ADR"]),
        ("apple.vcf", 1, vec!["PHOTO", "ITEM1.X-ABLABEL", "X-ABUID", "X-SOCIALPROFILE", "ITEM2.X-ABADR", "PRODID"]),
        ("thunderbird.vcf", 1, vec!["UID", "X-CUSTOM1", "EMAIL;PREF=1"]),
    ] {
        let import = read_vcf(&corpus(file));
        assert!(import.problems.is_empty(), "{file}: {:?}", import.problems);
        assert_eq!(import.cards.len(), cards, "{file}");
        let before: Vec<Vec<String>> = import.cards.iter().map(lines).collect();
        let flat = before.concat().join("\n").to_uppercase();
        for property in must_hold {
            assert!(flat.contains(&property.to_uppercase()), "{file} lost {property}: {flat}");
        }

        // Through the item content (JSON, as sealed) and back.
        let contents: Vec<serde_json::Value> = import.cards.iter().map(to_content).collect();
        let json = serde_json::to_string(&contents).expect("json");
        let contents: Vec<serde_json::Value> = serde_json::from_str(&json).expect("json");
        let back: Vec<Card> = contents.iter().map(|content| from_content(content).expect("reads back")).collect();
        assert_eq!(back.iter().map(lines).collect::<Vec<_>>(), before, "{file}: through the item content");

        // Out as one .vcf file and in again.
        let exported = write_vcf(&back);
        assert!(exported.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"), "{file}: {exported}");
        let again = read_vcf(&exported);
        assert!(again.problems.is_empty(), "{file}: {:?}", again.problems);
        assert_eq!(again.cards.iter().map(lines).collect::<Vec<_>>(), before, "{file}: through the export");
        for (card, first) in again.cards.iter().zip(&import.cards) {
            assert_eq!(summary(card), summary(first), "{file}");
        }
    }
}

#[test]
fn the_summaries_read_what_the_list_and_the_composer_need() {
    let google = read_vcf(&corpus("google.vcf"));
    let ada = summary(&google.cards[0]);
    assert_eq!(ada.name, "Ada Lovelace");
    assert_eq!(ada.emails, ["ada@analytical.example", "countess@lovelace.example"]);
    assert_eq!(ada.phones, ["+44 20 7946 0018"]);
    assert_eq!(ada.organization.as_deref(), Some("Analytical Engine Society"));
    assert_eq!(ada.groups, ["myContacts", "Family"]);
    let apple = read_vcf(&corpus("apple.vcf"));
    let grace = summary(&apple.cards[0]);
    assert_eq!(
        (grace.name.as_str(), grace.emails.as_slice()),
        ("Grace Hopper", &["grace@navy.example".to_owned()][..])
    );
    assert_eq!(grace.organization.as_deref(), Some("US Navy Computing"));
}

#[test]
fn a_file_of_many_cards_with_broken_ones_keeps_the_good_ones_and_names_the_rest() {
    let mut file = corpus("google.vcf");
    file.push_str("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Mangled Entry\r\nEMAIL this has no colon\r\nEND:VCARD\r\n");
    file.push_str(&corpus("thunderbird.vcf"));
    file.push_str("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Truncated Download\r\nEMAIL:trunc");
    let import = read_vcf(&file);
    let names: Vec<String> = import.cards.iter().map(|card| summary(card).name).collect();
    assert_eq!(names, ["Ada Lovelace", "Charles Babbage", "Alan Turing"]);
    let report: Vec<String> = import.problems.iter().map(ToString::to_string).collect();
    assert_eq!(report.len(), 2, "{report:?}");
    assert!(report[0].starts_with("Card 3 (Mangled Entry): this line is not a vCard property"), "{report:?}");
    assert!(report[1].starts_with("Card 5 (Truncated Download): it does not end"), "{report:?}");
    // Not a vCard at all.
    let calendar = read_vcf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n");
    assert!(calendar.cards.is_empty() && calendar.problems.is_empty());
}
