use super::*;

const DAY: i64 = 86_400;
const JAN_1_2026: i64 = 1_767_225_600;

fn doc(id: &str, day: i64, from: &str, subject: &str, body: &str) -> Document {
    Document {
        id: id.into(),
        date: JAN_1_2026 + day * DAY,
        folder: "inbox".into(),
        flags: 0,
        subject: subject.into(),
        from: vec![from.into()],
        to: vec!["Bob Berg <bob@plico.test>".into()],
        body: body.into(),
        attachments: Vec::new(),
    }
}

/// A small mailbox in the five languages.
fn corpus() -> Vec<Document> {
    let mut invoice = doc(
        "en-invoice",
        3,
        "Alice Martin <alice@plico.test>",
        "Invoice for March",
        "Hello Bob, please find the invoice attached. The quarterly figures look good.",
    );
    invoice.attachments = vec!["invoice-march.pdf".into()];
    invoice.flags = flags::UNREAD;
    let mut meeting = doc(
        "en-meeting",
        10,
        "Carol <carol@example.org>",
        "Meetings next week",
        "We are meeting on Tuesday to plan the budget. Planning starts early.",
    );
    meeting.flags = flags::STARRED;
    let fr = doc(
        "fr-reunion",
        5,
        "Élodie Dupré <elodie@exemple.fr>",
        "Réunion de l'équipe",
        "Bonjour, la réunion est réservée pour jeudi. Les chiffres trimestriels sont prêts.",
    );
    let de = doc(
        "de-rechnung",
        7,
        "Jörg Schäfer <joerg@beispiel.de>",
        "Rechnungen für Häuser",
        "Hallo Bob, anbei die Rechnung für die Häuser in München. Größe und Straße stimmen.",
    );
    let nl = doc(
        "nl-vergadering",
        8,
        "Daan de Vries <daan@voorbeeld.nl>",
        "Vergaderingen",
        "Hoi Bob, de vergadering over de boeken is morgen. Tot dan!",
    );
    let mut sv = doc(
        "sv-faktura",
        9,
        "Åsa Öberg <asa@exempel.se>",
        "Fakturorna från Malmö",
        "Hej Bob, här är fakturan för mötet. Bilarna är klara.",
    );
    sv.folder = "work".into();
    vec![invoice, meeting, fr, de, nl, sv]
}

fn index() -> Index {
    let mut index = Index::new();
    for document in corpus() {
        index.add(&document);
    }
    index
}

fn folders(name: &str) -> Vec<String> {
    match name.to_lowercase().as_str() {
        "inbox" => vec!["inbox".into()],
        "work" => vec!["work".into()],
        _ => Vec::new(),
    }
}

