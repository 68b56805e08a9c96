//! iMIP round trips: requests from Google, Outlook, Thunderbird and Plico, answered; answers
//! applied to the organiser's copy only when they are the verified sender's own; updates and
//! cancellations applied to the attendee's copy.

use chrono::NaiveDateTime;
use plico_calendar::event::{self, Answer, EventFields, Person};
use plico_calendar::imip::{self, Method};
use plico_calendar::occurrences;

const NOW: i64 = 1_796_000_000;

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).expect("test data")
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("a test time")
}

fn answers(series: &plico_calendar::Calendar) -> Vec<(String, Answer)> {
    let index = event::event_index(series).expect("an event");
    event::fields(series, index).attendees.into_iter().map(|a| (a.email, a.answer)).collect()
}

#[test]
fn a_google_invitation_is_accepted_and_the_answer_reaches_the_organisers_copy() {
    let request = imip::read_itip(&data("google-request.ics")).expect("Google's request reads");
    assert_eq!(request.method, Method::Request);
    assert_eq!(request.uid, "7kukuqrfedlm2f9t0vr42q2vbh@google.com");
    let fields = event::fields(&request.series, event::event_index(&request.series).expect("event"));
    assert_eq!(fields.title, "Compiler sync");
    assert_eq!(fields.location, "Room 4, Building B");
    assert_eq!(fields.rule.as_deref(), Some("FREQ=WEEKLY;BYDAY=MO"));
    assert_eq!(fields.reminders, [10]);

    let reply_text = imip::reply(&request, "bob@plico.test", Answer::Accepted, None, NOW).expect("bob is invited");
    assert!(reply_text.contains("METHOD:REPLY\r\n"));
    assert!(!reply_text.contains("BEGIN:VALARM"), "the attendee's alarms stay home");
    let reply = imip::read_itip(&reply_text).expect("the reply reads");
    assert_eq!(reply.method, Method::Reply);
    assert_eq!((reply.uid.as_str(), reply.sequence), (request.uid.as_str(), request.sequence));
    let replied = event::fields(&reply.series, event::event_index(&reply.series).expect("event"));
    assert_eq!(replied.attendees.len(), 1, "a reply names only who answers");
    assert_eq!(replied.attendees[0].answer, Answer::Accepted);

    // Grace's copy is the request; her calendar applies Bob's verified answer.
    let mut graces = request.series.clone();
    let done = imip::apply_reply(&mut graces, &reply, "bob@plico.test", true, NOW).expect("applies");
    assert_eq!((done.attendee.as_str(), done.answer), ("bob@plico.test", Answer::Accepted));
    assert_eq!(
        answers(&graces),
        [("grace@gmail.example".to_owned(), Answer::Accepted), ("bob@plico.test".to_owned(), Answer::Accepted)]
    );
    assert_eq!(event::fields(&graces, 1).sequence, 0, "an answer does not raise SEQUENCE");
}

#[test]
fn an_answer_from_someone_else_unverified_or_for_an_older_version_is_refused() {
    let request = imip::read_itip(&data("google-request.ics")).expect("reads");
    let reply = imip::read_itip(&imip::reply(&request, "bob@plico.test", Answer::Declined, None, NOW).expect("reply"))
        .expect("reads");
    let mut copy = request.series.clone();
    let before = copy.to_string();
    let forged = imip::apply_reply(&mut copy, &reply, "mallory@evil.example", true, NOW).expect_err("forged");
    assert_eq!(forged, "it answers for bob@plico.test, but came from mallory@evil.example");
    let unverified = imip::apply_reply(&mut copy, &reply, "bob@plico.test", false, NOW).expect_err("unverified");
    assert!(unverified.contains("does not prove it came from bob@plico.test"), "{unverified}");
    // The organiser moved the event since: the answer is for sequence 0, the copy is at 1.
    let index = event::event_index(&copy).expect("event");
    let mut moved = event::fields(&copy, index);
    moved.start = at("2027-01-11 11:00");
    moved.end = at("2027-01-11 11:30");
    event::set_fields(&mut copy, index, &moved, NOW);
    let moved_text = copy.to_string();
    let stale = imip::apply_reply(&mut copy, &reply, "bob@plico.test", true, NOW).expect_err("stale");
    assert!(stale.contains("older version"), "{stale}");
    assert_eq!(copy.to_string(), moved_text, "a refused answer changes nothing");
    assert_ne!(before, moved_text);
}