fn ids(index: &mut Index, query: &str) -> Vec<String> {
    let results = index.search_text(query, &folders, 50).expect("query parses");
    results.hits.into_iter().map(|hit| hit.id).collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[test]
fn every_word_must_match_case_and_accents_do_not_matter() {
    let mut index = index();
    assert_eq!(ids(&mut index, "invoice quarterly "), ["en-invoice"]);
    assert_eq!(ids(&mut index, "INVOICE unicorn "), Vec::<String>::new());
    assert_eq!(ids(&mut index, "reunion equipe "), ["fr-reunion"]);
    assert_eq!(ids(&mut index, "Réunion ÉQUIPE "), ["fr-reunion"]);
    assert_eq!(ids(&mut index, "grosse strasse munchen "), ["de-rechnung"]);
    assert_eq!(ids(&mut index, "malmö "), ["sv-faktura"]);
    assert_eq!(ids(&mut index, "Malmo "), ["sv-faktura"]);
    assert_eq!(
        sorted(ids(&mut index, "bob ")),
        ["de-rechnung", "en-invoice", "en-meeting", "fr-reunion", "nl-vergadering", "sv-faktura"]
    );
}

#[test]
fn light_stemming_in_five_languages() {
    let mut index = index();
    assert_eq!(sorted(ids(&mut index, "meeting ")), ["en-meeting"]);
    assert_eq!(ids(&mut index, "plans "), ["en-meeting"], "plan, planning");
    assert_eq!(ids(&mut index, "invoices "), ["en-invoice"]);
    assert_eq!(ids(&mut index, "reunions reserve "), ["fr-reunion"]);
    assert_eq!(ids(&mut index, "haus rechnung "), ["de-rechnung"]);
    assert_eq!(ids(&mut index, "vergadering boek "), ["nl-vergadering"]);
    assert_eq!(ids(&mut index, "faktura bil "), ["sv-faktura"]);
}

#[test]
fn the_last_word_is_a_prefix_while_typing() {
    let mut index = index();
    assert_eq!(ids(&mut index, "quart"), ["en-invoice"]);
    assert_eq!(ids(&mut index, "quart "), Vec::<String>::new(), "a finished word is a word");
    assert_eq!(ids(&mut index, "bob vergad"), ["nl-vergadering"]);
    assert_eq!(ids(&mut index, "from:elo"), ["fr-reunion"]);
}

#[test]
fn phrases_and_exclusions() {
    let mut index = index();
    assert_eq!(ids(&mut index, "\"quarterly figures\""), ["en-invoice"]);
    assert_eq!(ids(&mut index, "\"figures quarterly\""), Vec::<String>::new(), "order matters");
    assert_eq!(ids(&mut index, "\"invoice figures\""), Vec::<String>::new(), "not adjacent");
    assert_eq!(ids(&mut index, "\"find the invoice\""), ["en-invoice"]);
    assert_eq!(ids(&mut index, "\"la réunion est\""), ["fr-reunion"]);
    assert_eq!(
        sorted(ids(&mut index, "bob -rechnung -vergadering -fakturan ")),
        ["en-invoice", "en-meeting", "fr-reunion"]
    );
    assert_eq!(ids(&mut index, "bob -\"quarterly figures\" -reunion -rechnung -vergadering -faktura "), ["en-meeting"]);
    // Addresses are phrases of their parts.
    assert_eq!(ids(&mut index, "alice@plico.test "), ["en-invoice"]);
    assert_eq!(ids(&mut index, "from:plico.test "), ["en-invoice"], "a domain is a phrase of its parts");
}

#[test]
fn fields_and_filters() {
    let mut index = index();
    assert_eq!(ids(&mut index, "from:alice "), ["en-invoice"]);
    assert_eq!(ids(&mut index, "from:bob "), Vec::<String>::new(), "Bob is only a recipient");
    assert_eq!(ids(&mut index, "to:bob from:\"Jörg Schäfer\" "), ["de-rechnung"]);
    assert_eq!(ids(&mut index, "subject:invoice "), ["en-invoice"]);
    assert_eq!(ids(&mut index, "subject:quarterly "), Vec::<String>::new(), "only in the body");
    assert_eq!(ids(&mut index, "has:attachment "), ["en-invoice"]);
    assert_eq!(ids(&mut index, "march.pdf "), ["en-invoice"], "a file name is a phrase of its parts");
    assert_eq!(ids(&mut index, "pdf "), ["en-invoice"], "attachment names are indexed");
    assert_eq!(ids(&mut index, "is:unread "), ["en-invoice"]);
    assert_eq!(ids(&mut index, "is:starred "), ["en-meeting"]);
    assert_eq!(ids(&mut index, "in:work "), ["sv-faktura"]);
    assert_eq!(ids(&mut index, "in:nowhere "), Vec::<String>::new());
    assert_eq!(ids(&mut index, "bob -in:inbox "), ["sv-faktura"]);
    // Received on January 4, 6, 8, 9, 10 and 11 of 2026.
    assert_eq!(sorted(ids(&mut index, "after:2026-01-08 before:2026-01-10 ")), ["de-rechnung", "nl-vergadering"]);
    assert_eq!(ids(&mut index, "before:2026-01-05 "), ["en-invoice"]);
    // Filters alone list newest first.
    assert_eq!(
        ids(&mut index, "in:inbox "),
        ["en-meeting", "nl-vergadering", "de-rechnung", "fr-reunion", "en-invoice"]
    );
}

#[test]
fn ranking_prefers_the_subject_rare_words_then_recency() {
    let mut index = Index::new();
    index.add(&doc("body-old", 1, "a@x.test", "Hello", "the budget is attached"));
    index.add(&doc("subject", 2, "a@x.test", "Budget", "see below"));
    index.add(&doc("body-new", 3, "a@x.test", "Hello", "the budget is attached"));
    assert_eq!(ids(&mut index, "budget "), ["subject", "body-new", "body-old"]);
    let results = index.search_text("budget ", &folders, 2).expect("parses");
    assert_eq!(results.total, 3, "the total counts past the limit");
    assert_eq!(results.hits.len(), 2);
}

#[test]
fn snippets_mark_the_matched_words() {
    let mut index = index();
    let results = index.search_text("quarterly invoice", &folders, 5).expect("parses");
    let hit = &results.hits[0];
    assert_eq!(hit.subject.text, "Invoice for March");
    assert_eq!(hit.subject.marks, [(0, 7)]);
    let marked: Vec<&str> =
        hit.snippet.marks.iter().map(|&(start, end)| &hit.snippet.text[start as usize..end as usize]).collect();
    assert_eq!(marked, ["invoice", "quarterly"]);
    let results = index.search_text("reunion", &folders, 5).expect("parses");
    let hit = &results.hits[0];
    assert_eq!(&hit.subject.text[hit.subject.marks[0].0 as usize..hit.subject.marks[0].1 as usize], "Réunion");
}

#[test]
fn long_bodies_keep_a_short_excerpt_and_snippets_find_their_window() {
    let mut index = Index::new();
    let body = format!("{} the needle is here {}", "filler words ".repeat(10), "more filler ".repeat(100));
    index.add(&doc("long", 1, "a@x.test", "Long", &body));
    let results = index.search_text("needle ", &folders, 5).expect("parses");
    let snippet = &results.hits[0].snippet;
    assert!(snippet.text.chars().count() <= 170, "{}", snippet.text);
    assert!(snippet.text.ends_with('…'));
    let (start, end) = snippet.marks[0];
    assert_eq!(&snippet.text[start as usize..end as usize], "needle");
}

#[test]
fn remove_update_and_replace() {
    let mut index = index();
    assert!(index.remove("en-invoice"));
    assert!(!index.remove("en-invoice"));
    assert_eq!(ids(&mut index, "invoice "), Vec::<String>::new());
    assert_eq!(index.len(), 5);
    assert!(index.update("en-meeting", "archive", flags::UNREAD));
    assert_eq!(ids(&mut index, "is:unread "), ["en-meeting"]);
    assert_eq!(ids(&mut index, "is:starred "), Vec::<String>::new());
    let mut replaced = doc("en-meeting", 11, "Carol <carol@example.org>", "Cancelled", "no meeting after all");
    replaced.folder = "inbox".into();
    index.add(&replaced);
    assert_eq!(index.len(), 5);
    assert_eq!(ids(&mut index, "cancelled "), ["en-meeting"]);
    assert_eq!(ids(&mut index, "budget "), Vec::<String>::new(), "the old text is gone");
}

fn all_queries() -> Vec<&'static str> {
    vec![
        "bob ",
        "invoice ",
        "meeting ",
        "\"quarterly figures\"",
        "from:alice ",
        "has:attachment ",
        "is:unread ",
        "in:work ",
        "rech",
        "-bob ",
        "cancelled ",
        "after:2026-01-06 ",
    ]
}

fn snapshot(index: &mut Index) -> Vec<Vec<String>> {
    all_queries().into_iter().map(|query| ids(index, query)).collect()
}

#[test]
fn segments_replay_to_the_same_index() {
    let mut index = Index::new();
    let documents = corpus();
    let mut segments = Vec::new();
    for document in &documents[..3] {
        index.add(document);
    }
    segments.push(index.take_segment().expect("three documents"));
    assert!(index.take_segment().is_none(), "nothing new");
    for document in &documents[3..] {
        index.add(document);
    }
    index.remove("fr-reunion");
    index.update("en-meeting", "inbox", flags::UNREAD);
    // Added and removed before its segment was written.
    index.add(&doc("ephemeral", 12, "e@x.test", "Ephemeral", "gone soon"));
    index.remove("ephemeral");
    segments.push(index.take_segment().expect("changes"));
    index.add(&doc("en-meeting", 11, "Carol <carol@example.org>", "Cancelled", "no meeting after all"));
    segments.push(index.take_segment().expect("a replacement"));

    let mut replayed = Index::new();
    for segment in &segments {
        replayed.apply_segment(segment).expect("applies");
    }
    assert_eq!(replayed.len(), index.len());
    assert_eq!(snapshot(&mut replayed), snapshot(&mut index));
    assert_eq!(ids(&mut replayed, "reunion "), Vec::<String>::new());
    assert_eq!(ids(&mut replayed, "ephemeral "), Vec::<String>::new());

    // Replayed, it goes on growing: new segments continue where the stored ones end.
    replayed.add(&doc("later", 20, "z@x.test", "Later", "the budget again"));
    index.add(&doc("later", 20, "z@x.test", "Later", "the budget again"));
    let fourth = replayed.take_segment().expect("one more");
    let mut again = Index::new();
    for segment in segments.iter().chain([&fourth]) {
        again.apply_segment(segment).expect("applies");
    }
    assert_eq!(snapshot(&mut again), snapshot(&mut index));
    assert_eq!(ids(&mut again, "budget "), ["later"]);
}