#[test]
fn an_outlook_invitation_is_answered_tentatively_with_a_comment() {
    let request = imip::read_itip(&data("outlook-request.ics")).expect("Outlook's request reads");
    let text = imip::reply(&request, "BOB@plico.test", Answer::Tentative, Some("Maybe; I travel that week"), NOW)
        .expect("reply");
    let reply = imip::read_itip(&text).expect("reads");
    let replied = event::fields(&reply.series, event::event_index(&reply.series).expect("event"));
    assert_eq!(
        replied.attendees,
        [Person { email: "bob@plico.test".into(), name: Some("Bob Plico".into()), answer: Answer::Tentative }]
    );
    assert!(text.contains("COMMENT:Maybe\\; I travel that week"), "{text}");
    assert!(text.contains("BEGIN:VTIMEZONE"), "its zone goes with it");
    let not_invited = imip::reply(&request, "eve@plico.test", Answer::Accepted, None, NOW).expect_err("not invited");
    assert!(not_invited.contains("eve@plico.test is not among"), "{not_invited}");
}

#[test]
fn a_thunderbird_invitation_then_its_update_then_a_resend_keep_the_attendees_answer_and_alarms() {
    let request = imip::read_itip(&data("thunderbird-request.ics")).expect("Thunderbird's request reads");
    let mut mine = imip::apply_request(None, &request, "bob@plico.test", NOW).expect("a new event");
    let index = event::event_index(&mine).expect("event");
    assert!(event::set_answer(&mut mine, index, "bob@plico.test", Answer::Accepted, NOW));
    let mut fields = event::fields(&mine, index);
    fields.reminders = vec![30];
    event::set_fields(&mut mine, index, &fields, NOW);

    // The same version again (Konrad resent it): Bob's answer and reminder stay.
    let again = imip::apply_request(Some(&mine), &request, "bob@plico.test", NOW).expect("applies");
    let kept = event::fields(&again, event::event_index(&again).expect("event"));
    assert!(kept.attendees.iter().any(|a| a.email == "bob@plico.test" && a.answer == Answer::Accepted));
    assert_eq!(kept.reminders, [30]);

    // An update with a new time (SEQUENCE 1) replaces it, asking again.
    let updated_text = data("thunderbird-request.ics")
        .replace("SEQUENCE:0", "SEQUENCE:1")
        .replace("20270120T120000", "20270121T120000")
        .replace("20270120T130000", "20270121T130000");
    let update = imip::read_itip(&updated_text).expect("reads");
    let newer = imip::apply_request(Some(&again), &update, "bob@plico.test", NOW).expect("applies");
    let newer_fields = event::fields(&newer, event::event_index(&newer).expect("event"));
    assert_eq!(newer_fields.start, at("2027-01-21 12:00"));
    assert!(newer_fields.attendees.iter().any(|a| a.email == "bob@plico.test" && a.answer == Answer::NeedsAction));
    // The older request arriving late is ignored.
    let late = imip::apply_request(Some(&newer), &request, "bob@plico.test", NOW).expect_err("older");
    assert!(late.contains("older version"), "{late}");
}