#[test]
fn a_snapshot_replaces_the_log_without_the_removed() {
    let mut index = index();
    index.take_segment();
    index.remove("fr-reunion");
    index.remove("de-rechnung");
    index.update("en-meeting", "work", flags::UNREAD);
    let before = index.posting_bytes();
    let snapshot = index.snapshot();
    assert!(index.posting_bytes() < before, "the removed documents' postings are gone");
    let mut replayed = Index::new();
    replayed.apply_segment(&snapshot).expect("applies");
    assert_eq!(snapshot_of(&mut replayed), snapshot_of(&mut index));
    assert_eq!(ids(&mut replayed, "in:work "), ["en-meeting", "sv-faktura"]);
    // The log goes on after a snapshot.
    index.add(&doc("after", 30, "z@x.test", "After", "the snapshot"));
    let next = index.take_segment().expect("one more");
    replayed.apply_segment(&next).expect("applies after the snapshot");
    assert_eq!(snapshot_of(&mut replayed), snapshot_of(&mut index));
    assert_eq!(ids(&mut replayed, "snapshot "), ["after"]);

    let mut empty = Index::new();
    let bytes = empty.snapshot();
    Index::new().apply_segment(&bytes).expect("an empty snapshot applies");
}

#[test]
fn a_snapshot_in_small_pieces_replays_to_the_same_index() {
    let mut index = index();
    index.remove("de-rechnung");
    let expected = snapshot_of(&mut index);
    let mut writer = index.begin_snapshot();
    let mut pieces = Vec::new();
    while let Some(piece) = index.snapshot_piece(&mut writer, 300) {
        pieces.push(piece);
    }
    assert!(pieces.len() > 3, "{} pieces", pieces.len());
    let mut replayed = Index::new();
    for piece in &pieces {
        replayed.apply_segment(piece).expect("each piece is a segment");
    }
    assert_eq!(snapshot_of(&mut replayed), expected);
    assert_eq!(snapshot_of(&mut index), expected);
    // Both go on from there alike.
    index.add(&doc("next", 40, "z@x.test", "Next", "after pieces"));
    replayed.apply_segment(&index.take_segment().expect("one more")).expect("applies");
    assert_eq!(ids(&mut replayed, "pieces "), ["next"]);
}