#[test]
fn a_google_cancellation_of_one_occurrence_removes_it_and_a_cancellation_of_all_removes_the_event() {
    let request = imip::read_itip(&data("google-request.ics")).expect("reads");
    let mine = imip::apply_request(None, &request, "bob@plico.test", NOW).expect("new");
    let cancel = imip::read_itip(&data("google-cancel-occurrence.ics")).expect("Google's cancel reads");
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(cancel.recurrence_id, Some(at("2027-01-18 10:00")));
    let after = imip::apply_cancel(&mine, &cancel, NOW).expect("applies").expect("the rest stays");
    let la: chrono_tz::Tz = "America/Los_Angeles".parse().expect("zone");
    let from = at("2027-01-10 00:00").and_utc().timestamp();
    let to = at("2027-02-01 00:00").and_utc().timestamp();
    let days: Vec<String> = occurrences(&after, la, from, to)
        .0
        .iter()
        .map(|o| {
            chrono::DateTime::from_timestamp(o.start, 0)
                .expect("time")
                .with_timezone(&la)
                .format("%d %H:%M")
                .to_string()
        })
        .collect();
    assert_eq!(days, ["11 10:00", "25 10:00"]);

    let whole =
        data("google-cancel-occurrence.ics").replace("RECURRENCE-ID;TZID=America/Los_Angeles:20270118T100000\n", "");
    let whole = imip::read_itip(&whole).expect("reads");
    assert!(imip::apply_cancel(&mine, &whole, NOW).expect("applies").is_none(), "the whole event goes");
}

#[test]
fn a_plico_organiser_invites_cancels_one_occurrence_and_then_all() {
    let organizer = Person { email: "alice@plico.test".into(), name: Some("Alice".into()), answer: Answer::Accepted };
    let fields = EventFields {
        rule: Some("FREQ=WEEKLY;COUNT=4".into()),
        organizer: Some(organizer.clone()),
        attendees: vec![organizer, Person { email: "bob@plico.test".into(), name: None, answer: Answer::NeedsAction }],
        location: "Café, upstairs".into(),
        ..EventFields::new("Book club", at("2027-02-02 19:00"), at("2027-02-02 20:30"), Some("Europe/Amsterdam"))
    };
    let mut alices = event::new_series("club@plico.test", &fields, NOW);
    let text = imip::request(&alices);
    assert!(text.contains("METHOD:REQUEST\r\n") && text.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Amsterdam"), "{text}");
    assert!(text.contains("ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@plico.test"), "{text}");
    let request = imip::read_itip(&text).expect("Plico's request reads");
    let bobs = imip::apply_request(None, &request, "bob@plico.test", NOW).expect("new");

    let reply = imip::read_itip(&imip::reply(&request, "bob@plico.test", Answer::Declined, None, NOW).expect("reply"))
        .expect("reads");
    imip::apply_reply(&mut alices, &reply, "bob@plico.test", true, NOW).expect("applies");
    assert!(answers(&alices).contains(&("bob@plico.test".into(), Answer::Declined)));

    let one = imip::read_itip(&imip::cancel(&alices, Some(at("2027-02-09 19:00")), NOW)).expect("reads");
    assert_eq!(one.recurrence_id, Some(at("2027-02-09 19:00")));
    let bobs = imip::apply_cancel(&bobs, &one, NOW).expect("applies").expect("three are left");
    assert_eq!(occurrences(&bobs, chrono_tz::Tz::UTC, 0, i64::MAX).0.len(), 3);

    let all = imip::read_itip(&imip::cancel(&alices, None, NOW)).expect("reads");
    assert!(all.sequence > request.sequence, "a cancellation outranks the request");
    assert!(imip::apply_cancel(&bobs, &all, NOW).expect("applies").is_none());
}

#[test]
fn what_is_not_an_invitation_is_refused_with_its_reason() {
    let no_method = data("thunderbird-request.ics").replace("METHOD:REQUEST\n", "");
    assert_eq!(
        imip::read_itip(&no_method).expect_err("no method"),
        "it has no METHOD, so it is not an invitation or an answer"
    );
    let counter = data("thunderbird-request.ics").replace("METHOD:REQUEST", "METHOD:COUNTER");
    assert!(imip::read_itip(&counter).expect_err("counter").contains("not one Plico answers"));
    let two = data("two-calendars.ics").replacen("METHOD:PUBLISH", "METHOD:REQUEST", 1);
    let two = two.split("END:VCALENDAR").next().expect("first calendar").to_owned() + "END:VCALENDAR\r\n";
    assert!(imip::read_itip(&two).expect_err("several").contains("carries 4 events"));
    assert!(imip::read_itip("BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n").is_err());
    assert!(imip::read_itip("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:x").is_err(), "cut short");
}