fn snapshot_of(index: &mut Index) -> Vec<Vec<String>> {
    snapshot(index)
}

#[test]
fn damaged_or_reordered_segments_are_refused_and_change_nothing() {
    let mut index = Index::new();
    let documents = corpus();
    index.add(&documents[0]);
    let first = index.take_segment().expect("one");
    index.add(&documents[1]);
    let second = index.take_segment().expect("two");

    let mut fresh = Index::new();
    assert!(fresh.apply_segment(&second).is_err(), "the second before the first");
    assert!(fresh.is_empty());
    for cut in [0, 3, 10, first.len() / 2, first.len() - 1] {
        assert!(fresh.apply_segment(&first[..cut]).is_err(), "cut at {cut}");
        assert!(fresh.is_empty() && fresh.term_count() == 0, "cut at {cut} changed the index");
    }
    fresh.apply_segment(&first).expect("the real one applies");
    fresh.apply_segment(&second).expect("and then the next");
    assert_eq!(fresh.len(), 2);
    let error = fresh.apply_segment(b"hello").expect_err("not a segment");
    assert!(error.to_string().contains("damaged"));
}

#[test]
fn bad_queries_name_what_is_wrong() {
    let mut index = index();
    let error = index.search_text("before:tomorrow ", &folders, 5).expect_err("bad date");
    assert!(error.to_string().contains("tomorrow"));
}

#[test]
fn postings_are_compact() {
    // 200 documents of 60 words each: postings and positions under 4 bytes per word.
    let mut index = Index::new();
    let words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"];
    let mut text_bytes = 0;
    for n in 0..200 {
        let body: Vec<&str> = (0..60).map(|i| words[(n * 7 + i * 3) % words.len()]).collect();
        let body = body.join(" ");
        text_bytes += body.len();
        index.add(&doc(&format!("d{n}"), n as i64, "a@x.test", "s", &body));
    }
    let per_word = index.posting_bytes() as f64 / (200.0 * 63.0);
    assert!(per_word < 2.0, "{per_word} bytes per word");
    assert!(index.posting_bytes() < text_bytes / 3);
}

#[test]
fn words_short_and_long_keep_their_own_ids() {
    // 15 bytes is the longest packed key, 16 the shortest looked up by text; a packed key holds
    // its length, so "ab" and "ab\0" differ.
    let fifteen = "abcdefghijklmno";
    let sixteen = "abcdefghijklmnop";
    let mut table = TermIds::default();
    for (id, term) in ["ab", "ab\0", fifteen, sixteen, "é", "größenordnungsprobleme"].iter().enumerate() {
        assert_eq!(table.get(term), None, "{term:?} before it was inserted");
        table.insert(term, id as u32);
    }
    for (id, term) in ["ab", "ab\0", fifteen, sixteen, "é", "größenordnungsprobleme"].iter().enumerate() {
        assert_eq!(table.get(term), Some(id as u32), "{term:?}");
    }
    assert_eq!(table.get("abcdefghijklmn"), None);
    assert_eq!(table.get("abcdefghijklmnopq"), None);

    let mut index = Index::new();
    index.add(&doc("long", 1, "a@plico.test", "Kilowattstundenzähler", "Kilowattstundenzähler short words"));
    assert_eq!(ids(&mut index, "kilowattstundenzahler"), ["long"]);
    assert_eq!(ids(&mut index, "short"), ["long"]);
}

#[test]
fn a_folders_documents_are_listed_for_removal() {
    let mut index = Index::new();
    for document in corpus() {
        index.add(&document);
    }
    let contact = Document { folder: "contacts".into(), ..doc("contact:1", 3, "Ada <ada@example.org>", "Ada", "") };
    index.add(&contact);
    assert_eq!(index.ids_in("contacts"), ["contact:1"]);
    assert!(index.ids_in("nowhere").is_empty());
    index.remove("contact:1");
    assert!(index.ids_in("contacts").is_empty());
}
